//! Attaching Gaussians and mesh vertices to the simulation particles that drive them.
//!
//! Every attached point `x` follows its `k` nearest particles `p_j` (rest positions) with
//! weights `w_j` (normalised `(1 - (d_j / r)^2)^2`, `r` the distance of the `(k+1)`-th particle,
//! so weights fade to zero as a neighbour is about to change and motion stays smooth). The rest
//! offset `x - c0`, `c0 = sum w_j p_j`, is precomputed. Given current particle positions `p'_j`:
//!
//! * `c = sum w_j p'_j`,
//! * `R` = the rotation nearest to `A = sum w_j (p'_j - c)(p_j - c0)^T` (weighted Procrustes;
//!   polar decomposition, SVD fallback for degenerate neighbourhoods),
//! * `x' = c + R (x - c0)`, and a Gaussian's orientation becomes `R q`.
//!
//! For a rigid motion `p' = Q p + t`, `A = Q S` with `S` symmetric positive semi-definite, so
//! `R = Q` and `x' = Q x + t` exactly: attached objects move rigidly when the particles do.
//! With per-particle deformation gradients, a Gaussian's covariance becomes `F Sigma F^T` (`F`
//! the weighted mean of its neighbours' gradients), as in PhysGaussian.

use glam::{DMat3, DQuat, DVec3, Mat3, Quat, Vec3};
use rayon::prelude::*;

use super::knn::PointGrid;
use super::mesh::TriMesh;
use super::splat_ply::GaussianSplats;

/// Default number of particles each point follows (PhysDreamer uses 8).
pub const DEFAULT_NEIGHBOURS: usize = 8;

/// Points bound to their nearest simulation particles.
#[derive(Clone, Debug, Default)]
pub struct Attachment {
    k: usize,
    neighbours: Vec<u32>,
    weights: Vec<f32>,
    rest_offset: Vec<Vec3>,
    rest_particles: Vec<Vec3>,
}

/// Positions and local rotations of attached points after a deformation.
#[derive(Clone, Debug, Default)]
pub struct Deformed {
    /// New position of each attached point.
    pub position: Vec<Vec3>,
    /// Local rotation of each point's neighbourhood (rest to current).
    pub rotation: Vec<Quat>,
}

impl Attachment {
    /// Binds each of `points` to its `k` nearest `particles` (rest positions).
    pub fn new(points: &[Vec3], particles: &[Vec3], k: usize) -> Result<Attachment, String> {
        if particles.is_empty() {
            return Err("cannot attach to an empty particle set".into());
        }
        if k == 0 {
            return Err("the number of neighbours must be at least 1".into());
        }
        if let Some(i) = points.iter().chain(particles).position(|p| !p.is_finite()) {
            return Err(format!("point {i} is not finite"));
        }
        let k = k.min(particles.len());
        let grid = PointGrid::new(particles);
        let per_point: Vec<(Vec<u32>, Vec<f32>, Vec3)> = points
            .par_iter()
            .map_init(Vec::new, |near, &x| {
                grid.knn(x, k + 1, near);
                let r2 = if near.len() > k {
                    near[k].0
                } else {
                    near[k - 1].0 * 2.25
                };
                let r2 = r2.max(1e-20);
                let mut w: Vec<f32> = near[..k]
                    .iter()
                    .map(|&(d2, _)| (1.0 - d2 / r2).max(0.0).powi(2).max(1e-6))
                    .collect();
                let sum: f32 = w.iter().sum();
                w.iter_mut().for_each(|v| *v /= sum);
                let idx: Vec<u32> = near[..k].iter().map(|&(_, i)| i).collect();
                let c0: DVec3 = idx
                    .iter()
                    .zip(&w)
                    .map(|(&j, &wj)| particles[j as usize].as_dvec3() * wj as f64)
                    .sum();
                (idx, w, (x.as_dvec3() - c0).as_vec3())
            })
            .collect();
        let mut att = Attachment {
            k,
            rest_particles: particles.to_vec(),
            ..Default::default()
        };
        for (idx, w, off) in per_point {
            att.neighbours.extend(idx);
            att.weights.extend(w);
            att.rest_offset.push(off);
        }
        Ok(att)
    }

    /// Number of attached points.
    pub fn len(&self) -> usize {
        self.rest_offset.len()
    }

    /// True when nothing is attached.
    pub fn is_empty(&self) -> bool {
        self.rest_offset.is_empty()
    }

    /// Particles each point follows.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of particles the attachment was built for.
    pub fn particle_count(&self) -> usize {
        self.rest_particles.len()
    }

    /// The particle indices and weights of point `i`.
    pub fn neighbours(&self, i: usize) -> (&[u32], &[f32]) {
        let r = i * self.k..(i + 1) * self.k;
        (&self.neighbours[r.clone()], &self.weights[r])
    }

