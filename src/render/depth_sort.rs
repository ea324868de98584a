//! GPU depth sort: a deterministic bitonic sort of `(key, index)` pairs in WGSL
//! (`shaders/depth_sort.wgsl`).
//!
//! Pairs sort ascending by key, ties by index, so the order never depends on scheduling. The
//! pair count must be a power of two of at least [`BLOCK`]; the renderer pads with
//! `(u32::MAX, u32::MAX)`. Steps with a compare distance below [`BLOCK`] run in workgroup
//! memory (`sort_local`), the others as one dispatch each (`sort_global`): for `2^m` pairs that
//! is `1 + sum_{s=10..m} (s - 8)` dispatches (36 for 65,536 pairs).

use anyhow::{ensure, Result};

use crate::gpu::{bind_buffers, compute_layout, Binding, GpuContext};

/// Pairs sorted in workgroup memory at once (and the smallest pair count).
pub const BLOCK: u32 = 512;

/// Uniform record of one dispatch (`Params` in the shader).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    j: u32,
    k: u32,
    count: u32,
    pad: u32,
}

/// The sort pipelines.
pub struct DepthSort {
    layout: wgpu::BindGroupLayout,
    local: wgpu::ComputePipeline,
    global: wgpu::ComputePipeline,
    stride: u64,
}

/// Workgroup grid for `groups` workgroups (x at most 65,535).
fn grid(groups: u32) -> (u32, u32) {
    if groups <= 65_535 {
        (groups.max(1), 1)
    } else {
        (65_535, groups.div_ceil(65_535))
    }
}

impl DepthSort {
    /// Builds the pipelines.
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let layout = compute_layout(
            &ctx.device,
            "depth_sort",
            &[Binding::UniformDynamic, Binding::StorageWrite],
        );
        let src = include_str!("../../shaders/depth_sort.wgsl");
        let local = ctx.compute_pipeline("depth_sort", src, "sort_local", &[&layout])?;
        let global = ctx.compute_pipeline("depth_sort", src, "sort_global", &[&layout])?;
        let stride = (std::mem::size_of::<Params>() as u64)
            .max(ctx.device.limits().min_uniform_buffer_offset_alignment as u64);
        Ok(DepthSort {
            layout,
            local,
            global,
            stride,
        })
    }

    /// The padded pair count for `n` items: the next power of two, at least [`BLOCK`].
    pub fn padded_len(n: usize) -> usize {
        n.next_power_of_two().max(BLOCK as usize)
    }

    /// Records the sort of `keys` (`count` pairs of `vec2<u32>`) into `enc`.
    pub fn encode(
        &self,
        ctx: &GpuContext,
        enc: &mut wgpu::CommandEncoder,
        keys: &wgpu::Buffer,
        count: u32,
    ) -> Result<()> {
        ensure!(
            count.is_power_of_two() && count >= BLOCK,
            "depth sort: {count} pairs is not a power of two >= {BLOCK}"
        );
        // The dispatch list: (pipeline is local, j, k).
        let mut steps: Vec<(bool, Params)> = vec![(
            true,
            Params {
                j: 0,
                k: 0,
                count,
                pad: 0,
            },
        )];
        let mut k = BLOCK * 2;
        while k <= count {
            let mut j = k / 2;
            while j >= BLOCK {
                steps.push((
                    false,
                    Params {
                        j,
                        k,
                        count,
                        pad: 0,
                    },
                ));
                j /= 2;
            }
            steps.push((
                true,
                Params {
                    j: 0,
                    k,
                    count,
                    pad: 0,
                },
            ));
            k *= 2;
        }
        let mut bytes = vec![0u8; steps.len() * self.stride as usize];
        for (s, (_, p)) in steps.iter().enumerate() {
            let o = s * self.stride as usize;
            bytes[o..o + 16].copy_from_slice(bytemuck::bytes_of(p));
        }
        let params = wgpu::util::DeviceExt::create_buffer_init(
            &ctx.device,
            &wgpu::util::BufferInitDescriptor {
                label: Some("depth_sort params"),
                contents: &bytes,
                usage: wgpu::BufferUsages::UNIFORM,
            },
        );
        let bind = bind_buffers(
            &ctx.device,
            "depth_sort",
            &self.layout,
            &[&params, keys],
            Some(std::mem::size_of::<Params>() as u64),
        );
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("depth_sort"),
            timestamp_writes: None,
        });
        for (s, (local, _)) in steps.iter().enumerate() {
            pass.set_bind_group(0, &bind, &[(s as u64 * self.stride) as u32]);
            let (x, y) = if *local {
                pass.set_pipeline(&self.local);
                grid(count / BLOCK)
            } else {
                pass.set_pipeline(&self.global);
                grid((count / 2).div_ceil(256))
            };
            pass.dispatch_workgroups(x, y, 1);
        }
        Ok(())
    }
}
