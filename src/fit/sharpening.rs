//! The fit's sharpening move ([`FitSettings::sharpen`](super::FitSettings::sharpen)): when
//! it is proposed, the proposal and the search for its plateaus' levels, and taking it.

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

/// The finest shift step (decades); the search starts at twice it.
const SHIFT_STEP: f64 = 0.005;
/// The largest shift of either side, in steps of `SHIFT_STEP` (0.1 decades).
const MAX_SHIFT_STEPS: i64 = 20;

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

    /// A pattern search over the two sides' shifts: from (0, 0), with steps of 0.01 then
    /// 0.005 decades, it moves to the first of (+s, 0), (−s, 0), (0, +s), (0, −s) that
    /// lowers `loss_of` (the loss of a grid's E at the particles), until none does, each
    /// shift within ±0.1, at most `evaluations` grids (at least the unshifted one).
    /// Why: a step alone changes how the object sways; the blurred grid's ramp made up for
    /// plateaus a little off, and the sway's frequency is sensitive to their level.
    pub fn search(
        &self,
        rest: &[Vec3],
        evaluations: u32,
        mut loss_of: impl FnMut(&[f32]) -> Result<f64>,
    ) -> Result<ShiftSearch> {
        let mut seen: Vec<((i64, i64), f64)> = Vec::new();
        let mut eval = |at: (i64, i64)| -> Result<Option<f64>> {
            if let Some(&(_, l)) = seen.iter().find(|(p, _)| *p == at) {
                return Ok(Some(l));
            }
            if seen.len() as u32 >= evaluations.max(1) {
                return Ok(None);
            }
            let f = self.shifted(at.0 as f64 * SHIFT_STEP, at.1 as f64 * SHIFT_STEP)?;
            let l = loss_of(&f.young(rest)?)?;
            seen.push((at, l));
            Ok(Some(l))
        };
        let mut best = (0i64, 0i64);
        let mut best_loss = eval(best)?.expect("one evaluation is always allowed");
        'steps: for step in [2i64, 1] {
            loop {
                let mut moved = false;
                for (a, b) in [(step, 0), (-step, 0), (0, step), (0, -step)] {
                    let at = (best.0 + a, best.1 + b);
                    if at.0.abs() > MAX_SHIFT_STEPS || at.1.abs() > MAX_SHIFT_STEPS {
                        continue;
                    }
                    let Some(l) = eval(at)? else {
                        break 'steps;
                    };
                    if l < best_loss {
                        (best, best_loss, moved) = (at, l, true);
                        break;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        let shifts = (best.0 as f64 * SHIFT_STEP, best.1 as f64 * SHIFT_STEP);
        Ok(ShiftSearch {
            field: self.shifted(shifts.0, shifts.1)?,
            loss: best_loss,
            shifts,
            evaluations: seen.len() as u32,
        })
    }
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
