//! CPU reference rasteriser: the math of `shaders/splat.wgsl` in f32, for the tests.
//!
//! Same EWA projection (Jacobian at the centre clamped 15 % outside the image, 0.3 px²
//! dilation), same 3-sigma cutoff (Mahalanobis distance 3, power < -4.5), alpha clamp 0.99,
//! 1/255 threshold, same back-to-front order (key `!bits(depth)`, ties by index), pixel centres
//! at `(x + 0.5, y + 0.5)`. Accumulation is f32 (the GPU blends in f16), the resolve rounds to
//! 8 bits like a UNORM store.

use glam::{Mat3, Quat, Vec2, Vec3, Vec4};

use super::{Image, RenderOptions, SplatCloud, NEAR};
use crate::scene::Camera;

/// One projected Gaussian.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projected {
    /// Pixel position of the centre.
    pub centre: Vec2,
    /// Quad half-extents (pixels).
    pub extent: Vec2,
    /// Conic a, b, c: `power = -½(a dx² + c dy²) - b dx dy`.
    pub conic: Vec3,
    /// Opacity.
    pub alpha: f32,
    /// Colour.
    pub colour: Vec3,
    /// Sort key (back to front).
    pub key: u32,
}

const SH_C0: f32 = 0.282_094_79;
const SH_C1: f32 = 0.488_602_51;
const SH_C2: [f32; 5] = [
    1.092_548_4,
    -1.092_548_4,
    0.315_391_57,
    -1.092_548_4,
    0.546_274_2,
];
const SH_C3: [f32; 7] = [
    -0.590_043_6,
    2.890_611_4,
    -0.457_045_8,
    0.373_176_33,
    -0.457_045_8,
    1.445_305_7,
    -0.590_043_6,
];

/// SH colour of Gaussian `i` along its rest-frame unit direction `d` (+0.5, clamped at 0).
pub fn sh_colour(cloud: &SplatCloud, i: usize, d: Vec3) -> Vec3 {
    let stride = cloud.sh_stride() as usize;
    let c = &cloud.sh[i * stride..(i + 1) * stride];
    let k = |j: usize| Vec3::new(c[3 * j], c[3 * j + 1], c[3 * j + 2]);
    let (x, y, z) = (d.x, d.y, d.z);
    let mut col = SH_C0 * k(0);
    if cloud.sh_degree >= 1 {
        col = col - SH_C1 * y * k(1) + SH_C1 * z * k(2) - SH_C1 * x * k(3);
        if cloud.sh_degree >= 2 {
            let (xx, yy, zz) = (x * x, y * y, z * z);
            col = col
                + SH_C2[0] * x * y * k(4)
                + SH_C2[1] * y * z * k(5)
                + SH_C2[2] * (2.0 * zz - xx - yy) * k(6)
                + SH_C2[3] * x * z * k(7)
                + SH_C2[4] * (xx - yy) * k(8);
            if cloud.sh_degree >= 3 {
                col = col
                    + SH_C3[0] * y * (3.0 * xx - yy) * k(9)
                    + SH_C3[1] * x * y * z * k(10)
                    + SH_C3[2] * y * (4.0 * zz - xx - yy) * k(11)
                    + SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * k(12)
                    + SH_C3[4] * x * (4.0 * zz - xx - yy) * k(13)
                    + SH_C3[5] * z * (xx - yy) * k(14)
                    + SH_C3[6] * x * (xx - 3.0 * yy) * k(15);
            }
        }
    }
    (col + Vec3::splat(0.5)).max(Vec3::ZERO)
}

