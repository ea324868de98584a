//! Random splat clouds and central differences for the differentiable rasteriser's tests.

use glam::{DVec3, Mat3, Quat, Vec2, Vec3};
use physdreamer::render::differentiable::{project_cloud, rasterise};
use physdreamer::render::reference::Projected;
use physdreamer::render::splat::GpuGaussian;
use physdreamer::render::SplatCloud;
use physdreamer::scene::Camera;
use physdreamer::video::RgbFrame;
use rand::rngs::StdRng;
use rand::Rng;

/// A 40° camera looking at the origin from about 3 units away.
pub fn view(w: u32, h: u32) -> Camera {
    Camera::look_at(Vec3::new(0.4, -0.3, 3.0), Vec3::ZERO, Vec3::Y, 40.0, w, h).unwrap()
}

/// A random point of the unit ball.
pub fn ball(rng: &mut StdRng) -> Vec3 {
    loop {
        let v = Vec3::new(
            rng.random_range(-1.0..1.0),
            rng.random_range(-1.0..1.0),
            rng.random_range(-1.0..1.0),
        );
        if v.length_squared() <= 1.0 {
            return v;
        }
    }
}

/// A random unit quaternion.
pub fn random_quat(rng: &mut StdRng) -> Quat {
    Quat::from_xyzw(
        rng.random_range(-1.0..1.0),
        rng.random_range(-1.0..1.0),
        rng.random_range(-1.0..1.0),
        rng.random_range(0.1..1.0),
    )
    .normalize()
}

/// `n` Gaussians within `spread` of the origin, axis scales (world) in `scale`, SH `degree`.
pub fn random_cloud(
    rng: &mut StdRng,
    n: usize,
    spread: f32,
    scale: (f32, f32),
    degree: u32,
) -> SplatCloud {
    let stride = (3 * (degree + 1) * (degree + 1)) as usize;
    let mut cloud = SplatCloud {
        sh_degree: degree,
        ..Default::default()
    };
    for _ in 0..n {
        let m = ball(rng) * spread;
        let r = Mat3::from_quat(random_quat(rng));
        let s = Vec3::from_array(std::array::from_fn(|_| rng.random_range(scale.0..scale.1)));
        let c = r * Mat3::from_diagonal(s * s) * r.transpose();
        cloud.gaussians.push(GpuGaussian {
            mean_alpha: [m.x, m.y, m.z, rng.random_range(0.15..1.0)],
            cov_a: [c.x_axis.x, c.y_axis.x, c.z_axis.x, c.y_axis.y],
            cov_b: [c.z_axis.y, c.z_axis.z, 0.0, 0.0],
            rot: random_quat(rng).to_array(),
        });
        cloud.sh.extend((0..stride).map(|k| match k {
            0..3 => rng.random_range(-1.0..1.2),
            _ => rng.random_range(-0.3..0.3),
        }));
    }
    cloud
}

/// Random values in -1..1: loss weights or an image gradient.
pub fn random_image(rng: &mut StdRng, w: u32, h: u32) -> RgbFrame<f64> {
    RgbFrame {
        width: w,
        height: h,
        rgb: (0..w * h)
            .map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
            .collect(),
    }
}

/// `Σ w·image` over pixels and channels.
pub fn weighted(image: &RgbFrame<f32>, w: &RgbFrame<f64>) -> f64 {
    let pairs = image.rgb.iter().zip(&w.rgb);
    pairs
        .map(|(a, b)| (0..3).map(|c| a[c] as f64 * b[c]).sum::<f64>())
        .sum()
}

/// `Σ a_i·b_i` in f64.
pub fn dot(a: &[Vec3], b: &[Vec3]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.as_dvec3().dot(y.as_dvec3()))
        .sum()
}

/// `base` with only the centres moved to those of `means` (f64): conic, box, colour and depth
/// key held, as the stop-gradient assumes.
pub fn moved_centres(
    base: &[Option<Projected>],
    means: &[DVec3],
    cam: &Camera,
) -> Vec<Option<Projected>> {
    let m = cam.world_to_camera.as_dmat4();
    let pairs = base.iter().zip(means);
    pairs
        .map(|(p, x)| {
            p.map(|mut p| {
                let t = m.transform_point3(*x);
                p.centre = Vec2::new(
                    (cam.fx as f64 * t.x / t.z + cam.cx as f64) as f32,
                    (cam.fy as f64 * t.y / t.z + cam.cy as f64) as f32,
                );
                p
            })
        })
        .collect()
}

/// A scalar loss of an image.
pub type Loss<'a> = dyn Fn(&RgbFrame<f32>) -> f64 + 'a;

/// The image of an input moved by a signed step and a signature of each pixel's blends.
pub type Render<'a> = dyn Fn(f64) -> (RgbFrame<f32>, Vec<u64>) + 'a;

