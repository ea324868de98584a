//! The CPU reference solver: the same MLS-MPM scheme as the WGSL stages, written for clarity
//! rather than speed, with a plain scatter P2G. Tests compare the GPU solver against it in
//! f64; it is also the ground truth for the per-stage tests. It is generic over its scalar
//! ([`Real`]): with dual numbers (`num_dual::Dual64`) it gives exact forward derivatives of a
//! whole run with respect to any input (E, ν, initial velocity), an independent check for
//! gradients.

use super::config::{Drag, Material, Poke, SolverConfig, Wall};
use super::validate::{self, SolverError};
use crate::particles::ParticleSet;
use nalgebra::{Matrix3, Vector3};

pub type V3 = Vector3<f64>;
pub type M3 = Matrix3<f64>;

/// The reference solver's scalar: `f64`, or a dual number for forward derivatives.
pub trait Real: nalgebra::RealField + Copy {
    /// The real part (for branches, cell indices and reports).
    fn re(self) -> f64;
    /// A constant.
    fn c(x: f64) -> Self {
        nalgebra::convert(x)
    }
}

impl Real for f64 {
    fn re(self) -> f64 {
        self
    }
}

impl Real for num_dual::Dual64 {
    fn re(self) -> f64 {
        self.re
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RefParticle<T: Real = f64> {
    pub x: Vector3<T>,
    pub v: Vector3<T>,
    pub c: Matrix3<T>,
    pub f: Matrix3<T>,
}

/// Grid node after P2G: momentum and mass of the particles that move, and the anchor flag (1
/// where an anchored particle's weight is positive: the node is stopped). Anchored particles
/// add no mass or momentum: they never move, and every node they touch is stopped whatever
/// its mass, so the free particles' motion is the same as with their mass gathered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefNode<T: Real = f64> {
    pub mv: Vector3<T>,
    pub m: T,
    pub m_anchor: T,
    /// Velocity after the grid update.
    pub v: Vector3<T>,
}

impl<T: Real> Default for RefNode<T> {
    fn default() -> Self {
        RefNode {
            mv: Vector3::zeros(),
            m: T::zero(),
            m_anchor: T::zero(),
            v: Vector3::zeros(),
        }
    }
}

pub struct Reference<T: Real = f64> {
    pub cfg: SolverConfig,
    pub particles: Vec<RefParticle<T>>,
    pub young: Vec<T>,
    pub poisson: Vec<T>,
    pub mass: Vec<T>,
    pub volume: Vec<T>,
    pub anchored: Vec<bool>,
    /// Dragged particles and their offsets from the grab point.
    pub drag_offset: Vec<Option<Vector3<T>>>,
    pub pokes: Vec<Poke>,
    pub drag: Option<Drag>,
    pub time: f64,
    pub step: u64,
    /// The grid of the last substep, keyed by node index (x fastest).
    pub grid: std::collections::BTreeMap<[i32; 3], RefNode<T>>,
}

fn v3<T: Real>(v: glam::Vec3) -> Vector3<T> {
    Vector3::new(T::c(v.x as f64), T::c(v.y as f64), T::c(v.z as f64))
}

/// Lamé parameters (mu, lambda) of Young's modulus `e` and Poisson ratio `nu`.
pub fn lame<T: Real>(e: T, nu: T) -> (T, T) {
    let one = T::one();
    (
        e / (T::c(2.0) * (one + nu)),
        e * nu / ((one + nu) * (one - T::c(2.0) * nu)),
    )
}

/// The rotation of F's sign-corrected SVD, R = U V^T with det R = +1 (the smallest singular
/// value takes the sign of det F), as fixed-corotated elasticity uses. For det F > 0 this is
/// the polar rotation, computed by Newton's iteration X <- (X + X^-T) / 2: a smooth function of
/// F also at repeated singular values (F = I), so dual numbers carry exact derivatives through
/// it; inverted F goes through the SVD.
pub fn rotation<T: Real>(f: &Matrix3<T>) -> Matrix3<T> {
    if f.determinant().re() > 1e-9 {
        let mut x = *f;
        let mut settled = false;
        for _ in 0..60 {
            let Some(inv) = x.try_inverse() else { break };
            let next = (x + inv.transpose()) * T::c(0.5);
            let change = (next - x).iter().map(|e| e.re().abs()).fold(0.0, f64::max);
            x = next;
            if settled {
                return x;
            }
            settled = change < 1e-14;
        }
        if settled {
            return x;
        }
    }
    let svd = f.svd(true, true);
    let (mut u, s, mut vt) = (
        svd.u.expect("asked for U"),
        svd.singular_values,
        svd.v_t.expect("asked for V^T"),
    );
    let k = (0..3)
        .min_by(|&a, &b| s[a].re().total_cmp(&s[b].re()))
        .unwrap_or(2);
    if u.determinant().re() < 0.0 {
        u.set_column(k, &(-u.column(k)));
    }
    if vt.determinant().re() < 0.0 {
        vt.set_row(k, &(-vt.row(k)));
    }
    u * vt
}

/// Kirchhoff stress of `model` (see `shaders/mpm_common.wgsl`).
pub fn kirchhoff<T: Real>(f: &Matrix3<T>, mu: T, lambda: T, model: Material) -> Matrix3<T> {
    let j = f.determinant();
    let id = Matrix3::<T>::identity();
    match model {
        Material::FixedCorotated => {
            (f - rotation(f)) * f.transpose() * (T::c(2.0) * mu)
                + id * (lambda * j * (j - T::one()))
        }
        Material::NeoHookean => {
            (f * f.transpose() - id) * mu + id * (lambda * j.max(T::c(1e-6)).ln())
        }
    }
}

/// Quadratic B-spline weight of node offset `o` for fractional position `fx`.
pub fn bspline<T: Real>(fx: T, o: i32) -> T {
    let h = T::c(0.5);
    match o {
        0 => h * (T::c(1.5) - fx).powi(2),
        1 => T::c(0.75) - (fx - T::one()).powi(2),
        _ => h * (fx - h).powi(2),
    }
}

fn base_cell<T: Real>(xg: &Vector3<T>, res: u32) -> [i32; 3] {
    let hi = res as i32 - 3;
    [0, 1, 2].map(|a| ((xg[a].re() - 0.5).floor() as i32).clamp(0, hi))
}

fn stencil() -> impl Iterator<Item = [i32; 3]> {
    (0..27).map(|k| [k % 3, (k / 3) % 3, k / 9])
}

fn ivec<T: Real>(i: [i32; 3]) -> Vector3<T> {
    Vector3::new(T::c(i[0] as f64), T::c(i[1] as f64), T::c(i[2] as f64))
}

impl<T: Real> Reference<T> {
    pub fn new(cfg: SolverConfig, set: &ParticleSet) -> Result<Self, SolverError> {
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: u32::MAX as u64,
            max_buffer_size: u64::MAX,
            max_texture_dimension_2d: u32::MAX,
            ..Default::default()
        };
        validate::check(&cfg, set, &limits)?;
        let scalars = |v: &[f32]| v.iter().map(|&e| T::c(e as f64)).collect::<Vec<T>>();
        Ok(Reference {
            particles: (0..set.len())
                .map(|i| RefParticle {
                    x: v3(set.position[i]),
                    v: v3(set.velocity[i]),
                    c: Matrix3::zeros(),
                    f: Matrix3::identity(),
                })
                .collect(),
            young: scalars(&set.young),
            poisson: scalars(&set.poisson),
            mass: (0..set.len()).map(|i| T::c(set.mass(i) as f64)).collect(),
            volume: scalars(&set.volume),
            anchored: set.anchored.clone(),
            drag_offset: vec![None; set.len()],
            pokes: Vec::new(),
            drag: None,
            time: 0.0,
            step: 0,
            grid: Default::default(),
            cfg,
        })
    }

