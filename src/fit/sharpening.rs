//! The fit's sharpening move ([`FitSettings::sharpen`](super::FitSettings::sharpen)): when
//! it is proposed, the proposal, and taking it.

use super::FitState;
use crate::field::{Sharpen, StiffnessField};
use anyhow::Result;
use glam::Vec3;

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

    /// The E grid with its short ramps made steps and its E at the particles at `rest`, or
    /// `None` where that changes none of `young` (the current grid's E at `rest`).
    pub fn sharpened(
        &self,
        rest: &[Vec3],
        young: &[f32],
    ) -> Result<Option<(StiffnessField, Vec<f32>)>> {
        let targets = Sharpen::default().targets(&self.field);
        if targets == self.field.values() {
            return Ok(None);
        }
        let mut f = self.field.clone();
        f.set_values(&targets)?;
        let sharp_young = f.young(rest)?;
        Ok((sharp_young != young).then_some((f, sharp_young)))
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
