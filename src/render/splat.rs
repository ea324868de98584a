//! The splat stage (`shaders/splat.wgsl`): projection (compute), sorted instanced quads with
//! "over" blending (render pipeline), and the resolve over the background.
//!
//! Colour accumulates in an `Rgba16Float` target (premultiplied, cleared to zero, blended
//! `src + dst * (1 - src_alpha)` back to front); the resolve draws a full-screen triangle into
//! the `Rgba8Unorm` output, which is first cleared to the caller's poison colour so a pixel the
//! resolve misses shows.

use anyhow::{bail, Result};
use bytemuck::{Pod, Zeroable};

use crate::gpu::GpuContext;

/// Accumulation format (blendable everywhere without optional features).
pub const ACCUM_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;
/// Output format (8-bit RGBA, linear values written as they are, like 3DGS).
pub const OUTPUT_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// One Gaussian as the shader reads it (`Gaussian` in `splat.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct GpuGaussian {
    /// Centre (world) and opacity alpha in `[0, 1]`.
    pub mean_alpha: [f32; 4],
    /// Covariance xx, xy, xz, yy.
    pub cov_a: [f32; 4],
    /// Covariance yz, zz, 0, 0.
    pub cov_b: [f32; 4],
    /// Local rotation (rest to current), quaternion x, y, z, w: SH is evaluated along `R^T d`.
    pub rot: [f32; 4],
}

/// The camera and counts (`View` in `splat.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct GpuView {
    /// World-to-camera matrix, column-major.
    pub world_to_camera: [[f32; 4]; 4],
    /// Camera centre (world).
    pub centre: [f32; 4],
    /// fx, fy, cx, cy.
    pub intrinsics: [f32; 4],
    /// width, height, near plane, 0.
    pub size: [f32; 4],
    /// Gaussian count, SH degree, SH floats per Gaussian, padded key count.
    pub counts: [u32; 4],
    /// Background rgb, 0.
    pub background: [f32; 4],
}

/// The pipelines of the splat stage.
pub struct SplatStage {
    pub(crate) project_layout: wgpu::BindGroupLayout,
    pub(crate) draw_layout: wgpu::BindGroupLayout,
    pub(crate) resolve_layout: wgpu::BindGroupLayout,
    pub(crate) project: wgpu::ComputePipeline,
    pub(crate) draw: wgpu::RenderPipeline,
    pub(crate) resolve: wgpu::RenderPipeline,
}

fn entry(
    binding: u32,
    vis: wgpu::ShaderStages,
    ty: wgpu::BindingType,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: vis,
        ty,
        count: None,
    }
}

fn storage(read_only: bool) -> wgpu::BindingType {
    wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Storage { read_only },
        has_dynamic_offset: false,
        min_binding_size: None,
    }
}

const UNIFORM: wgpu::BindingType = wgpu::BindingType::Buffer {
    ty: wgpu::BufferBindingType::Uniform,
    has_dynamic_offset: false,
    min_binding_size: None,
};

fn layout(
    ctx: &GpuContext,
    label: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
) -> wgpu::BindGroupLayout {
    ctx.device
        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(label),
            entries,
        })
}

impl SplatStage {
    /// Builds the pipelines.
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        use wgpu::ShaderStages as S;
        let src = include_str!("../../shaders/splat.wgsl");
        let c = S::COMPUTE;
        let project_layout = layout(
            ctx,
            "splat project",
            &[
                entry(0, c, UNIFORM),
                entry(1, c, storage(true)),
                entry(2, c, storage(true)),
                entry(3, c, storage(false)),
                entry(4, c, storage(false)),
            ],
        );
        let vf = S::VERTEX | S::FRAGMENT;
        let draw_layout = layout(
            ctx,
            "splat draw",
            &[
                entry(0, vf, UNIFORM),
                entry(5, S::VERTEX, storage(true)),
                entry(6, S::VERTEX, storage(true)),
            ],
        );
        let resolve_layout = layout(
            ctx,
            "splat resolve",
            &[
                entry(0, vf, UNIFORM),
                entry(
                    7,
                    S::FRAGMENT,
                    wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                ),
            ],
        );
        let project = ctx.compute_pipeline("splat", src, "project", &[&project_layout])?;
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("splat"),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            });
        let over = wgpu::BlendComponent {
            src_factor: wgpu::BlendFactor::One,
            dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
            operation: wgpu::BlendOperation::Add,
        };
        let draw = render_pipeline(
            ctx,
            &module,
            &draw_layout,
            ("vs_splat", "fs_splat"),
            ACCUM_FORMAT,
            Some(wgpu::BlendState {
                color: over,
                alpha: over,
            }),
            wgpu::PrimitiveTopology::TriangleStrip,
        );
        let resolve = render_pipeline(
            ctx,
            &module,
            &resolve_layout,
            ("vs_full", "fs_resolve"),
            OUTPUT_FORMAT,
            None,
            wgpu::PrimitiveTopology::TriangleList,
        );
        if let Some(err) = pollster::block_on(scope.pop()) {
            bail!("shader splat (render pipelines) failed to build: {err}");
        }
        Ok(SplatStage {
            project_layout,
            draw_layout,
            resolve_layout,
            project,
            draw,
            resolve,
        })
    }
}

fn render_pipeline(
    ctx: &GpuContext,
    module: &wgpu::ShaderModule,
    layout: &wgpu::BindGroupLayout,
    (vs, fs): (&str, &str),
    format: wgpu::TextureFormat,
    blend: Option<wgpu::BlendState>,
    topology: wgpu::PrimitiveTopology,
) -> wgpu::RenderPipeline {
    let pl = ctx
        .device
        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(fs),
            bind_group_layouts: &[Some(layout)],
            immediate_size: 0,
        });
    ctx.device
        .create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(fs),
            layout: Some(&pl),
            vertex: wgpu::VertexState {
                module,
                entry_point: Some(vs),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState {
                topology,
                cull_mode: None,
                ..Default::default()
            },
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module,
                entry_point: Some(fs),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
}
