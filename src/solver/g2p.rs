//! `shaders/g2p.wgsl`: grid-to-particle transfer and particle update (a lane per cell of the
//! active blocks; anchored particles in a pass of their own).

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, Texture as T, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

/// `shaders/g2p.wgsl`: grid-to-particle transfer and particle update.
pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "g2p",
        include_str!("../../shaders/g2p.wgsl"),
        &["g2p", "g2p_anchored"],
        &[U, R, W, T, R, W, R, R, R, W, W],
    )
}

/// Records the transfer: one workgroup per active block, then the anchored particles.
pub fn dispatch(
    pass: &mut wgpu::ComputePass,
    stage: &Stage,
    bg: &wgpu::BindGroup,
    offset: u32,
    active: &wgpu::Buffer,
    n: u32,
) {
    stage.dispatch_blocks(pass, 0, bg, offset, active);
    stage.dispatch_particles(pass, 1, bg, offset, n);
}
