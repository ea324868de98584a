//! The CPU reference solver in f64 (nalgebra): the same MLS-MPM scheme as the WGSL stages,
//! written for clarity rather than speed, with a plain scatter P2G. Tests compare the GPU
//! solver against it; it is also the ground truth for the per-stage tests.

use super::config::{lame, Drag, Material, Poke, SolverConfig, Wall};
use super::validate::{self, SolverError};
use crate::particles::ParticleSet;
use nalgebra::{Matrix3, Vector3};

pub type V3 = Vector3<f64>;
pub type M3 = Matrix3<f64>;

#[derive(Clone, Debug, PartialEq)]
pub struct RefParticle {
    pub x: V3,
    pub v: V3,
    pub c: M3,
    pub f: M3,
}

/// Grid node after P2G: momentum, mass, anchored mass.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RefNode {
    pub mv: V3,
    pub m: f64,
    pub m_anchor: f64,
    /// Velocity after the grid update.
    pub v: V3,
}

pub struct Reference {
    pub cfg: SolverConfig,
    pub particles: Vec<RefParticle>,
    pub young: Vec<f64>,
    pub poisson: Vec<f64>,
    pub mass: Vec<f64>,
    pub volume: Vec<f64>,
    pub anchored: Vec<bool>,
    /// Dragged particles and their offsets from the grab point.
    pub drag_offset: Vec<Option<V3>>,
    pub pokes: Vec<Poke>,
    pub drag: Option<Drag>,
    pub time: f64,
    pub step: u64,
    /// The grid of the last substep, keyed by node index (x fastest).
    pub grid: std::collections::BTreeMap<[i32; 3], RefNode>,
}

/// The rotation of F's sign-corrected SVD, R = U V^T with det R = +1 (the smallest singular
/// value takes the sign of det F), as fixed-corotated elasticity uses.
pub fn rotation(f: &M3) -> M3 {
    let svd = f.svd(true, true);
    let (mut u, s, mut vt) = (svd.u.unwrap(), svd.singular_values, svd.v_t.unwrap());
    let k = s.imin();
    if u.determinant() < 0.0 {
        u.set_column(k, &(-u.column(k)));
    }
    if vt.determinant() < 0.0 {
        vt.set_row(k, &(-vt.row(k)));
    }
    u * vt
}

/// Kirchhoff stress of `model` (see `shaders/mpm_common.wgsl`).
pub fn kirchhoff(f: &M3, mu: f64, lambda: f64, model: Material) -> M3 {
    let j = f.determinant();
    match model {
        Material::FixedCorotated => {
            2.0 * mu * (f - rotation(f)) * f.transpose() + M3::identity() * (lambda * j * (j - 1.0))
        }
        Material::NeoHookean => {
            mu * (f * f.transpose() - M3::identity()) + M3::identity() * (lambda * j.max(1e-6).ln())
        }
    }
}

/// Quadratic B-spline weight of node offset `o` for fractional position `fx`.
pub fn bspline(fx: f64, o: i32) -> f64 {
    match o {
        0 => 0.5 * (1.5 - fx).powi(2),
        1 => 0.75 - (fx - 1.0).powi(2),
        _ => 0.5 * (fx - 0.5).powi(2),
    }
}

fn base_cell(xg: &V3, res: u32) -> [i32; 3] {
    let hi = res as i32 - 3;
    [0, 1, 2].map(|a| ((xg[a] - 0.5).floor() as i32).clamp(0, hi))
}

fn stencil() -> impl Iterator<Item = [i32; 3]> {
    (0..27).map(|k| [k % 3, (k / 3) % 3, k / 9])
}

