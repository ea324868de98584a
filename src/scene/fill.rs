//! Volume filling: lattice points inside a mesh, and the occupied/interior cells of a splat.
//!
//! Both fills use the lattice `(i + 1/2) * spacing` (integer `i` per axis), so particles sit at
//! the same offsets in every grid cell when the spacing divides the simulation's `dx`.
//!
//! * Meshes: a lattice point is inside when the generalised winding number `|w| > 1/2`
//!   ([`WindingNumber`]); this is exact for closed meshes of either orientation and robust to
//!   small holes.
//! * Splats (after PhysGaussian): a Gaussian with alpha >= `threshold` *occupies* the cells whose
//!   centres lie in its 2-sigma ellipsoid after widening its standard deviations by half a cell
//!   (`Sigma + (h/2)^2 I`), so even a tiny Gaussian occupies the cells within `h` of it and a
//!   surface sampled at up to about one Gaussian per cell gives a band of occupied cells that no
//!   axis-parallel line crosses without meeting. An empty cell is *interior* when occupied cells
//!   lie on all six axis rays from it. Connected pieces (6-connectivity) of fewer than
//!   `min_fragment` cells, e.g. floaters, are dropped. Interior points take the colour of their
//!   nearest Gaussian. Occupied and interior cells together are the particle sites.
//!
//!   The band reaches about one cell beyond the surface, so the volume estimate counts an
//!   occupied cell fully when no exterior cell is within two steps of it, and otherwise by the
//!   fraction of it behind the surface: the plane of its nearest flat Gaussian, oriented
//!   outwards by probing which side of that Gaussian is exterior (one half when that cannot be
//!   told, e.g. for round Gaussians or thin sheets).

use std::sync::atomic::{AtomicU8, Ordering};

use glam::{IVec3, Mat3, Vec3};
use rayon::prelude::*;

use super::knn::PointGrid;
use super::mesh::TriMesh;
use super::splat_ply::GaussianSplats;
use super::winding::WindingNumber;

/// Most lattice cells a fill may visit (larger requests are refused with an error).
pub const MAX_FILL_CELLS: u64 = 1 << 26;

/// A box of lattice cells `lo..lo+dims` with spacing `h`.
#[derive(Clone, Copy, Debug)]
struct Lattice {
    lo: IVec3,
    dims: [usize; 3],
    h: f32,
}

impl Lattice {
    /// The cells whose centres may fall in `[min, max]`, padded by `pad` cells.
    fn covering(min: Vec3, max: Vec3, h: f32, pad: i32) -> Result<Lattice, String> {
        if !(h > 0.0 && h.is_finite()) {
            return Err(format!("fill spacing {h} must be a positive number"));
        }
        let lo = (min / h - 0.5).floor();
        let hi = (max / h - 0.5).ceil();
        let n = (hi - lo + 1.0) + 2.0 * pad as f32;
        let cells = n.x as f64 * n.y as f64 * n.z as f64;
        if cells.is_nan()
            || cells > MAX_FILL_CELLS as f64
            || !lo.is_finite()
            || lo.abs().max_element() > 1e9
        {
            return Err(format!(
                "a fill at spacing {h} needs {cells:.3e} lattice cells (limit {MAX_FILL_CELLS}); use a larger spacing or fewer particles"
            ));
        }
        Ok(Lattice {
            lo: lo.as_ivec3() - IVec3::splat(pad),
            dims: [n.x as usize, n.y as usize, n.z as usize],
            h,
        })
    }

    fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    fn id(&self, x: usize, y: usize, z: usize) -> usize {
        (z * self.dims[1] + y) * self.dims[0] + x
    }

    fn centre(&self, x: usize, y: usize, z: usize) -> Vec3 {
        ((self.lo + IVec3::new(x as i32, y as i32, z as i32)).as_vec3() + 0.5) * self.h
    }

