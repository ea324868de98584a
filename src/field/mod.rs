//! The stiffness field the fit optimises: `log10 E` (E in Pa) on a coarse regular 3-D grid,
//! trilinearly interpolated to the particles.
//!
//! **Grid:** `dims = [nx, ny, nz]` nodes (each ≥ 2) spanning an axis-aligned box `[min, max]`
//! in domain coordinates, node `(i, j, k)` at `min + (i, j, k)·(max − min)/(dims − 1)`, stored
//! with `i` fastest, then `j`, then `k`. [`StiffnessField::around`] puts the box round the
//! particles with a margin, so every particle lies inside; a position outside the box takes the
//! value at the nearest point of the box (the weights use the clamped position, and the adjoint
//! uses the same weights).
//!
//! **Particles:** the field is Lagrangian: it is sampled once at the particles' rest positions
//! and every particle keeps its E for the whole simulation. [`StiffnessField::sample`] is the
//! linear map `A` from node values to particle values; [`StiffnessField::adjoint`] is `Aᵀ`
//! (with the trilinear weights as products, equal to the transpose up to rounding), which turns
//! `∂L/∂log10 E_p` per particle into `∂L/∂(node value)`. Sums run in particle order, so the
//! result is reproducible.
//!
//! **Bounds:** node values are kept in `[lo, hi]` ([`DEFAULT_LOG10_E_RANGE`]: 3..8, i.e.
//! 1 kPa..100 MPa) by clamping them after each optimiser step ([`StiffnessField::clamp`]).
//! Trilinear weights are non-negative and sum to 1, so every interpolated value lies in the
//! same range. The range itself must lie within −30..30 (E stays a normal, finite f32).
//!
//! **Regulariser:** [`TotalVariation`] is a smoothed anisotropic total variation over the grid
//! edges, `weight·Σ (sqrt((v_a − v_b)² + ε²) − ε)` over every pair of nodes adjacent along x, y
//! or z: it favours piecewise-constant fields (sharp material boundaries survive) and is
//! differentiable everywhere; a constant field costs 0. With a saturation `s` each edge costs
//! `s·ln(1 + t/s)` of its smoothed difference `t` instead: concave in `t`, so one sharp jump
//! between two uniform parts costs less than the same rise spread over a ramp of several cells
//! (plain total variation charges both the same, and leaves the choice to the data).
//!
//! **Velocity prior:** the fit keeps its initial-velocity grids in the same type (values in
//! m/s); [`Curvature`], the squared second differences along each axis, keeps them smooth
//! without charging any affine motion.

use glam::Vec3;

use crate::material::MaterialField;
use crate::particles::ParticleSet;

mod curvature;
mod sharpen;
mod total_variation;

pub use curvature::Curvature;
pub use sharpen::Sharpen;
pub use total_variation::TotalVariation;

/// Default bounds of `log10 E` (E in Pa).
pub const DEFAULT_LOG10_E_RANGE: (f64, f64) = (3.0, 8.0);

/// Errors of the stiffness field; each names the value at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    /// A grid dimension below 2.
    #[error("grid dims {dims:?}: every dimension must be ≥ 2")]
    Dims {
        /// The dimensions given.
        dims: [usize; 3],
    },
    /// A box that is empty or not finite along some axis.
    #[error("box {min:?}..{max:?}: need finite corners with min < max on every axis")]
    Box {
        /// Lower corner.
        min: [f64; 3],
        /// Upper corner.
        max: [f64; 3],
    },
    /// A bad setting (margin, range, initial value).
    #[error("{field} = {value}: {reason}")]
    Setting {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// A NaN or infinite input.
    #[error("{what}[{index}] = {value}: must be finite")]
    NonFinite {
        /// `positions`, `values`, `d_log10_e`, ...
        what: &'static str,
        /// The index.
        index: usize,
        /// The value, as text.
        value: String,
    },
    /// A vector of the wrong length.
    #[error("{what} has {len} values, expected {expected}")]
    Length {
        /// `values`, `d_log10_e`, `poisson`, ...
        what: &'static str,
        /// Its length.
        len: usize,
        /// The expected length.
        expected: usize,
    },
    /// No particles to build a box around or to sample at.
    #[error("no particles")]
    NoParticles,
}

