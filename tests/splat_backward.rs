//! The rasteriser's GPU backward pass (`shaders/splat_backward.wgsl`) against the CPU pass it
//! mirrors (`render::differentiable::backward`, whose gradients `tests/render_gradients.rs`
//! checks against central differences), on fresh random clouds, image gradients, backgrounds
//! and image sizes that are not whole tiles: the blend counts, the gradients of every
//! Gaussian, bit-identical repeats and the same result when the image is split into bands.

mod common;
#[path = "render_gradients/fd.rs"]
#[allow(dead_code)]
mod fd;

use fd::*;
use glam::Vec3;
use physdreamer::render::differentiable::{backward, render_float, SplatBackward, SplatGradients};
use rand::Rng;

/// Largest difference of `a` and `b` over the Gaussians, relative to the largest `|b|`.
fn rel_error(a: &[Vec3], b: &[Vec3]) -> f64 {
    let scale = b
        .iter()
        .map(|v| v.abs().max_element())
        .fold(0.0f32, f32::max) as f64;
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x - *y).abs().max_element())
        .fold(0.0f32, f32::max);
    diff as f64 / scale.max(1e-30)
}

/// Per-kind relative errors of `gpu` against `cpu`: means, colours, opacities.
fn errors(gpu: &SplatGradients, cpu: &SplatGradients) -> [f64; 3] {
    let op = |g: &SplatGradients| {
        g.opacity
            .iter()
            .map(|&o| Vec3::splat(o))
            .collect::<Vec<_>>()
    };
    [
        rel_error(&gpu.mean, &cpu.mean),
        rel_error(&gpu.colour, &cpu.colour),
        rel_error(&op(gpu), &op(cpu)),
    ]
}

#[test]
fn gpu_backward_matches_the_cpu_pass() {
    let ctx = common::gpu();
    let pass = SplatBackward::new(&ctx).unwrap();
    let mut rng = common::rng("gpu_backward_matches_the_cpu_pass");
    let mut worst = [0.0f64; 3];
    for run in 0..6 {
        let (w, h) = (rng.random_range(20..110), rng.random_range(14..90));
        let cam = view(w, h);
        let n = rng.random_range(50..500);
        let degree = rng.random_range(0..3);
        let mut cloud = random_cloud(&mut rng, n, 1.2, (0.02, 0.3), degree);
        // behind the camera, far outside the image, a NaN covariance, one opaque splat
        cloud.gaussians[0].mean_alpha[2] = 4.0;
        cloud.gaussians[1].mean_alpha[0] = 30.0;
        cloud.gaussians[2].cov_a[1] = f32::NAN;
        cloud.gaussians[3].mean_alpha[3] = 1.0;
        let bg: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..1.0));
        let d_image = random_image(&mut rng, w, h);
        let (_, tape) = render_float(&cloud, &cam, bg).unwrap();
        let cpu = backward(&cloud, &cam, bg, &tape, &d_image).unwrap();
        let gpu = pass.run(&ctx, &cloud, &cam, bg, &tape, &d_image).unwrap();
        let differ = (gpu.blends.iter().zip(tape.contributors()))
            .filter(|(a, b)| a != b)
            .count();
        let e = errors(&gpu.gradients, &cpu);
        eprintln!(
            "run {run}: {w}x{h}, {n} Gaussians, {} tile entries, {} blends; blend counts differ \
             at {differ} pixels; relative error: means {:.1e}, colours {:.1e}, opacities {:.1e}",
            tape.tile_entries(),
            gpu.blends.iter().sum::<u32>(),
            e[0],
            e[1],
            e[2]
        );
        // a pixel whose exp() rounds across a cut-off may blend one splat more or less
        assert!(
            differ * 1000 <= (w * h) as usize,
            "{differ} pixels count other blends"
        );
        for k in 0..3 {
            worst[k] = worst[k].max(e[k]);
        }
        if differ == 0 {
            assert!(e.iter().all(|&e| e < 1e-4), "errors {e:?}");
        }
        for (a, b) in gpu.gradients.mean.iter().zip(&cpu.mean) {
            assert_eq!(
                *a == Vec3::ZERO,
                *b == Vec3::ZERO,
                "a Gaussian only one pass moves"
            );
        }
    }
    eprintln!(
        "worst relative errors: means {:.1e}, colours {:.1e}, opacities {:.1e}",
        worst[0], worst[1], worst[2]
    );
}

