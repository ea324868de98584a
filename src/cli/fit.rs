//! `physdreamer fit`: recover a stiffness field and an initial velocity from a video of the
//! object seen from the conditioning camera (see `physdreamer prepare`).

use super::prepare::conditioning_camera;
use crate::fit::checkpoint::{self, FitIdentity};
use crate::fit::evaluate::{Problem, RenderBackward};
use crate::fit::run::{run as run_fit, CheckpointAt};
use crate::fit::{median, output, solver_config, FitSettings, FitState, Stage};
use crate::gpu::GpuContext;
use crate::scene::Scene;
use crate::solver::Solver;
use crate::video::{SizePolicy, VideoSource};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FitArgs {
    /// Scene file (TOML) of the object in the video.
    pub scene: PathBuf,
    /// Folder of video frames (PNG/JPG, numbered); frame 0 is the object at rest.
    #[arg(long)]
    pub video: PathBuf,
    /// Frames per second of the video.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
    /// Folder of foreground masks, numbered like the frames (optional).
    #[arg(long)]
    pub masks: Option<PathBuf>,
    /// The camera the conditioning image was prepared with (`prepare --camera`): a scene
    /// camera name (default: its first) or a transforms.json / COLMAP folder.
    #[arg(long)]
    pub camera: Option<String>,
    /// Output folder: material.ply, velocity.json, loss.png, e_field.png, compare/,
    /// summary.json and checkpoint.json (an interrupted fit resumes from it).
    #[arg(long, default_value = "out/fit")]
    pub out: PathBuf,
    /// Width the frames are fitted at (the video is resized; default: its width, at most 512).
    #[arg(long)]
    pub width: Option<u32>,
    /// Target frames after frame 0 (default: all, at most 13).
    #[arg(long)]
    pub frames: Option<usize>,
    /// Iterations of the velocity stage and of the material stage.
    #[arg(long, default_value_t = FitSettings::default().velocity_iterations)]
    pub velocity_iterations: u32,
    #[arg(long, default_value_t = FitSettings::default().material_iterations)]
    pub material_iterations: u32,
    /// Starting Young's modulus (Pa; default: the scene's median).
    #[arg(long)]
    pub young_start: Option<f64>,
    /// Learning rate of log10 E.
    #[arg(long, default_value_t = FitSettings::default().material_lr)]
    pub material_lr: f64,
    /// Weight of the total-variation term on the log10 E grid.
    #[arg(long, default_value_t = FitSettings::default().tv_weight)]
    pub tv_weight: f64,
    /// Saturation (decades) of the total-variation term: each edge of the grid costs
    /// s·ln(1 + |Δ|/s), so one sharp boundary between uniform parts costs less than a ramp
    /// (default: plain total variation, which charges both the same).
    #[arg(long)]
    pub tv_saturation: Option<f64>,
    /// On the finest level of the E grid, at its last iteration, try the grid with its
    /// short ramps made sharp steps and keep it where the video prefers it (docs/fit.md).
    #[arg(long, default_value_t = FitSettings::default().sharpen, action = clap::ArgAction::Set)]
    pub sharpen: bool,
    /// Also try it every this-many iterations of that level (0: at its last only).
    #[arg(long, default_value_t = FitSettings::default().sharpen_every)]
    pub sharpen_every: u32,
    /// A sharpened grid is kept where its loss is below (1 + this) × the current loss
    /// (negative: it must lower the loss by that fraction).
    #[arg(long, default_value_t = FitSettings::default().sharpen_tolerance, allow_negative_numbers = true)]
    pub sharpen_tolerance: f64,
    /// Grids simulated to find the levels of the proposal's two sides (each shifted by up
    /// to 0.2 decades) before it is judged, for each of its two forms (the sharpened grid,
    /// and the same as two uniform parts); 0 or 1: each as it is.
    #[arg(long, default_value_t = FitSettings::default().sharpen_shifts)]
    pub sharpen_shifts: u32,
    /// Nodes per axis of the log10 E grid.
    #[arg(long, default_value_t = FitSettings::default().material_grid)]
    pub material_grid: usize,
    /// Coarse-to-fine levels of the log10 E grid (1: the full grid from the start).
    #[arg(long, default_value_t = FitSettings::default().material_levels)]
    pub material_levels: u32,
    /// Offsets (decades, comma-separated) from the starting E of the first stage's uniform
    /// candidates; "0" for a plain velocity stage.
    #[arg(
        long,
        default_value = "-1.8,-1.2,-0.6,0,0.6,1.2,1.8",
        allow_hyphen_values = true
    )]
    pub scan: String,
    /// Rounds of refinement of the first stage: round r tries the best E so far ± the
    /// candidates' spacing / 2^r.
    #[arg(long, default_value_t = FitSettings::default().scan_refine)]
    pub scan_refine: u32,
    /// Relative epsilon of the E grid's Adam: nodes whose gradient is far below the typical
    /// node's take proportionally smaller steps (0: plain Adam).
    #[arg(long, default_value_t = FitSettings::default().relative_epsilon)]
    pub relative_epsilon: f64,
    /// Relative epsilon of the velocity grids' Adam (both stages): velocity the video barely
    /// sees stays near zero (0: plain Adam).
    #[arg(long, default_value_t = FitSettings::default().velocity_relative_epsilon)]
    pub velocity_relative_epsilon: f64,
    /// Weight of the curvature term on the velocity grids (squared second differences along
    /// each axis; an affine motion, a sway or a turn, costs nothing).
    #[arg(long, default_value_t = FitSettings::default().velocity_curvature)]
    pub velocity_curvature: f64,
    /// Ignore an existing checkpoint and start again.
    #[arg(long)]
    pub restart: bool,
    /// Stop (with the checkpoint written, no outputs) once this many iterations are done;
    /// run again to resume.
    #[arg(long)]
    pub stop_after: Option<u32>,
    /// Where the renderer's backward pass runs: auto (GPU on a hardware adapter, CPU on a
    /// software one such as lavapipe, where the CPU pass is faster), gpu or cpu.
    #[arg(long, value_enum, default_value_t = RenderBackward::Auto)]
    pub render_backward: RenderBackward,
}

