//! 3D Gaussian Splatting `.ply` files (the INRIA layout every 3DGS trainer writes).
//!
//! Properties are looked up by name, so their order does not matter and extra ones (normals
//! `nx, ny, nz`, anything else) are ignored. Required: `x y z`, `f_dc_0..2`, `opacity` (a
//! logit), `scale_0..2` (log standard deviations), `rot_0..3` (a quaternion `w, x, y, z`, not
//! necessarily unit); optional `f_rest_0..` with 9, 24 or 45 values for SH degree 1, 2 or 3, in
//! the file's channel-major order (all red coefficients, then green, then blue).
//!
//! Every value must be finite, with one exception: an `opacity` of `+inf` (the logit of
//! alpha = 1, which some `.splat` converters write) is accepted and clamped to
//! [`OPACITY_LOGIT_MAX`] (sigmoid(20) = 1 - 2e-9), so later maths never sees an infinity.
//! Writing the set and reading it back gives the same values bit for bit (binary and ASCII).

use std::path::Path;

use glam::{Mat3, Quat, Vec3};
use rayon::prelude::*;

use super::ply::{
    self, Element, Header, PlyError, PlyErrorKind, PlyFormat, Property, PropertyKind, Request,
    ScalarType,
};
use super::sh::ShRotation;
use super::transform::Similarity;

/// The logit an `opacity` of `+inf` is clamped to.
pub const OPACITY_LOGIT_MAX: f32 = 20.0;

/// Base colour of SH coefficient `f_dc`: `0.5 + SH_C0 * f_dc`.
pub const SH_C0: f32 = 0.282_094_8;

/// A set of 3D Gaussians with their appearance, one entry per Gaussian in each vector.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GaussianSplats {
    /// Centre.
    pub position: Vec<Vec3>,
    /// Degree-0 SH coefficients (red, green, blue).
    pub f_dc: Vec<[f32; 3]>,
    /// SH degree of `f_rest` (0-3).
    pub sh_degree: u32,
    /// Higher SH coefficients, [`GaussianSplats::rest_len`] per Gaussian, channel-major as in
    /// the file (`f_rest_0..`).
    pub f_rest: Vec<f32>,
    /// Opacity logit (alpha = sigmoid(opacity)).
    pub opacity: Vec<f32>,
    /// Log standard deviation along the Gaussian's local axes.
    pub log_scale: Vec<Vec3>,
    /// Rotation quaternion `[w, x, y, z]` as stored (normalise before use).
    pub rotation: Vec<[f32; 4]>,
}

const REQUIRED: [&str; 14] = [
    "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
    "rot_0", "rot_1", "rot_2", "rot_3",
];

impl GaussianSplats {
    /// Number of Gaussians.
    pub fn len(&self) -> usize {
        self.position.len()
    }

    /// True when there are no Gaussians.
    pub fn is_empty(&self) -> bool {
        self.position.is_empty()
    }

    /// `f_rest` values per Gaussian: `3 * ((degree + 1)^2 - 1)`.
    pub fn rest_len(&self) -> usize {
        rest_len(self.sh_degree)
    }

    /// Opacity alpha = sigmoid(logit).
    pub fn alpha(&self, i: usize) -> f32 {
        1.0 / (1.0 + (-self.opacity[i]).exp())
    }

    /// Base (view-independent) colour, not clamped.
    pub fn base_colour(&self, i: usize) -> [f32; 3] {
        self.f_dc[i].map(|c| 0.5 + SH_C0 * c)
    }

    /// Unit rotation of Gaussian `i` (identity for a zero quaternion).
    pub fn unit_rotation(&self, i: usize) -> Quat {
        let [w, x, y, z] = self.rotation[i];
        let q = Quat::from_xyzw(x, y, z, w);
        if q.length_squared() > 1e-20 {
            q.normalize()
        } else {
            Quat::IDENTITY
        }
    }

    /// Standard deviations along the local axes.
    pub fn scale(&self, i: usize) -> Vec3 {
        self.log_scale[i].exp()
    }

    /// World-space covariance `R S S R^T`.
    pub fn covariance(&self, i: usize) -> Mat3 {
        let m = Mat3::from_quat(self.unit_rotation(i)) * Mat3::from_diagonal(self.scale(i));
        m * m.transpose()
    }

