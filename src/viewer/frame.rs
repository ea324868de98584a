//! Drawing one frame of the 3D view (into the window or an offscreen texture for
//! screenshots), and reading a texture back as an image.

use super::points::DEPTH_FORMAT;
use crate::gpu::GpuContext;
use anyhow::{anyhow, bail, Context, Result};

pub const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.16,
    g: 0.18,
    b: 0.21,
    a: 1.0,
};

/// A render pipeline of the viewer: entry points `vs` and `fs` of `module`, one bind group
/// with `layout`, no blending, and a depth test (or, with `depth_test` off, none at all).
pub fn pipeline(
    ctx: &GpuContext,
    label: &str,
    module: &wgpu::ShaderModule,
    layout: &wgpu::BindGroupLayout,
    buffers: &[Option<wgpu::VertexBufferLayout>],
    format: wgpu::TextureFormat,
    depth_test: bool,
) -> wgpu::RenderPipeline {
    let pl = ctx
        .device
        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(label),
            bind_group_layouts: &[Some(layout)],
            immediate_size: 0,
        });
    ctx.device
        .create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(label),
            layout: Some(&pl),
            vertex: wgpu::VertexState {
                module,
                entry_point: Some("vs"),
                compilation_options: Default::default(),
                buffers,
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(depth_test),
                depth_compare: Some(if depth_test {
                    wgpu::CompareFunction::Less
                } else {
                    wgpu::CompareFunction::Always
                }),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module,
                entry_point: Some("fs"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
}

pub fn depth_view(ctx: &GpuContext, width: u32, height: u32) -> wgpu::TextureView {
    ctx.device
        .create_texture(&wgpu::TextureDescriptor {
            label: Some("depth"),
            size: wgpu::Extent3d {
                width: width.max(1),
                height: height.max(1),
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: DEPTH_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            view_formats: &[],
        })
        .create_view(&Default::default())
}

/// Clears `target` and lets `draw` fill the pass (which has a depth attachment).
pub fn draw_scene(
    enc: &mut wgpu::CommandEncoder,
    target: &wgpu::TextureView,
    depth: &wgpu::TextureView,
    draw: impl FnOnce(&mut wgpu::RenderPass),
) {
    let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some("scene"),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: target,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load: wgpu::LoadOp::Clear(BACKGROUND),
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
            view: depth,
            depth_ops: Some(wgpu::Operations {
                load: wgpu::LoadOp::Clear(1.0),
                store: wgpu::StoreOp::Discard,
            }),
            stencil_ops: None,
        }),
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    });
    draw(&mut pass);
}

/// Renders offscreen in the window's `format` at `width` x `height` (so the same pipelines
/// serve) and returns RGBA8.
pub fn screenshot(
    ctx: &GpuContext,
    format: wgpu::TextureFormat,
    width: u32,
    height: u32,
    draw: impl FnOnce(&mut wgpu::RenderPass),
) -> Result<image::RgbaImage> {
    let swap = match format {
        wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb => true,
        wgpu::TextureFormat::Rgba8Unorm | wgpu::TextureFormat::Rgba8UnormSrgb => false,
        other => bail!("screenshots of a {other:?} window are not supported"),
    };
    let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("screenshot"),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = texture.create_view(&Default::default());
    let depth = depth_view(ctx, width, height);
    let row = (width * 4).div_ceil(256) * 256;
    let buffer = ctx.storage(
        "screenshot",
        row as u64 * height as u64,
        wgpu::BufferUsages::empty(),
    );
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    draw_scene(&mut enc, &view, &depth, draw);
    enc.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
    ctx.queue.submit([enc.finish()]);
    let bytes = ctx
        .read_bytes(&buffer, 0, buffer.size())
        .context("reading the screenshot back")?;
    let mut pixels = Vec::with_capacity((width * height * 4) as usize);
    for y in 0..height as usize {
        let start = y * row as usize;
        for px in bytes[start..start + width as usize * 4].chunks_exact(4) {
            pixels.extend_from_slice(&if swap {
                [px[2], px[1], px[0], 255]
            } else {
                [px[0], px[1], px[2], 255]
            });
        }
    }
    image::RgbaImage::from_raw(width, height, pixels)
        .ok_or_else(|| anyhow!("screenshot has the wrong size"))
}

/// Writes `img` as PNG at `path` (temp file + rename).
pub fn save_png(img: &image::RgbaImage, path: &std::path::Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("png.tmp");
    img.save_with_format(&tmp, image::ImageFormat::Png)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("moving {} to {}", tmp.display(), path.display()))
}
