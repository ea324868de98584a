//! The real donut splat (data/donut.toml) renders with the expected silhouette.

use std::path::Path;
use std::time::Instant;

use physdreamer::gpu::GpuContext;
use physdreamer::render::framing::resize;
use physdreamer::render::{reference, RenderOptions, Renderer, SplatCloud};
use physdreamer::scene::Scene;

#[test]
fn donut_front_silhouette_matches_reference() {
    let ctx = GpuContext::from_env().expect("a wgpu adapter");
    let scene =
        Scene::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/donut.toml")).unwrap();
    let splats = scene.splats.as_ref().expect("the donut has Gaussians");
    let cloud = SplatCloud::new(splats, None).unwrap();
    let front = *scene.camera("front").expect("a front camera");
    let cam = resize(&front, Some(256), None).unwrap();
    assert_eq!((cam.width, cam.height), (256, 144));
    let renderer = Renderer::new(&ctx).unwrap();
    let opts = RenderOptions::default(); // white background
    let t = Instant::now();
    let gpu = renderer.render(&cloud, &cam, &opts).unwrap();
    eprintln!("GPU 256x144: {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let cpu = reference::render(&cloud, &cam, &opts);
    eprintln!("CPU reference 256x144: {:.3} s", t.elapsed().as_secs_f64());

    // The alpha mask: coverage as the reference's, and a sizeable part of the frame.
    let (g, c) = (gpu.coverage(127), cpu.coverage(127));
    eprintln!("coverage GPU {g:.4}, CPU {c:.4}");
    assert!((g - c).abs() <= 0.01 * c, "coverage {g} vs reference {c}");
    assert!((0.2..0.6).contains(&g), "the donut covers {g} of the frame");
    // Mask pixels that disagree (alpha on either side of one half).
    let disagree = gpu
        .rgba
        .chunks_exact(4)
        .zip(cpu.rgba.chunks_exact(4))
        .filter(|(a, b)| (a[3] > 127) != (b[3] > 127))
        .count();
    assert!(
        disagree * 200 < gpu.rgba.len() / 4,
        "{disagree} mask pixels differ"
    );
    // Colours: nearly all channel values within 3/255 of the reference.
    let far = gpu
        .rgba
        .iter()
        .zip(&cpu.rgba)
        .filter(|(a, b)| a.abs_diff(**b) > 3)
        .count();
    eprintln!(
        "{far} of {} channel values differ by more than 3/255",
        gpu.rgba.len()
    );
    assert!(
        far * 100 < gpu.rgba.len(),
        "{far} channel values differ by more than 3/255"
    );

    // Centred: the alpha centroid near the image centre.
    let (cx, cy) = gpu.alpha_centroid().unwrap();
    eprintln!("alpha centroid ({cx:.1}, {cy:.1}) in 256x144");
    assert!((cx - 128.0).abs() < 0.08 * 256.0 && (cy - 72.0).abs() < 0.15 * 144.0);
    // Background where nothing is: the corners and the top rows are white and transparent.
    for (x, y) in [(0, 0), (255, 0), (0, 143), (255, 143), (128, 2)] {
        assert_eq!(gpu.pixel(x, y), [255, 255, 255, 0], "pixel ({x}, {y})");
    }
    // The donut itself is not background: its centre-left body is opaque and coloured.
    let body = gpu.pixel(128, 90);
    assert!(
        body[3] > 250 && body[..3] != [255, 255, 255],
        "pixel (128, 90) = {body:?}"
    );

    // The full 1024x576 front view (timed).
    let t = Instant::now();
    let big = renderer.render(&cloud, &front, &opts).unwrap();
    eprintln!("GPU 1024x576: {:.3} s", t.elapsed().as_secs_f64());
    assert!(
        (big.coverage(127) - g).abs() < 0.02,
        "coverage at 1024x576 {}",
        big.coverage(127)
    );
}

/// Frames of a simulation: the Gaussians follow the particles with covariance `F Σ₀ Fᵀ` and
/// their SH turns with the local rotation.
#[test]
fn scene_frames_deform_covariances_and_rotate_sh() {
    use glam::{Mat3, Quat, Vec3};
    let scene =
        Scene::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/donut.toml")).unwrap();
    let rest = scene.particles.position.clone();
    let base = SplatCloud::from_scene(&scene, &rest, None).unwrap();
    // Uniform stretch F = 1.5 I at rest positions: every covariance grows by 2.25.
    let grads = vec![Mat3::from_diagonal(Vec3::splat(1.5)); rest.len()];
    let stretched = SplatCloud::from_scene(&scene, &rest, Some(&grads)).unwrap();
    for i in (0..base.len()).step_by(97) {
        let (a, b) = (&base.gaussians[i], &stretched.gaussians[i]);
        for k in 0..4 {
            assert!(
                (b.cov_a[k] - 2.25 * a.cov_a[k]).abs() <= 1e-3 * (a.cov_a[0] + a.cov_a[3]) + 1e-12,
                "Gaussian {i}"
            );
        }
        assert_eq!(a.mean_alpha, b.mean_alpha);
    }
    // A rigid turn of the particles: centres move, the local rotation is the turn.
    let q = Quat::from_rotation_y(0.5);
    let c = Vec3::new(0.5, 0.3, 0.5);
    let turned: Vec<Vec3> = rest.iter().map(|&p| c + q * (p - c)).collect();
    let moved = SplatCloud::from_scene(&scene, &turned, None).unwrap();
    for i in (0..base.len()).step_by(97) {
        let r = Quat::from_array(moved.gaussians[i].rot);
        assert!(
            r.dot(q).abs() > 0.9999,
            "Gaussian {i}: local rotation {r:?}"
        );
        let p0 = Vec3::from_slice(&base.gaussians[i].mean_alpha[..3]);
        let p1 = Vec3::from_slice(&moved.gaussians[i].mean_alpha[..3]);
        assert!(
            (p1 - (c + q * (p0 - c))).length() < 1e-4,
            "Gaussian {i} moved to {p1}"
        );
    }
}

/// Timing of the donut's front view at 1024x576 (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn donut_render_timing() {
    let ctx = GpuContext::from_env().expect("a wgpu adapter");
    let scene =
        Scene::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/donut.toml")).unwrap();
    let cloud = SplatCloud::new(scene.splats.as_ref().unwrap(), None).unwrap();
    let front = *scene.camera("front").unwrap();
    let renderer = Renderer::new(&ctx).unwrap();
    let opts = RenderOptions::default();
    renderer.render(&cloud, &front, &opts).unwrap();
    let runs = 5;
    let t = Instant::now();
    for _ in 0..runs {
        renderer.render(&cloud, &front, &opts).unwrap();
    }
    let gpu = t.elapsed().as_secs_f64() / runs as f64;
    let t = Instant::now();
    reference::render(&cloud, &front, &opts);
    let cpu = t.elapsed().as_secs_f64();
    eprintln!(
        "{} on {}: {} Gaussians at 1024x576: GPU {gpu:.3} s per frame (mean of {runs}), CPU reference {cpu:.3} s",
        scene.name,
        ctx.describe(),
        cloud.len()
    );
}