    fn coords(&self, id: usize) -> (usize, usize, usize) {
        (
            id % self.dims[0],
            (id / self.dims[0]) % self.dims[1],
            id / (self.dims[0] * self.dims[1]),
        )
    }
}

/// The lattice points at `spacing` inside `mesh` (`|winding number| > 1/2`), ordered by z, y, x.
pub fn fill_mesh(mesh: &TriMesh, spacing: f32) -> Result<Vec<Vec3>, String> {
    let (lo, hi) = mesh.bounds().ok_or("the mesh has no vertices")?;
    let lat = Lattice::covering(lo, hi, spacing, 0)?;
    let wn = WindingNumber::new(mesh);
    let slices: Vec<Vec<Vec3>> = (0..lat.dims[2])
        .into_par_iter()
        .map(|z| {
            let mut out = Vec::new();
            for y in 0..lat.dims[1] {
                for x in 0..lat.dims[0] {
                    let p = lat.centre(x, y, z);
                    if wn.eval(p.as_dvec3()).abs() > 0.5 {
                        out.push(p);
                    }
                }
            }
            out
        })
        .collect();
    Ok(slices.concat())
}

/// The result of filling a splat object.
#[derive(Clone, Debug, Default)]
pub struct SplatFill {
    /// Lattice spacing.
    pub spacing: f32,
    /// Centres of occupied cells (the surface band, about one cell thick).
    pub occupied: Vec<Vec3>,
    /// Centres of interior cells (the fill).
    pub interior: Vec<Vec3>,
    /// For each interior point, the index of the nearest Gaussian in the filled set.
    pub nearest: Vec<u32>,
    /// For each interior point, the `f_dc` colour of that Gaussian.
    pub f_dc: Vec<[f32; 3]>,
    /// Cells dropped as small fragments.
    pub dropped_cells: usize,
    /// Estimated object volume (m^3, see the module docs).
    pub volume_estimate: f64,
}

impl SplatFill {
    /// Estimated object volume: interior cells plus the part of each occupied cell that lies
    /// behind the surface.
    pub fn volume(&self) -> f64 {
        self.volume_estimate
    }

    /// Occupied and interior cell centres: the particle sites.
    pub fn sites(&self) -> Vec<Vec3> {
        let mut s = self.occupied.clone();
        s.extend_from_slice(&self.interior);
        s
    }
}

/// Fills the volume enclosed by the Gaussians of `splats` with `alpha >= threshold`.
pub fn fill_splats(
    splats: &GaussianSplats,
    spacing: f32,
    threshold: f32,
    min_fragment: usize,
) -> Result<SplatFill, String> {
    let inf = Vec3::splat(f32::INFINITY);
    fill_splats_within(splats, spacing, threshold, min_fragment, (-inf, inf))
}