/// `log10 E` on a regular grid (see the module docs).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StiffnessField {
    min: [f64; 3],
    max: [f64; 3],
    dims: [usize; 3],
    range: (f64, f64),
    values: Vec<f64>,
}

impl StiffnessField {
    /// A field of `dims` nodes over `[min, max]`, every node `log10_e`, range
    /// [`DEFAULT_LOG10_E_RANGE`] (`log10_e` must lie in it; for another range use
    /// [`StiffnessField::with_range`], then [`StiffnessField::fill`]).
    pub fn new(min: Vec3, max: Vec3, dims: [usize; 3], log10_e: f64) -> Result<Self, FieldError> {
        let (min, max) = (min.to_array().map(f64::from), max.to_array().map(f64::from));
        if dims.iter().any(|&d| d < 2) {
            return Err(FieldError::Dims { dims });
        }
        if (0..3).any(|a| !(min[a].is_finite() && max[a].is_finite() && min[a] < max[a])) {
            return Err(FieldError::Box { min, max });
        }
        let mut field = StiffnessField {
            min,
            max,
            dims,
            range: DEFAULT_LOG10_E_RANGE,
            values: vec![0.0; dims[0] * dims[1] * dims[2]],
        };
        field.fill(log10_e)?;
        Ok(field)
    }

    /// Sets every node to `log10_e`, which must lie in the range.
    pub fn fill(&mut self, log10_e: f64) -> Result<(), FieldError> {
        let (lo, hi) = self.range;
        if !(lo..=hi).contains(&log10_e) {
            return Err(FieldError::Setting {
                field: "log10_e",
                value: log10_e.to_string(),
                reason: "must lie in the field's range of log10 E (3..8 unless set)",
            });
        }
        self.values.fill(log10_e);
        Ok(())
    }

    /// A field over the bounding box of `particles` grown by `margin` (domain units, ≥ 0;
    /// it must make the box non-empty along every axis).
    pub fn around(
        particles: &ParticleSet,
        dims: [usize; 3],
        margin: f32,
        log10_e: f64,
    ) -> Result<Self, FieldError> {
        Self::around_points(&particles.position, dims, margin, log10_e)
    }

    /// [`StiffnessField::around`] for bare positions.
    pub fn around_points(
        positions: &[Vec3],
        dims: [usize; 3],
        margin: f32,
        log10_e: f64,
    ) -> Result<Self, FieldError> {
        if !(margin.is_finite() && margin >= 0.0) {
            return Err(setting("margin", margin as f64, "must be finite and ≥ 0"));
        }
        check_positions(positions)?;
        let lo = positions.iter().fold(Vec3::INFINITY, |a, &p| a.min(p));
        let hi = positions.iter().fold(Vec3::NEG_INFINITY, |a, &p| a.max(p));
        Self::new(lo - margin, hi + margin, dims, log10_e)
    }

    /// With bounds `[lo, hi]` on `log10 E` (within −30..30); the node values are clamped into
    /// them.
    pub fn with_range(mut self, lo: f64, hi: f64) -> Result<Self, FieldError> {
        let ok = |v: f64| v.is_finite() && (-30.0..=30.0).contains(&v);
        if !(ok(lo) && ok(hi) && lo <= hi) {
            return Err(FieldError::Setting {
                field: "log10 E range",
                value: format!("[{lo}, {hi}]"),
                reason: "need -30 ≤ lo ≤ hi ≤ 30",
            });
        }
        self.range = (lo, hi);
        self.clamp();
        Ok(self)
    }

    /// Nodes along x, y, z.
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// The box `(min, max)`.
    pub fn bounds(&self) -> ([f64; 3], [f64; 3]) {
        (self.min, self.max)
    }

    /// The bounds of `log10 E`.
    pub fn range(&self) -> (f64, f64) {
        self.range
    }

