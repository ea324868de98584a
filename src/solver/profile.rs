//! GPU timestamps around every stage of every substep, summed per stage.

use crate::gpu::GpuContext;
use anyhow::{bail, Result};

/// The stages as the substep runs them.
/// (`p2g` includes the grid update of the nodes it sums.)
pub const STAGES: [&str; 4] = ["sort", "stress", "p2g", "g2p"];

pub struct Profiler {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    period_ns: f64,
    totals: [f64; STAGES.len()],
}

impl Profiler {
    pub fn new(ctx: &GpuContext, batch: usize) -> Result<Self> {
        if !ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
        {
            bail!(
                "adapter {} has no timestamp queries: profiling is not available",
                ctx.describe()
            );
        }
        let count = (batch * STAGES.len() * 2) as u32;
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("stage timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: count as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Ok(Profiler {
            queries,
            resolve,
            period_ns: ctx.queue.get_timestamp_period() as f64,
            totals: [0.0; STAGES.len()],
        })
    }

    /// Timestamp slots of `stage` in substep `k` of the batch.
    pub fn writes(&self, k: usize, stage: usize) -> wgpu::ComputePassTimestampWrites<'_> {
        let i = ((k * STAGES.len() + stage) * 2) as u32;
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(i),
            end_of_pass_write_index: Some(i + 1),
        }
    }

    pub fn resolve(&self, enc: &mut wgpu::CommandEncoder, batch: usize) {
        enc.resolve_query_set(
            &self.queries,
            0..(batch * STAGES.len() * 2) as u32,
            &self.resolve,
            0,
        );
    }

    /// Reads the batch's timestamps back and adds them up.
    pub fn collect(&mut self, ctx: &GpuContext, batch: usize) {
        let Ok(bytes) = ctx.read_bytes(&self.resolve, 0, (batch * STAGES.len() * 16) as u64) else {
            return;
        };
        let t: Vec<u64> = bytemuck::pod_collect_to_vec(&bytes);
        for k in 0..batch {
            for s in 0..STAGES.len() {
                let i = (k * STAGES.len() + s) * 2;
                self.totals[s] += t[i + 1].saturating_sub(t[i]) as f64 * self.period_ns * 1e-9;
            }
        }
    }

    pub fn totals(&self) -> Vec<(&'static str, f64)> {
        STAGES.iter().copied().zip(self.totals).collect()
    }
}
