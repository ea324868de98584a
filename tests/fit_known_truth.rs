//! A small known-truth fit: the jelly scene (one particle per cell, about 2,000 particles) is
//! simulated with a known global E and a known initial sway, rendered from the conditioning
//! camera at 160×90 into PNG frames; the fit starts 1.5 decades too soft with zero velocity
//! (its first stage scores five uniform candidates, none of them the truth) and must recover
//! E to |Δlog₁₀ E| < 0.02 over the moving particles. The full-size fit (two regions) is
//! `cargo run --release --example fit_known_truth`.

mod common;
use common::*;
use glam::Vec3;
use physdreamer::cli::prepare::conditioning_camera;
use physdreamer::fit::evaluate::Problem;
use physdreamer::fit::known_truth::{score, write_video, Truth};
use physdreamer::fit::{run::run, solver_config, FitSettings, FitState};
use physdreamer::scene::Scene;
use physdreamer::solver::Solver;
use physdreamer::video::VideoSource;
use std::path::PathBuf;

/// data/default.toml with one particle per cell, written next to a temp copy reference.
fn small_jelly(dir: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(data("default.toml")).unwrap();
    let splat = data("jelly/jelly.ply");
    let text = text.replace("per_cell = 2", "per_cell = 1").replace(
        "\"jelly/jelly.ply\"",
        &format!("{:?}", splat.display().to_string()),
    );
    assert!(text.contains("per_cell = 1"));
    let path = dir.join("jelly_small.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn fit_recovers_a_global_stiffness_from_rendered_frames() {
    let dir = std::env::temp_dir().join(format!("physdreamer_fit_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scene = Scene::load(&small_jelly(&dir)).unwrap();
    let ctx = gpu();
    let fps = 30.0;
    let frames = 6;
    let (_, camera) = conditioning_camera(&scene, None, 160, 90).unwrap();
    let truth_e = 5.0e4f32;
    let truth = Truth::new(
        &scene,
        |_| truth_e,
        |p| Vec3::new(0.8, 0.0, 0.3) * ((p.y - 0.3) / 0.25),
    );
    let cfg = solver_config(&scene, fps);
    let mut solver = Solver::new(&ctx, cfg.clone(), &scene.particles).unwrap();
    let video_dir = dir.join("video");
    write_video(&mut solver, &scene, &truth, &camera, frames, &video_dir).unwrap();
    let video = VideoSource::new(&video_dir, fps).load().unwrap();
    assert_eq!(video.len(), frames + 1);

    let mut solver = Solver::new(&ctx, cfg, &scene.particles).unwrap();
    let problem = Problem::new(&scene, camera, &video, &solver);
    let settings = FitSettings {
        scan_offsets: vec![-1.2, -0.4, 0.4, 1.2, 2.0], // none is the truth: the gradient closes the gap
        velocity_iterations: 6,
        velocity_frames: 3,
        material_iterations: 70,
        window_start: 4,
        material_grid: 2,
        tv_weight: 1e-2, // a global truth: keep the 8 nodes together
        material_lr: 0.15,
        velocity_refit: 10,
        frames: Some(frames),
        ..Default::default()
    };
    let start = (truth_e as f64).log10() - 1.5;
    let rest = &scene.particles.position;
    let mut state = FitState::new(settings, rest, &scene.particles.anchored, start).unwrap();
    let t0 = std::time::Instant::now();
    run(&mut solver, &problem, frames, &mut state, None, false, None).unwrap();
    for h in &state.history {
        eprintln!(
            "iteration {:3} {:?} window {}: loss {:.5e}, PSNR {:.2} dB, median log10 E {:.4}",
            h.iteration, h.stage, h.window, h.loss, h.psnr, h.log10_e_median
        );
    }
    let fitted = state.field.young(rest).unwrap();
    let (mean_abs, median_diff) = score(&fitted, &truth.young, &scene.particles.anchored);
    eprintln!(
        "{} particles, {frames} frames at 160x90: {} iterations in {:.1} s; mean |dlog10 E| {mean_abs:.4}, median difference {median_diff:+.4}",
        scene.particles.len(),
        state.iteration,
        t0.elapsed().as_secs_f64()
    );
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        mean_abs < 0.02,
        "mean |dlog10 E| over the moving particles = {mean_abs}"
    );
    assert!(
        median_diff.abs() < 0.02,
        "median log10 E off by {median_diff}"
    );
    let last = state.history.last().unwrap();
    assert!(last.psnr > 35.0, "final PSNR {} dB", last.psnr);
}
