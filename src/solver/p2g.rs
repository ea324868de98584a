//! `shaders/p2g.wgsl`: particle-to-grid transfer as a fixed-order gather per grid node.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "p2g",
        include_str!("../../shaders/p2g.wgsl"),
        &["p2g"],
        &[U, R, R, R, W],
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
