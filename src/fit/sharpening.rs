//! The fit's sharpening move ([`FitSettings::sharpen`](super::FitSettings::sharpen)): when
//! it is proposed, the proposal in its two forms (the sharpened grid, and the same as two
//! uniform parts), the search for its two sides' levels, and taking it.

use super::FitState;
use crate::field::{Sharpen, StiffnessField};
use anyhow::Result;
use glam::Vec3;

/// A sharpened E grid before its two sides are shifted.
#[derive(Clone, Debug)]
pub struct Sharpened {
    /// The grid with its short ramps made steps.
    pub field: StiffnessField,
    /// Nodes at or above this log₁₀ E (the middle between the lowest and the highest value
    /// the sharpening gave a node) are the high side of the grid's edges, the rest the low.
    pub middle: f64,
}

/// The best shifted grid a search found.
#[derive(Clone, Debug)]
pub struct ShiftSearch {
    pub field: StiffnessField,
    /// Its loss.
    pub loss: f64,
    /// The shifts (decades) of the high and the low side.
    pub shifts: (f64, f64),
    /// Grids simulated.
    pub evaluations: u32,
}

/// The search's resolution (decades): shifts are whole multiples of it.
const SHIFT_UNIT: f64 = 0.0005;
/// The first simplex's size, in `SHIFT_UNIT`s (0.02 decades).
const FIRST_STEP: i64 = 40;
/// The largest shift of either side, in `SHIFT_UNIT`s (0.2 decades).
const MAX_SHIFT: i64 = 400;

/// The form of a sharpening proposal a search chose.
#[derive(Clone, Debug)]
pub struct Proposal {
    pub search: ShiftSearch,
    /// Whether it is the two uniform parts ([`Sharpened::two_parts`]) rather than the
    /// sharpened grid itself.
    pub two_parts: bool,
    /// Grids simulated by both searches.
    pub evaluations: u32,
}

impl Sharpened {
    /// The grid with its high side shifted by `high` and its low side by `low` decades
    /// (clamped to the grid's range).
    pub fn shifted(&self, high: f64, low: f64) -> Result<StiffnessField> {
        let mut f = self.field.clone();
        let values: Vec<f64> = self
            .field
            .values()
            .iter()
            .map(|&v| v + if v >= self.middle { high } else { low })
            .collect();
        f.set_values(&values)?;
        Ok(f)
    }

    /// The grid as two uniform parts: every node of each side set to that side's median,
    /// each node weighted by `weights` (its share of the particles: [`StiffnessField::adjoint`]
    /// of ones). `None` where a side has no weight. The hypothesis that the object is two
    /// materials meeting at the sharpened edge; the search then finds the two levels.
    pub fn two_parts(&self, weights: &[f64]) -> Result<Option<Sharpened>> {
        let values = self.field.values();
        if weights.len() != values.len() {
            anyhow::bail!(
                "two_parts: {} weights for a grid of {} nodes",
                weights.len(),
                values.len()
            );
        }
        // the weighted median of one side's nodes, `None` where no node of it has weight
        let median = |high: bool| -> Option<f64> {
            let mut nodes: Vec<(f64, f64)> = values
                .iter()
                .zip(weights)
                .filter(|&(&v, &w)| w > 0.0 && (v >= self.middle) == high)
                .map(|(&v, &w)| (v, w))
                .collect();
            nodes.sort_by(|a, b| a.0.total_cmp(&b.0));
            let half = 0.5 * nodes.iter().map(|n| n.1).sum::<f64>();
            let mut seen = 0.0;
            for &(v, w) in &nodes {
                seen += w;
                if seen >= half {
                    return Some(v);
                }
            }
            nodes.last().map(|n| n.0)
        };
        let (Some(high), Some(low)) = (median(true), median(false)) else {
            return Ok(None);
        };
        let mut field = self.field.clone();
        let parts: Vec<f64> = values
            .iter()
            .map(|&v| if v >= self.middle { high } else { low })
            .collect();
        field.set_values(&parts)?;
        Ok(Some(Sharpened {
            field,
            middle: self.middle,
        }))
    }

