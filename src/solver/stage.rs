//! A compute stage: one WGSL file (prepended with `shaders/mpm_common.wgsl`), its bind group
//! layout and one pipeline per entry point.

use crate::gpu::{bind_resources, compute_layout, Binding, GpuContext};
use anyhow::{bail, Result};

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
        let resources = buffers.iter().map(|b| b.as_entire_binding()).collect();
        self.bind_with(ctx, params, resources)
    }

    /// As [`Stage::bind`], for bindings that are not all buffers (textures).
    pub fn bind_with<'a>(
        &self,
        ctx: &GpuContext,
        params: &'a wgpu::Buffer,
        resources: Vec<wgpu::BindingResource<'a>>,
    ) -> wgpu::BindGroup {
        let mut all = vec![params.as_entire_binding()];
        all.extend(resources);
        bind_resources(
            &ctx.device,
            "mpm",
            &self.layout,
            all,
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

/// Texels a row of a [`Texels`] table holds (`TEXELS_PER_ROW` in `shaders/mpm_common.wgsl`).
const TEXELS_PER_ROW: u32 = 4096;

/// Texture rows of a [`Texels`] table of `texels` texels.
pub(super) fn texel_rows(texels: u64) -> u64 {
    texels.div_ceil(TEXELS_PER_ROW as u64).max(1)
}

/// A table of `rgba32float` texels in a 2D texture, texel `i` at (i % 4096, i / 4096): what a
/// stage writes with `textureStore` beside its buffer for a later stage to read with
/// `textureLoad`, which on a CPU adapter costs a fraction of a storage-buffer load.
pub struct Texels {
    pub view: wgpu::TextureView,
    texture: wgpu::Texture,
}

impl Texels {
    pub fn new(ctx: &GpuContext, label: &str, texels: u64) -> Result<Self> {
        let rows = texel_rows(texels);
        let max = ctx.device.limits().max_texture_dimension_2d;
        if rows > max as u64 {
            bail!(
                "{label}: {texels} texels need {rows} texture rows; adapter {} allows {max}",
                ctx.info.name
            );
        }
        let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width: TEXELS_PER_ROW,
                height: rows as u32,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = texture.create_view(&Default::default());
        Ok(Texels { view, texture })
    }

    /// Where rows `first_row ..` of the table start, for copies into it.
    fn rows_from(&self, first_row: u64) -> wgpu::TexelCopyTextureInfo<'_> {
        wgpu::TexelCopyTextureInfo {
            texture: &self.texture,
            mip_level: 0,
            origin: wgpu::Origin3d {
                x: 0,
                y: first_row as u32,
                z: 0,
            },
            aspect: wgpu::TextureAspect::All,
        }
    }

    /// Writes `data` into the table's first texels (queued like a buffer write).
    pub fn write(&self, queue: &wgpu::Queue, data: &[[f32; 4]]) {
        for (r, chunk) in data.chunks(TEXELS_PER_ROW as usize).enumerate() {
            let layout = wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(16 * chunk.len() as u32),
                rows_per_image: None,
            };
            let bytes = bytemuck::cast_slice(chunk);
            queue.write_texture(
                self.rows_from(r as u64),
                bytes,
                layout,
                extent(chunk.len(), 1),
            );
        }
    }

    /// Records a copy of the first `texels` texels (16 bytes each) of `buffer` into the
    /// table: on a CPU adapter a memory copy, far cheaper than a stage storing texels.
    pub fn copy_from(&self, enc: &mut wgpu::CommandEncoder, buffer: &wgpu::Buffer, texels: u64) {
        let row = TEXELS_PER_ROW as u64;
        let (full, rest) = (texels / row, texels % row);
        // full rows in one copy, then the part of the last
        for (first_row, rows, width) in [(0, full, row), (full, 1, rest)] {
            if rows == 0 || width == 0 {
                continue;
            }
            let source = wgpu::TexelCopyBufferInfo {
                buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: first_row * row * 16,
                    bytes_per_row: Some(row as u32 * 16),
                    rows_per_image: None,
                },
            };
            let size = extent(width as usize, rows as u32);
            enc.copy_buffer_to_texture(source, self.rows_from(first_row), size);
        }
    }

    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::TextureView(&self.view)
    }
}

/// `width` texels by `rows` rows.
fn extent(width: usize, rows: u32) -> wgpu::Extent3d {
    wgpu::Extent3d {
        width: width as u32,
        height: rows,
        depth_or_array_layers: 1,
    }
}
