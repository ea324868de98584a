//! The GPU splat renderer against the CPU reference rasteriser, and the GPU depth sort.

mod common;
use common::{gpu, rng};
use glam::{Quat, Vec3};
use physdreamer::render::{reference, RenderOptions, Renderer, SplatCloud};
use physdreamer::scene::{Camera, GaussianSplats};
use rand::Rng;

/// `n` random Gaussians around `centre` with SH degree `deg`, some behind the camera.
fn random_splats(r: &mut impl Rng, n: usize, deg: u32) -> GaussianSplats {
    let rest = 3 * (((deg + 1) * (deg + 1)) as usize - 1);
    let mut s = GaussianSplats {
        sh_degree: deg,
        ..Default::default()
    };
    for i in 0..n {
        let p = if i % 50 == 7 {
            Vec3::new(0.5, 0.5, 2.5) // behind the camera
        } else {
            Vec3::new(
                r.random_range(0.2..0.8),
                r.random_range(0.25..0.75),
                r.random_range(0.2..0.8),
            )
        };
        s.position.push(p);
        s.f_dc.push([0; 3].map(|_| r.random_range(-1.5..1.5)));
        s.f_rest
            .extend((0..rest).map(|_| r.random_range(-0.3..0.3f32)));
        s.opacity.push(r.random_range(-3.0..4.0));
        s.log_scale.push(Vec3::new(
            r.random_range(-4.5..-2.5),
            r.random_range(-4.5..-2.5),
            r.random_range(-5.0..-2.5),
        ));
        s.rotation
            .push([0; 4].map(|_| r.random_range(-1.0..1.0f32)));
    }
    s
}

fn camera(w: u32, h: u32) -> Camera {
    Camera::look_at(
        Vec3::new(0.55, 0.6, 1.8),
        Vec3::new(0.5, 0.5, 0.5),
        Vec3::Y,
        40.0,
        w,
        h,
    )
    .unwrap()
}

/// Per-channel absolute differences: (max, count of values above `tol`).
fn diff(a: &[u8], b: &[u8], tol: u8) -> (u8, usize) {
    let mut max = 0;
    let mut over = 0;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        max = max.max(d);
        over += (d > tol) as usize;
    }
    (max, over)
}

#[test]
fn gpu_render_matches_cpu_reference() {
    let ctx = gpu();
    let renderer = Renderer::new(&ctx).unwrap();
    let mut r = rng("gpu_render_matches_cpu_reference");
    for (deg, n, w, h) in [
        (3u32, 300usize, 96u32, 72u32),
        (0, 700, 80, 64),
        (1, 1, 33, 17),
    ] {
        let splats = random_splats(&mut r, n, deg);
        let rot: Vec<Quat> = (0..n)
            .map(|_| {
                Quat::from_axis_angle(
                    Vec3::new(r.random(), r.random(), 1.0).normalize(),
                    r.random_range(-1.0..1.0),
                )
            })
            .collect();
        let cloud = SplatCloud::new(&splats, Some(&rot)).unwrap();
        let cam = camera(w, h);
        let opts = RenderOptions {
            background: [0.1, 0.2, 0.3],
            poison: [1.0, 0.0, 1.0, 0.5],
        };
        let gpu = renderer.render(&cloud, &cam, &opts).unwrap();
        let cpu = reference::render(&cloud, &cam, &opts);
        assert_eq!((gpu.width, gpu.height), (w, h));
        // No pixel keeps the poison colour (magenta with alpha 128).
        let poisoned = gpu
            .rgba
            .chunks_exact(4)
            .filter(|p| *p == [255, 0, 255, 128])
            .count();
        assert_eq!(poisoned, 0, "{poisoned} pixels were never written");
        let (max, over) = diff(&gpu.rgba, &cpu.rgba, 2);
        eprintln!("deg {deg}, {n} Gaussians, {w}x{h}: max channel diff {max}, {over} values > 2, coverage {:.3}", gpu.coverage(10));
        assert!(
            gpu.coverage(10) > 0.05 || n == 1,
            "too little drawn to test anything"
        );
        assert!(
            over * 1000 <= gpu.rgba.len(),
            "{over} of {} channel values differ by more than 2/255 (max {max})",
            gpu.rgba.len()
        );
        assert!(max <= 8, "a channel differs by {max}/255");
        // Deterministic: a second render is bit-identical.
        assert_eq!(renderer.render(&cloud, &cam, &opts).unwrap(), gpu);
    }
}

