//! Edge sharpening of the stiffness grid: a non-local move the fit proposes and keeps only
//! where the video prefers it (see [`crate::fit`]).
//!
//! Trilinear interpolation cannot hold a sharp material boundary that falls between two node
//! planes, and gradient steps on the image loss leave such a boundary spread over a ramp of
//! two or three cells: the nodes inside the ramp move together, each one's own gradient is
//! weak, and a concave total variation only pulls neighbours in the ramp towards each other.
//! Sharpening sets every node inside a short ramp to the plateau on its side of the ramp's
//! midpoint.

use super::StiffnessField;

/// Which ramps count as a blurred edge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sharpen {
    /// A step between neighbours smaller than this (decades) is flat: it ends a ramp.
    pub flat: f64,
    /// The least rise (decades) between the two plateaus of an edge.
    pub min_jump: f64,
    /// The most cells a ramp may span, from plateau to plateau; a longer monotone run is a
    /// gradual change and is left alone.
    pub max_cells: usize,
}

impl Default for Sharpen {
    fn default() -> Self {
        Sharpen {
            flat: 0.03,
            min_jump: 0.15,
            max_cells: 6,
        }
    }
}

impl Sharpen {
    /// The sharpened values of `field`'s nodes (a node not inside a short ramp keeps its
    /// value). Each node looks along the axis where its two neighbours differ most, walks
    /// each way while the values keep rising (or falling) by at least `flat` a cell, and, if
    /// both walks reach a plateau within `max_cells` cells in all and the plateaus differ by
    /// at least `min_jump`, takes the plateau value on its side of their midpoint.
    pub fn targets(&self, field: &StiffnessField) -> Vec<f64> {
        let dims = field.dims();
        let v = field.values();
        let mut out = v.to_vec();
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let at = [i, j, k];
                    let here = field.index(i, j, k);
                    let Some(axis) = self.steepest_axis(field, at) else {
                        continue;
                    };
                    let value = |c: usize| {
                        let mut p = at;
                        p[axis] = c;
                        v[field.index(p[0], p[1], p[2])]
                    };
                    let (c, n) = (at[axis], dims[axis]);
                    // rising direction: +1 when the value grows with the coordinate
                    let up = value((c + 1).min(n - 1)) >= value(c.saturating_sub(1));
                    let walk = |forward: bool| -> Option<(usize, f64)> {
                        // forward: towards higher values
                        let step = |x: usize| -> Option<usize> {
                            if forward == up {
                                (x + 1 < n).then_some(x + 1)
                            } else {
                                x.checked_sub(1)
                            }
                        };
                        let mut x = c;
                        let mut cells = 0;
                        while let Some(y) = step(x) {
                            let rise = if forward {
                                value(y) - value(x)
                            } else {
                                value(x) - value(y)
                            };
                            if rise < self.flat {
                                return Some((cells, value(x)));
                            }
                            x = y;
                            cells += 1;
                            if cells > self.max_cells {
                                return None;
                            }
                        }
                        // the grid's edge ends the walk: no plateau seen beyond it
                        None
                    };
                    let (Some((a, high)), Some((b, low))) = (walk(true), walk(false)) else {
                        continue;
                    };
                    if a + b == 0 || a + b > self.max_cells || high - low < self.min_jump {
                        continue;
                    }
                    let mid = 0.5 * (high + low);
                    out[here] = if v[here] >= mid { high } else { low };
                }
            }
        }
        out
    }

    /// The axis along which the node's two neighbours differ most (one-sided at the grid's
    /// faces), or `None` where they differ by less than `flat` along every axis.
    fn steepest_axis(&self, field: &StiffnessField, at: [usize; 3]) -> Option<usize> {
        let dims = field.dims();
        let v = field.values();
        let mut best = None;
        let mut best_d = self.flat;
        for axis in 0..3 {
            let (mut lo, mut hi) = (at, at);
            lo[axis] = at[axis].saturating_sub(1);
            hi[axis] = (at[axis] + 1).min(dims[axis] - 1);
            let d =
                (v[field.index(hi[0], hi[1], hi[2])] - v[field.index(lo[0], lo[1], lo[2])]).abs();
            if d >= best_d {
                best_d = d;
                best = Some(axis);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec3;

    fn field_along_x(values: &[f64]) -> StiffnessField {
        let n = values.len();
        let mut f = StiffnessField::new(Vec3::ZERO, Vec3::ONE, [n, 3, 3], 5.0).unwrap();
        for k in 0..3 {
            for j in 0..3 {
                for (i, &x) in values.iter().enumerate() {
                    let idx = f.index(i, j, k);
                    f.values_mut()[idx] = x;
                }
            }
        }
        f
    }

    fn row(f: &StiffnessField, t: &[f64]) -> Vec<f64> {
        (0..f.dims()[0]).map(|i| t[f.index(i, 1, 1)]).collect()
    }

    #[test]
    fn a_blurred_step_snaps_to_its_plateaus() {
        let f = field_along_x(&[4.7, 4.7, 4.7, 4.97, 5.15, 5.46, 5.46, 5.46]);
        let t = Sharpen::default().targets(&f);
        assert_eq!(
            row(&f, &t),
            vec![4.7, 4.7, 4.7, 4.7, 5.46, 5.46, 5.46, 5.46]
        );
        // falling the other way round
        let f = field_along_x(&[5.46, 5.46, 5.15, 4.97, 4.7, 4.7]);
        let t = Sharpen::default().targets(&f);
        assert_eq!(row(&f, &t), vec![5.46, 5.46, 5.46, 4.7, 4.7, 4.7]);
    }

    #[test]
    fn a_long_ramp_a_small_step_and_noise_are_left_alone() {
        let ramp: Vec<f64> = (0..12).map(|i| 4.7 + 0.07 * i as f64).collect();
        let f = field_along_x(&ramp);
        assert_eq!(Sharpen::default().targets(&f), f.values().to_vec());
        let f = field_along_x(&[5.0, 5.0, 5.05, 5.1, 5.1, 5.1]);
        assert_eq!(Sharpen::default().targets(&f), f.values().to_vec());
        let f = field_along_x(&[5.0, 5.02, 4.99, 5.01, 5.0]);
        assert_eq!(Sharpen::default().targets(&f), f.values().to_vec());
    }

    #[test]
    fn a_ramp_that_runs_into_the_grid_face_is_left_alone() {
        let f = field_along_x(&[4.7, 4.7, 4.9, 5.1, 5.3]);
        assert_eq!(Sharpen::default().targets(&f), f.values().to_vec());
    }
}
