//! The known-truth fitting benchmark: the jelly scene (data/default.toml) is simulated with a
//! known E field and a known initial sway, rendered from the conditioning camera into 14 PNG
//! frames (30 fps), then `physdreamer fit` recovers E starting 1.5 decades too soft.
//!
//!     cargo run --release --example fit_known_truth [-- --global] [--width 320]
//!         [--velocity-iterations 8] [--material-iterations 80] [--material-lr 0.1]
//!         [--material-grid 16] [--material-levels 1] [--tv-weight 1e-5] [--tv-saturation 0.1]
//!         [--sharpen false] [--sharpen-every 8] [--sharpen-tolerance -0.02] [--sharpen-shifts 16]
//!         [--scan -1.8,-1.2,-0.6,0,0.6,1.2,1.8] [--scan-refine 0] [--ramp]
//!         [--relative-epsilon 0] [--velocity-relative-epsilon 0] [--velocity-curvature 0]
//!         [--frames 13] [--per-cell 2] [--checker 0.05] [--squash]
//!         [--split 0.5] [--young 5e4,3e5]
//!         [--out out/fit_known_truth] [--resume]
//!
//! Truth: two regions, E = 5·10⁴ Pa for x < 0.5 and 3·10⁵ Pa beyond (`--split X` moves the
//! boundary to x = X, `--young A,B` sets the two values; `--global`: A everywhere; `--ramp`:
//! log₁₀ E linear in x between the two over x ∈ [0.3, 0.7], a smooth truth). Starts 1.5
//! decades below the truth's mean log₁₀ E. Prints mean |Δlog₁₀ E| over the moving (not
//! anchored) particles, the difference of their medians, the wall time and the peak
//! resident memory. `--resume` continues the fit from its checkpoint in OUT/fit (the same
//! flags) instead of starting over. `--per-cell 1` fits the jelly with one particle per grid
//! cell (about 2,000 particles) instead of the scene's two (15,830). `--checker S` paints the
//! jelly in a checker of cubes of side S (domain units) for the video and the fit: the plain
//! red jelly shows the camera little more than its outline, a painted one its surface's
//! motion too.
//! The known motion is a sway, v₀ = (0.8, 0, 0.3) m/s · h with h the height above the pedestal
//! over 0.25; `--squash` adds a vertical squash, (0, −0.6, 0) m/s · h. A sway strains the
//! jelly mostly near the pedestal, so the E of its upper part barely shows in the video; a
//! squash strains it all the way up.

use anyhow::{Context, Result};
use glam::{Vec2, Vec3};
use physdreamer::cli::bench::parse_vec2;
use physdreamer::cli::fit::{run as fit, FitArgs};
use physdreamer::cli::prepare::conditioning_camera;
use physdreamer::fit::known_truth::{score, write_video, Truth};
use physdreamer::fit::{solver_config, FitSettings};
use physdreamer::gpu::GpuContext;
use physdreamer::material::MaterialField;
use physdreamer::scene::ply::PlyFormat;
use physdreamer::scene::procedural;
use physdreamer::scene::Scene;
use physdreamer::solver::Solver;
use std::path::PathBuf;
use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{name} needs a value")),
    }
}

/// data/default.toml, or a copy of it in `out` with `per_cell` particles per cell and axis
/// and, with `checker`, the jelly painted in a checker of cubes of that side.
fn jelly(per_cell: u32, checker: Option<f32>, out: &std::path::Path) -> Result<PathBuf> {
    if per_cell == 2 && checker.is_none() {
        return Ok(PathBuf::from("data/default.toml"));
    }
    let dir = out.join("scene");
    std::fs::create_dir_all(&dir)?;
    let splats = procedural::jelly_splats_with(checker);
    splats.write(
        &dir.join("jelly.ply"),
        PlyFormat::BinaryLittleEndian,
        &["physdreamer examples/fit_known_truth.rs".to_string()],
    )?;
    let text = procedural::jelly_scene_toml("jelly.ply");
    let changed = text.replace("per_cell = 2", &format!("per_cell = {per_cell}"));
    anyhow::ensure!(
        changed.contains(&format!("per_cell = {per_cell}")),
        "the jelly scene has no `per_cell = 2` to change"
    );
    let path = dir.join("jelly.toml");
    std::fs::write(&path, changed)?;
    Ok(path)
}