/// [`fill_splats`] restricted to the box `region` (a scene passes the domain `[0, 1]^3`, so a
/// stray Gaussian far outside cannot blow up the lattice).
pub fn fill_splats_within(
    splats: &GaussianSplats,
    spacing: f32,
    threshold: f32,
    min_fragment: usize,
    region: (Vec3, Vec3),
) -> Result<SplatFill, String> {
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(format!("opacity threshold {threshold} must be in (0, 1)"));
    }
    let widen = Mat3::from_diagonal(Vec3::splat((0.5 * spacing).powi(2)));
    // Per Gaussian: centre, inverse widened covariance, squared reach m^2, half-widths.
    let items: Vec<(Vec3, Mat3, f32, Vec3)> = (0..splats.len())
        .into_par_iter()
        .filter_map(|i| {
            if splats.alpha(i) < threshold {
                return None;
            }
            let cov = splats.covariance(i) + widen;
            let m2 = 4.0;
            let half = (Vec3::new(cov.x_axis.x, cov.y_axis.y, cov.z_axis.z) * m2).max(Vec3::ZERO);
            let half = Vec3::new(half.x.sqrt(), half.y.sqrt(), half.z.sqrt())
                .min(Vec3::splat(32.0 * spacing));
            let inv = cov.inverse();
            inv.is_finite()
                .then_some((splats.position[i], inv, m2, half))
        })
        .collect();
    if items.is_empty() {
        return Err(format!("no Gaussian has opacity alpha >= {threshold}"));
    }
    let lo = items
        .iter()
        .map(|it| it.0 - it.3)
        .fold(Vec3::INFINITY, Vec3::min)
        .max(region.0);
    let hi = items
        .iter()
        .map(|it| it.0 + it.3)
        .fold(Vec3::NEG_INFINITY, Vec3::max)
        .min(region.1);
    if lo.cmpgt(hi).any() {
        return Err(format!(
            "no Gaussian with alpha >= {threshold} lies inside {:?}..{:?}",
            region.0, region.1
        ));
    }
    let lat = Lattice::covering(lo, hi, spacing, 1)?;
    let cells: Vec<AtomicU8> = (0..lat.len()).map(|_| AtomicU8::new(0)).collect();
    items.par_iter().for_each(|&(mu, inv, m2, half)| {
        let a = ((mu - half) / spacing - 0.5).floor().as_ivec3() - lat.lo;
        let b = ((mu + half) / spacing - 0.5).ceil().as_ivec3() - lat.lo;
        let clamp = |v: i32, d: usize| v.clamp(0, d as i32 - 1) as usize;
        for z in clamp(a.z, lat.dims[2])..=clamp(b.z, lat.dims[2]) {
            for y in clamp(a.y, lat.dims[1])..=clamp(b.y, lat.dims[1]) {
                for x in clamp(a.x, lat.dims[0])..=clamp(b.x, lat.dims[0]) {
                    let d = lat.centre(x, y, z) - mu;
                    if d.dot(inv * d) <= m2 {
                        cells[lat.id(x, y, z)].store(1, Ordering::Relaxed);
                    }
                }
            }
        }
    });
    let mut state: Vec<u8> = cells.into_iter().map(AtomicU8::into_inner).collect();
    mark_interior(&lat, &mut state);
    let dropped_cells = drop_fragments(&lat, &mut state, min_fragment);
    let mut fill = SplatFill {
        spacing,
        dropped_cells,
        ..Default::default()
    };
    for (id, &s) in state.iter().enumerate() {
        let (x, y, z) = lat.coords(id);
        match s {
            OCCUPIED => fill.occupied.push(lat.centre(x, y, z)),
            INTERIOR => fill.interior.push(lat.centre(x, y, z)),
            _ => {}
        }
    }
    let kept: Vec<u32> = (0..splats.len() as u32)
        .filter(|&i| splats.alpha(i as usize) >= threshold)
        .collect();
    let grid = PointGrid::new(
        &kept
            .iter()
            .map(|&i| splats.position[i as usize])
            .collect::<Vec<_>>(),
    );
    fill.nearest = nearest_by_propagation(&lat, &state, &splats.position, &kept, &grid);
    fill.f_dc = fill
        .nearest
        .iter()
        .map(|&i| splats.f_dc[i as usize])
        .collect();
    let occupied_fraction: f64 = fill
        .occupied
        .par_iter()
        .map(|&x| {
            let Some((_, j)) = grid.nearest(x) else {
                return 0.5;
            };
            inside_fraction(&lat, &state, splats, kept[j as usize] as usize, x) as f64
        })
        .sum();
    fill.volume_estimate =
        (fill.interior.len() as f64 + occupied_fraction) * (spacing as f64).powi(3);
    Ok(fill)
}

const EMPTY: u8 = 0;
const OCCUPIED: u8 = 1;
const INTERIOR: u8 = 2;

/// Maps (line, step along the line) to a cell id.
type LineIndex<'a> = Box<dyn Fn(usize, usize) -> usize + 'a>;

