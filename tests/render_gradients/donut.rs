//! Timings of the differentiable rasteriser on the donut scene (run alone for figures:
//! `cargo test --release --test render_gradients donut -- --nocapture`).

use std::time::Instant;

use glam::Vec3;
use physdreamer::loss::ImageLoss;
use physdreamer::render::differentiable::{backward, render_float};
use physdreamer::render::framing::resize;
use physdreamer::render::{reference, RenderOptions, SplatCloud};
use physdreamer::scene::Scene;

use super::max_byte_error;

#[test]
fn donut_timing() {
    let t = Instant::now();
    let scene = Scene::load(&crate::common::data("donut.toml")).unwrap();
    let load = t.elapsed().as_secs_f64();
    let cloud = SplatCloud::from_scene(&scene, &scene.particles.position, None).unwrap();
    let cam = resize(&scene.cameras[0].1, Some(512), Some(288)).unwrap();
    let bg = [1.0, 1.0, 1.0];
    let time = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let (mut img, mut tape) = render_float(&cloud, &cam, bg).unwrap();
    let forward = time(&mut || (img, tape) = render_float(&cloud, &cam, bg).unwrap());
    let t = Instant::now();
    let opts = RenderOptions {
        background: bg,
        ..Default::default()
    };
    let reference = reference::render(&cloud, &cam, &opts);
    let ref_time = t.elapsed().as_secs_f64();
    let err = max_byte_error(&img, tape.transmittance(), &reference.rgba);
    // The gradient of the loss against the donut 5 mm to the right.
    let shifted: Vec<Vec3> = scene
        .particles
        .position
        .iter()
        .map(|p| *p + Vec3::X * 0.005)
        .collect();
    let target = render_float(
        &SplatCloud::from_scene(&scene, &shifted, None).unwrap(),
        &cam,
        bg,
    )
    .unwrap()
    .0;
    let (value, d_image) = ImageLoss::default().gradient(&img, &target, None).unwrap();
    let mut g = backward(&cloud, &cam, bg, &tape, &d_image).unwrap();
    let back = time(&mut || g = backward(&cloud, &cam, bg, &tape, &d_image).unwrap());
    let att = scene.splat_attachment.as_ref().unwrap();
    let mut adj = Vec::new();
    let adjoint = time(&mut || adj = att.position_adjoint(&g.mean).unwrap());
    let blended: u64 = tape.contributors().iter().map(|&c| c as u64).sum();
    eprintln!(
        "donut: {} Gaussians ({} on screen, {} tile entries), {} particles, 512x288, {} threads; \
         scene load {load:.2} s; render_float {:.1} ms, backward {:.1} ms, position_adjoint \
         {:.1} ms; reference::render {:.0} ms; {:.1} splats blended per pixel; max |255·float − \
         reference byte| = {err:.3}; loss {:.5}",
        cloud.len(),
        tape.projected(),
        tape.tile_entries(),
        scene.particles.len(),
        rayon::current_num_threads(),
        forward * 1e3,
        back * 1e3,
        adjoint * 1e3,
        ref_time * 1e3,
        blended as f64 / (512.0 * 288.0),
        value.loss
    );
    assert!(err <= 1.0, "float image {err}/255 from the 8-bit reference");
    assert!(g.mean.iter().all(|v| v.is_finite()) && adj.iter().any(|v| *v != Vec3::ZERO));
}
