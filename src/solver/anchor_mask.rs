//! `shaders/anchor_mask.wgsl`: the grid nodes that anchored particles stop.
//!
//! Anchored particles never move, and all they do to the grid is stop every node they touch
//! (their own momentum is zero and a stopped node's velocity is zero whatever its mass). So
//! they are left out of the binning, the stress stage and P2G; instead this pass marks their
//! nodes once whenever the particle state is set or restored, and P2G writes the mark as the
//! node's anchor flag. For the particles that move the result is the same as gathering the
//! anchored particles every substep, bit for bit: a node they touch is stopped either way, and
//! the momentum sums of the other nodes never held anything of theirs.

use super::stage::Stage;
use super::Solver;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

/// `shaders/anchor_mask.wgsl`.
pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "anchor_mask",
        include_str!("../../shaders/anchor_mask.wgsl"),
        &["anchor_mask"],
        &[U, R, R, W],
    )
}

impl Solver {
    /// Marks the nodes the anchored particles of particle buffer `i` touch (after the state
    /// was written or restored there).
    pub(super) fn mark_anchors(&self, i: usize) {
        let a = &self.anchors;
        let p = self.params_for(0.0);
        self.ctx
            .queue
            .write_buffer(&a.params, 0, bytemuck::bytes_of(&p));
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        enc.clear_buffer(&self.anchor_mask, 0, None);
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            a.stage
                .dispatch_particles(&mut pass, 0, &a.groups[i], 0, self.n);
        }
        self.ctx.queue.submit([enc.finish()]);
    }
}

/// The pass, its own parameter block and a bind group per particle buffer.
pub(super) struct Anchors {
    stage: Stage,
    params: wgpu::Buffer,
    groups: [wgpu::BindGroup; 2],
}

impl Anchors {
    pub(super) fn new(
        ctx: &GpuContext,
        params_stride: u64,
        particles: &[wgpu::Buffer; 2],
        ctl: &wgpu::Buffer,
        mask: &wgpu::Buffer,
    ) -> Result<Self> {
        let stage = build(ctx)?;
        let params = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("anchor mask params"),
            size: params_stride,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let groups = [0, 1].map(|i| stage.bind(ctx, &params, &[&particles[i], ctl, mask]));
        Ok(Anchors {
            stage,
            params,
            groups,
        })
    }
}
