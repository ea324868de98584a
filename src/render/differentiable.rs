//! Differentiable CPU rasteriser of Gaussian splats for fitting: [`render_float`] draws the
//! image model of [`reference::render`] in f32 and keeps a [`ForwardTape`]; [`backward`] pulls
//! `∂L/∂image` back to every Gaussian's world-space mean, projected colour and opacity.
//! [`SplatBackward`] is the same backward pass in WGSL (its per-pixel work on the GPU).
//!
//! **Forward.** Every Gaussian is projected by [`reference::project`] (EWA, Jacobian clamped
//! 15 % outside the image, 0.3 px² dilation, culling), its quad — the reference's pixel box
//! `floor(c − e)..ceil(c + e)` — binned into 16×16 screen tiles ([`tiles`]), and each tile
//! keeps its Gaussians front to back: descending `(key, index)`, the exact reverse of the
//! reference's back-to-front order (ties by index, so deterministic). Every pixel composites
//! its splats front to back, `C += T·α·c`, `T *= 1 − α`, with the reference's per-splat rule
//! (`power = −½dᵀΣ⁻¹d` skipped outside `[−4.5, 0]`, `α = min(0.99, o·e^power)` skipped below
//! 1/255), and ends over the background, `C + T·bg`: mathematically the reference's
//! back-to-front blend (the cap and the skips are per splat), in f32, neither clamped to 0..1
//! nor rounded to 8 bits. A tile is walked splat by splat over each splat's box within the
//! tile, with `C` and `T` per pixel in tile-local buffers: every pixel still sees its splats in
//! list order, at the cost of the splats' areas rather than of list length × tile area. Rows
//! of tiles run in parallel (rayon); every sum has a fixed order, so images and gradients do
//! not depend on the thread count.
//!
//! **Backward.** Per tile the forward walk is replayed (the same f32 arithmetic, so the same
//! splats hit with the same `α` and `T`) and its blends recorded, then visited in reverse,
//! each pixel carrying the colour `B` of everything behind (the background first,
//! `B ← α·c + (1 − α)·B`; stable, no division by `1 − α`, no underflow of `T`):
//! `∂C/∂c = T·α`, `∂C/∂α = T·(c − B)`; below the 0.99 cap `∂α/∂o = e^power`,
//! `∂α/∂power = α`; `∂power/∂centre = −Σ⁻¹d` (`d` = centre − pixel centre); and the centre
//! `(fx·tx/tz + cx, fy·ty/tz + cy)`, `t` the mean in camera space (unclamped), gives the mean
//! by the chain rule through the camera's rotation. Per-tile partial sums (f64) are added per
//! Gaussian in tile order.
//!
//! **Stop-gradients** (documented approximations of `∂L/∂mean`):
//! * the conic (and the quad) depends on the mean through the EWA Jacobian `J(t)`; that
//!   dependence is dropped: only the centre moves. The relative size of the dropped term is
//!   about `σ_px / f` (Gaussian size over focal length, both in pixels), larger for motion
//!   along the view axis, which mostly scales a Gaussian's footprint;
//! * covariances are a stop-gradient (no `∂L/∂Σ` and no `∂conic/∂Σ`);
//! * the SH colour depends on the mean through the view direction (degree ≥ 1); dropped, the
//!   caller gets `∂L/∂colour` and chains it to SH itself;
//! * `α` at the 0.99 cap has zero derivative; skipped splats (cut-offs, culled) have none, and
//!   the jumps where a pixel crosses a cut-off or two depths swap are not differentiated.
//!
//! **Checks** (`tests/render_gradients.rs`, 100 random seeds): the image is within
//! 0.5/255 + 1e-4 of the 8-bit reference (rounding only); mean gradients match central
//! differences (steps of 3/1000 px, pixels whose blends jump masked) within 5.5e-3 (median
//! 8e-4) when the projected conic and colour are held fixed as the stop-gradient assumes, and
//! differ from fully re-projected differences by 1–15 % rms on 48×40 test images (`f` ≈ 55 px:
//! the dropped term); colour and opacity gradients match within 1e-5 and 4e-4.
//!
//! **Cost**, donut scene (45,624 Gaussians, 44,106 on screen, 205,580 tile entries, 65 blends
//! a pixel), front camera at 512×288, 2-core development machine: [`render_float`] 52–58 ms,
//! [`backward`] 70–86 ms (one thread: 97 ms and 142 ms; the single-threaded 8-bit
//! [`reference::render`] takes 94 ms).

mod backward;
mod splat_backward;
mod tiles;

use std::cmp::Reverse;

use anyhow::{bail, Result};
use glam::Vec3;
use rayon::prelude::*;

use super::reference::{self, Projected};
use super::SplatCloud;
use crate::scene::Camera;
use crate::video::RgbFrame;
pub use backward::{backward, SplatGradients};
pub use splat_backward::{GpuGradients, SplatBackward};
pub use tiles::TILE;
use tiles::{pixel_box, TileLists};