impl Reference {
    pub fn new(cfg: SolverConfig, set: &ParticleSet) -> Result<Self, SolverError> {
        validate::check(
            &cfg,
            set,
            &wgpu::Limits {
                max_storage_buffer_binding_size: u32::MAX as u64,
                max_buffer_size: u64::MAX,
                ..Default::default()
            },
        )?;
        let v3 = |v: glam::Vec3| V3::new(v.x as f64, v.y as f64, v.z as f64);
        Ok(Reference {
            particles: (0..set.len())
                .map(|i| RefParticle {
                    x: v3(set.position[i]),
                    v: v3(set.velocity[i]),
                    c: M3::zeros(),
                    f: M3::identity(),
                })
                .collect(),
            young: set.young.iter().map(|&e| e as f64).collect(),
            poisson: set.poisson.iter().map(|&e| e as f64).collect(),
            mass: (0..set.len()).map(|i| set.mass(i) as f64).collect(),
            volume: set.volume.iter().map(|&e| e as f64).collect(),
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
        let dx = 1.0 / res as f64;
        let inv_dx = res as f64;
        // P2G (scatter)
        self.grid.clear();
        for (p, pt) in self.particles.iter().enumerate() {
            let (mu, lambda) = lame(self.young[p], self.poisson[p]);
            let tau = kirchhoff(&pt.f, mu, lambda, cfg.material);
            let m = self.mass[p];
            let a = pt.c * m - tau * (dt * self.volume[p] * 4.0 * inv_dx * inv_dx);
            let xg = pt.x * inv_dx;
            let base = base_cell(&xg, res);
            let fx = xg - V3::new(base[0] as f64, base[1] as f64, base[2] as f64);
            for o in stencil() {
                let w = bspline(fx.x, o[0]) * bspline(fx.y, o[1]) * bspline(fx.z, o[2]);
                let dpos = (V3::new(o[0] as f64, o[1] as f64, o[2] as f64) - fx) * dx;
                let node = self
                    .grid
                    .entry([base[0] + o[0], base[1] + o[1], base[2] + o[2]])
                    .or_default();
                node.m += w * m;
                node.m_anchor += if self.anchored[p] { w * m } else { 0.0 };
                node.mv += (pt.v * m + a * dpos) * w;
            }
        }
        // grid update
        let g = V3::new(
            cfg.gravity.x as f64,
            cfg.gravity.y as f64,
            cfg.gravity.z as f64,
        );
        let lo = cfg.wall_cells as i32;
        let hi = res as i32 - cfg.wall_cells as i32;
        for (idx, node) in self.grid.iter_mut() {
            if node.m <= 0.0 {
                continue;
            }
            let mut v = node.mv / node.m + g * dt;
            if cfg.damping > 0.0 {
                v *= (-(cfg.damping as f64) * dt).exp();
            }
            if node.m_anchor > 0.0 {
                v = V3::zeros();
            }
            for a in 0..3 {
                let (l, h) = (idx[a] < lo, idx[a] > hi);
                match cfg.wall {
                    Wall::None => {}
                    Wall::Slip => {
                        if (l && v[a] < 0.0) || (h && v[a] > 0.0) {
                            v[a] = 0.0;
                        }
                    }
                    Wall::Sticky => {}
                }
            }
            if cfg.wall == Wall::Sticky && (0..3).any(|a| idx[a] < lo || idx[a] > hi) {
                v = V3::zeros();
            }
            if let Some(gr) = cfg.ground {
                if (idx[1] as f32 * (1.0 / res as f32)) <= gr.height {
                    if gr.sticky {
                        v = V3::zeros();
                    } else {
                        v.y = v.y.max(0.0);
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
                pt.v = V3::zeros();
                pt.c = M3::zeros();
                continue;
            }
            let xg = pt.x * inv_dx;
            let base = base_cell(&xg, res);
            let fx = xg - V3::new(base[0] as f64, base[1] as f64, base[2] as f64);
            let mut v = V3::zeros();
            let mut b = M3::zeros();
            for o in stencil() {
                let w = bspline(fx.x, o[0]) * bspline(fx.y, o[1]) * bspline(fx.z, o[2]);
                let gv = self.grid[&[base[0] + o[0], base[1] + o[1], base[2] + o[2]]].v;
                let dpos = V3::new(o[0] as f64, o[1] as f64, o[2] as f64) - fx;
                v += gv * w;
                b += gv * dpos.transpose() * w;
            }
            let c = b * (4.0 * inv_dx);
            pt.f = (M3::identity() + c * dt) * pt.f;
            pt.c = c;
            pt.x += v * dt;
            if let Some(k) = poke {
                let centre = V3::new(k.centre.x as f64, k.centre.y as f64, k.centre.z as f64);
                if (pt.x - centre).norm() < k.radius as f64 {
                    v += V3::new(k.force.x as f64, k.force.y as f64, k.force.z as f64) * dt;
                }
            }
            if let (Some(d), Some(off)) = (self.drag, self.drag_offset[p]) {
                let target = V3::new(d.target.x as f64, d.target.y as f64, d.target.z as f64);
                let a = (target + off - pt.x) * d.stiffness as f64 - v * d.damping as f64;
                v += a * dt;
            }
            pt.v = v;
            let finite =
                pt.x.iter()
                    .chain(pt.v.iter())
                    .chain(pt.f.iter())
                    .all(|e| e.is_finite());
            let xn = pt.x * inv_dx;
            let inside = xn.iter().all(|&e| e >= 0.5 && e < res as f64 - 1.5);
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

    /// Positions as f32 vectors, for comparison with the GPU.
    pub fn positions(&self) -> Vec<glam::Vec3> {
        self.particles
            .iter()
            .map(|p| glam::Vec3::new(p.x.x as f32, p.x.y as f32, p.x.z as f32))
            .collect()
    }

    /// Total linear momentum.
    pub fn momentum(&self) -> V3 {
        self.particles
            .iter()
            .zip(&self.mass)
            .map(|(p, m)| p.v * *m)
            .sum()
    }
}
