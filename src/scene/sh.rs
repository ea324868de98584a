//! Rotating the view-dependent colour (spherical harmonics, degree 1-3) of Gaussian splats.
//!
//! 3DGS evaluates colour with the real SH basis of `sh_utils.eval_sh` (the constants and signs
//! below). When a scene rotates an object by `R`, a Gaussian seen along `R d` must show the colour
//! it showed along `d`; [`ShRotation`] computes, per band, the matrix that maps the old
//! coefficients to new ones with that property (a least-squares fit over fixed directions, exact
//! because each band is closed under rotation).

use glam::DVec3;
use nalgebra::DMatrix;

const C1: f64 = 0.488_602_511_902_919_9;
const C2: [f64; 5] = [
    1.092_548_430_592_079_2,
    -1.092_548_430_592_079_2,
    0.315_391_565_252_520_05,
    -1.092_548_430_592_079_2,
    0.546_274_215_296_039_6,
];
const C3: [f64; 7] = [
    -0.590_043_589_926_643_5,
    2.890_611_442_640_554,
    -0.457_045_799_464_465_8,
    0.373_176_332_590_115_4,
    -0.457_045_799_464_465_8,
    1.445_305_721_320_277,
    -0.590_043_589_926_643_5,
];

/// The 15 non-constant basis functions (bands 1-3) at unit direction `d`, in 3DGS order.
pub fn sh_basis(d: DVec3) -> [f64; 15] {
    let (x, y, z) = (d.x, d.y, d.z);
    let (xx, yy, zz) = (x * x, y * y, z * z);
    [
        -C1 * y,
        C1 * z,
        -C1 * x,
        C2[0] * x * y,
        C2[1] * y * z,
        C2[2] * (2.0 * zz - xx - yy),
        C2[3] * x * z,
        C2[4] * (xx - yy),
        C3[0] * y * (3.0 * xx - yy),
        C3[1] * x * y * z,
        C3[2] * y * (4.0 * zz - xx - yy),
        C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
        C3[4] * x * (4.0 * zz - xx - yy),
        C3[5] * z * (xx - yy),
        C3[6] * x * (xx - 3.0 * yy),
    ]
}

/// Per-band coefficient maps for one rotation.
#[derive(Clone, Debug)]
pub struct ShRotation {
    /// Band `l` (1..=3) matrix, `(2l+1)^2` row-major: `new = M * old`.
    bands: [Vec<f64>; 3],
}

impl ShRotation {
    /// The coefficient maps for the rotation matrix `r` (columns are the rotated axes).
    pub fn new(r: glam::DMat3) -> ShRotation {
        // Fibonacci directions: well spread, no symmetry that could make the fit singular.
        let n = 48;
        let dirs: Vec<DVec3> = (0..n)
            .map(|i| {
                let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
                let phi = i as f64 * std::f64::consts::PI * (3.0 - 5f64.sqrt());
                let s = (1.0 - z * z).sqrt();
                DVec3::new(s * phi.cos(), s * phi.sin(), z)
            })
            .collect();
        let old: Vec<[f64; 15]> = dirs.iter().map(|&d| sh_basis(d)).collect();
        let new: Vec<[f64; 15]> = dirs.iter().map(|&d| sh_basis(r * d)).collect();
        let band = |l: usize| -> Vec<f64> {
            let (start, len) = (l * l - 1, 2 * l + 1);
            let b_old = DMatrix::from_fn(n, len, |i, m| old[i][start + m]);
            let b_new = DMatrix::from_fn(n, len, |i, m| new[i][start + m]);
            // Solve b_new * M = b_old in the least-squares sense.
            let m = b_new
                .svd(true, true)
                .solve(&b_old, 1e-12)
                .unwrap_or_else(|_| DMatrix::identity(len, len));
            (0..len * len).map(|k| m[(k / len, k % len)]).collect()
        };
        ShRotation {
            bands: [band(1), band(2), band(3)],
        }
    }

    /// Rotates one colour channel's coefficients `coeffs[k]`, `k = 0..(d+1)^2-1` (band 1 first).
    pub fn apply(&self, coeffs: &mut [f32]) {
        let mut start = 0;
        for (l, m) in (1..=3).zip(&self.bands) {
            let len = 2 * l + 1;
            if start + len > coeffs.len() {
                break;
            }
            let mut old = [0.0f64; 7];
            for (o, &c) in old.iter_mut().zip(&coeffs[start..start + len]) {
                *o = c as f64;
            }
            for i in 0..len {
                coeffs[start + i] = (0..len).map(|j| m[i * len + j] * old[j]).sum::<f64>() as f32;
            }
            start += len;
        }
    }
}
