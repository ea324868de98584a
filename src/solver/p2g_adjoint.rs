//! `shaders/p2g_adjoint.wgsl`: adjoint of P2G, gathered per particle.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "p2g_adjoint",
        include_str!("../../shaders/p2g_adjoint.wgsl"),
        &["p2g_adjoint"],
        &[U, R, R, R, W, W],
    )
}