#[test]
fn gpu_backward_is_bit_identical_across_runs_and_bands() {
    let ctx = common::gpu();
    let mut rng = common::rng("gpu_backward_is_bit_identical_across_runs_and_bands");
    let (w, h) = (rng.random_range(60..100), rng.random_range(60..100));
    let cam = view(w, h);
    let cloud = random_cloud(&mut rng, 400, 1.0, (0.05, 0.3), 1);
    let bg = [1.0, 1.0, 1.0];
    let d_image = random_image(&mut rng, w, h);
    let (_, tape) = render_float(&cloud, &cam, bg).unwrap();
    let whole = SplatBackward::new(&ctx).unwrap();
    let a = whole.run(&ctx, &cloud, &cam, bg, &tape, &d_image).unwrap();
    let b = whole.run(&ctx, &cloud, &cam, bg, &tape, &d_image).unwrap();
    assert_eq!(a.bands, 1);
    assert_eq!(a.gradients, b.gradients);
    // bands no larger than the largest tile row: several, the same sums
    let rows = SplatBackward::row_slots(&tape);
    let cap = *rows.iter().max().unwrap();
    let total: u64 = rows.iter().sum();
    let banded = SplatBackward::new(&ctx).unwrap().with_band_slots(cap);
    let c = banded.run(&ctx, &cloud, &cam, bg, &tape, &d_image).unwrap();
    eprintln!(
        "{w}x{h}: {total} pixel slots in {} tile rows, {} bands of at most {cap}",
        rows.len(),
        c.bands
    );
    assert!(
        c.bands > 1 && c.bands as u64 >= total.div_ceil(cap),
        "{} bands",
        c.bands
    );
    assert_eq!(a.gradients, c.gradients);
    assert_eq!(a.blends, c.blends);
    // a tile row over the cap is refused with a message, not cut short
    let tight = SplatBackward::new(&ctx).unwrap().with_band_slots(cap - 1);
    let err = tight
        .run(&ctx, &cloud, &cam, bg, &tape, &d_image)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("pixel slots, more than"),
        "{err:#}"
    );
}

/// A real scene: the donut (45,624 Gaussians) at 512×288 under the loss of a shifted copy, the
/// GPU pass against the CPU pass, with both timed (run alone for figures:
/// `cargo test --release --test splat_backward donut -- --nocapture`).
#[test]
fn gpu_backward_on_the_donut() {
    use physdreamer::loss::ImageLoss;
    use physdreamer::render::framing::resize;
    use physdreamer::render::SplatCloud;
    use physdreamer::scene::Scene;
    use std::time::Instant;

    let ctx = common::gpu();
    let pass = SplatBackward::new(&ctx).unwrap();
    let scene = Scene::load(&common::data("donut.toml")).unwrap();
    let cam = resize(&scene.cameras[0].1, Some(512), Some(288)).unwrap();
    let bg = [1.0, 1.0, 1.0];
    let cloud = SplatCloud::from_scene(&scene, &scene.particles.position, None).unwrap();
    let shifted: Vec<Vec3> = (scene.particles.position.iter())
        .map(|p| *p + Vec3::X * 0.005)
        .collect();
    let moved = SplatCloud::from_scene(&scene, &shifted, None).unwrap();
    let target = render_float(&moved, &cam, bg).unwrap().0;
    let (img, tape) = render_float(&cloud, &cam, bg).unwrap();
    let (_, d_image) = ImageLoss::default().gradient(&img, &target, None).unwrap();
    let best = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    };
    let mut cpu = backward(&cloud, &cam, bg, &tape, &d_image).unwrap();
    let cpu_ms = best(&mut || cpu = backward(&cloud, &cam, bg, &tape, &d_image).unwrap());
    let mut gpu = pass.run(&ctx, &cloud, &cam, bg, &tape, &d_image).unwrap();
    let gpu_ms = best(&mut || gpu = pass.run(&ctx, &cloud, &cam, bg, &tape, &d_image).unwrap());
    let differ = (gpu.blends.iter().zip(tape.contributors()))
        .filter(|(a, b)| a != b)
        .count();
    let e = errors(&gpu.gradients, &cpu);
    eprintln!(
        "donut 512x288 on {}: {} tile entries, {} blends, {} band(s); CPU backward {cpu_ms:.1} ms, \
         GPU backward {gpu_ms:.1} ms; counts differ at {differ} pixels; relative error: means \
         {:.1e}, colours {:.1e}, opacities {:.1e}",
        ctx.describe(),
        tape.tile_entries(),
        gpu.blends.iter().map(|&b| b as u64).sum::<u64>(),
        gpu.bands,
        e[0],
        e[1],
        e[2]
    );
    assert!(
        differ * 1000 <= 512 * 288,
        "{differ} pixels count other blends"
    );
    assert!(e.iter().all(|&e| e < 1e-3), "errors {e:?}");
}

