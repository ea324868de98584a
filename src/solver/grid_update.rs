//! `shaders/grid_update.wgsl`: forces and boundary conditions on the grid.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, UniformDynamic as U},
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
        &[U, R, R, W],
    )
}

/// One workgroup per active node block, the count read from `active` (set by the sort stage).
pub fn dispatch(
    pass: &mut wgpu::ComputePass,
    stage: &Stage,
    bg: &wgpu::BindGroup,
    offset: u32,
    active: &wgpu::Buffer,
) {
    pass.set_bind_group(0, bg, &[offset]);
    pass.set_pipeline(&stage.pipelines[0]);
    pass.dispatch_workgroups_indirect(active, 0);
}