#[test]
fn empty_cloud_renders_background() {
    let ctx = gpu();
    let renderer = Renderer::new(&ctx).unwrap();
    let cloud = SplatCloud::default();
    let opts = RenderOptions::default();
    let img = renderer.render(&cloud, &camera(40, 30), &opts).unwrap();
    assert!(img.rgba.chunks_exact(4).all(|p| p == [255, 255, 255, 0]));
}

#[test]
fn depth_sort_is_a_stable_total_order() {
    use physdreamer::render::depth_sort::DepthSort;
    let ctx = gpu();
    let sort = DepthSort::new(&ctx).unwrap();
    let mut r = rng("depth_sort_is_a_stable_total_order");
    for count in [512usize, 1 << 17] {
        // Few distinct keys, so ties (broken by index) are common.
        let mut pairs: Vec<[u32; 2]> = (0..count as u32)
            .map(|i| [r.random_range(0..count as u32 / 8), i])
            .collect();
        // Shuffle the indices too.
        for i in (1..count).rev() {
            let j = r.random_range(0..=i);
            pairs.swap(i, j);
        }
        let buf = ctx.storage_init("keys", &pairs);
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        sort.encode(&ctx, &mut enc, &buf, count as u32).unwrap();
        ctx.queue.submit([enc.finish()]);
        let got: Vec<[u32; 2]> = ctx.read(&buf).unwrap();
        pairs.sort();
        assert_eq!(got, pairs, "{count} pairs");
    }
}

/// Turning the Gaussians (centres, orientations, local SH rotation) and the camera by the same
/// rotation leaves the image unchanged: the covariance and the view-dependent colour follow.
#[test]
fn rotating_object_and_camera_together_changes_nothing() {
    let ctx = gpu();
    let renderer = Renderer::new(&ctx).unwrap();
    let mut r = rng("rotating_object_and_camera_together_changes_nothing");
    let splats = random_splats(&mut r, 300, 3);
    let cam = camera(96, 72);
    let c = Vec3::splat(0.5);
    let rot = Quat::from_axis_angle(Vec3::new(0.3, 1.0, -0.2).normalize(), 0.9);
    let mut turned = splats.clone();
    for i in 0..splats.len() {
        turned.position[i] = c + rot * (splats.position[i] - c);
        let q = rot * splats.unit_rotation(i);
        turned.rotation[i] = [q.w, q.x, q.y, q.z];
    }
    let local = vec![rot; splats.len()];
    // New world -> old world: x_old = c + R^T (x_new - c).
    let back = glam::Mat4::from_translation(c)
        * glam::Mat4::from_quat(rot.inverse())
        * glam::Mat4::from_translation(-c);
    let turned_cam = Camera {
        world_to_camera: cam.world_to_camera * back,
        ..cam
    };
    let opts = RenderOptions::default();
    let a = SplatCloud::new(&splats, None).unwrap();
    let b = SplatCloud::new(&turned, Some(&local)).unwrap();
    let (ia, ib) = (
        reference::render(&a, &cam, &opts),
        reference::render(&b, &turned_cam, &opts),
    );
    let (max, over) = diff(&ia.rgba, &ib.rgba, 2);
    assert!(
        over * 1000 <= ia.rgba.len() && max <= 8,
        "CPU: {over} values > 2, max {max}"
    );
    let (ga, gb) = (
        renderer.render(&a, &cam, &opts).unwrap(),
        renderer.render(&b, &turned_cam, &opts).unwrap(),
    );
    let (max, over) = diff(&ga.rgba, &gb.rgba, 2);
    assert!(
        over * 1000 <= ga.rgba.len() && max <= 8,
        "GPU: {over} values > 2, max {max}"
    );
    // Without the local rotation the SH colour would be wrong: the images differ.
    let c = SplatCloud::new(&turned, None).unwrap();
    let (max, _) = diff(&ia.rgba, &reference::render(&c, &turned_cam, &opts).rgba, 2);
    assert!(max > 8, "the SH rotation made no difference (max {max})");
}
