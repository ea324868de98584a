//! `shaders/grid_update.wgsl`: forces and boundary conditions on the grid.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, TextureWrite as ST, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

/// `shaders/grid_update.wgsl`: forces and boundary conditions on the grid.
pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "grid_update",
        include_str!("../../shaders/grid_update.wgsl"),
        &["grid_update"],
        &[U, R, R, W, ST],
    )
}