    /// Number of nodes (the optimiser's parameter count).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: a field has at least 8 nodes.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Index of node `(i, j, k)`.
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.dims[0] * (j + self.dims[1] * k)
    }

    /// Position of node `(i, j, k)`.
    pub fn node_position(&self, i: usize, j: usize, k: usize) -> [f64; 3] {
        let ijk = [i, j, k];
        std::array::from_fn(|a| {
            self.min[a] + (self.max[a] - self.min[a]) * ijk[a] as f64 / (self.dims[a] - 1) as f64
        })
    }

    /// The node values (`log10 E`).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The node values, for an optimiser step; call [`StiffnessField::clamp`] afterwards.
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// Replaces the node values (finite, one per node), clamped into the range.
    pub fn set_values(&mut self, values: &[f64]) -> Result<(), FieldError> {
        same_len("values", values.len(), self.len())?;
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(non_finite("values", index, values[index]));
        }
        self.values.copy_from_slice(values);
        self.clamp();
        Ok(())
    }

    /// Clamps every node value into the range (NaN becomes the lower bound); returns how many
    /// changed.
    pub fn clamp(&mut self) -> usize {
        let (lo, hi) = self.range;
        let mut changed = 0;
        for v in &mut self.values {
            let c = if v.is_nan() { lo } else { v.clamp(lo, hi) };
            if c != *v || v.is_nan() {
                changed += 1;
            }
            *v = c;
        }
        changed
    }

    /// The cell round `p` and the position in it, each in 0..1 (position clamped into the box).
    fn cell(&self, p: [f64; 3]) -> ([usize; 3], [f64; 3]) {
        let mut cell = [0usize; 3];
        let mut frac = [0f64; 3];
        for a in 0..3 {
            let n = self.dims[a] - 1;
            let u = ((p[a] - self.min[a]) / (self.max[a] - self.min[a]) * n as f64)
                .clamp(0.0, n as f64);
            cell[a] = (u.floor() as usize).min(n - 1);
            frac[a] = u - cell[a] as f64;
        }
        (cell, frac)
    }

    /// The 8 nodes round `p` and their trilinear weights, corner `c` at offset
    /// `(c & 1, c >> 1 & 1, c >> 2 & 1)`.
    fn stencil(&self, p: Vec3) -> ([usize; 8], [f64; 8]) {
        let (cell, frac) = self.cell(p.to_array().map(f64::from));
        let mut nodes = [0; 8];
        let mut weights = [0.0; 8];
        for corner in 0..8 {
            let d = [corner & 1, (corner >> 1) & 1, (corner >> 2) & 1];
            nodes[corner] = self.index(cell[0] + d[0], cell[1] + d[1], cell[2] + d[2]);
            weights[corner] = (0..3)
                .map(|a| if d[a] == 1 { frac[a] } else { 1.0 - frac[a] })
                .product();
        }
        (nodes, weights)
    }

    /// `log10 E` at each position (the map `A`). Evaluated as nested linear interpolations
    /// along x, y, then z, each kept between its two ends: a constant field comes out exact and
    /// no value leaves the range of its cell's corners, even by rounding.
    pub fn sample(&self, positions: &[Vec3]) -> Result<Vec<f64>, FieldError> {
        check_positions(positions)?;
        Ok(positions
            .iter()
            .map(|&p| self.value_at(p.to_array().map(f64::from)))
            .collect())
    }

    /// The interpolated value at `p` (see [`StiffnessField::sample`]).
    fn value_at(&self, p: [f64; 3]) -> f64 {
        let lerp = |a: f64, b: f64, t: f64| (a + t * (b - a)).clamp(a.min(b), a.max(b));
        let (c, t) = self.cell(p);
        let v = |i, j, k| self.values[self.index(c[0] + i, c[1] + j, c[2] + k)];
        let x = |j, k| lerp(v(0, j, k), v(1, j, k), t[0]);
        let y = |k| lerp(x(0, k), x(1, k), t[1]);
        lerp(y(0), y(1), t[2])
    }

    /// The same field over the same box and range on a grid of `dims` nodes: each new node
    /// takes this field's value at its position (where the new grid's nodes include the old
    /// ones, as when cells are halved, it is the same function).
    pub fn resampled(&self, dims: [usize; 3]) -> Result<Self, FieldError> {
        let lo = Vec3::from_array(self.min.map(|v| v as f32));
        let hi = Vec3::from_array(self.max.map(|v| v as f32));
        let mut out = StiffnessField::new(lo, hi, dims, DEFAULT_LOG10_E_RANGE.0)
            .and_then(|f| f.with_range(self.range.0, self.range.1))?;
        (out.min, out.max) = (self.min, self.max);
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let n = out.index(i, j, k);
                    out.values[n] = self.value_at(out.node_position(i, j, k));
                }
            }
        }
        Ok(out)
    }

    /// E (Pa) at each position.
    pub fn young(&self, positions: &[Vec3]) -> Result<Vec<f32>, FieldError> {
        Ok(self
            .sample(positions)?
            .into_iter()
            .map(|v| 10f64.powf(v) as f32)
            .collect())
    }

    /// `Aᵀ y`: given `∂L/∂log10 E` at each position, `∂L/∂(node value)` for every node.
    pub fn adjoint(&self, positions: &[Vec3], d_log10_e: &[f64]) -> Result<Vec<f64>, FieldError> {
        check_positions(positions)?;
        same_len("d_log10_e", d_log10_e.len(), positions.len())?;
        if let Some(index) = d_log10_e.iter().position(|v| !v.is_finite()) {
            return Err(non_finite("d_log10_e", index, d_log10_e[index]));
        }
        let mut out = vec![0.0; self.len()];
        for (&p, &d) in positions.iter().zip(d_log10_e) {
            let (nodes, w) = self.stencil(p);
            for c in 0..8 {
                out[nodes[c]] += w[c] * d;
            }
        }
        Ok(out)
    }

    /// The material file of the particles: E from the field at `positions`, and `poisson`
    /// (one per position, in (−1, 0.5)) when given.
    pub fn to_material_field(
        &self,
        positions: &[Vec3],
        poisson: Option<&[f32]>,
    ) -> Result<MaterialField, FieldError> {
        if let Some(nu) = poisson {
            same_len("poisson", nu.len(), positions.len())?;
            if let Some(i) = nu.iter().position(|&v| !(v > -1.0 && v < 0.5)) {
                return Err(FieldError::Setting {
                    field: "poisson",
                    value: format!("[{i}] = {}", nu[i]),
                    reason: "must be in (-1, 0.5)",
                });
            }
        }
        Ok(MaterialField {
            points: positions.to_vec(),
            young: self.young(positions)?,
            poisson: poisson.map(<[f32]>::to_vec),
        })
    }
}