    /// Checks that every vector has the same length and `f_rest` matches the degree.
    pub fn check_lengths(&self) -> Result<(), String> {
        let n = self.len();
        let lens = [
            self.f_dc.len(),
            self.opacity.len(),
            self.log_scale.len(),
            self.rotation.len(),
        ];
        if lens.iter().any(|&l| l != n)
            || self.sh_degree > 3
            || self.f_rest.len() != n * self.rest_len()
        {
            return Err(format!("inconsistent Gaussian arrays: {n} positions, lengths {lens:?}, sh_degree {}, {} f_rest", self.sh_degree, self.f_rest.len()));
        }
        Ok(())
    }

    /// Reads a 3DGS `.ply` file.
    pub fn read(path: &Path) -> Result<GaussianSplats, PlyError> {
        let bytes = std::fs::read(path).map_err(|e| PlyError::new(path, e.into()))?;
        Self::from_bytes(&bytes).map_err(|k| PlyError::new(path, k))
    }

    /// Parses the bytes of a 3DGS `.ply` file.
    pub fn from_bytes(bytes: &[u8]) -> Result<GaussianSplats, PlyErrorKind> {
        let header = Header::parse(bytes)?;
        let vertex = header
            .element("vertex")
            .ok_or_else(|| PlyErrorKind::MissingElement {
                element: "vertex".into(),
            })?;
        let n_rest = vertex
            .properties
            .iter()
            .filter(|p| p.name.starts_with("f_rest_"))
            .count();
        let sh_degree = match n_rest {
            0 => 0,
            9 => 1,
            24 => 2,
            45 => 3,
            found => return Err(PlyErrorKind::ShRestCount { found }),
        };
        let mut names: Vec<String> = REQUIRED.iter().map(|s| s.to_string()).collect();
        names.extend((0..n_rest).map(|k| format!("f_rest_{k}")));
        let req = Request {
            element: "vertex".into(),
            scalars: names.clone(),
            list: None,
        };
        let cols = ply::read_elements(&header, bytes, &[req])?
            .pop()
            .unwrap_or_default();
        let n = cols.count;
        // Validate: finite everywhere, except opacity = +inf (clamped).
        let mut c = cols.scalars;
        for (name, col) in names.iter().zip(c.iter_mut()) {
            for (row, v) in col.iter_mut().enumerate() {
                if v.is_finite() {
                    continue;
                }
                if name == "opacity" && *v == f32::INFINITY {
                    *v = OPACITY_LOGIT_MAX;
                    continue;
                }
                return Err(PlyErrorKind::BadValue {
                    element: "vertex".into(),
                    row,
                    property: name.clone(),
                    value: v.to_string(),
                    reason: "is not finite".into(),
                });
            }
        }
        let v3 = |a: &[f32], b: &[f32], c: &[f32]| -> Vec<Vec3> {
            (0..n).map(|i| Vec3::new(a[i], b[i], c[i])).collect()
        };
        let rest_per = rest_len(sh_degree);
        let mut f_rest = vec![0.0; n * rest_per];
        for k in 0..rest_per {
            for (i, &v) in c[14 + k].iter().enumerate() {
                f_rest[i * rest_per + k] = v;
            }
        }
        Ok(GaussianSplats {
            position: v3(&c[0], &c[1], &c[2]),
            f_dc: (0..n).map(|i| [c[3][i], c[4][i], c[5][i]]).collect(),
            sh_degree,
            f_rest,
            opacity: std::mem::take(&mut c[6]),
            log_scale: v3(&c[7], &c[8], &c[9]),
            rotation: (0..n)
                .map(|i| [c[10][i], c[11][i], c[12][i], c[13][i]])
                .collect(),
        })
    }

    /// The property names in the order [`GaussianSplats::to_bytes`] writes them.
    pub fn property_names(&self) -> Vec<String> {
        let mut names: Vec<String> = REQUIRED[..6].iter().map(|s| s.to_string()).collect();
        names.extend((0..self.rest_len()).map(|k| format!("f_rest_{k}")));
        names.extend(REQUIRED[6..].iter().map(|s| s.to_string()));
        names
    }

