//! `shaders/stress.wgsl`: per-particle stress and P2G record.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, UniformDynamic as U},
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
        &[U, R, R, R, R, R, R, W],
    )
}

/// One invocation per particle.
pub fn dispatch(
    pass: &mut wgpu::ComputePass,
    stage: &Stage,
    bg: &wgpu::BindGroup,
    offset: u32,
    n: u32,
) {
    pass.set_bind_group(0, bg, &[offset]);
    pass.set_pipeline(&stage.pipelines[0]);
    pass.dispatch_workgroups(n.div_ceil(64), 1, 1);
}
