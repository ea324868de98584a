//! `shaders/mesh.wgsl`: the mesh view. Vertices follow the particles through the scene's
//! attachment (on the CPU, once per drawn frame); normals are recomputed from the deformed
//! triangles.

use crate::gpu::GpuContext;
use crate::scene::TriMesh;
use bytemuck::{Pod, Zeroable};
use glam::{Mat4, Vec3};
use wgpu::util::DeviceExt;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ViewUniform {
    view_proj: [[f32; 4]; 4],
    light: [f32; 4],
    colour: [f32; 4],
}

pub struct MeshRenderer {
    pipeline: wgpu::RenderPipeline,
    bind: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    index_count: u32,
    vertex_count: usize,
}

/// Area-weighted vertex normals of `positions` with `triangles`.
pub fn vertex_normals(positions: &[Vec3], triangles: &[[u32; 3]]) -> Vec<Vec3> {
    let mut n = vec![Vec3::ZERO; positions.len()];
    for t in triangles {
        let [a, b, c] = t.map(|i| positions[i as usize]);
        let face = (b - a).cross(c - a);
        for &i in t {
            n[i as usize] += face;
        }
    }
    n.iter().map(|v| v.normalize_or(Vec3::Y)).collect()
}

impl MeshRenderer {
    pub fn new(ctx: &GpuContext, format: wgpu::TextureFormat, mesh: &TriMesh) -> Self {
        let device = &ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mesh"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/mesh.wgsl").into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mesh"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }],
        });
        let pipeline = super::frame::pipeline(
            ctx,
            "mesh",
            &module,
            &layout,
            &[Some(wgpu::VertexBufferLayout {
                array_stride: 24,
                step_mode: wgpu::VertexStepMode::Vertex,
                attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3],
            })],
            format,
            true,
        );
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("mesh view"),
            size: std::mem::size_of::<ViewUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mesh"),
            layout: &layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: uniform.as_entire_binding(),
            }],
        });
        let vertices = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("mesh vertices"),
            size: (mesh.positions.len().max(1) * 24) as u64,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let flat: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();
        let indices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mesh indices"),
            contents: bytemuck::cast_slice(if flat.is_empty() { &[0u32; 3] } else { &flat }),
            usage: wgpu::BufferUsages::INDEX,
        });
        let r = MeshRenderer {
            pipeline,
            bind,
            uniform,
            vertices,
            indices,
            index_count: flat.len() as u32,
            vertex_count: mesh.positions.len(),
        };
        r.update(ctx, &mesh.positions, &mesh.triangles);
        r
    }

    /// Uploads deformed vertex positions (normals recomputed).
    pub fn update(&self, ctx: &GpuContext, positions: &[Vec3], triangles: &[[u32; 3]]) {
        if positions.len() != self.vertex_count {
            return;
        }
        let normals = vertex_normals(positions, triangles);
        let data: Vec<[f32; 6]> = positions
            .iter()
            .zip(&normals)
            .map(|(p, n)| [p.x, p.y, p.z, n.x, n.y, n.z])
            .collect();
        ctx.queue
            .write_buffer(&self.vertices, 0, bytemuck::cast_slice(&data));
    }

    pub fn draw(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::RenderPass,
        view_proj: Mat4,
        light: Vec3,
    ) {
        let u = ViewUniform {
            view_proj: view_proj.to_cols_array_2d(),
            light: light.extend(0.0).to_array(),
            colour: [0.82, 0.78, 0.72, 1.0],
        };
        ctx.queue
            .write_buffer(&self.uniform, 0, bytemuck::bytes_of(&u));
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind, &[]);
        pass.set_vertex_buffer(0, self.vertices.slice(..));
        pass.set_index_buffer(self.indices.slice(..), wgpu::IndexFormat::Uint32);
        pass.draw_indexed(0..self.index_count, 0, 0..1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normals_of_a_tetrahedron_point_outwards() {
        let p = [Vec3::ZERO, Vec3::X, Vec3::Y, Vec3::Z];
        let t = [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]];
        let n = vertex_normals(&p, &t);
        let c = Vec3::splat(0.25);
        for (v, nv) in p.iter().zip(&n) {
            assert!((*v - c).dot(*nv) > 0.0, "normal {nv} at {v} points inwards");
            assert!((nv.length() - 1.0).abs() < 1e-5);
        }
    }
}
