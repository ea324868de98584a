//! The fitting loop: both stages, a progress bar and a checkpoint after every iteration.

use super::checkpoint::{self, FitIdentity};
use super::evaluate::Problem;
use super::{median, FitState, HistoryEntry, Proposal, Stage};
use crate::solver::Solver;
use anyhow::{Context, Result};
use glam::Vec3;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// Where to keep the checkpoint, and what it belongs to.
pub struct CheckpointAt<'a> {
    pub path: &'a Path,
    pub identity: &'a FitIdentity,
}

/// Runs the remaining iterations of `state` on `problem` (a clip of `frames` target frames),
/// or until `stop_at` iterations are done.
pub fn run(
    solver: &mut Solver,
    problem: &Problem,
    frames: usize,
    state: &mut FitState,
    checkpoint: Option<CheckpointAt>,
    progress: bool,
    stop_at: Option<u32>,
) -> Result<()> {
    let set = &problem.scene.particles;
    let rest = &set.position;
    let total = state.total_iterations();
    let end = stop_at.map_or(total, |s| s.min(total));
    let bar = if progress {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} (ETA {eta})")
            .expect("a valid template"),
    );
    bar.set_position(state.iteration as u64);
    while state.iteration < end {
        let it = state.iteration;
        let (stage, window) = state.plan(it, frames);
        let candidate = state.scan_position(it);
        if let Some((c, 0)) = candidate {
            state.begin_candidate(c)?;
        }
        if state.enter_level(it)? {
            log::info!(
                "iteration {it}: the E grid is now {:?} nodes",
                state.field.dims()
            );
        }
        let young = state.field.young(rest)?;
        let velocity = state.velocities(rest)?;
        let want_grad = stage != Stage::Scan;
        let ev = problem
            .evaluate(
                solver,
                &young,
                &velocity,
                window,
                &state.loss(stage),
                want_grad,
            )
            .with_context(|| format!("fit iteration {it} ({stage:?} stage, {window} frames)"))?;
        if let (Some((c, _)), Stage::Scan) = (candidate, stage) {
            state.end_candidate(c, ev.loss)?;
        }
        // a sharpened E grid the video prefers replaces this iteration's step
        let mut sharpened = false;
        if state.sharpen_due(it) {
            if let Some(sharp) = state.sharpened(rest, &young)? {
                let weights = state.field.adjoint(rest, &vec![1.0; rest.len()])?;
                let budget = state.settings.sharpen_shifts;
                let Proposal {
                    search: trial,
                    two_parts,
                    evaluations,
                } = sharp
                    .best_form(rest, &weights, budget, |young| {
                        let loss = state.loss(stage);
                        // a trial grid that blows up is a bad proposal, not a failed fit
                        match problem.evaluate(solver, young, &velocity, window, &loss, false) {
                            Ok(e) => Ok(e.loss),
                            Err(err) => {
                                log::warn!(
                                    "iteration {it}: a proposed E grid failed to simulate \
                                     ({err:#}); it counts as the worst"
                                );
                                Ok(f64::INFINITY)
                            }
                        }
                    })
                    .with_context(|| format!("fit iteration {it}: the sharpened E grid"))?;
                let (high, low) = trial.shifts;
                let how = format!(
                    "{}, sides shifted {high:+.4} / {low:+.4} decades, {} grids simulated",
                    if two_parts {
                        "as two uniform parts"
                    } else {
                        "edges sharpened"
                    },
                    evaluations
                );
                sharpened = trial.loss < ev.loss * (1.0 + state.settings.sharpen_tolerance);
                if sharpened {
                    let moved = state.adopt_sharpened(trial.field)?;
                    log::info!(
                        "iteration {it}: sharpened the E grid at {moved} nodes ({how}), loss \
                         {:.4e} -> {:.4e}",
                        ev.loss,
                        trial.loss
                    );
                } else {
                    log::info!(
                        "iteration {it}: kept the E grid (sharpened, {how}: loss {:.4e} \
                         against {:.4e})",
                        trial.loss,
                        ev.loss
                    );
                }
            }
        }
        let d_v0: Vec<Vec3> = ev
            .grads
            .v0
            .iter()
            .zip(&set.anchored)
            .map(|(g, &a)| if a { Vec3::ZERO } else { *g })
            .collect();
        let (fit_velocity, fit_material) = state.fits(it);
        let (fit_velocity, fit_material) = (fit_velocity && !sharpened, fit_material && !sharpened);
        if fit_velocity {
            state.step_velocity(rest, &d_v0)?;
        }
        if fit_material {
            state.step_material(rest, &ev.grads.ln_young)?;
        }
        state.history.push(HistoryEntry {
            iteration: it,
            stage,
            window,
            loss: ev.loss,
            psnr: ev.psnr,
            log10_e_median: median(&state.field.sample(rest)?),
        });
        state.iteration += 1;
        if let Some(c) = &checkpoint {
            checkpoint::save(c.path, c.identity, state)?;
        }
        let last = state.history.last().expect("pushed above");
        bar.set_message(format!(
            "{:?} window {window}: loss {:.4e}, PSNR {:.2} dB, median E {:.3e} Pa",
            stage,
            last.loss,
            last.psnr,
            10f64.powf(last.log10_e_median)
        ));
        bar.set_position(state.iteration as u64);
    }
    bar.finish();
    Ok(())
}