    /// Encodes the set as a `.ply` file (`Ascii` or `BinaryLittleEndian`; big-endian is written
    /// as little-endian). Layout: `x y z f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3`.
    pub fn to_bytes(&self, format: PlyFormat, comments: &[String]) -> Vec<u8> {
        let format = if format == PlyFormat::Ascii {
            PlyFormat::Ascii
        } else {
            PlyFormat::BinaryLittleEndian
        };
        let props = self
            .property_names()
            .into_iter()
            .map(|name| Property {
                name,
                kind: PropertyKind::Scalar(ScalarType::F32),
            })
            .collect();
        let el = Element {
            name: "vertex".into(),
            count: self.len(),
            properties: props,
        };
        let mut out = Header::write(format, comments, &[el]).into_bytes();
        let rest = self.rest_len();
        let mut row: Vec<f32> = Vec::with_capacity(14 + rest);
        for i in 0..self.len() {
            row.clear();
            let p = self.position[i];
            row.extend([p.x, p.y, p.z]);
            row.extend(self.f_dc[i]);
            row.extend_from_slice(&self.f_rest[i * rest..(i + 1) * rest]);
            row.push(self.opacity[i]);
            let s = self.log_scale[i];
            row.extend([s.x, s.y, s.z]);
            row.extend(self.rotation[i]);
            if format == PlyFormat::Ascii {
                let line: Vec<String> = row.iter().map(|&v| ply::fmt_f32(v)).collect();
                out.extend_from_slice(line.join(" ").as_bytes());
                out.push(b'\n');
            } else {
                for v in &row {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        out
    }

    /// Writes the set to `path` (see [`GaussianSplats::to_bytes`]).
    pub fn write(
        &self,
        path: &Path,
        format: PlyFormat,
        comments: &[String],
    ) -> Result<(), PlyError> {
        self.check_lengths()
            .map_err(|e| PlyError::new(path, PlyErrorKind::Io(std::io::Error::other(e))))?;
        std::fs::write(path, self.to_bytes(format, comments))
            .map_err(|e| PlyError::new(path, e.into()))
    }

    /// The Gaussians with `keep[i]` true, in order.
    pub fn select(&self, keep: &[bool]) -> GaussianSplats {
        let rest = self.rest_len();
        let idx: Vec<usize> = (0..self.len())
            .filter(|&i| keep.get(i).copied().unwrap_or(false))
            .collect();
        GaussianSplats {
            position: idx.iter().map(|&i| self.position[i]).collect(),
            f_dc: idx.iter().map(|&i| self.f_dc[i]).collect(),
            sh_degree: self.sh_degree,
            f_rest: idx
                .iter()
                .flat_map(|&i| self.f_rest[i * rest..(i + 1) * rest].iter().copied())
                .collect(),
            opacity: idx.iter().map(|&i| self.opacity[i]).collect(),
            log_scale: idx.iter().map(|&i| self.log_scale[i]).collect(),
            rotation: idx.iter().map(|&i| self.rotation[i]).collect(),
        }
    }

    /// Applies a similarity: centres move, scales grow by `s.scale`, orientations and the
    /// view-dependent colour rotate with `s.rotation`.
    pub fn transform(&mut self, s: &Similarity) {
        for p in &mut self.position {
            *p = s.apply(*p);
        }
        let ln_s = s.scale.ln();
        for l in &mut self.log_scale {
            *l += Vec3::splat(ln_s);
        }
        for r in &mut self.rotation {
            let q = s.rotation * Quat::from_xyzw(r[1], r[2], r[3], r[0]);
            *r = [q.w, q.x, q.y, q.z];
        }
        let rest = self.rest_len();
        if rest > 0 && s.rotation != Quat::IDENTITY {
            let rot = ShRotation::new(s.rotation_matrix().as_dmat3());
            let per = rest / 3;
            self.f_rest
                .par_chunks_exact_mut(rest)
                .for_each(|g| g.chunks_exact_mut(per).for_each(|ch| rot.apply(ch)));
        }
    }
}

/// `f_rest` values per Gaussian for SH degree `d`.
pub fn rest_len(d: u32) -> usize {
    3 * (((d + 1) * (d + 1)) as usize - 1)
}