fn parse_offsets(s: &str) -> Result<Vec<f64>> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| match p.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x.abs() <= 10.0 => Ok(x),
            _ => bail!("--scan: {p:?} is not an offset in decades (-10..10) in {s:?}"),
        })
        .collect::<Result<_>>()?;
    Ok(v)
}

pub fn run(ctx: &GpuContext, a: FitArgs) -> Result<()> {
    let scene =
        Scene::load(&a.scene).with_context(|| format!("loading scene {}", a.scene.display()))?;
    let probe = VideoSource::new(&a.video, a.fps)
        .load()
        .with_context(|| format!("reading the video frames in {}", a.video.display()))?;
    if probe.len() < 2 {
        bail!(
            "video {}: {} frame(s); need frame 0 and at least one more",
            a.video.display(),
            probe.len()
        );
    }
    let (vw, vh) = probe.size();
    let width = a.width.unwrap_or(vw.min(512));
    let height = ((width as f64 * vh as f64 / vw as f64).round() as u32).max(1);
    let mut source = VideoSource::new(&a.video, a.fps).with_size(width, height, SizePolicy::Resize);
    if let Some(m) = &a.masks {
        source = source.with_masks(m);
    }
    let video = source
        .load()
        .with_context(|| format!("reading the video frames in {}", a.video.display()))?;
    drop(probe);
    let (cam_name, camera) = conditioning_camera(&scene, a.camera.as_deref(), width, height)?;
    let frames = a.frames.unwrap_or((video.len() - 1).min(13));
    if frames == 0 || frames >= video.len() {
        bail!(
            "--frames {frames}: the video {} has frames 1..={} to fit",
            a.video.display(),
            video.len() - 1
        );
    }
    let mut solver = Solver::new(ctx, solver_config(&scene, a.fps), &scene.particles)?;
    let problem = Problem::new(&scene, camera, &video, &solver)
        .with_render_backward(a.render_backward, &solver)?;
    let settings = FitSettings {
        velocity_iterations: a.velocity_iterations,
        material_iterations: a.material_iterations,
        material_lr: a.material_lr,
        material_grid: a.material_grid,
        material_levels: a.material_levels,
        tv_weight: a.tv_weight,
        tv_saturation: a.tv_saturation,
        sharpen: a.sharpen,
        sharpen_every: a.sharpen_every,
        sharpen_tolerance: a.sharpen_tolerance,
        sharpen_shifts: a.sharpen_shifts,
        scan_offsets: parse_offsets(&a.scan)?,
        scan_refine: a.scan_refine,
        relative_epsilon: a.relative_epsilon,
        velocity_relative_epsilon: a.velocity_relative_epsilon,
        velocity_curvature: a.velocity_curvature,
        log10_e_start: a.young_start.map(f64::log10),
        frames: Some(frames),
        ..Default::default()
    };
    let identity = FitIdentity {
        scene: a.scene.display().to_string(),
        video: a.video.display().to_string(),
        camera: cam_name.clone(),
        frames,
        particles: scene.particles.len(),
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let ckpt = a.out.join("checkpoint.json");
    let rest = &scene.particles.position;
    let mut state = if ckpt.exists() && !a.restart {
        let s = checkpoint::load(&ckpt, &identity)?;
        if s.settings != settings {
            bail!(
                "checkpoint {} was made with other settings; pass the same flags or --restart",
                ckpt.display()
            );
        }
        eprintln!("resuming {} at iteration {}", ckpt.display(), s.iteration);
        s
    } else {
        let young: Vec<f64> = scene
            .particles
            .young
            .iter()
            .map(|&e| (e as f64).log10())
            .collect();
        let start = settings.log10_e_start.unwrap_or_else(|| median(&young));
        FitState::new(settings, rest, &scene.particles.anchored, start)?
    };
    eprintln!(
        "fitting {} particles to {} frames of {} ({}x{}, camera {cam_name:?})",
        scene.particles.len(),
        frames,
        a.video.display(),
        width,
        height
    );
    let at = CheckpointAt {
        path: &ckpt,
        identity: &identity,
    };
    run_fit(
        &mut solver,
        &problem,
        frames,
        &mut state,
        Some(at),
        true,
        a.stop_after,
    )?;
    if state.iteration < state.total_iterations() {
        println!(
            "stopped after iteration {} of {}; run the same command again to resume",
            state.iteration,
            state.total_iterations()
        );
        return Ok(());
    }
    let young = state.field.young(rest)?;
    let velocity = state.velocities(rest)?;
    let last = problem.evaluate(
        &mut solver,
        &young,
        &velocity,
        frames,
        &state.loss(Stage::Material),
        false,
    )?;
    output::write(
        &a.out,
        &problem,
        &state,
        &last.frames,
        (last.loss, last.psnr),
    )?;
    println!(
        "fit done: loss {:.4e}, PSNR {:.2} dB over {frames} frames; median E {:.3e} Pa; wrote {}",
        last.loss,
        last.psnr,
        10f64.powf(median(&state.field.sample(rest)?)),
        a.out.display()
    );
    Ok(())
}