/// Marks empty cells with occupied cells on all six axis rays as `INTERIOR`.
fn mark_interior(lat: &Lattice, state: &mut [u8]) {
    let mut hits = vec![0u8; state.len()];
    let [nx, ny, nz] = lat.dims;
    // (line count, line length, cell id of (line, step))
    let axes: [(usize, usize, LineIndex); 3] = [
        (ny * nz, nx, Box::new(|l, s| l * nx + s)),
        (nx * nz, ny, Box::new(|l, s| lat.id(l % nx, s, l / nx))),
        (nx * ny, nz, Box::new(|l, s| lat.id(l % nx, l / nx, s))),
    ];
    for (a, (lines, len, id)) in axes.iter().enumerate() {
        for l in 0..*lines {
            let mut seen = false;
            for s in 0..*len {
                let c = id(l, s);
                if state[c] == OCCUPIED {
                    seen = true;
                } else if seen {
                    hits[c] |= 1 << (2 * a);
                }
            }
            seen = false;
            for s in (0..*len).rev() {
                let c = id(l, s);
                if state[c] == OCCUPIED {
                    seen = true;
                } else if seen {
                    hits[c] |= 2 << (2 * a);
                }
            }
        }
    }
    for (s, h) in state.iter_mut().zip(hits) {
        if *s == EMPTY && h == 0b11_1111 {
            *s = INTERIOR;
        }
    }
}

/// The nearest Gaussian of every interior cell, in cell order: occupied cells look theirs up
/// exactly, then labels spread inwards Dijkstra-style (a cell takes a neighbour's Gaussian when
/// that one is closer to it), which is exact or within a fraction of a cell of exact, and fast
/// where a direct search deep inside a large object would not be.
fn nearest_by_propagation(
    lat: &Lattice,
    state: &[u8],
    pos: &[Vec3],
    kept: &[u32],
    grid: &PointGrid,
) -> Vec<u32> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut best: Vec<(f32, u32)> = vec![(f32::INFINITY, u32::MAX); state.len()];
    let seeds: Vec<(usize, f32, u32)> = (0..state.len())
        .into_par_iter()
        .filter(|&c| state[c] == OCCUPIED)
        .filter_map(|c| {
            let (x, y, z) = lat.coords(c);
            grid.nearest(lat.centre(x, y, z))
                .map(|(d, j)| (c, d, kept[j as usize]))
        })
        .collect();
    let mut heap = BinaryHeap::new();
    for (c, d, g) in seeds {
        best[c] = (d, g);
        heap.push(Reverse((d.to_bits(), c)));
    }
    while let Some(Reverse((bits, c))) = heap.pop() {
        if f32::from_bits(bits) > best[c].0 {
            continue;
        }
        let g = best[c].1;
        let (x, y, z) = lat.coords(c);
        for dz in -1i32..=1 {
            for dy in -1i32..=1 {
                for dx in -1i32..=1 {
                    let (nx, ny, nz) = (x as i32 + dx, y as i32 + dy, z as i32 + dz);
                    if nx < 0
                        || ny < 0
                        || nz < 0
                        || nx as usize >= lat.dims[0]
                        || ny as usize >= lat.dims[1]
                        || nz as usize >= lat.dims[2]
                    {
                        continue;
                    }
                    let n = lat.id(nx as usize, ny as usize, nz as usize);
                    if state[n] != INTERIOR {
                        continue;
                    }
                    let d = lat
                        .centre(nx as usize, ny as usize, nz as usize)
                        .distance(pos[g as usize]);
                    if d < best[n].0 {
                        best[n] = (d, g);
                        heap.push(Reverse((d.to_bits(), n)));
                    }
                }
            }
        }
    }
    (0..state.len())
        .filter(|&c| state[c] == INTERIOR)
        .map(|c| best[c].1.min(pos.len() as u32 - 1))
        .collect()
}

