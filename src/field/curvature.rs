//! The smoothness prior of the initial-velocity grids (see the parent module's docs).

use super::{FieldError, StiffnessField};

/// Squared second differences of the node values along each grid axis:
/// `weight·Σ (v[i−1] − 2·v[i] + v[i+1])²` over every run of three nodes in a row along x,
/// y or z (differences in node units). Any affine function of position, a translation, a
/// rotation or a shear, costs nothing; a field that turns back and forth between nodes costs
/// most.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Curvature {
    /// Factor on the sum (≥ 0).
    pub weight: f64,
}

impl Curvature {
    /// The term's value and its gradient with respect to every node value.
    pub fn evaluate(&self, field: &StiffnessField) -> Result<(f64, Vec<f64>), FieldError> {
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(FieldError::Setting {
                field: "curvature weight",
                value: self.weight.to_string(),
                reason: "must be finite and ≥ 0",
            });
        }
        let dims = field.dims;
        let v = &field.values;
        let mut total = 0.0;
        let mut grad = vec![0.0; v.len()];
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let at = [i, j, k];
                    for axis in 0..3 {
                        if at[axis] == 0 || at[axis] + 1 >= dims[axis] {
                            continue;
                        }
                        let mut lo = at;
                        let mut hi = at;
                        lo[axis] -= 1;
                        hi[axis] += 1;
                        let (a, b, c) = (
                            field.index(lo[0], lo[1], lo[2]),
                            field.index(i, j, k),
                            field.index(hi[0], hi[1], hi[2]),
                        );
                        let d = v[a] - 2.0 * v[b] + v[c];
                        total += d * d;
                        let g = 2.0 * self.weight * d;
                        grad[a] += g;
                        grad[b] -= 2.0 * g;
                        grad[c] += g;
                    }
                }
            }
        }
        Ok((self.weight * total, grad))
    }
}