    /// One substep of `dt`.
    pub fn substep(&mut self, dt: f64) -> Result<(), SolverError> {
        let cfg = self.cfg.clone();
        let res = cfg.grid_res;
        let dtt = T::c(dt);
        let dx = T::c(1.0 / res as f64);
        let inv_dx = T::c(res as f64);
        // P2G (scatter)
        self.grid.clear();
        for (p, pt) in self.particles.iter().enumerate() {
            let xg = pt.x * inv_dx;
            let base = base_cell(&xg, res);
            let fx = xg - ivec::<T>(base);
            if self.anchored[p] {
                for o in stencil() {
                    let w = bspline(fx.x, o[0]) * bspline(fx.y, o[1]) * bspline(fx.z, o[2]);
                    if w.re() > 0.0 {
                        let idx = [base[0] + o[0], base[1] + o[1], base[2] + o[2]];
                        self.grid.entry(idx).or_default().m_anchor = T::c(1.0);
                    }
                }
                continue;
            }
            let (mu, lambda) = lame(self.young[p], self.poisson[p]);
            let tau = kirchhoff(&pt.f, mu, lambda, cfg.material);
            let m = self.mass[p];
            let a = pt.c * m - tau * (dtt * self.volume[p] * T::c(4.0) * inv_dx * inv_dx);
            for o in stencil() {
                let w = bspline(fx.x, o[0]) * bspline(fx.y, o[1]) * bspline(fx.z, o[2]);
                let dpos = (ivec::<T>(o) - fx) * dx;
                let node = self
                    .grid
                    .entry([base[0] + o[0], base[1] + o[1], base[2] + o[2]])
                    .or_default();
                node.m += w * m;
                node.mv += (pt.v * m + a * dpos) * w;
            }
        }
        // grid update
        let g = v3::<T>(cfg.gravity);
        let lo = cfg.wall_cells as i32;
        let hi = res as i32 - cfg.wall_cells as i32;
        for (idx, node) in self.grid.iter_mut() {
            if node.m.re() <= 0.0 {
                continue;
            }
            let mut v = node.mv / node.m + g * dtt;
            if cfg.damping > 0.0 {
                v *= (-(T::c(cfg.damping as f64)) * dtt).exp();
            }
            if node.m_anchor.re() > 0.0 {
                v = Vector3::zeros();
            }
            if cfg.wall == Wall::Slip {
                for a in 0..3 {
                    let (l, h) = (idx[a] < lo, idx[a] > hi);
                    if (l && v[a].re() < 0.0) || (h && v[a].re() > 0.0) {
                        v[a] = T::zero();
                    }
                }
            }
            if cfg.wall == Wall::Sticky && (0..3).any(|a| idx[a] < lo || idx[a] > hi) {
                v = Vector3::zeros();
            }
            if let Some(gr) = cfg.ground {
                if (idx[1] as f32 * (1.0 / res as f32)) <= gr.height {
                    if gr.sticky {
                        v = Vector3::zeros();
                    } else if v.y.re() < 0.0 {
                        v.y = T::zero();
                    }
                }
            }
            node.v = v;
        }
        // G2P
        let t = self.time as f32;
        let poke = self
            .pokes
            .iter()
            .find(|k| k.start <= t && t < k.start + k.duration)
            .copied();
        for p in 0..self.particles.len() {
            let pt = &mut self.particles[p];
            if self.anchored[p] {
                pt.v = Vector3::zeros();
                pt.c = Matrix3::zeros();
                continue;
            }
            let xg = pt.x * inv_dx;
            let base = base_cell(&xg, res);
            let fx = xg - ivec::<T>(base);
            let mut v = Vector3::<T>::zeros();
            let mut b = Matrix3::<T>::zeros();
            for o in stencil() {
                let w = bspline(fx.x, o[0]) * bspline(fx.y, o[1]) * bspline(fx.z, o[2]);
                let gv = self.grid[&[base[0] + o[0], base[1] + o[1], base[2] + o[2]]].v;
                let dpos = ivec::<T>(o) - fx;
                v += gv * w;
                b += gv * dpos.transpose() * w;
            }
            let c = b * (T::c(4.0) * inv_dx);
            pt.f = (Matrix3::identity() + c * dtt) * pt.f;
            pt.c = c;
            pt.x += v * dtt;
            if let Some(k) = poke {
                if (pt.x - v3::<T>(k.centre)).norm().re() < k.radius as f64 {
                    v += v3::<T>(k.force) * dtt;
                }
            }
            if let (Some(d), Some(off)) = (self.drag, self.drag_offset[p]) {
                let a = (v3::<T>(d.target) + off - pt.x) * T::c(d.stiffness as f64)
                    - v * T::c(d.damping as f64);
                v += a * dtt;
            }
            pt.v = v;
            let finite =
                pt.x.iter()
                    .chain(pt.v.iter())
                    .chain(pt.f.iter())
                    .all(|e| e.re().is_finite());
            let inside = pt.x.iter().all(|e| {
                let xn = e.re() * res as f64;
                xn >= 0.5 && xn < res as f64 - 1.5
            });
            if !finite || !inside {
                let what = if finite {
                    "left the simulation grid"
                } else {
                    "position, velocity or F became NaN/inf"
                };
                return Err(SolverError::BlowUp {
                    step: self.step as u32,
                    particle: p as u32,
                    what,
                });
            }
        }
        self.time += dt;
        self.step += 1;
        Ok(())
    }

    /// Positions (real parts) as f32 vectors, for comparison with the GPU.
    pub fn positions(&self) -> Vec<glam::Vec3> {
        self.particles
            .iter()
            .map(|p| glam::Vec3::new(p.x.x.re() as f32, p.x.y.re() as f32, p.x.z.re() as f32))
            .collect()
    }

    /// Total linear momentum.
    pub fn momentum(&self) -> Vector3<T> {
        self.particles
            .iter()
            .zip(&self.mass)
            .fold(Vector3::zeros(), |acc, (p, m)| acc + p.v * *m)
    }
}