/// The fit's objective with the renderer's backward pass on the GPU and on the CPU: the
/// gradients of E and of the initial velocity agree (the small jelly, two frames at 96×54).
#[test]
fn fit_gradients_agree_with_either_render_backward() {
    use physdreamer::cli::prepare::conditioning_camera;
    use physdreamer::fit::evaluate::{Problem, RenderBackward};
    use physdreamer::fit::known_truth::{write_video, Truth};
    use physdreamer::fit::solver_config;
    use physdreamer::loss::ImageLoss;
    use physdreamer::scene::Scene;
    use physdreamer::solver::Solver;
    use physdreamer::video::VideoSource;

    let dir = std::env::temp_dir().join(format!("physdreamer_splat_bw_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(common::data("default.toml")).unwrap();
    let splat = common::data("jelly/jelly.ply").display().to_string();
    let text = (text.replace("per_cell = 2", "per_cell = 1"))
        .replace("\"jelly/jelly.ply\"", &format!("{splat:?}"));
    let path = dir.join("jelly.toml");
    std::fs::write(&path, text).unwrap();
    let scene = Scene::load(&path).unwrap();
    let ctx = common::gpu();
    let (_, camera) = conditioning_camera(&scene, None, 96, 54).unwrap();
    let mut rng = common::rng("fit_gradients_agree_with_either_render_backward");
    let sway = Vec3::new(
        rng.random_range(-1.0..1.0),
        0.0,
        rng.random_range(-1.0..1.0),
    );
    let truth = Truth::new(&scene, |_| 5e4, |p| sway * ((p.y - 0.3) / 0.25));
    let mut solver = Solver::new(&ctx, solver_config(&scene, 30.0), &scene.particles).unwrap();
    write_video(&mut solver, &scene, &truth, &camera, 2, &dir.join("video")).unwrap();
    let video = VideoSource::new(dir.join("video"), 30.0).load().unwrap();
    let young = vec![rng.random_range(1e4..2e5); scene.particles.len()];
    let velocity: Vec<Vec3> = (scene.particles.position.iter())
        .map(|p| sway * 0.5 * ((p.y - 0.3) / 0.25))
        .collect();
    let grads = |choice| {
        let mut solver = Solver::new(&ctx, solver_config(&scene, 30.0), &scene.particles).unwrap();
        let problem = (Problem::new(&scene, camera, &video, &solver))
            .with_render_backward(choice, &solver)
            .unwrap();
        assert_eq!(
            problem.render_backward_on_gpu(),
            choice == RenderBackward::Gpu
        );
        let loss = ImageLoss::default();
        let ev = (problem.evaluate(&mut solver, &young, &velocity, 2, &loss, true)).unwrap();
        (ev.loss, ev.grads)
    };
    let (loss_gpu, gpu) = grads(RenderBackward::Gpu);
    let (loss_cpu, cpu) = grads(RenderBackward::Cpu);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(loss_gpu, loss_cpu, "the forward pass is the same");
    let e_young = rel_error(
        &gpu.ln_young
            .iter()
            .map(|&g| Vec3::splat(g))
            .collect::<Vec<_>>(),
        &cpu.ln_young
            .iter()
            .map(|&g| Vec3::splat(g))
            .collect::<Vec<_>>(),
    );
    let e_v0 = rel_error(&gpu.v0, &cpu.v0);
    eprintln!(
        "{} particles, loss {loss_cpu:.4e}: relative difference of dL/dlnE {e_young:.1e}, of dL/dv0 {e_v0:.1e}",
        scene.particles.len()
    );
    assert!(cpu.ln_young.iter().any(|&g| g != 0.0));
    assert!(e_young < 1e-3 && e_v0 < 1e-3, "{e_young} {e_v0}");
}