    fn check(&self, particles: &[Vec3]) -> Result<(), String> {
        if particles.len() != self.rest_particles.len() {
            return Err(format!(
                "{} particle positions given, the attachment was built for {}",
                particles.len(),
                self.rest_particles.len()
            ));
        }
        Ok(())
    }

    /// Centre, rotation and interpolated gradient of point `i`'s neighbourhood.
    fn frame(
        &self,
        i: usize,
        particles: &[Vec3],
        grads: Option<&[Mat3]>,
    ) -> (DVec3, DMat3, Option<DMat3>) {
        let (idx, w) = self.neighbours(i);
        let mut c0 = DVec3::ZERO;
        let mut c = DVec3::ZERO;
        for (&j, &wj) in idx.iter().zip(w) {
            c0 += self.rest_particles[j as usize].as_dvec3() * wj as f64;
            c += particles[j as usize].as_dvec3() * wj as f64;
        }
        let mut a = DMat3::ZERO;
        let mut f = DMat3::ZERO;
        for (&j, &wj) in idx.iter().zip(w) {
            let d0 = self.rest_particles[j as usize].as_dvec3() - c0;
            let d = particles[j as usize].as_dvec3() - c;
            a += outer(d * wj as f64, d0);
            if let Some(g) = grads {
                f += g[j as usize].as_dmat3() * wj as f64;
            }
        }
        (c, nearest_rotation(a), grads.map(|_| f))
    }

    /// New positions and local rotations of the attached points for current particle
    /// `positions`.
    pub fn deform(&self, positions: &[Vec3]) -> Result<Deformed, String> {
        self.check(positions)?;
        let (position, rotation) = (0..self.len())
            .into_par_iter()
            .map(|i| {
                let (c, r, _) = self.frame(i, positions, None);
                (
                    (c + r * self.rest_offset[i].as_dvec3()).as_vec3(),
                    DQuat::from_mat3(&r).normalize().as_quat(),
                )
            })
            .unzip();
        Ok(Deformed { position, rotation })
    }

    /// `∂L/∂` particle positions given `d_points = ∂L/∂` the attached points' positions, through
    /// the neighbourhood centres `c = Σ w_j x_j`: `∂L/∂x_j += w_j·∂L/∂point`. The rotation
    /// `R` is a stop-gradient (held fixed, its dependence on the particles dropped), so the
    /// result is exact for translations and approximate where neighbourhoods turn. Sequential,
    /// in point order, in f64: deterministic.
    pub fn position_adjoint(&self, d_points: &[Vec3]) -> Result<Vec<Vec3>, String> {
        if d_points.len() != self.len() {
            return Err(format!(
                "{} point gradients given, the attachment holds {} points",
                d_points.len(),
                self.len()
            ));
        }
        if let Some(i) = d_points.iter().position(|d| !d.is_finite()) {
            return Err(format!(
                "point gradient {i} = {} is not finite",
                d_points[i]
            ));
        }
        let mut out = vec![DVec3::ZERO; self.rest_particles.len()];
        for (i, d) in d_points.iter().enumerate() {
            let (idx, w) = self.neighbours(i);
            for (&j, &wj) in idx.iter().zip(w) {
                out[j as usize] += d.as_dvec3() * wj as f64;
            }
        }
        Ok(out.into_iter().map(|v| v.as_vec3()).collect())
    }

    /// The splats moved by the particles: centres and orientations follow the neighbourhood
    /// frame; with per-particle deformation gradients `grads`, each covariance becomes
    /// `F Sigma F^T` (rotation and scales from an SVD). View-dependent colour is not rotated:
    /// a renderer that wants it exact evaluates SH along `R^T d` with `R` from
    /// [`Attachment::deform`].
    pub fn deform_splats(
        &self,
        splats: &GaussianSplats,
        positions: &[Vec3],
        grads: Option<&[Mat3]>,
    ) -> Result<GaussianSplats, String> {
        self.check(positions)?;
        if splats.len() != self.len() {
            return Err(format!(
                "{} Gaussians given, the attachment holds {}",
                splats.len(),
                self.len()
            ));
        }
        if let Some(g) = grads {
            if g.len() != positions.len() {
                return Err(format!(
                    "{} deformation gradients for {} particles",
                    g.len(),
                    positions.len()
                ));
            }
        }
        let moved: Vec<(Vec3, [f32; 4], Vec3)> = (0..self.len())
            .into_par_iter()
            .map(|i| {
                let (c, r, f) = self.frame(i, positions, grads);
                let x = (c + r * self.rest_offset[i].as_dvec3()).as_vec3();
                let q0 = splats.unit_rotation(i).as_dquat();
                match f {
                    None => {
                        let q = (DQuat::from_mat3(&r) * q0).normalize();
                        (
                            x,
                            [q.w as f32, q.x as f32, q.y as f32, q.z as f32],
                            splats.log_scale[i],
                        )
                    }
                    Some(f) => {
                        let m = f
                            * DMat3::from_quat(q0)
                            * DMat3::from_diagonal(splats.log_scale[i].as_dvec3().exp());
                        let (q, s) = rotation_and_scales(m);
                        let ls = s.max(DVec3::splat(1e-30)).ln().as_vec3();
                        (x, [q.w as f32, q.x as f32, q.y as f32, q.z as f32], ls)
                    }
                }
            })
            .collect();
        let mut out = splats.clone();
        for (i, (x, q, ls)) in moved.into_iter().enumerate() {
            out.position[i] = x;
            out.rotation[i] = q;
            out.log_scale[i] = ls;
        }
        Ok(out)
    }

