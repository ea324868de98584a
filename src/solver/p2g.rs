//! `shaders/p2g.wgsl`: particle-to-grid transfer as a fixed-order gather per grid node.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, TextureRead as T, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "p2g",
        include_str!("../../shaders/p2g.wgsl"),
        &["p2g"],
        &[U, R, R, T, W, R, R],
    )
}
