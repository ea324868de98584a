//! `shaders/stress.wgsl`: per-particle stress and P2G record.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, TextureRead as T, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

/// `shaders/stress.wgsl`: per-particle stress and P2G record.
pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "stress",
        include_str!("../../shaders/stress.wgsl"),
        &["stress"],
        &[U, T, T, T, R, R, R, W, W],
    )
}