    /// The mesh with its vertices moved by the particles.
    pub fn deform_mesh(&self, mesh: &TriMesh, positions: &[Vec3]) -> Result<TriMesh, String> {
        if mesh.positions.len() != self.len() {
            return Err(format!(
                "{} vertices given, the attachment holds {}",
                mesh.positions.len(),
                self.len()
            ));
        }
        Ok(TriMesh {
            positions: self.deform(positions)?.position,
            triangles: mesh.triangles.clone(),
        })
    }

    /// Distance from each attached point's rest position to its nearest particle (max, mean).
    pub fn reach(&self) -> (f32, f32) {
        let mut max = 0.0f32;
        let mut sum = 0.0f64;
        for i in 0..self.len() {
            let (idx, w) = self.neighbours(i);
            let c0: Vec3 = idx
                .iter()
                .zip(w)
                .map(|(&j, &wj)| self.rest_particles[j as usize] * wj)
                .sum();
            let x = c0 + self.rest_offset[i];
            let d = idx
                .iter()
                .map(|&j| (self.rest_particles[j as usize] - x).length())
                .fold(f32::INFINITY, f32::min);
            max = max.max(d);
            sum += d as f64;
        }
        (max, (sum / self.len().max(1) as f64) as f32)
    }
}

fn outer(a: DVec3, b: DVec3) -> DMat3 {
    DMat3::from_cols(a * b.x, a * b.y, a * b.z)
}

fn frobenius(m: DMat3) -> f64 {
    (m.x_axis.length_squared() + m.y_axis.length_squared() + m.z_axis.length_squared()).sqrt()
}

/// The rotation closest to `a` in the Frobenius norm (the polar factor when `det a > 0`).
/// Well-conditioned matrices use the scaled Newton iteration; degenerate or reflecting ones an
/// SVD with the sign of the smallest singular direction fixed. Zero gives the identity.
pub fn nearest_rotation(a: DMat3) -> DMat3 {
    let norm = frobenius(a);
    if norm.is_nan() || norm <= 1e-300 || !norm.is_finite() {
        return DMat3::IDENTITY;
    }
    let mut x = a / norm;
    if x.determinant() > 1e-6 {
        for _ in 0..40 {
            let inv_t = x.inverse().transpose();
            let g = (frobenius(inv_t) / frobenius(x)).sqrt();
            let next = (x * g + inv_t / g) * 0.5;
            let done = frobenius(next - x) < 1e-14;
            x = next;
            if done {
                break;
            }
        }
        if frobenius(x.transpose() * x - DMat3::IDENTITY) < 1e-10 {
            return x;
        }
    }
    svd_rotation(a)
}

fn to_na(m: DMat3) -> nalgebra::Matrix3<f64> {
    nalgebra::Matrix3::from_fn(|r, c| m.col(c)[r])
}

fn from_na(m: &nalgebra::Matrix3<f64>) -> DMat3 {
    let col = |c: usize| DVec3::new(m[(0, c)], m[(1, c)], m[(2, c)]);
    DMat3::from_cols(col(0), col(1), col(2))
}

fn svd_rotation(a: DMat3) -> DMat3 {
    let svd = to_na(a).svd(true, true);
    let (Some(u), Some(vt)) = (svd.u, svd.v_t) else {
        return DMat3::IDENTITY;
    };
    let mut u = from_na(&u);
    let vt = from_na(&vt);
    if (u * vt).determinant() < 0.0 {
        u.z_axis = -u.z_axis; // singular values are sorted: flip the smallest direction
    }
    u * vt
}

/// `m = U S V^T` -> (rotation `U` as a quaternion with `det U = +1`, singular values `S`).
fn rotation_and_scales(m: DMat3) -> (DQuat, DVec3) {
    let svd = to_na(m).svd(true, false);
    let Some(u) = svd.u else {
        return (DQuat::IDENTITY, DVec3::ONE);
    };
    let mut u = from_na(&u);
    if u.determinant() < 0.0 {
        u.z_axis = -u.z_axis; // a column sign does not change U S^2 U^T
    }
    let s = svd.singular_values;
    (
        DQuat::from_mat3(&u).normalize(),
        DVec3::new(s[0], s[1], s[2]),
    )
}
