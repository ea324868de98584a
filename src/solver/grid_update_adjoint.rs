//! `shaders/grid_update_adjoint.wgsl`: adjoint of the grid update (forces, damping, anchors, walls, ground).

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "grid_update_adjoint",
        include_str!("../../shaders/grid_update_adjoint.wgsl"),
        &["grid_update_adjoint"],
        &[U, R, R, R, W],
    )
}
