//! The backward pass of the differentiable rasteriser (see the parent module's docs for the
//! chain rule and the stop-gradients).

use anyhow::{bail, Result};
use glam::{DMat3, DVec3, Vec3};
use rayon::prelude::*;

use super::{local, tile_area, walk, ForwardTape, Hit, Splat, PIXELS, TILE};
use crate::render::SplatCloud;
use crate::scene::Camera;
use crate::video::RgbFrame;

/// `∂L/∂` the inputs of every Gaussian of the cloud (zero for Gaussians no pixel blends).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SplatGradients {
    /// `∂L/∂mean`, world space (centre only; see the stop-gradients).
    pub mean: Vec<Vec3>,
    /// `∂L/∂` the projected RGB colour (after SH, `+0.5` and the clamp at 0).
    pub colour: Vec<Vec3>,
    /// `∂L/∂opacity` (`mean_alpha[3]`).
    pub opacity: Vec<f32>,
}

/// Partial sums of one splat: `∂L/∂centre` (x, y), `∂L/∂colour` (r, g, b), `∂L/∂opacity`.
pub(super) type Partial = [f64; 6];

/// `∂L/∂` the means, colours and opacities of `cloud`, given `d_image = ∂L/∂image` for the
/// image [`super::render_float`] drew from the same `cloud`, `camera` and `background` and
/// recorded in `tape`.
pub fn backward(
    cloud: &SplatCloud,
    camera: &Camera,
    background: [f32; 3],
    tape: &ForwardTape,
    d_image: &RgbFrame<f64>,
) -> Result<SplatGradients> {
    check(cloud, camera, background, tape, d_image)?;
    let tiles = &tape.tiles;
    let per_tile: Vec<Vec<Partial>> = (0..tiles.len())
        .into_par_iter()
        .map_init(Vec::new, |stack, t| tile_backward(tape, d_image, t, stack))
        .collect();
    Ok(gradients(cloud, camera, tape, &per_tile.concat()))
}

/// The gradients of every Gaussian from the partial sums of every (tile, splat) entry, tiles
/// in order (`tape.tiles`' entry order): per splat added in tile order, then chained from
/// the pixel centre to the world-space mean.
pub(super) fn gradients(
    cloud: &SplatCloud,
    camera: &Camera,
    tape: &ForwardTape,
    per_entry: &[Partial],
) -> SplatGradients {
    let mut sums = vec![[0.0f64; 6]; tape.splats.len()];
    for (&e, p) in tape.tiles.all().iter().zip(per_entry) {
        for (a, b) in sums[e as usize].iter_mut().zip(p) {
            *a += b;
        }
    }
    let n = cloud.len();
    let mut out = SplatGradients {
        mean: vec![Vec3::ZERO; n],
        colour: vec![Vec3::ZERO; n],
        opacity: vec![0.0; n],
    };
    let m = camera.world_to_camera.as_dmat4();
    let rot_t = DMat3::from_mat4(m).transpose();
    let (fx, fy) = (camera.fx as f64, camera.fy as f64);
    for (s, g) in tape.splats.iter().zip(&sums) {
        let i = s.index as usize;
        let a = cloud.gaussians[i].mean_alpha;
        let t = m.transform_point3(DVec3::new(a[0] as f64, a[1] as f64, a[2] as f64));
        // centre = (fx·tx/tz + cx, fy·ty/tz + cy)
        let d_t = DVec3::new(
            g[0] * fx / t.z,
            g[1] * fy / t.z,
            -(g[0] * fx * t.x + g[1] * fy * t.y) / (t.z * t.z),
        );
        out.mean[i] = (rot_t * d_t).as_vec3();
        out.colour[i] = DVec3::new(g[2], g[3], g[4]).as_vec3();
        out.opacity[i] = g[5] as f32;
    }
    out
}

/// A blend of the forward walk: the splat's place in the tile list, the tile-local pixel,
/// the hit and the transmittance before it.
type Blend = (u32, u16, Hit, f32);

