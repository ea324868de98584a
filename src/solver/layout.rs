//! GPU-side records, laid out exactly as the WGSL structs in `shaders/mpm_common.wgsl`.

use bytemuck::{Pod, Zeroable};
use glam::{Mat3, Vec3};

/// One particle's state (WGSL `Particle`, 128 bytes): position, velocity, APIC affine
/// matrix C and deformation gradient F; matrices are column-major with padded columns.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct GpuParticle {
    pub x: [f32; 4],
    pub v: [f32; 4],
    pub c: [[f32; 4]; 3],
    pub f: [[f32; 4]; 3],
}

fn pad_mat(m: Mat3) -> [[f32; 4]; 3] {
    let c = m.to_cols_array_2d();
    [
        [c[0][0], c[0][1], c[0][2], 0.0],
        [c[1][0], c[1][1], c[1][2], 0.0],
        [c[2][0], c[2][1], c[2][2], 0.0],
    ]
}

fn unpad_mat(m: &[[f32; 4]; 3]) -> Mat3 {
    Mat3::from_cols_array_2d(&[
        [m[0][0], m[0][1], m[0][2]],
        [m[1][0], m[1][1], m[1][2]],
        [m[2][0], m[2][1], m[2][2]],
    ])
}

impl GpuParticle {
    pub fn new(x: Vec3, v: Vec3, c: Mat3, f: Mat3) -> Self {
        GpuParticle {
            x: x.extend(0.0).to_array(),
            v: v.extend(0.0).to_array(),
            c: pad_mat(c),
            f: pad_mat(f),
        }
    }
    pub fn position(&self) -> Vec3 {
        Vec3::new(self.x[0], self.x[1], self.x[2])
    }
    pub fn velocity(&self) -> Vec3 {
        Vec3::new(self.v[0], self.v[1], self.v[2])
    }
    pub fn affine(&self) -> Mat3 {
        unpad_mat(&self.c)
    }
    pub fn deformation(&self) -> Mat3 {
        unpad_mat(&self.f)
    }
}

/// WGSL `Ctl`: drag offset from the grab point and flag bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct GpuCtl {
    pub offset: [f32; 3],
    pub flags: u32,
}

impl GpuCtl {
    /// The record as the stages' texel table holds it (WGSL `ctl_at`): the offset, then the
    /// flags as a float (exact; a texel fetch need not keep the bits of a denormal).
    pub fn texel(&self) -> [f32; 4] {
        let [x, y, z] = self.offset;
        [x, y, z, self.flags as f32]
    }
}

pub const FLAG_ANCHORED: u32 = 1;
pub const FLAG_DRAGGED: u32 = 2;

/// WGSL `Params`, one 144-byte record per substep.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, Default)]
pub struct GpuParams {
    pub res: u32,
    pub n_particles: u32,
    pub material: u32,
    pub wall: u32,
    pub wall_cells: u32,
    pub step: u32,
    pub ground_on: u32,
    pub ground_sticky: u32,
    pub dx: f32,
    pub inv_dx: f32,
    pub dt: f32,
    pub time: f32,
    pub gravity: [f32; 4],
    pub ground_y: f32,
    pub poke_on: u32,
    pub drag_on: u32,
    pub drag_stiffness: f32,
    pub poke_centre: [f32; 4],
    pub poke_force: [f32; 4],
    pub drag_target: [f32; 4],
    pub report_speed: u32,
    /// 1: the stress stage writes the record slots to their buffer, and P2G the grid sums and
    /// velocities to theirs (see `Solver::keep_buffers`).
    pub keep_buffers: u32,
    /// 1: G2P bins the particles' new positions for the next substep, which then skips the
    /// sort's `bin` entry (see `Solver::encode_batch`).
    pub bin_next: u32,
    pub _pad: u32,
}

/// Bytes per P2G record (WGSL `P2gRecord`) and per grid node momentum (`GridMomentum`).
pub const P2G_RECORD_BYTES: u64 = 64;

/// One P2G record read back: position in grid units, mass, momentum and the affine matrix
/// A = m C - dt V (4 / dx^2) tau (see `shaders/mpm_common.wgsl`).
pub fn unpack_record(r: &[f32; 16]) -> (Vec3, f32, Vec3, Mat3) {
    let a = Mat3::from_cols_array(&[r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]]);
    (
        Vec3::new(r[0], r[1], r[2]),
        r[3],
        Vec3::new(r[4], r[5], r[6]),
        a,
    )
}
pub const GRID_MOMENTUM_BYTES: u64 = 32;
