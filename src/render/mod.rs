//! Headless rendering of Gaussian splats: WGSL projection, GPU depth sort and alpha blending.
//!
//! [`Renderer::render`] draws a [`SplatCloud`] seen by a [`Camera`] into an 8-bit RGBA
//! [`Image`] of the camera's size (RGB over the background, A = coverage). The pipeline:
//!
//! 1. [`splat`] `project` (compute): every Gaussian's covariance `Σ` (already deformed,
//!    `F Σ₀ Fᵀ`) is projected with the EWA Jacobian (clamped 15 % outside the image), dilated by
//!    0.3 px², its colour evaluated from SH degree ≤ 3 along the view direction rotated into its
//!    rest frame (`Rᵀ d`, `R` the local rotation of the particles it follows), and given the
//!    key `!bits(depth)` (back to front).
//! 2. [`depth_sort`]: a bitonic sort of `(key, index)` pairs; ties by index, so deterministic.
//! 3. [`splat`] draw: one quad per Gaussian in sorted order, cut at 3 sigma (Mahalanobis 3),
//!    alpha `min(0.99, o·exp(-½dᵀΣ⁻¹d))`, dropped below 1/255, blended back to front in
//!    `Rgba16Float`; then resolved over the background into `Rgba8Unorm`.
//!
//! [`reference`] is the same computation on the CPU (f32), used by the tests;
//! [`differentiable`] a tiled f32 version with a backward pass for fitting. [`image`]
//! writes PNG and GIF files atomically, [`framing`] resizes cameras and frames objects.

pub mod depth_sort;
pub mod differentiable;
pub mod framing;
pub mod image;
pub mod reference;
pub mod splat;

use anyhow::{bail, Context, Result};
use glam::{Mat3, Quat, Vec3};

use crate::gpu::GpuContext;
use crate::scene::{Camera, GaussianSplats, Scene};
pub use image::Image;
use splat::{GpuGaussian, GpuView};

/// Near plane (camera-space depth, domain units) below which Gaussians are culled.
pub const NEAR: f32 = 0.01;

/// Gaussians ready to render: centre, opacity, covariance, local rotation and SH.
#[derive(Clone, Debug, Default)]
pub struct SplatCloud {
    /// One record per Gaussian.
    pub gaussians: Vec<GpuGaussian>,
    /// SH coefficients, `(sh_degree + 1)²` rgb triples per Gaussian (DC first, then the
    /// 3DGS basis order), coefficient-major.
    pub sh: Vec<f32>,
    /// SH degree (0-3).
    pub sh_degree: u32,
}

impl SplatCloud {
    /// The Gaussians of `splats`; `local_rotation[i]` (rest to current, from
    /// [`crate::scene::Attachment::deform`]) rotates the view direction for SH, identity when
    /// `None`.
    pub fn new(splats: &GaussianSplats, local_rotation: Option<&[Quat]>) -> Result<Self> {
        splats.check_lengths().map_err(anyhow::Error::msg)?;
        if let Some(r) = local_rotation {
            if r.len() != splats.len() {
                bail!("{} local rotations for {} Gaussians", r.len(), splats.len());
            }
        }
        let n = splats.len();
        let per = ((splats.sh_degree + 1) * (splats.sh_degree + 1)) as usize;
        let rest = splats.rest_len();
        let mut sh = vec![0.0f32; n * per * 3];
        let mut gaussians = Vec::with_capacity(n);
        for i in 0..n {
            let s: Mat3 = splats.covariance(i);
            let p = splats.position[i];
            let q = local_rotation.map_or(Quat::IDENTITY, |r| r[i].normalize());
            gaussians.push(GpuGaussian {
                mean_alpha: [p.x, p.y, p.z, splats.alpha(i)],
                cov_a: [s.x_axis.x, s.y_axis.x, s.z_axis.x, s.y_axis.y],
                cov_b: [s.z_axis.y, s.z_axis.z, 0.0, 0.0],
                rot: q.to_array(),
            });
            let out = &mut sh[i * per * 3..(i + 1) * per * 3];
            out[..3].copy_from_slice(&splats.f_dc[i]);
            let fr = &splats.f_rest[i * rest..(i + 1) * rest];
            for k in 1..per {
                for c in 0..3 {
                    out[3 * k + c] = fr[c * (per - 1) + k - 1];
                }
            }
        }
        Ok(SplatCloud {
            gaussians,
            sh,
            sh_degree: splats.sh_degree,
        })
    }