/// The partial sums of tile `t`'s splats (in its list's order) over its pixels: the forward
/// walk recorded, then replayed back to front, each pixel carrying the colour behind.
fn tile_backward(
    tape: &ForwardTape,
    d_image: &RgbFrame<f64>,
    t: usize,
    blends: &mut Vec<Blend>,
) -> Vec<Partial> {
    let tiles = &tape.tiles;
    let list = tiles.list(t);
    let mut acc = vec![[0.0f64; 6]; list.len()];
    if list.is_empty() {
        return acc;
    }
    let (w, h) = (tape.width, tape.height);
    let area = tile_area(t, tiles.tiles_x, w, h);
    let mut grad = [DVec3::ZERO; PIXELS];
    let mut any = false;
    for y in area[2]..area[3] {
        for x in area[0]..area[1] {
            let g = DVec3::from(d_image.rgb[(y * w + x) as usize]);
            grad[local(area, x, y)] = g;
            any |= g != DVec3::ZERO;
        }
    }
    if !any {
        return acc;
    }
    blends.clear();
    let mut trans = [0.0f32; PIXELS];
    walk(&tape.splats, list, area, &mut trans, |k, _, p, hit, t| {
        blends.push((k as u32, p as u16, hit, t))
    });
    let mut behind = [Vec3::from(tape.background).as_dvec3(); PIXELS];
    for &(k, p, hit, t) in blends.iter().rev() {
        let (k, p) = (k as usize, p as usize);
        let s: &Splat = &tape.splats[list[k] as usize];
        let (a, t, g) = (hit.alpha as f64, t as f64, grad[p]);
        let c = s.p.colour.as_dvec3();
        let part = &mut acc[k];
        let dc = g * (t * a);
        part[2] += dc.x;
        part[3] += dc.y;
        part[4] += dc.z;
        if !hit.capped {
            let d_alpha = t * g.dot(c - behind[p]);
            part[5] += d_alpha * hit.gauss as f64;
            let d_power = d_alpha * a;
            let (x, y) = (area[0] + p as u32 % TILE, area[2] + p as u32 / TILE);
            let dx = s.p.centre.x as f64 - (x as f64 + 0.5);
            let dy = s.p.centre.y as f64 - (y as f64 + 0.5);
            let q = s.p.conic.as_dvec3();
            part[0] -= d_power * (q.x * dx + q.y * dy);
            part[1] -= d_power * (q.z * dy + q.y * dx);
        }
        behind[p] = c * a + behind[p] * (1.0 - a);
    }
    acc
}

/// Refuses a tape, image gradient or view that does not belong together.
pub(super) fn check(
    cloud: &SplatCloud,
    camera: &Camera,
    background: [f32; 3],
    tape: &ForwardTape,
    d_image: &RgbFrame<f64>,
) -> Result<()> {
    super::check_view(camera, background)?;
    if tape.gaussians != cloud.len() {
        bail!(
            "the tape was recorded for {} Gaussians, the cloud has {}",
            tape.gaussians,
            cloud.len()
        );
    }
    if tape.size() != (camera.width, camera.height) {
        bail!(
            "the tape is {}x{}, the camera {}x{}",
            tape.width,
            tape.height,
            camera.width,
            camera.height
        );
    }
    if tape.background != background {
        bail!(
            "background {background:?} differs from the tape's {:?}",
            tape.background
        );
    }
    if d_image.size() != tape.size() || d_image.rgb.len() != tape.transmittance.len() {
        bail!(
            "the image gradient is {}x{} with {} pixels, the image {}x{}",
            d_image.width,
            d_image.height,
            d_image.rgb.len(),
            tape.width,
            tape.height
        );
    }
    if let Some(i) = d_image
        .rgb
        .iter()
        .position(|p| !p.iter().all(|v| v.is_finite()))
    {
        let w = d_image.width as usize;
        bail!(
            "image gradient pixel ({}, {}) = {:?} is not finite",
            i % w,
            i / w,
            d_image.rgb[i]
        );
    }
    Ok(())
}
