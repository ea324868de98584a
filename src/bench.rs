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

/// What [`run_gradient`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientBenchResult {
    pub particles: u32,
    pub frames: usize,
    pub substeps_per_frame: u32,
    /// Wall time of the forward clip with checkpoints, and of the backward pass.
    pub forward_seconds: f64,
    pub backward_seconds: f64,
    /// GPU bytes the gradients add (see [`crate::solver::adjoint::gradient_memory`]).
    pub gradient_bytes: u64,
    /// Node blocks per substep whose grids the backward pass taped (0: recomputed).
    pub tape_blocks: u32,
    /// The process's peak resident memory (Linux; on a software adapter GPU buffers live
    /// there too), if known.
    pub peak_rss_bytes: Option<u64>,
}

/// The scenario as a clip of `frames` frames of `steps` substeps: timed forward run with
/// checkpoints, then a timed backward pass from random adjoints of every frame's positions.
pub fn run_gradient(
    ctx: &GpuContext,
    sc: &Scenario,
    frames: usize,
    tape_budget: u64,
) -> Result<GradientBenchResult> {
    let set = sc.particles();
    let mut cfg = sc.config();
    cfg.frame_dt = sc.dt * sc.steps as f32;
    let mut solver = Solver::new(ctx, cfg, &set)?;
    solver.set_tape_budget(tape_budget);
    let n = set.len();
    // warm-up: build the pipelines of both passes once
    let warm = solver.record_clip(1)?;
    solver.backward(&warm, &[vec![], vec![Vec3::ONE; n]])?;
    drop(warm);
    ctx.wait()?;
    let t0 = Instant::now();
    let clip = solver.record_clip(frames)?;
    ctx.wait()?;
    let forward_seconds = t0.elapsed().as_secs_f64();
    let substeps_per_frame = clip.substeps()[0];
    let adjoints: Vec<Vec<Vec3>> = (0..=frames)
        .map(|k| {
            (0..n)
                .map(|i| Vec3::new(1.0, (i % 7) as f32 - 3.0, k as f32) * 1e-3)
                .collect()
        })
        .collect();
    let t0 = Instant::now();
    let g = solver.backward(&clip, &adjoints)?;
    let backward_seconds = t0.elapsed().as_secs_f64();
    anyhow::ensure!(
        g.ln_young.iter().any(|&e| e != 0.0),
        "the benchmark's gradient is zero"
    );
    Ok(GradientBenchResult {
        particles: n as u32,
        frames,
        substeps_per_frame,
        forward_seconds,
        backward_seconds,
        gradient_bytes: crate::solver::adjoint::gradient_memory(
            n as u64,
            sc.res,
            frames as u64,
            substeps_per_frame as u64,
            solver.tape_blocks() as u64,
        ),
        tape_blocks: solver.tape_blocks(),
        peak_rss_bytes: peak_rss(),
    })
}

/// Peak resident set size of this process (Linux `VmHWM`).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