    /// The scene's Gaussians moved by the particles: centres and orientations follow the
    /// neighbourhood frames, covariances become `F Σ₀ Fᵀ` with `F` interpolated from the
    /// particles' deformation gradients `grads` (when given), SH turns with the local rotation.
    pub fn from_scene(scene: &Scene, positions: &[Vec3], grads: Option<&[Mat3]>) -> Result<Self> {
        let (Some(splats), Some(att)) = (&scene.splats, &scene.splat_attachment) else {
            bail!(
                "scene {} has no Gaussian splats to render",
                scene.path.display()
            );
        };
        let moved = att
            .deform_splats(splats, positions, grads)
            .map_err(anyhow::Error::msg)
            .context("deforming the Gaussians")?;
        let rot = att
            .deform(positions)
            .map_err(anyhow::Error::msg)
            .context("local rotations of the Gaussians")?
            .rotation;
        Self::new(&moved, Some(&rot))
    }

    /// Number of Gaussians.
    pub fn len(&self) -> usize {
        self.gaussians.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.gaussians.is_empty()
    }

    /// SH floats per Gaussian.
    pub fn sh_stride(&self) -> u32 {
        3 * (self.sh_degree + 1) * (self.sh_degree + 1)
    }
}

/// Rendering options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderOptions {
    /// Background colour (rgb in `[0, 1]`).
    pub background: [f32; 3],
    /// The colour the output is cleared to before the resolve writes every pixel (tests use a
    /// loud one so an unwritten pixel shows).
    pub poison: [f32; 4],
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            background: [1.0, 1.0, 1.0],
            poison: [1.0, 0.0, 1.0, 1.0],
        }
    }
}

/// The camera record the shader reads.
pub fn gpu_view(cloud: &SplatCloud, camera: &Camera, opts: &RenderOptions, padded: u32) -> GpuView {
    let c = camera.centre();
    let b = opts.background;
    GpuView {
        world_to_camera: camera.world_to_camera.to_cols_array_2d(),
        centre: [c.x, c.y, c.z, 0.0],
        intrinsics: [camera.fx, camera.fy, camera.cx, camera.cy],
        size: [camera.width as f32, camera.height as f32, NEAR, 0.0],
        counts: [
            cloud.len() as u32,
            cloud.sh_degree,
            cloud.sh_stride(),
            padded,
        ],
        background: [b[0], b[1], b[2], 0.0],
    }
}

/// Renders Gaussian splats on a [`GpuContext`].
pub struct Renderer {
    ctx: GpuContext,
    splat: splat::SplatStage,
    sort: depth_sort::DepthSort,
}