/// Largest image side [`render_float`] accepts (pixels).
pub const MAX_SIDE: u32 = 16_384;

/// What [`backward`] needs from the forward pass.
#[derive(Clone, Debug, Default)]
pub struct ForwardTape {
    width: u32,
    height: u32,
    gaussians: usize,
    background: [f32; 3],
    /// Projected Gaussians with a pixel in the image, front to back.
    splats: Vec<Splat>,
    tiles: TileLists,
    transmittance: Vec<f32>,
    contributors: Vec<u32>,
}

/// One projected Gaussian, its index in the cloud and its pixel box `[x0, x1, y0, y1]`.
#[derive(Clone, Copy, Debug)]
struct Splat {
    p: Projected,
    index: u32,
    bbox: [u32; 4],
}

/// A splat that a pixel blends.
#[derive(Clone, Copy, Debug)]
struct Hit {
    alpha: f32,
    /// `e^power`.
    gauss: f32,
    /// `o·e^power` reached the 0.99 cap.
    capped: bool,
}

impl ForwardTape {
    /// `(width, height)` of the image.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Number of Gaussians of the cloud it was rendered from.
    pub fn gaussians(&self) -> usize {
        self.gaussians
    }

    /// Gaussians that project onto at least one pixel.
    pub fn projected(&self) -> usize {
        self.splats.len()
    }

    /// (tile, Gaussian) pairs after binning.
    pub fn tile_entries(&self) -> usize {
        self.tiles.entries()
    }

    /// Final transmittance per pixel (row-major); coverage is `1 − T`.
    pub fn transmittance(&self) -> &[f32] {
        &self.transmittance
    }

    /// Number of splats each pixel blended (row-major).
    pub fn contributors(&self) -> &[u32] {
        &self.contributors
    }
}

/// Checks what the rasteriser divides by or loops over.
fn check_view(camera: &Camera, background: [f32; 3]) -> Result<()> {
    let (w, h) = (camera.width, camera.height);
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        bail!("cannot render {w}x{h}: width and height must be in 1..={MAX_SIDE}");
    }
    for (name, v) in [("fx", camera.fx), ("fy", camera.fy)] {
        if !(v.is_finite() && v > 0.0) {
            bail!("camera {name} = {v}: must be finite and positive");
        }
    }
    for (name, v) in [("cx", camera.cx), ("cy", camera.cy)] {
        if !v.is_finite() {
            bail!("camera {name} = {v}: must be finite");
        }
    }
    if !camera.world_to_camera.is_finite() {
        bail!("camera pose {:?} is not finite", camera.world_to_camera);
    }
    if let Some(c) = background.iter().position(|v| !v.is_finite()) {
        bail!("background channel {c} = {}: must be finite", background[c]);
    }
    Ok(())
}

/// Projects every Gaussian of `cloud` with [`reference::project`] (in parallel); `None` for
/// culled ones. [`rasterise`] draws the result.
pub fn project_cloud(cloud: &SplatCloud, camera: &Camera) -> Result<Vec<Option<Projected>>> {
    check_view(camera, [0.0; 3])?;
    if cloud.sh_degree > 3 {
        bail!("SH degree {}: at most 3", cloud.sh_degree);
    }
    let want = cloud.len() * cloud.sh_stride() as usize;
    if cloud.sh.len() != want {
        bail!(
            "{} SH floats for {} Gaussians of degree {} (want {want})",
            cloud.sh.len(),
            cloud.len(),
            cloud.sh_degree
        );
    }
    Ok((0..cloud.len())
        .into_par_iter()
        .map(|i| reference::project(cloud, i, camera))
        .collect())
}

/// `cloud` seen by `camera` over `background`, in f32 (see the module docs), and the tape
/// for [`backward`].
pub fn render_float(
    cloud: &SplatCloud,
    camera: &Camera,
    background: [f32; 3],
) -> Result<(RgbFrame<f32>, ForwardTape)> {
    let projected = project_cloud(cloud, camera)?;
    rasterise(&projected, camera, background)
}

