//! Solver settings: grid, material model, forces, boundaries and time stepping.

use glam::Vec3;

/// Elastic energy of the particles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Material {
    /// Fixed-corotated (Stomakhin et al. 2012): tau = 2 mu (F - R) F^T + lambda J (J - 1) I.
    #[default]
    FixedCorotated,
    /// Compressible neo-Hookean: tau = mu (F F^T - I) + lambda ln(J) I.
    NeoHookean,
}

/// What the domain walls do to grid velocity in the outer `wall_cells` layers of nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Wall {
    /// No walls: particles that reach the edge of the grid end the run with an error.
    None,
    /// The velocity component pointing out of the domain is zeroed ("3-cell box").
    #[default]
    Slip,
    /// The whole velocity is zeroed.
    Sticky,
}

/// A horizontal ground plane `y = height`: nodes at or below it lose their downward velocity
/// (`Slip`) or all velocity (`Sticky`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ground {
    pub height: f32,
    pub sticky: bool,
}

/// PhysDreamer's poke: every substep while `start <= t < start + duration`, particles within
/// `radius` of `centre` get `v += force * dt` (force is an acceleration, m/s^2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Poke {
    pub centre: Vec3,
    pub radius: f32,
    pub force: Vec3,
    pub start: f32,
    pub duration: f32,
}

/// A spring drag: every selected particle is pulled towards `target + offset_p` (its offset
/// from the grab point when it was selected) with acceleration `stiffness * (target + offset_p
/// - x_p) - damping * v_p`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Drag {
    pub target: Vec3,
    pub stiffness: f32,
    pub damping: f32,
}

/// How the substep size is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeStep {
    /// Always this dt (s); a frame is `ceil(frame_dt / dt)` substeps.
    Fixed(f32),
    /// Per frame, dt = cfl * dx / (c_p + v_max), c_p the largest P-wave speed
    /// sqrt((lambda + 2 mu) / rho) and v_max the largest particle speed at the frame start
    /// (plus what an active poke can add during the frame); at most `max_substeps` per frame
    /// (then dt = frame_dt / max_substeps, and the run may be unstable: a warning is logged).
    Adaptive { cfl: f32, max_substeps: u32 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct SolverConfig {
    /// Grid nodes per axis over the unit cube (dx = 1 / grid_res); a multiple of 8 in 16..=512 (and within the adapter's buffer limits).
    pub grid_res: u32,
    pub material: Material,
    /// m/s^2.
    pub gravity: Vec3,
    /// Grid velocity damping rate (1/s): v *= exp(-damping * dt) each substep.
    pub damping: f32,
    pub wall: Wall,
    /// Node layers on each side affected by `wall` (3 in the standard scenario).
    pub wall_cells: u32,
    pub ground: Option<Ground>,
    pub time_step: TimeStep,
    /// Length of one output frame (s).
    pub frame_dt: f32,
}

impl Default for SolverConfig {
    fn default() -> Self {
        SolverConfig {
            grid_res: 64,
            material: Material::FixedCorotated,
            gravity: Vec3::new(0.0, -9.8, 0.0),
            damping: 0.0,
            wall: Wall::Slip,
            wall_cells: 3,
            ground: None,
            time_step: TimeStep::Adaptive {
                cfl: 0.4,
                max_substeps: 2000,
            },
            frame_dt: 1.0 / 30.0,
        }
    }
}

impl SolverConfig {
    pub fn dx(&self) -> f32 {
        1.0 / self.grid_res as f32
    }
}

pub use super::reference::lame;