impl Renderer {
    /// Builds the pipelines on `ctx` (the device is shared, e.g. with the solver).
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Ok(Renderer {
            ctx: ctx.clone(),
            splat: splat::SplatStage::new(ctx).context("building the splat renderer")?,
            sort: depth_sort::DepthSort::new(ctx).context("building the depth sort")?,
        })
    }

    /// Renders `cloud` seen by `camera` at the camera's size.
    pub fn render(
        &self,
        cloud: &SplatCloud,
        camera: &Camera,
        opts: &RenderOptions,
    ) -> Result<Image> {
        let ctx = &self.ctx;
        let (w, h) = (camera.width, camera.height);
        let max = ctx.device.limits().max_texture_dimension_2d;
        if w == 0 || h == 0 || w > max || h > max {
            bail!("cannot render {w}x{h}: width and height must be in 1..={max}");
        }
        let n = cloud.len();
        let padded = depth_sort::DepthSort::padded_len(n);
        let groups = (padded as u32).div_ceil(64);
        if groups > 65_535 {
            bail!("{n} Gaussians are more than this renderer handles (4 million)");
        }
        let limit = ctx.device.limits().max_storage_buffer_binding_size;
        let biggest = (cloud.sh.len() as u64 * 4).max(n as u64 * 64);
        if biggest > limit {
            bail!(
                "{n} Gaussians of SH degree {} need a {biggest}-byte buffer; this adapter binds at most {limit}",
                cloud.sh_degree
            );
        }
        let view = gpu_view(cloud, camera, opts, padded as u32);
        let view_buf = wgpu::util::DeviceExt::create_buffer_init(
            &ctx.device,
            &wgpu::util::BufferInitDescriptor {
                label: Some("splat view"),
                contents: bytemuck::bytes_of(&view),
                usage: wgpu::BufferUsages::UNIFORM,
            },
        );
        let one = [GpuGaussian::default()];
        let records = if n == 0 {
            &one[..]
        } else {
            &cloud.gaussians[..]
        };
        let gauss = ctx.storage_init("splat gaussians", records);
        let sh = ctx.storage_init("splat sh", &cloud.sh);
        let projected = ctx.storage(
            "splat projected",
            (n.max(1) * 48) as u64,
            wgpu::BufferUsages::empty(),
        );
        let keys = ctx.storage(
            "splat keys",
            (padded * 8) as u64,
            wgpu::BufferUsages::empty(),
        );
        let bind = |layout: &wgpu::BindGroupLayout, entries: &[(u32, wgpu::BindingResource)]| {
            let e: Vec<wgpu::BindGroupEntry> = entries
                .iter()
                .map(|(b, r)| wgpu::BindGroupEntry {
                    binding: *b,
                    resource: r.clone(),
                })
                .collect();
            ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("splat"),
                layout,
                entries: &e,
            })
        };
        let project_bind = bind(
            &self.splat.project_layout,
            &[
                (0, view_buf.as_entire_binding()),
                (1, gauss.as_entire_binding()),
                (2, sh.as_entire_binding()),
                (3, projected.as_entire_binding()),
                (4, keys.as_entire_binding()),
            ],
        );
        let draw_bind = bind(
            &self.splat.draw_layout,
            &[
                (0, view_buf.as_entire_binding()),
                (5, projected.as_entire_binding()),
                (6, keys.as_entire_binding()),
            ],
        );
        let texture = |label: &str, format, usage| {
            ctx.device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width: w,
                    height: h,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        use wgpu::TextureUsages as U;
        let accum = texture(
            "splat accum",
            splat::ACCUM_FORMAT,
            U::RENDER_ATTACHMENT | U::TEXTURE_BINDING,
        );
        let output = texture(
            "splat output",
            splat::OUTPUT_FORMAT,
            U::RENDER_ATTACHMENT | U::COPY_SRC,
        );
        let accum_view = accum.create_view(&Default::default());
        let output_view = output.create_view(&Default::default());
        let resolve_bind = bind(
            &self.splat.resolve_layout,
            &[
                (0, view_buf.as_entire_binding()),
                (7, wgpu::BindingResource::TextureView(&accum_view)),
            ],
        );
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("splat project"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.splat.project);
            pass.set_bind_group(0, &project_bind, &[]);
            pass.dispatch_workgroups(groups, 1, 1);
        }
        self.sort.encode(ctx, &mut enc, &keys, padded as u32)?;
        let pass_desc = |view, clear: [f32; 4]| wgpu::RenderPassColorAttachment {
            view,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load: wgpu::LoadOp::Clear(wgpu::Color {
                    r: clear[0] as f64,
                    g: clear[1] as f64,
                    b: clear[2] as f64,
                    a: clear[3] as f64,
                }),
                store: wgpu::StoreOp::Store,
            },
        };
        for (view, clear, pipeline, group, verts, inst) in [
            (
                &accum_view,
                [0.0; 4],
                &self.splat.draw,
                &draw_bind,
                4,
                n as u32,
            ),
            (
                &output_view,
                opts.poison,
                &self.splat.resolve,
                &resolve_bind,
                3,
                1,
            ),
        ] {
            let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("splat"),
                color_attachments: &[Some(pass_desc(view, clear))],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, group, &[]);
            if inst > 0 {
                pass.draw(0..verts, 0..inst);
            }
        }
        let row = (w * 4).div_ceil(256) * 256;
        let readback = ctx.storage(
            "splat readback",
            (row * h) as u64,
            wgpu::BufferUsages::empty(),
        );
        enc.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &output,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row),
                    rows_per_image: Some(h),
                },
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        ctx.queue.submit([enc.finish()]);
        let bytes = ctx.read_bytes(&readback, 0, (row * h) as u64)?;
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h as usize {
            let start = y * row as usize;
            rgba.extend_from_slice(&bytes[start..start + w as usize * 4]);
        }
        Ok(Image {
            width: w,
            height: h,
            rgba,
        })
    }
}