/// Projects Gaussian `i`; `None` when culled (behind the near plane, transparent, degenerate
/// or entirely outside the image).
pub fn project(cloud: &SplatCloud, i: usize, camera: &Camera) -> Option<Projected> {
    let g = &cloud.gaussians[i];
    let mean = Vec3::new(g.mean_alpha[0], g.mean_alpha[1], g.mean_alpha[2]);
    let alpha = g.mean_alpha[3];
    let t = (camera.world_to_camera * mean.extend(1.0)).truncate();
    if t.z.is_nan() || t.z < NEAR || alpha.is_nan() || alpha < 1.0 / 255.0 {
        return None;
    }
    let (fx, fy, cx, cy) = (camera.fx, camera.fy, camera.cx, camera.cy);
    let (w, h) = (camera.width as f32, camera.height as f32);
    let tx = (t.x / t.z).clamp((-0.15 * w - cx) / fx, (1.15 * w - cx) / fx) * t.z;
    let ty = (t.y / t.z).clamp((-0.15 * h - cy) / fy, (1.15 * h - cy) / fy) * t.z;
    let j0 = Vec3::new(fx / t.z, 0.0, -fx * tx / (t.z * t.z));
    let j1 = Vec3::new(0.0, fy / t.z, -fy * ty / (t.z * t.z));
    let m4 = camera.world_to_camera;
    let wt = Mat3::from_cols(
        m4.x_axis.truncate(),
        m4.y_axis.truncate(),
        m4.z_axis.truncate(),
    )
    .transpose();
    let (r0, r1) = (wt * j0, wt * j1);
    let (ca, cb) = (Vec4::from(g.cov_a), Vec4::from(g.cov_b));
    let sigma = Mat3::from_cols(
        ca.truncate(),
        Vec3::new(ca.y, ca.w, cb.x),
        Vec3::new(ca.z, cb.x, cb.y),
    );
    let (s0, s1) = (sigma * r0, sigma * r1);
    let a = r0.dot(s0) + 0.3;
    let b = r0.dot(s1);
    let c = r1.dot(s1) + 0.3;
    let det = a * c - b * b;
    if det.is_nan() || det <= 0.0 {
        return None;
    }
    let conic = Vec3::new(c / det, -b / det, a / det);
    let centre = Vec2::new(fx * t.x / t.z + cx, fy * t.y / t.z + cy);
    let extent = Vec2::new(3.0 * a.sqrt() + 0.5, 3.0 * c.sqrt() + 0.5);
    if centre.x + extent.x < 0.0
        || centre.x - extent.x > w
        || centre.y + extent.y < 0.0
        || centre.y - extent.y > h
    {
        return None;
    }
    let q = Quat::from_array(g.rot);
    let d = q.inverse() * (mean - camera.centre()).normalize();
    Some(Projected {
        centre,
        extent,
        conic,
        alpha,
        colour: sh_colour(cloud, i, d),
        key: !t.z.to_bits(),
    })
}

/// Renders `cloud` seen by `camera` on the CPU (see the module docs).
pub fn render(cloud: &SplatCloud, camera: &Camera, opts: &RenderOptions) -> Image {
    let (w, h) = (camera.width as usize, camera.height as usize);
    let mut order: Vec<(u32, u32, Projected)> = (0..cloud.len())
        .filter_map(|i| project(cloud, i, camera).map(|p| (p.key, i as u32, p)))
        .collect();
    order.sort_by_key(|&(k, i, _)| (k, i));
    let mut acc = vec![[0.0f32; 4]; w * h];
    for (_, _, p) in &order {
        let x0 = (p.centre.x - p.extent.x).floor().max(0.0) as usize;
        let x1 = ((p.centre.x + p.extent.x).ceil().max(0.0) as usize).min(w);
        let y0 = (p.centre.y - p.extent.y).floor().max(0.0) as usize;
        let y1 = ((p.centre.y + p.extent.y).ceil().max(0.0) as usize).min(h);
        for y in y0..y1 {
            for x in x0..x1 {
                let d = p.centre - Vec2::new(x as f32 + 0.5, y as f32 + 0.5);
                let k = p.conic;
                let power = -0.5 * (k.x * d.x * d.x + k.z * d.y * d.y) - k.y * d.x * d.y;
                if !(-4.5..=0.0).contains(&power) {
                    continue;
                }
                let a = (p.alpha * power.exp()).min(0.99);
                if a < 1.0 / 255.0 {
                    continue;
                }
                let px = &mut acc[y * w + x];
                px[0] = p.colour.x * a + px[0] * (1.0 - a);
                px[1] = p.colour.y * a + px[1] * (1.0 - a);
                px[2] = p.colour.z * a + px[2] * (1.0 - a);
                px[3] = a + px[3] * (1.0 - a);
            }
        }
    }
    let bg = opts.background;
    let unorm = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let rgba = acc
        .iter()
        .flat_map(|p| {
            let t = 1.0 - p[3];
            [
                unorm(p[0] + bg[0] * t),
                unorm(p[1] + bg[1] * t),
                unorm(p[2] + bg[2] * t),
                unorm(p[3]),
            ]
        })
        .collect();
    Image {
        width: w as u32,
        height: h as u32,
        rgba,
    }
}
