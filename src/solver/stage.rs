//! A compute stage: one WGSL file (prepended with `shaders/mpm_common.wgsl`), its bind group
//! layout and one pipeline per entry point.

use crate::gpu::{bind_buffers, compute_layout, Binding, GpuContext};
use anyhow::Result;

const COMMON: &str = include_str!("../../shaders/mpm_common.wgsl");

/// One WGSL file: its bind group layout and one pipeline per entry point.
pub struct Stage {
    pub layout: wgpu::BindGroupLayout,
    pub pipelines: Vec<wgpu::ComputePipeline>,
}

impl Stage {
    pub fn new(
        ctx: &GpuContext,
        name: &str,
        source: &str,
        entries: &[&str],
        bindings: &[Binding],
    ) -> Result<Self> {
        let layout = compute_layout(&ctx.device, name, bindings);
        let full = format!("{COMMON}\n{source}");
        let pipelines = entries
            .iter()
            .map(|e| ctx.compute_pipeline(&format!("{name}.{e}"), &full, e, &[&layout]))
            .collect::<Result<Vec<_>>>()?;
        Ok(Stage { layout, pipelines })
    }

    /// A bind group with the per-substep parameter window at binding 0 and `buffers` after it.
    pub fn bind(
        &self,
        ctx: &GpuContext,
        params: &wgpu::Buffer,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let mut all = vec![params];
        all.extend_from_slice(buffers);
        bind_buffers(
            &ctx.device,
            "mpm",
            &self.layout,
            &all,
            Some(std::mem::size_of::<super::layout::GpuParams>() as u64),
        )
    }

    /// Entry `entry` with `groups` workgroups.
    pub fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass,
        entry: usize,
        bg: &wgpu::BindGroup,
        offset: u32,
        groups: u32,
    ) {
        pass.set_bind_group(0, bg, &[offset]);
        pass.set_pipeline(&self.pipelines[entry]);
        pass.dispatch_workgroups(groups, 1, 1);
    }

    /// Entry `entry`, one invocation per particle (64-wide workgroups).
    pub fn dispatch_particles(
        &self,
        pass: &mut wgpu::ComputePass,
        entry: usize,
        bg: &wgpu::BindGroup,
        offset: u32,
        n: u32,
    ) {
        self.dispatch(pass, entry, bg, offset, n.div_ceil(64));
    }

    /// Entry `entry`, one workgroup per active node block; the count is read on the GPU from
    /// the head of `active` (written by the sort stage).
    pub fn dispatch_blocks(
        &self,
        pass: &mut wgpu::ComputePass,
        entry: usize,
        bg: &wgpu::BindGroup,
        offset: u32,
        active: &wgpu::Buffer,
    ) {
        pass.set_bind_group(0, bg, &[offset]);
        pass.set_pipeline(&self.pipelines[entry]);
        pass.dispatch_workgroups_indirect(active, 0);
    }
}
