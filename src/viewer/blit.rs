//! `shaders/blit.wgsl`: the splat view. The scene's Gaussians are moved by the particles
//! (covariances F Σ₀ Fᵀ), rendered by [`crate::render::Renderer`] from the orbit camera, and
//! the image is drawn over the window.

use crate::gpu::GpuContext;
use crate::render::{RenderOptions, Renderer, SplatCloud};
use crate::scene::{Attachment, Camera, GaussianSplats};
use anyhow::{anyhow, Context, Result};
use glam::{Mat3, Vec3};

pub struct SplatView {
    renderer: Renderer,
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    target: Option<(wgpu::Texture, wgpu::BindGroup)>,
}

impl SplatView {
    pub fn new(ctx: &GpuContext, format: wgpu::TextureFormat) -> Result<Self> {
        let device = &ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("blit"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/blit.wgsl").into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("blit"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let pipeline = super::frame::pipeline(ctx, "blit", &module, &layout, &[], format, false);
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        Ok(SplatView {
            renderer: Renderer::new(ctx)?,
            pipeline,
            layout,
            sampler,
            target: None,
        })
    }

    /// Renders the Gaussians, moved by particles at `positions` with deformation gradients
    /// `grads`, from the orbit camera at `eye` looking at `target`.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        ctx: &GpuContext,
        splats: &(GaussianSplats, Attachment),
        positions: &[Vec3],
        grads: &[Mat3],
        (eye, target, fov_y_deg): (Vec3, Vec3, f32),
        (width, height): (u32, u32),
        background: [f32; 3],
    ) -> Result<()> {
        let (gaussians, att) = splats;
        let moved = att
            .deform_splats(gaussians, positions, Some(grads))
            .map_err(anyhow::Error::msg)
            .context("deforming the Gaussians")?;
        let rot = att.deform(positions).map_err(anyhow::Error::msg)?.rotation;
        let cloud = SplatCloud::new(&moved, Some(&rot))?;
        let camera = Camera::look_at(eye, target, Vec3::Y, fov_y_deg, width, height)
            .map_err(|e| anyhow!("viewer camera: {e}"))?;
        let img = self.renderer.render(
            &cloud,
            &camera,
            &RenderOptions {
                background,
                ..Default::default()
            },
        )?;
        let size = wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        };
        let stale = self
            .target
            .as_ref()
            .is_none_or(|(t, _)| t.width() != width || t.height() != height);
        if stale {
            let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("splat view"),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba8Unorm,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            let view = texture.create_view(&Default::default());
            let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("blit"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::Sampler(&self.sampler),
                    },
                ],
            });
            self.target = Some((texture, bind));
        }
        let (texture, _) = self.target.as_ref().expect("made above");
        ctx.queue.write_texture(
            texture.as_image_copy(),
            &img.rgba,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(width * 4),
                rows_per_image: Some(height),
            },
            size,
        );
        Ok(())
    }

    pub fn draw(&self, pass: &mut wgpu::RenderPass) {
        if let Some((_, bind)) = &self.target {
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, bind, &[]);
            pass.draw(0..3, 0..1);
        }
    }
}
