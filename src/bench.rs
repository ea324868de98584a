//! The standard "jelly-drop" MPM scenario (shared/bench/SCENARIO.md): a cube of n^3
//! particles in a 3-cell slip box, fixed dt, timed after warm-up. Used by `physdreamer bench`
//! and by the cross-check tests.

use crate::gpu::GpuContext;
use crate::particles::ParticleSet;
use crate::solver::{Material, Solver, SolverConfig, TimeStep, Wall};
use anyhow::Result;
use glam::Vec3;
use std::time::Instant;

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Particles per cube edge (n^3 in all).
    pub n: u32,
    pub res: u32,
    /// Timed substeps (after 5 warm-up substeps).
    pub steps: u32,
    pub v0: Vec3,
    pub young: f32,
    pub poisson: f32,
    pub dt: f32,
    pub material: Material,
    /// Time every stage with GPU timestamps (costs a little: one pass per stage).
    pub profile: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            n: 32,
            res: 64,
            steps: 100,
            v0: Vec3::ZERO,
            young: 1e5,
            poisson: 0.3,
            dt: 1e-4,
            material: Material::FixedCorotated,
            profile: false,
        }
    }
}

pub const WARMUP: u32 = 5;

impl Scenario {
    /// The cube: spacing s = 0.3/n, centres at 0.35 + (i + 0.5) s, volume s^3, 1000 kg/m^3.
    pub fn particles(&self) -> ParticleSet {
        let s = 0.3 / self.n as f32;
        let mut set = ParticleSet::block(
            Vec3::splat(0.35),
            [self.n; 3],
            s,
            1000.0,
            self.young,
            self.poisson,
        );
        set.velocity.fill(self.v0);
        set
    }

    pub fn config(&self) -> SolverConfig {
        SolverConfig {
            grid_res: self.res,
            material: self.material,
            gravity: Vec3::new(0.0, -9.8, 0.0),
            damping: 0.0,
            wall: Wall::Slip,
            wall_cells: 3,
            ground: None,
            time_step: TimeStep::Fixed(self.dt),
            frame_dt: self.dt,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BenchResult {
    pub particles: u32,
    pub steps: u32,
    pub seconds: f64,
    pub particle_steps_per_second: f64,
    pub mean_y: f64,
    pub std_y: f64,
    pub min_y: f64,
    /// GPU seconds per stage over the timed substeps, when profiled.
    pub stages: Vec<(&'static str, f64)>,
}

/// Mean, standard deviation and minimum of the y coordinates.
pub fn y_stats(positions: &[Vec3]) -> (f64, f64, f64) {
    let n = positions.len() as f64;
    let mean = positions.iter().map(|p| p.y as f64).sum::<f64>() / n;
    let var = positions
        .iter()
        .map(|p| (p.y as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let min = positions
        .iter()
        .map(|p| p.y as f64)
        .fold(f64::INFINITY, f64::min);
    (mean, var.sqrt(), min)
}

/// Runs the scenario on `ctx`: 5 warm-up substeps, then `steps` timed ones between two
/// device synchronisations.
pub fn run(ctx: &GpuContext, sc: &Scenario) -> Result<BenchResult> {
    let set = sc.particles();
    let mut solver = Solver::new(ctx, sc.config(), &set)?;
    solver.substeps(WARMUP, sc.dt)?;
    ctx.wait()?;
    if sc.profile {
        solver.enable_profiling()?;
    }
    let t0 = Instant::now();
    solver.substeps_unchecked(sc.steps, sc.dt);
    ctx.wait()?;
    let seconds = t0.elapsed().as_secs_f64();
    solver.check()?;
    let (mean_y, std_y, min_y) = y_stats(&solver.positions()?);
    let particles = set.len() as u32;
    Ok(BenchResult {
        particles,
        steps: sc.steps,
        seconds,
        particle_steps_per_second: particles as f64 * sc.steps as f64 / seconds,
        mean_y,
        std_y,
        min_y,
        stages: solver.profile().unwrap_or_default(),
    })
}