    /// Searches the two sides' shifts for the lowest `loss_of` (the loss of a grid's E at the
    /// particles): Nelder–Mead from the simplex (0, 0), (0.02, 0), (0, 0.02) decades, shifts
    /// rounded to 0.0005 and within ±0.2, a grid simulated once, at most `evaluations` grids
    /// (at least the unshifted one). Why: a step alone changes how the object sways; the
    /// blurred grid's ramp made up for plateaus a little off, and the sway's frequency is
    /// sensitive to their level. The loss is a narrow valley along which one side stiffens
    /// as the other softens, which a simplex follows and steps along the axes do not.
    pub fn search(
        &self,
        rest: &[Vec3],
        evaluations: u32,
        mut loss_of: impl FnMut(&[f32]) -> Result<f64>,
    ) -> Result<ShiftSearch> {
        let mut seen: Vec<((i64, i64), f64)> = Vec::new();
        let mut eval = |at: (i64, i64)| -> Result<Option<f64>> {
            if at.0.abs() > MAX_SHIFT || at.1.abs() > MAX_SHIFT {
                return Ok(Some(f64::INFINITY));
            }
            if let Some(&(_, l)) = seen.iter().find(|(p, _)| *p == at) {
                return Ok(Some(l));
            }
            if seen.len() as u32 >= evaluations.max(1) {
                return Ok(None);
            }
            let (h, l) = (at.0 as f64 * SHIFT_UNIT, at.1 as f64 * SHIFT_UNIT);
            let loss = loss_of(&self.shifted(h, l)?.young(rest)?)?;
            seen.push((at, loss));
            Ok(Some(loss))
        };
        nelder_mead(&mut eval)?;
        let (best, loss) = seen
            .iter()
            .copied()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("the unshifted grid is always simulated");
        let shifts = (best.0 as f64 * SHIFT_UNIT, best.1 as f64 * SHIFT_UNIT);
        Ok(ShiftSearch {
            field: self.shifted(shifts.0, shifts.1)?,
            loss,
            shifts,
            evaluations: seen.len() as u32,
        })
    }

    /// Both forms of the proposal, each searched with at most `evaluations` grids: the
    /// sharpened grid, and its two uniform parts (nodes weighted by `weights`); the one with
    /// the lower loss (the sharpened grid on a tie).
    pub fn best_form(
        &self,
        rest: &[Vec3],
        weights: &[f64],
        evaluations: u32,
        mut loss_of: impl FnMut(&[f32]) -> Result<f64>,
    ) -> Result<Proposal> {
        let sharp = self.search(rest, evaluations, &mut loss_of)?;
        let Some(parts) = self.two_parts(weights)? else {
            let evaluations = sharp.evaluations;
            return Ok(Proposal {
                search: sharp,
                two_parts: false,
                evaluations,
            });
        };
        let parts = parts.search(rest, evaluations, &mut loss_of)?;
        for (name, form) in [("edges sharpened", &sharp), ("two uniform parts", &parts)] {
            log::debug!(
                "sharpening proposal, {name}: loss {:.4e} at shifts {:+.4} / {:+.4} ({} grids)",
                form.loss,
                form.shifts.0,
                form.shifts.1,
                form.evaluations
            );
        }
        let evaluations = sharp.evaluations + parts.evaluations;
        let two_parts = parts.loss < sharp.loss;
        Ok(Proposal {
            search: if two_parts { parts } else { sharp },
            two_parts,
            evaluations,
        })
    }
}