/// The state of the cell containing `p` (`EMPTY` outside the lattice).
fn state_at(lat: &Lattice, state: &[u8], p: Vec3) -> u8 {
    let c = (p / lat.h).floor().as_ivec3() - lat.lo;
    if c.min_element() < 0
        || c.x as usize >= lat.dims[0]
        || c.y as usize >= lat.dims[1]
        || c.z as usize >= lat.dims[2]
    {
        return EMPTY;
    }
    state[lat.id(c.x as usize, c.y as usize, c.z as usize)]
}

/// Fraction of the occupied cell centred at `x` that lies behind the surface, judged by the
/// plane of Gaussian `g` (its thinnest axis as the normal).
fn inside_fraction(lat: &Lattice, state: &[u8], splats: &GaussianSplats, g: usize, x: Vec3) -> f32 {
    // Deep inside a thick occupied region (no exterior cell within two steps): all inside.
    let axes = [Vec3::X, Vec3::Y, Vec3::Z];
    let deep = axes.iter().all(|&a| {
        [-2.0, -1.0, 1.0, 2.0]
            .iter()
            .all(|&t| state_at(lat, state, x + a * (t * lat.h)) != EMPTY)
    });
    if deep {
        return 1.0;
    }
    let s = splats.scale(g);
    let k = if s.x <= s.y && s.x <= s.z {
        0
    } else if s.y <= s.z {
        1
    } else {
        2
    };
    let mid = (s.x + s.y + s.z - s.max_element() - s[k]).max(1e-30);
    if s[k] > 0.5 * mid {
        return 0.5; // round, not a surface element
    }
    let n = Mat3::from_quat(splats.unit_rotation(g)).col(k);
    let mu = splats.position[g];
    let exterior = |sign: f32| {
        (1..=3).any(|t| state_at(lat, state, mu + n * (sign * t as f32 * lat.h)) == EMPTY)
    };
    let out = match (exterior(1.0), exterior(-1.0)) {
        (true, false) => n,
        (false, true) => -n,
        (false, false) => return 1.0, // the Gaussian sits inside the object
        (true, true) => return 0.5,   // a thin sheet
    };
    let width = lat.h * (out.x.abs() + out.y.abs() + out.z.abs());
    (0.5 - (x - mu).dot(out) / width).clamp(0.0, 1.0)
}

/// Clears connected pieces (6-connectivity) of non-empty cells smaller than `min_cells`;
/// returns the number of cells cleared.
fn drop_fragments(lat: &Lattice, state: &mut [u8], min_cells: usize) -> usize {
    if min_cells <= 1 {
        return 0;
    }
    let mut label = vec![u32::MAX; state.len()];
    let mut dropped = 0;
    let mut queue = Vec::new();
    let mut piece = Vec::new();
    for start in 0..state.len() {
        if state[start] == EMPTY || label[start] != u32::MAX {
            continue;
        }
        label[start] = start as u32;
        queue.push(start);
        piece.clear();
        while let Some(c) = queue.pop() {
            piece.push(c);
            let (x, y, z) = lat.coords(c);
            let mut visit = |x: usize, y: usize, z: usize| {
                let n = lat.id(x, y, z);
                if state[n] != EMPTY && label[n] == u32::MAX {
                    label[n] = start as u32;
                    queue.push(n);
                }
            };
            if x > 0 {
                visit(x - 1, y, z);
            }
            if x + 1 < lat.dims[0] {
                visit(x + 1, y, z);
            }
            if y > 0 {
                visit(x, y - 1, z);
            }
            if y + 1 < lat.dims[1] {
                visit(x, y + 1, z);
            }
            if z > 0 {
                visit(x, y, z - 1);
            }
            if z + 1 < lat.dims[2] {
                visit(x, y, z + 1);
            }
        }
        if piece.len() < min_cells {
            dropped += piece.len();
            for &c in &piece {
                state[c] = EMPTY;
            }
        }
    }
    dropped
}

/// Volume (m^3) of lattice points, each standing for one `spacing^3` cell.
pub fn lattice_volume(points: usize, spacing: f32) -> f64 {
    points as f64 * (spacing as f64).powi(3)
}