/// Draws projected Gaussians (`projected[i]` for Gaussian `i`, `None` when culled) at the
/// camera's size; [`render_float`] is [`project_cloud`] then this. Tests use it to move
/// centres while holding the rest of a projection fixed.
pub fn rasterise(
    projected: &[Option<Projected>],
    camera: &Camera,
    background: [f32; 3],
) -> Result<(RgbFrame<f32>, ForwardTape)> {
    check_view(camera, background)?;
    if u32::try_from(projected.len()).is_err() {
        bail!(
            "{} Gaussians: at most {} can be drawn",
            projected.len(),
            u32::MAX
        );
    }
    let (w, h) = (camera.width, camera.height);
    let mut splats: Vec<Splat> = projected
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let p = (*p)?;
            let bbox = pixel_box(&p, w, h)?;
            Some(Splat {
                p,
                index: i as u32,
                bbox,
            })
        })
        .collect();
    splats.par_sort_unstable_by_key(|s| Reverse((s.p.key, s.index)));
    let boxes: Vec<[u32; 4]> = splats.iter().map(|s| s.bbox).collect();
    let tiles = TileLists::bin(&boxes, w, h);

    let n = (w * h) as usize;
    let band = (TILE * w) as usize;
    let mut rgb = vec![[0.0f32; 3]; n];
    let mut transmittance = vec![0.0f32; n];
    let mut contributors = vec![0u32; n];
    let bg = Vec3::from(background);
    rgb.par_chunks_mut(band)
        .zip(transmittance.par_chunks_mut(band))
        .zip(contributors.par_chunks_mut(band))
        .enumerate()
        .for_each(|(ty, ((rgb, trans), count))| {
            let mut t = [0.0f32; PIXELS];
            let mut c = [Vec3::ZERO; PIXELS];
            let mut hits = [0u32; PIXELS];
            for tx in 0..tiles.tiles_x {
                let tile = (ty as u32 * tiles.tiles_x + tx) as usize;
                let area = tile_area(tile, tiles.tiles_x, w, h);
                c.fill(Vec3::ZERO);
                hits.fill(0);
                walk(
                    &splats,
                    tiles.list(tile),
                    area,
                    &mut t,
                    |_, s, p, hit, t| {
                        c[p] += s.p.colour * (hit.alpha * t);
                        hits[p] += 1;
                    },
                );
                for y in area[2]..area[3] {
                    for x in area[0]..area[1] {
                        let p = local(area, x, y);
                        let i = ((y - area[2]) * w + x) as usize;
                        rgb[i] = (c[p] + bg * t[p]).to_array();
                        trans[i] = t[p];
                        count[i] = hits[p];
                    }
                }
            }
        });
    let image = RgbFrame {
        width: w,
        height: h,
        rgb,
    };
    let tape = ForwardTape {
        width: w,
        height: h,
        gaussians: projected.len(),
        background,
        splats,
        tiles,
        transmittance,
        contributors,
    };
    Ok((image, tape))
}

/// Pixels of a tile.
const PIXELS: usize = (TILE * TILE) as usize;

/// Pixel box `[x0, x1, y0, y1]` of tile `t` (row-major, `tiles_x` a row) in a `w`×`h` image.
fn tile_area(t: usize, tiles_x: u32, w: u32, h: u32) -> [u32; 4] {
    let (x0, y0) = (t as u32 % tiles_x * TILE, t as u32 / tiles_x * TILE);
    [x0, (x0 + TILE).min(w), y0, (y0 + TILE).min(h)]
}

/// Index of pixel `(x, y)` in its tile's buffers.
#[inline]
fn local(area: [u32; 4], x: u32, y: u32) -> usize {
    ((y - area[2]) * TILE + x - area[0]) as usize
}

/// Composites a tile's `list` front to back, splat by splat over its box within the tile
/// `area` (a pixel box `[x0, x1, y0, y1]`): calls `visit(k, splat, p, hit, T)` for every pixel `p` (tile-local) that blends
/// splat `k` of the list, `T` the pixel's transmittance before it, and leaves the final
/// transmittances in `t`. Each pixel sees its splats in list order, so this is the per-pixel
/// front-to-back loop at the cost of the splats' areas.
#[inline]
fn walk(
    splats: &[Splat],
    list: &[u32],
    area: [u32; 4],
    t: &mut [f32; PIXELS],
    mut visit: impl FnMut(usize, &Splat, usize, Hit, f32),
) {
    t.fill(1.0);
    for (k, &e) in list.iter().enumerate() {
        let s = &splats[e as usize];
        let b = s.bbox;
        for y in b[2].max(area[2])..b[3].min(area[3]) {
            for x in b[0].max(area[0])..b[1].min(area[1]) {
                if let Some(hit) = hit(s, x, y) {
                    let p = local(area, x, y);
                    visit(k, s, p, hit, t[p]);
                    t[p] *= 1.0 - hit.alpha;
                }
            }
        }
    }
}

/// The reference's per-splat rule at pixel `(x, y)` of the splat's box (same f32
/// operations); `None` when the pixel skips the splat.
#[inline]
fn hit(s: &Splat, x: u32, y: u32) -> Option<Hit> {
    let p = &s.p;
    let dx = p.centre.x - (x as f32 + 0.5);
    let dy = p.centre.y - (y as f32 + 0.5);
    let k = p.conic;
    let power = -0.5 * (k.x * dx * dx + k.z * dy * dy) - k.y * dx * dy;
    if !(-4.5..=0.0).contains(&power) {
        return None;
    }
    let gauss = power.exp();
    let raw = p.alpha * gauss;
    let alpha = raw.min(0.99);
    if alpha < 1.0 / 255.0 {
        return None;
    }
    Some(Hit {
        alpha,
        gauss,
        capped: raw >= 0.99,
    })
}