/// Nelder–Mead on a grid of whole `SHIFT_UNIT`s: reflection, expansion, contraction and
/// shrinking as usual, points rounded to the grid. `eval` gives `None` when its budget is
/// spent, which ends the search, as does a simplex shrunk to one point.
fn nelder_mead(eval: &mut impl FnMut((i64, i64)) -> Result<Option<f64>>) -> Result<()> {
    let mut simplex = Vec::with_capacity(3);
    for p in [(0, 0), (FIRST_STEP, 0), (0, FIRST_STEP)] {
        let Some(l) = eval(p)? else {
            return Ok(());
        };
        simplex.push((p, l));
    }
    // each round simulates a new grid or shrinks the simplex; a bound on rounds that only
    // revisit grids
    for _ in 0..200 {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, good, worst) = (simplex[0], simplex[1], simplex[2]);
        if best.0 == good.0 && best.0 == worst.0 {
            break;
        }
        let centre = (
            0.5 * (best.0 .0 + good.0 .0) as f64,
            0.5 * (best.0 .1 + good.0 .1) as f64,
        );
        let along = |t: f64| {
            (
                (centre.0 + t * (worst.0 .0 as f64 - centre.0)).round() as i64,
                (centre.1 + t * (worst.0 .1 as f64 - centre.1)).round() as i64,
            )
        };
        let reflected = along(-1.0);
        let Some(lr) = eval(reflected)? else { break };
        if lr < best.1 {
            let expanded = along(-2.0);
            let Some(le) = eval(expanded)? else { break };
            simplex[2] = if le < lr {
                (expanded, le)
            } else {
                (reflected, lr)
            };
        } else if lr < good.1 {
            simplex[2] = (reflected, lr);
        } else {
            let contracted = along(if lr < worst.1 { -0.5 } else { 0.5 });
            let Some(lc) = eval(contracted)? else { break };
            if lc < worst.1.min(lr) {
                simplex[2] = (contracted, lc);
            } else {
                let half = |p: (i64, i64)| {
                    (
                        ((best.0 .0 + p.0) as f64 / 2.0).round() as i64,
                        ((best.0 .1 + p.1) as f64 / 2.0).round() as i64,
                    )
                };
                for vertex in simplex.iter_mut().skip(1) {
                    let p = half(vertex.0);
                    let Some(l) = eval(p)? else { return Ok(()) };
                    *vertex = (p, l);
                }
            }
        }
    }
    Ok(())
}

impl FitState {
    /// Whether iteration `it` proposes a sharpened E grid (see [`FitSettings::sharpen`]): on
    /// the finest level, once E is being fitted, at its last iteration and every
    /// `sharpen_every` (if not 0) E iterations after its first.
    pub fn sharpen_due(&self, it: u32) -> bool {
        let s = &self.settings;
        let Some((level, its)) = self.level(it) else {
            return false;
        };
        if !s.sharpen || level + 1 < s.material_levels.max(1) || !self.fits(it).1 {
            return false;
        }
        let k = it - self.first_e_iteration(&its);
        let every = s.sharpen_every;
        (every > 0 && k > 0 && k.is_multiple_of(every)) || it + 1 == its.end
    }

    /// The E grid with its short ramps made steps, or `None` where that changes none of
    /// `young` (the current grid's E at `rest`).
    pub fn sharpened(&self, rest: &[Vec3], young: &[f32]) -> Result<Option<Sharpened>> {
        let targets = Sharpen::default().targets(&self.field);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (&t, &v) in targets.iter().zip(self.field.values()) {
            if t != v {
                (lo, hi) = (lo.min(t), hi.max(t));
            }
        }
        if lo > hi {
            return Ok(None);
        }
        let mut field = self.field.clone();
        field.set_values(&targets)?;
        if field.young(rest)? == young {
            return Ok(None);
        }
        Ok(Some(Sharpened {
            field,
            middle: 0.5 * (lo + hi),
        }))
    }

    /// Takes `field` (a sharpened grid) as the E grid; the optimiser forgets the momentum of
    /// the nodes it moved (it pointed the way they were going before). Returns how many
    /// nodes moved.
    pub fn adopt_sharpened(&mut self, field: StiffnessField) -> Result<usize> {
        let moved: Vec<bool> = field
            .values()
            .iter()
            .zip(self.field.values())
            .map(|(a, b)| a != b)
            .collect();
        self.adam_material.forget_momentum(&moved)?;
        self.field = field;
        Ok(moved.iter().filter(|&&m| m).count())
    }
}
