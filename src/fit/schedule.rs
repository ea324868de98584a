//! The fit's schedule: which iteration does what. The first stage fits the velocity under
//! each candidate uniform E in turn and scores it (optionally refining around the best);
//! the material stage grows the frame window to the whole clip and, with several
//! coarse-to-fine levels, moves the E grid to finer nodes at each level's first iteration.

use super::{adam, FitState, Stage};
use anyhow::{bail, Result};

impl FitState {
    /// log₁₀ E of the first stage's candidates: the scan offsets from the start, clamped to
    /// the range, each value once (offsets that clamp to the same E would fit and score the
    /// same candidate again).
    pub fn candidates(&self) -> Vec<f64> {
        let (lo, hi) = self.settings.log10_e_range;
        let mut out: Vec<f64> = Vec::new();
        for &o in &self.settings.scan_offsets {
            let e = (self.scan_centre + o).clamp(lo, hi);
            if !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }

    /// The spacing of the candidates (the smallest gap between two of them), or `None` for
    /// a single candidate, which is not refined.
    fn scan_spacing(&self) -> Option<f64> {
        let mut c = self.candidates();
        c.sort_by(f64::total_cmp);
        c.windows(2).map(|w| w[1] - w[0]).reduce(f64::min)
    }

    /// Candidates of the first stage in all: the offsets' and two per refinement round.
    pub fn candidate_count(&self) -> usize {
        let refine = if self.scan_spacing().is_some() {
            self.settings.scan_refine as usize
        } else {
            0
        };
        self.candidates().len() + 2 * refine
    }

    /// log₁₀ E of candidate `c`: an offset's, or in refinement round r the round's centre
    /// ± spacing / 2^r (clamped to the range).
    pub fn candidate(&self, c: usize) -> Result<f64> {
        let coarse = self.candidates();
        if let Some(&e) = coarse.get(c) {
            return Ok(e);
        }
        let k = c - coarse.len();
        let (Some(spacing), Some(centre)) = (self.scan_spacing(), self.scan_round_centre) else {
            bail!("refinement candidate {c} before its round began");
        };
        let h = spacing / 2f64.powi(k as i32 / 2 + 1);
        let sign = if k.is_multiple_of(2) { -1.0 } else { 1.0 };
        let (lo, hi) = self.settings.log10_e_range;
        Ok((centre + sign * h).clamp(lo, hi))
    }

    /// Iterations of the first stage (the candidates' velocity fits and scores).
    pub fn scan_iterations(&self) -> u32 {
        self.candidate_count() as u32 * (self.settings.velocity_iterations + 1)
    }

    /// Candidate and step of first-stage iteration `it`: `(candidate, step)` with step
    /// `velocity_iterations` being the scoring.
    pub fn scan_position(&self, it: u32) -> Option<(usize, u32)> {
        let per = self.settings.velocity_iterations + 1;
        (it < self.scan_iterations()).then(|| ((it / per) as usize, it % per))
    }

    /// Starts candidate `c`: uniform E at its offset, velocity zero, a fresh optimiser.
    pub fn begin_candidate(&mut self, c: usize) -> Result<()> {
        let first = self.candidates().len();
        if c >= first && (c - first).is_multiple_of(2) {
            self.scan_round_centre = self.scan_best.as_ref().map(|b| b.1);
        }
        let e = self.candidate(c)?;
        self.field.fill(e)?;
        for f in &mut self.velocity {
            f.fill(0.0)?;
        }
        let n_v = 3 * self.velocity[0].len();
        self.adam_velocity = adam(
            self.settings.velocity_lr,
            self.settings.velocity_iterations,
            &self.settings,
            n_v,
            false,
        )?;
        Ok(())
    }

    /// Records the score of the current candidate; after the last one, installs the best and
    /// readies the velocity optimiser for the material stage.
    pub fn end_candidate(&mut self, c: usize, loss: f64) -> Result<()> {
        let e = self.field.values()[0];
        if self.scan_best.as_ref().is_none_or(|b| loss < b.0) {
            let v = self
                .velocity
                .iter()
                .flat_map(|f| f.values().to_vec())
                .collect();
            self.scan_best = Some((loss, e, v));
        }
        if c + 1 == self.candidate_count() {
            let (_, e, v) = self.scan_best.clone().expect("set above");
            self.field.fill(e)?;
            let n = self.velocity[0].len();
            for k in 0..3 {
                self.velocity[k].set_values(&v[k * n..(k + 1) * n])?;
            }
            let its = self.settings.material_iterations;
            self.adam_velocity =
                adam(self.settings.velocity_lr, its, &self.settings, 3 * n, false)?;
        }
        Ok(())
    }

    /// Stage and frame window of iteration `it` for a clip of `frames` target frames.
    pub fn plan(&self, it: u32, frames: usize) -> (Stage, usize) {
        let s = &self.settings;
        if let Some((_, step)) = self.scan_position(it) {
            return if step < s.velocity_iterations {
                (Stage::Velocity, s.velocity_frames.clamp(1, frames))
            } else {
                (Stage::Scan, s.window_start.clamp(1, frames))
            };
        }
        let k = (it - self.scan_iterations()) as f64;
        let grow = (s.material_iterations as f64 * 2.0 / 3.0).max(1.0);
        let start = s.window_start.clamp(1, frames) as f64;
        let w = start + (frames as f64 - start) * (k / grow).min(1.0);
        (Stage::Material, (w.round() as usize).clamp(1, frames))
    }

    /// Nodes per axis of the E grid at coarse-to-fine level `level` (0: the coarsest).
    pub fn level_grid(&self, level: u32) -> usize {
        let s = &self.settings;
        let cells = (s.material_grid.max(2) - 1) as f64;
        let shift = s.material_levels.max(1) - 1 - level.min(s.material_levels.max(1) - 1);
        (cells / 2f64.powi(shift as i32)).round().max(1.0) as usize + 1
    }

    /// The coarse-to-fine level of iteration `it` and the iterations it has, or `None` in the
    /// first stage. The E iterations are shared equally (the velocity-only ones before them
    /// belong to the coarsest level).
    pub fn level(&self, it: u32) -> Option<(u32, std::ops::Range<u32>)> {
        let s = &self.settings;
        let k = it.checked_sub(self.scan_iterations())?;
        let levels = s.material_levels.max(1);
        let fitting = s.material_iterations.saturating_sub(s.velocity_refit);
        let start = |l: u32| s.velocity_refit + (fitting as u64 * l as u64 / levels as u64) as u32;
        let level = (1..levels).filter(|&l| k >= start(l)).count() as u32;
        let begin = if level == 0 { 0 } else { start(level) };
        let end = if level + 1 == levels {
            s.material_iterations
        } else {
            start(level + 1)
        };
        let offset = self.scan_iterations();
        Some((level, begin + offset..end + offset))
    }

    /// Before material-stage iteration `it`: puts the E grid on its level's nodes (resampled
    /// from the current one) with a fresh optimiser scheduled over the level's iterations,
    /// where it is not there yet. True where it changed the grid.
    pub fn enter_level(&mut self, it: u32) -> Result<bool> {
        if self.settings.material_levels <= 1 {
            return Ok(false);
        }
        let Some((level, its)) = self.level(it) else {
            return Ok(false);
        };
        if it != its.start {
            return Ok(false);
        }
        let g = self.level_grid(level);
        self.field = self.field.resampled([g; 3])?;
        let s = &self.settings;
        let steps = its.end - self.first_e_iteration(&its);
        self.adam_material = adam(s.material_lr, steps, s, self.field.len(), true)?;
        Ok(true)
    }

    /// The first iteration of level iterations `its` that fits E (the velocity-only ones
    /// before it belong to the coarsest level).
    pub(super) fn first_e_iteration(&self, its: &std::ops::Range<u32>) -> u32 {
        its.start
            .max(self.scan_iterations() + self.settings.velocity_refit)
    }

    /// Whether iteration `it` updates the velocity and whether it updates E.
    pub fn fits(&self, it: u32) -> (bool, bool) {
        let s = &self.settings;
        if let Some((_, step)) = self.scan_position(it) {
            return (step < s.velocity_iterations, false);
        }
        let k = it - self.scan_iterations();
        (true, k >= s.velocity_refit)
    }

    /// Total iterations of both stages.
    pub fn total_iterations(&self) -> u32 {
        self.scan_iterations() + self.settings.material_iterations
    }
}