fn main() -> Result<()> {
    physdreamer::gpu::size_software_threads();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    const FLAGS: [&str; 29] = [
        "--resume",
        "--split",
        "--sharpen-shifts",
        "--young",
        "--sharpen",
        "--sharpen-tolerance",
        "--sharpen-every",
        "--velocity-curvature",
        "--velocity-relative-epsilon",
        "--global",
        "--ramp",
        "--tv-saturation",
        "--squash",
        "--width",
        "--velocity-iterations",
        "--material-iterations",
        "--material-lr",
        "--material-grid",
        "--material-levels",
        "--tv-weight",
        "--scan",
        "--scan-refine",
        "--relative-epsilon",
        "--frames",
        "--per-cell",
        "--checker",
        "--out",
        "--help",
        "-h",
    ];
    if let Some(a) = args
        .iter()
        .find(|a| a.starts_with("--") && !FLAGS.contains(&a.as_str()))
    {
        anyhow::bail!("unknown flag {a}; the flags are {}", FLAGS.join(" "));
    }
    let global = args.iter().any(|a| a == "--global");
    let resume = args.iter().any(|a| a == "--resume");
    let width: u32 = arg(&args, "--width", 320)?;
    let d = FitSettings::default();
    let velocity_iterations = arg(&args, "--velocity-iterations", d.velocity_iterations)?;
    let material_iterations = arg(&args, "--material-iterations", d.material_iterations)?;
    let material_lr = arg(&args, "--material-lr", d.material_lr)?;
    let material_grid = arg(&args, "--material-grid", d.material_grid)?;
    let material_levels = arg(&args, "--material-levels", d.material_levels)?;
    let tv_weight = arg(&args, "--tv-weight", d.tv_weight)?;
    let tv_saturation: f64 = arg(&args, "--tv-saturation", 0.0)?;
    let tv_saturation = (tv_saturation > 0.0).then_some(tv_saturation);
    let sharpen = arg(&args, "--sharpen", d.sharpen)?;
    let sharpen_every = arg(&args, "--sharpen-every", d.sharpen_every)?;
    let sharpen_tolerance = arg(&args, "--sharpen-tolerance", d.sharpen_tolerance)?;
    let sharpen_shifts = arg(&args, "--sharpen-shifts", d.sharpen_shifts)?;
    let ramp = args.iter().any(|a| a == "--ramp");
    anyhow::ensure!(
        !(ramp && global),
        "--ramp and --global are two different truths"
    );
    let scan = arg(&args, "--scan", "-1.8,-1.2,-0.6,0,0.6,1.2,1.8".to_string())?;
    let frames: usize = arg(&args, "--frames", 13)?;
    let scan_refine = arg(&args, "--scan-refine", d.scan_refine)?;
    let relative_epsilon = arg(&args, "--relative-epsilon", d.relative_epsilon)?;
    let velocity_curvature = arg(&args, "--velocity-curvature", d.velocity_curvature)?;
    let velocity_relative_epsilon = arg(
        &args,
        "--velocity-relative-epsilon",
        d.velocity_relative_epsilon,
    )?;
    let per_cell: u32 = arg(&args, "--per-cell", 2)?;
    let checker: f32 = arg(&args, "--checker", 0.0)?;
    let checker = (checker > 0.0).then_some(checker);
    let squash = args.iter().any(|a| a == "--squash");
    let split: f32 = arg(&args, "--split", 0.5)?;
    let young_text = arg(&args, "--young", "5e4,3e5".to_string())?;
    let Vec2 {
        x: young_a,
        y: young_b,
    } = parse_vec2("--young", &young_text)?;
    anyhow::ensure!(
        young_a > 0.0 && young_b > 0.0,
        "--young needs two positive values A,B in Pa, got {young_text:?}"
    );
    anyhow::ensure!(
        split > 0.35 && split < 0.65,
        "--split {split} is not inside the jelly (x from 0.35 to 0.65)"
    );
    let out = PathBuf::from(arg(&args, "--out", "out/fit_known_truth".to_string())?);
    let scene_path = jelly(per_cell, checker, &out)?;
    let scene = Scene::load(&scene_path)?;
    let ctx = GpuContext::from_env()?;
    let fps = 30.0;
    let height = (width as f32 * 9.0 / 16.0).round() as u32;
    let (_, camera) = conditioning_camera(&scene, None, width, height)?;
    let truth = Truth::new(
        &scene,
        |p| match (global, ramp, p.x < split) {
            (true, _, _) => young_a,
            (_, true, _) => {
                let t = ((p.x - 0.3) / 0.4).clamp(0.0, 1.0);
                10f32.powf(young_a.log10() * (1.0 - t) + young_b.log10() * t)
            }
            (false, false, true) => young_a,
            (false, false, false) => young_b,
        },
        |p| {
            let h = (p.y - 0.3) / 0.25;
            let sway = Vec3::new(0.8, 0.0, 0.3) * h;
            if squash {
                sway + Vec3::new(0.0, -0.6, 0.0) * h
            } else {
                sway
            }
        },
    );
    let video = out.join("video");
    let t0 = Instant::now();
    let mut solver = Solver::new(&ctx, solver_config(&scene, fps), &scene.particles)?;
    write_video(&mut solver, &scene, &truth, &camera, frames, &video)?;
    drop(solver);
    eprintln!(
        "reference video: {} frames in {:.1} s",
        frames + 1,
        t0.elapsed().as_secs_f64()
    );
    // the start: 1.5 decades below the mean log10 E of the moving particles
    let moving: Vec<f64> = (0..scene.particles.len())
        .filter(|&i| !scene.particles.anchored[i])
        .map(|i| (truth.young[i] as f64).log10())
        .collect();
    let log_truth = moving.iter().sum::<f64>() / moving.len() as f64;
    let t0 = Instant::now();
    fit(
        &ctx,
        FitArgs {
            scene: scene_path,
            video: video.clone(),
            fps,
            masks: None,
            camera: None,
            out: out.join("fit"),
            width: Some(width),
            frames: Some(frames),
            velocity_iterations,
            material_iterations,
            young_start: Some(10f64.powf(log_truth - 1.5)),
            material_lr,
            material_grid,
            material_levels,
            tv_weight,
            tv_saturation,
            sharpen,
            sharpen_every,
            sharpen_tolerance,
            sharpen_shifts,
            scan,
            scan_refine,
            relative_epsilon,
            velocity_relative_epsilon,
            velocity_curvature,
            restart: !resume,
            stop_after: None,
            render_backward: Default::default(),
        },
    )?;
    let seconds = t0.elapsed().as_secs_f64();
    let fitted = MaterialField::read(&out.join("fit").join("material.ply"))?;
    let (young, _) = fitted.sample(&scene.particles.position);
    let (mean_abs, median_diff) = score(&young, &truth.young, &scene.particles.anchored);
    println!(
        "{} particles, {frames} target frames at {width}x{height}, {} + {} iterations: {seconds:.0} s",
        scene.particles.len(),
        velocity_iterations,
        material_iterations
    );
    println!(
        "truth: {}, {}{}",
        if global {
            format!("global E = {young_a:e} Pa")
        } else if ramp {
            format!("a ramp, log10 E linear in x from {young_a:e} Pa (x = 0.3) to {young_b:e} Pa (x = 0.7)")
        } else {
            format!("two regions, {young_a:e} | {young_b:e} Pa (x < {split} | beyond)")
        },
        if squash { "sway and squash" } else { "sway" },
        if checker.is_some() {
            ", checkered jelly"
        } else {
            ""
        }
    );
    println!(
        "mean |dlog10 E| over particles {mean_abs:.4}; median log10 E difference {median_diff:+.4}"
    );
    // where the error lies: x < split or beyond, lower or upper half of the jelly, the half
    // facing the camera (z > 0.5) or the back half
    let set = &scene.particles;
    for k in 0..8 {
        let (left, lower, front) = (k & 4 == 0, k & 2 == 0, k & 1 == 0);
        let part: Vec<bool> = (0..set.len())
            .map(|i| {
                let p = set.position[i];
                set.anchored[i] || (p.x < split, p.y < 0.42, p.z > 0.5) != (left, lower, front)
            })
            .collect();
        let n = part.iter().filter(|&&a| !a).count();
        let (m, d) = score(&young, &truth.young, &part);
        println!(
            "  x {} {split}, {} half, {}: {n} particles, mean |dlog10 E| {m:.4}, median difference {d:+.4}",
            if left { "<" } else { ">" },
            if lower { "lower" } else { "upper" },
            if front { "front" } else { "back" },
        );
    }
    if let Some(b) = physdreamer::bench::peak_rss() {
        println!("peak resident memory {:.0} MiB", b as f64 / 1048576.0);
    }
    Ok(())
}
