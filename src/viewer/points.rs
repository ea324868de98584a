//! `shaders/points.wgsl`: the particle and E-field views, drawn straight from the solver's
//! buffers (no read-back).

use crate::gpu::GpuContext;
use crate::solver::Solver;
use bytemuck::{Pod, Zeroable};
use glam::{Mat4, Vec3};

pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ViewUniform {
    view_proj: [[f32; 4]; 4],
    right: [f32; 4],
    up: [f32; 4],
    highlight: [f32; 4],
    log_e: [f32; 4],
}

/// What the particle view shows.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct PointStyle {
    pub view_proj: Mat4,
    pub right: Vec3,
    pub up: Vec3,
    pub radius: f32,
    /// Colour by log10 E instead of by kind.
    pub e_field: bool,
    /// log10 E at the two ends of the colour map.
    pub log_e_range: (f32, f32),
    /// Highlighted sphere (centre, radius); radius 0 for none.
    pub highlight: (Vec3, f32),
}

pub struct PointRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    uniform: wgpu::Buffer,
}

impl PointRenderer {
    pub fn new(ctx: &GpuContext, format: wgpu::TextureFormat) -> Self {
        let device = &ctx.device;
        let storage = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::VERTEX,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only: true },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("points"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                storage(1),
                storage(2),
                storage(3),
            ],
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("points"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/points.wgsl").into()),
        });
        let pipeline = super::frame::pipeline(ctx, "points", &module, &layout, &[], format, true);
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("points view"),
            size: std::mem::size_of::<ViewUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        PointRenderer {
            pipeline,
            layout,
            uniform,
        }
    }

    /// Draws every particle of `solver` into `pass` (which must have a depth attachment).
    pub fn draw(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::RenderPass,
        solver: &Solver,
        style: &PointStyle,
    ) {
        let u = ViewUniform {
            view_proj: style.view_proj.to_cols_array_2d(),
            right: style.right.extend(style.radius).to_array(),
            up: style
                .up
                .extend(if style.e_field { 1.0 } else { 0.0 })
                .to_array(),
            highlight: style.highlight.0.extend(style.highlight.1).to_array(),
            log_e: [style.log_e_range.0, style.log_e_range.1, 0.0, 0.0],
        };
        ctx.queue
            .write_buffer(&self.uniform, 0, bytemuck::bytes_of(&u));
        let bg = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("points"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: solver.particle_buffer().as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: solver.material_buffer().as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: solver.ctl_buffer().as_entire_binding(),
                },
            ],
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bg, &[]);
        pass.draw(0..6, 0..solver.len() as u32);
    }
}