/// `∂L/∂log10 E` from `∂L/∂E` per particle: `∂E/∂log10 E = E·ln 10`.
pub fn log10_gradient(young: &[f32], d_young: &[f64]) -> Vec<f64> {
    young
        .iter()
        .zip(d_young)
        .map(|(&e, &d)| d * e as f64 * std::f64::consts::LN_10)
        .collect()
}

fn check_positions(positions: &[Vec3]) -> Result<(), FieldError> {
    if positions.is_empty() {
        return Err(FieldError::NoParticles);
    }
    match positions.iter().position(|p| !p.is_finite()) {
        None => Ok(()),
        Some(index) => Err(FieldError::NonFinite {
            what: "positions",
            index,
            value: positions[index].to_string(),
        }),
    }
}

fn same_len(what: &'static str, len: usize, expected: usize) -> Result<(), FieldError> {
    if len == expected {
        Ok(())
    } else {
        Err(FieldError::Length {
            what,
            len,
            expected,
        })
    }
}

fn non_finite(what: &'static str, index: usize, value: f64) -> FieldError {
    FieldError::NonFinite {
        what,
        index,
        value: value.to_string(),
    }
}

fn setting(field: &'static str, value: f64, reason: &'static str) -> FieldError {
    FieldError::Setting {
        field,
        value: value.to_string(),
        reason,
    }
}