/// [`rasterise`]s `projected` and signs each pixel's list of blended splats, in depth order,
/// by brute force over every Gaussian (the renderer's rule, same f32 operations), checking the
/// tiled renderer's per-pixel count against it. A splat crossing a cut-off or two overlapping
/// splats swapping depths changes the signature of the pixels concerned.
pub fn draw(
    projected: &[Option<Projected>],
    cam: &Camera,
    bg: [f32; 3],
) -> (RgbFrame<f32>, Vec<u64>) {
    let (img, tape) = rasterise(projected, cam, bg).unwrap();
    let (w, h) = (cam.width, cam.height);
    let mut sign = vec![0u64; (w * h) as usize];
    let mut count = vec![0u32; (w * h) as usize];
    let mut order: Vec<(u32, usize, Projected)> = (projected.iter().enumerate())
        .filter_map(|(i, p)| p.map(|p| (p.key, i, p)))
        .collect();
    order.sort_unstable_by_key(|&(key, i, _)| std::cmp::Reverse((key, i)));
    for (_, i, p) in order {
        for y in 0..h {
            for x in 0..w {
                let dx = p.centre.x - (x as f32 + 0.5);
                let dy = p.centre.y - (y as f32 + 0.5);
                let k = p.conic;
                let power = -0.5 * (k.x * dx * dx + k.z * dy * dy) - k.y * dx * dy;
                let alpha = (p.alpha * power.exp()).min(0.99);
                if (-4.5..=0.0).contains(&power) && alpha >= 1.0 / 255.0 {
                    let j = (y * w + x) as usize;
                    sign[j] = sign[j]
                        .wrapping_mul(0x0100_0000_01B3)
                        .wrapping_add(i as u64 + 1);
                    count[j] += 1;
                }
            }
        }
    }
    assert_eq!(
        count,
        tape.contributors(),
        "tiled counts differ from brute force"
    );
    (img, sign)
}

/// The cloud with its means moved by `s·dir`: held fixed (only the centres of the projection
/// move: conic, box, colour and depth key kept, the stop-gradient's claim), and re-projected
/// (the moved cloud projected again, with its depth order).
pub fn mean_renders<'a>(
    cloud: &'a SplatCloud,
    cam: &'a Camera,
    bg: [f32; 3],
    dir: &'a [Vec3],
) -> [Box<Render<'a>>; 2] {
    let base = project_cloud(cloud, cam).unwrap();
    let moved = move |s: f64| {
        let mut moved = cloud.clone();
        let mut means = Vec::new();
        for (g, d) in moved.gaussians.iter_mut().zip(dir) {
            let a = g.mean_alpha;
            let x = DVec3::new(a[0] as f64, a[1] as f64, a[2] as f64) + d.as_dvec3() * s;
            means.push(x);
            g.mean_alpha[..3].copy_from_slice(&x.as_vec3().to_array());
        }
        (moved, means)
    };
    [
        Box::new(move |s| draw(&moved_centres(&base, &moved(s).1, cam), cam, bg)),
        Box::new(move |s| draw(&project_cloud(&moved(s).0, cam).unwrap(), cam, bg)),
    ]
}

/// Central differences at `±h` of `loss` for each of `renders`, and the pixels whose
/// signature differs at `+h` and `−h` in any of them (a cut-off crossed or a depth swap: a
/// jump, not a derivative).
pub fn differences(renders: &[Box<Render>], h: f64, loss: &Loss) -> (Vec<f64>, Vec<usize>) {
    let mut jumps = Vec::new();
    let mut diffs = Vec::new();
    for r in renders {
        let ((a, sa), (b, sb)) = (r(h), r(-h));
        jumps.extend((0..sa.len()).filter(|&i| sa[i] != sb[i]));
        diffs.push((loss(&a) - loss(&b)) / (2.0 * h));
    }
    jumps.sort_unstable();
    jumps.dedup();
    (diffs, jumps)
}

/// [`differences`] of `Σ w·image`, zeroing the weights of pixels that jump until no weighted
/// pixel does.
pub fn masked_differences(w: &mut RgbFrame<f64>, renders: &[Box<Render>], h: f64) -> Vec<f64> {
    for _ in 0..10 {
        let (d, jumps) = differences(renders, h, &|img| weighted(img, w));
        let jumps: Vec<usize> = jumps
            .into_iter()
            .filter(|&i| w.rgb[i] != [0.0; 3])
            .collect();
        if jumps.is_empty() {
            return d;
        }
        for i in jumps {
            w.rgb[i] = [0.0; 3];
        }
    }
    panic!("pixels keep jumping");
}

/// `|b − a| / |a|`.
pub fn rel(a: f64, b: f64) -> f64 {
    (b - a).abs() / a.abs()
}

/// `|fd − an|` relative to `|an|`, or to a quarter of the derivative's typical size when it is
/// smaller (a random direction can nearly cancel it): `terms` are the per-Gaussian
/// `|∂L/∂x_i|·|dir_i|`, whose root sum of squares is that size.
pub fn scaled_error(an: f64, fd: f64, terms: impl IntoIterator<Item = f64>) -> f64 {
    let size = terms.into_iter().map(|t| t * t).sum::<f64>().sqrt();
    (fd - an).abs() / an.abs().max(0.25 * size)
}

/// Sizes `|a_i|·|b_i|` of paired vectors, for [`scaled_error`].
pub fn sizes<'a>(a: &'a [Vec3], b: &'a [Vec3]) -> impl Iterator<Item = f64> + 'a {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a.length() * b.length()) as f64)
}
