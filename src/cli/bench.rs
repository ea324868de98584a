//! `physdreamer bench`: the standard scenario of shared/bench/SCENARIO.md.

use crate::bench::{self, Scenario};
use crate::gpu::GpuContext;
use crate::solver::Material;
use anyhow::{bail, Result};
use clap::Args;
use glam::Vec3;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Particles per cube edge (n^3 particles).
    #[arg(long, default_value_t = 32)]
    pub n: u32,
    /// Grid nodes per axis.
    #[arg(long, default_value_t = 64)]
    pub res: u32,
    /// Timed substeps after 5 warm-up substeps.
    #[arg(long, default_value_t = 100)]
    pub steps: u32,
    /// Initial velocity of every particle, "vx,vy,vz" (m/s).
    #[arg(long, default_value = "0,0,0", allow_hyphen_values = true)]
    pub v0: String,
    /// Young's modulus (Pa).
    #[arg(long, default_value_t = 1e5)]
    pub young: f32,
    /// Poisson ratio.
    #[arg(long, default_value_t = 0.3)]
    pub poisson: f32,
    /// Fixed substep (s).
    #[arg(long, default_value_t = 1e-4)]
    pub dt: f32,
    /// Use neo-Hookean instead of fixed-corotated elasticity.
    #[arg(long)]
    pub neo_hookean: bool,
    /// Time every stage with GPU timestamps (one pass per stage, so a little slower overall).
    #[arg(long)]
    pub profile: bool,
    /// Benchmark gradients instead: a clip of this many frames of `--steps` substeps each,
    /// forward with checkpoints, then backward.
    #[arg(long, default_value_t = 0)]
    pub frames: usize,
    /// With --frames: the most MiB the backward pass may use to tape each frame's P2G records
    /// and grids (0 recomputes them in every reverse substep).
    #[arg(long, default_value_t = crate::solver::tape::DEFAULT_TAPE_BUDGET >> 20)]
    pub tape_mib: u64,
}

/// Parses "x,y" into a vector, naming `what` in the error.
pub fn parse_vec2(what: &str, s: &str) -> Result<glam::Vec2> {
    let v = parse_floats(what, s, 2)?;
    Ok(glam::Vec2::new(v[0], v[1]))
}

/// Parses `n` comma-separated finite numbers, naming `what` in the error.
fn parse_floats(what: &str, s: &str, n: usize) -> Result<Vec<f32>> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != n {
        bail!("{what}: expected {n} comma-separated numbers, got {s:?}");
    }
    parts
        .iter()
        .map(|p| match p.parse::<f32>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => bail!("{what}: {p:?} is not finite (in {s:?})"),
            Err(_) => bail!("{what}: {p:?} is not a number (in {s:?})"),
        })
        .collect()
}

/// Parses "x,y,z" into a vector, naming `what` in the error.
pub fn parse_vec3(what: &str, s: &str) -> Result<Vec3> {
    let v = parse_floats(what, s, 3)?;
    Ok(Vec3::new(v[0], v[1], v[2]))
}

pub fn run(ctx: &GpuContext, a: BenchArgs) -> Result<()> {
    if a.n == 0 || a.steps == 0 {
        bail!(
            "--n and --steps must be at least 1 (got n = {}, steps = {})",
            a.n,
            a.steps
        );
    }
    let sc = Scenario {
        n: a.n,
        res: a.res,
        steps: a.steps,
        v0: parse_vec3("--v0", &a.v0)?,
        young: a.young,
        poisson: a.poisson,
        dt: a.dt,
        material: if a.neo_hookean {
            Material::NeoHookean
        } else {
            Material::FixedCorotated
        },
        profile: a.profile,
    };
    if a.frames > 0 {
        return gradient(ctx, &sc, a.frames, a.tape_mib);
    }
    let r = bench::run(ctx, &sc)?;
    println!("particles              {}", r.particles);
    println!("grid                   {}^3", sc.res);
    println!(
        "timed substeps         {} (after {} warm-up)",
        r.steps,
        bench::WARMUP
    );
    println!("seconds                {:.4}", r.seconds);
    println!("particle-steps/s       {:.4e}", r.particle_steps_per_second);
    println!("mean y                 {:.5}", r.mean_y);
    println!("std y                  {:.5}", r.std_y);
    println!("min y                  {:.5}", r.min_y);
    for (stage, secs) in &r.stages {
        println!(
            "  {stage:<12} {:8.3} ms/substep",
            secs * 1e3 / r.steps as f64
        );
    }
    Ok(())
}

fn gradient(ctx: &GpuContext, sc: &Scenario, frames: usize, tape_mib: u64) -> Result<()> {
    let r = bench::run_gradient(ctx, sc, frames, tape_mib << 20)?;
    let substeps = (r.frames as u32 * r.substeps_per_frame) as f64;
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!("particles              {}", r.particles);
    println!("grid                   {}^3", sc.res);
    println!(
        "frames                 {} of {} substeps",
        r.frames, r.substeps_per_frame
    );
    println!(
        "forward (checkpoints)  {:.3} s, {:.3} ms/substep",
        r.forward_seconds,
        r.forward_seconds * 1e3 / substeps
    );
    println!(
        "backward               {:.3} s, {:.3} ms/substep",
        r.backward_seconds,
        r.backward_seconds * 1e3 / substeps
    );
    println!(
        "backward / forward     {:.2}",
        r.backward_seconds / r.forward_seconds
    );
    println!(
        "tape                   records and grids of {} node blocks per substep",
        r.tape_blocks
    );
    println!("gradient buffers       {:.1} MiB", mib(r.gradient_bytes));
    if let Some(b) = r.peak_rss_bytes {
        println!("peak resident memory   {:.1} MiB", mib(b));
    }
    Ok(())
}
