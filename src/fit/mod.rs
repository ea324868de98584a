//! Fitting a stiffness field and an initial velocity to a video.
//!
//! The parameters are log₁₀ E on a coarse grid over the object ([`StiffnessField`],
//! trilinear at the particles' rest positions, clamped to its range) and the initial velocity
//! as three coarse grids (vx, vy, vz) over the same box, applied to the particles that are not
//! anchored. Each iteration simulates the clip, renders the frames of the current window from
//! the video's camera, compares them with the video ((1 − w)·MSE + w·(1 − SSIM), optionally
//! masked) and carries the gradient back through the renderer, the attachment and the whole
//! simulated clip ([`evaluate`]). Two stages, as PhysDreamer: first the velocity alone on the
//! first few frames, then the material (and, by default, the velocity with it) over a window
//! that grows to the whole clip. Adam with warm-up, cosine decay and gradient clipping; a total
//! variation term keeps the E grid smooth. A checkpoint after every iteration lets an
//! interrupted fit resume where it stopped.

pub mod checkpoint;
pub mod evaluate;
pub mod known_truth;
pub mod output;
pub mod run;
mod schedule;
mod sharpening;

pub use sharpening::{Proposal, Sharpened, ShiftSearch};

use crate::field::{Curvature, StiffnessField, TotalVariation};
use crate::loss::ImageLoss;
use crate::optimiser::{Adam, AdamConfig, Decay, Schedule};
use crate::scene::Scene;
use crate::solver::{SolverConfig, TimeStep, MAX_BATCH};
use anyhow::{bail, Result};
use glam::Vec3;
use serde::{Deserialize, Serialize};

/// The knobs of a fit (all have defaults; `physdreamer fit --help` names the CLI flags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// Offsets (decades) from the starting log₁₀ E of the candidates of the first stage: for
    /// each, a uniform E, the velocity fitted to the first frames under it, then the loss
    /// over `window_start` frames; the best candidate starts the material stage. A gradient
    /// alone gets caught: under a wrong E the velocity fit explains the first frames well
    /// enough to make a spurious minimum. `[0.0]` is PhysDreamer's plain velocity stage.
    pub scan_offsets: Vec<f64>,
    /// Rounds of refinement after the candidates of `scan_offsets`: round r tries the best E
    /// so far ± the candidates' spacing / 2^r (r = 1, 2, …), two candidates a round.
    #[serde(default)]
    pub scan_refine: u32,
    /// Velocity iterations per candidate of the first stage.
    pub velocity_iterations: u32,
    /// Frames the velocity stage looks at (after frame 0).
    pub velocity_frames: usize,
    /// Adam learning rate of the velocity grids (m/s).
    pub velocity_lr: f64,
    /// Nodes per axis of the velocity grids.
    pub velocity_grid: usize,
    /// Iterations of the material stage.
    pub material_iterations: u32,
    /// Frames of the material stage's first window; it grows to `frames` by the last third.
    pub window_start: usize,
    /// Adam learning rate of log₁₀ E.
    pub material_lr: f64,
    /// Nodes per axis of the log₁₀ E grid.
    pub material_grid: usize,
    /// Coarse-to-fine levels of the log₁₀ E grid: the iterations that fit E are shared
    /// equally by grids of about `material_grid` nodes with their cells 2^(levels−1), …, 2, 1
    /// times as large; each level starts from the one before, resampled, with a fresh
    /// optimiser. The few nodes of the coarse grids are each seen by many particles, so they
    /// find the field's large shape before the fine grid adds its detail. 1: the fine grid
    /// alone.
    #[serde(default = "one")]
    pub material_levels: u32,
    /// Bounds of log₁₀ E (Pa).
    pub log10_e_range: (f64, f64),
    /// Starting log₁₀ E (default: the scene's median E).
    pub log10_e_start: Option<f64>,
    /// The first this-many iterations of the material stage fit the velocity alone, over the
    /// growing window, under the E the first stage chose; the rest fit E and the velocity
    /// together.
    pub velocity_refit: u32,
    /// Weight of the total-variation term on the log₁₀ E grid.
    pub tv_weight: f64,
    /// Saturation (decades) of the total-variation term ([`TotalVariation::saturation`]):
    /// `None` is plain total variation; a value makes one sharp boundary between uniform
    /// parts cheaper than a ramp.
    #[serde(default)]
    pub tv_saturation: Option<f64>,
    /// SSIM weight w of the loss in each stage.
    pub ssim_weight_velocity: f64,
    pub ssim_weight_material: f64,
    /// Warm-up iterations of each stage's learning rate.
    pub warmup: u64,
    /// Gradient clipping (global norm) of each stage's update.
    pub clip_norm: f64,
    /// Relative ε of the E grid's optimiser ([`crate::optimiser::AdamConfig::relative_epsilon`]):
    /// a node whose gradient is far weaker than the typical node's moves in proportion, so
    /// that nodes the video barely sees stay near where the first stage put them instead of
    /// wandering (a wandering stiff node also sets the substep count of the whole clip).
    #[serde(default)]
    pub relative_epsilon: f64,
    /// Relative ε of the velocity grids' optimiser, in both stages: velocity components the
    /// video barely sees (along the line of sight, inside the object) stay near zero instead
    /// of each node moving by about the learning rate every step.
    #[serde(default)]
    pub velocity_relative_epsilon: f64,
    /// Weight of the curvature term on each velocity grid ([`Curvature`]: squared second
    /// differences along each axis), in both stages. A sway, a turn or a shear costs
    /// nothing; velocity that turns back and forth between nodes costs most. The video sees
    /// little of the velocity along the line of sight or inside the object; without the
    /// term the grids fill with motion the truth does not have (docs/benchmarks.md).
    #[serde(default)]
    pub velocity_curvature: f64,
    /// Target frames after frame 0 (default: all of the video, at most 13).
    pub frames: Option<usize>,
    /// Propose the E grid with its short ramps made steps ([`Sharpen`]) on the finest
    /// coarse-to-fine level, or that grid as two uniform parts, its two sides' levels
    /// searched (`sharpen_shifts`), and keep it where the video prefers it (within
    /// `sharpen_tolerance`), the velocity held. Gradient steps leave a sharp boundary between
    /// node planes spread over two or three cells; the video decides whether it is sharp.
    #[serde(default)]
    pub sharpen: bool,
    /// When: at the finest level's last iteration, and (if not 0) every this-many E
    /// iterations of that level before it.
    #[serde(default)]
    pub sharpen_every: u32,
    /// A sharpened grid is kept where its loss is below (1 + this) × the current one. The
    /// default is negative, a margin the proposal must win by: the search tunes its two
    /// levels on the same loss, so a proposal gains a little from that alone (a smooth
    /// field's came out 0.8 % under its loss and further from the truth). The velocity, held
    /// during the comparison, adapts afterwards.
    #[serde(default)]
    pub sharpen_tolerance: f64,
    /// Grids simulated to find the levels of the proposal's two sides: its high side and
    /// its low side each shifted (by up to 0.2 decades), the shifts searched for the lowest
    /// loss before the proposal is judged ([`Sharpened::search`]), for each of its two
    /// forms: the sharpened grid, and the same grid as two uniform parts
    /// ([`Sharpened::two_parts`]); the form with the lower loss is judged. 0 or 1: each
    /// form as it is.
    #[serde(default)]
    pub sharpen_shifts: u32,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            scan_offsets: vec![-1.8, -1.2, -0.6, 0.0, 0.6, 1.2, 1.8],
            scan_refine: 2,
            velocity_iterations: 8,
            velocity_frames: 3,
            velocity_lr: 0.1,
            velocity_grid: 4,
            material_iterations: 80,
            window_start: 6,
            material_lr: 0.1,
            material_grid: 16,
            material_levels: 3,
            log10_e_range: (3.0, 8.0),
            log10_e_start: None,
            velocity_refit: 10,
            tv_weight: 1e-5,
            tv_saturation: None,
            ssim_weight_velocity: 0.5,
            ssim_weight_material: 0.9,
            warmup: 5,
            clip_norm: 1.0,
            relative_epsilon: 0.1,
            velocity_relative_epsilon: 0.1,
            velocity_curvature: 1e-4,
            frames: None,
            sharpen: true,
            sharpen_every: 0,
            sharpen_tolerance: -0.02,
            sharpen_shifts: 16,
        }
    }
}

fn one() -> u32 {
    1
}

/// Which stage an iteration belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Fitting the velocity under one candidate E.
    Velocity,
    /// Scoring a candidate E (no step).
    Scan,
    Material,
}

/// One line of the loss history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub iteration: u32,
    pub stage: Stage,
    pub window: usize,
    pub loss: f64,
    pub psnr: f64,
    /// Median log₁₀ E over the particles after the step.
    pub log10_e_median: f64,
}

/// The parameters being fitted and the optimisers' state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitState {
    pub settings: FitSettings,
    /// Iterations done.
    pub iteration: u32,
    pub field: StiffnessField,
    /// vx, vy, vz grids (values in m/s, clamped to ±30).
    pub velocity: [StiffnessField; 3],
    pub adam_velocity: Adam,
    pub adam_material: Adam,
    pub history: Vec<HistoryEntry>,
    /// The starting log₁₀ E the candidates are offsets from.
    pub scan_centre: f64,
    /// The best candidate so far: loss, log₁₀ E, velocity grid values.
    pub scan_best: Option<(f64, f64, Vec<f64>)>,
    /// The centre of the current refinement round (the best log₁₀ E when it began).
    #[serde(default)]
    pub scan_round_centre: Option<f64>,
}

/// The optimiser of a stage: `lr`, `iterations` for its schedule, and the relative ε of the
/// E grid (`material`) or of the velocity grids.
fn adam(lr: f64, iterations: u32, s: &FitSettings, len: usize, material: bool) -> Result<Adam> {
    let iterations = iterations.max(1) as u64;
    let config = AdamConfig {
        learning_rate: lr,
        schedule: Schedule {
            // short runs: the warm-up takes at most all but one step
            warmup: s.warmup.min(iterations - 1),
            iterations,
            decay: Decay::Cosine,
            final_fraction: 0.1,
        },
        clip_norm: Some(s.clip_norm),
        relative_epsilon: if material {
            s.relative_epsilon
        } else {
            s.velocity_relative_epsilon
        },
        ..Default::default()
    };
    Ok(Adam::new(config, len)?)
}

impl FitState {
    /// A fresh fit over the box around the particles that are not `anchored` (their E is
    /// all that can be seen; anchored ones take the nearest value), E starting at `log10_e`.
    pub fn new(
        settings: FitSettings,
        rest: &[Vec3],
        anchored: &[bool],
        log10_e: f64,
    ) -> Result<Self> {
        let moving: Vec<Vec3> = rest
            .iter()
            .zip(anchored)
            .filter(|(_, &a)| !a)
            .map(|(p, _)| *p)
            .collect();
        let rest = if moving.is_empty() { rest } else { &moving[..] };
        let (lo, hi) = settings.log10_e_range;
        if !(log10_e >= lo && log10_e <= hi) {
            bail!("the starting log10 E {log10_e:.3} is outside the fitted range [{lo}, {hi}]");
        }
        let g = settings.material_grid;
        let field =
            StiffnessField::around_points(rest, [g; 3], 0.02, log10_e)?.with_range(lo, hi)?;
        let gv = settings.velocity_grid;
        let vel = || -> Result<StiffnessField> {
            let mut f =
                StiffnessField::around_points(rest, [gv; 3], 0.02, lo)?.with_range(-30.0, 30.0)?;
            f.fill(0.0)?;
            Ok(f)
        };
        let velocity = [vel()?, vel()?, vel()?];
        if !(1..=6).contains(&settings.material_levels) {
            bail!(
                "fit settings: material_levels = {}: must be 1..=6",
                settings.material_levels
            );
        }
        if !(settings.velocity_curvature.is_finite() && settings.velocity_curvature >= 0.0) {
            bail!(
                "fit settings: velocity_curvature = {}: must be finite and ≥ 0",
                settings.velocity_curvature
            );
        }
        if !(settings.sharpen_tolerance.is_finite() && settings.sharpen_tolerance.abs() < 1.0) {
            bail!(
                "fit settings: sharpen_tolerance = {}: must be in (-1, 1)",
                settings.sharpen_tolerance
            );
        }
        if let Some(s) = settings.tv_saturation {
            if !(s.is_finite() && s > 0.0) {
                bail!("fit settings: tv_saturation = {s}: must be finite and > 0");
            }
        }
        if settings.scan_offsets.is_empty() {
            bail!("fit settings: at least one scan offset is needed (0 for none)");
        }
        let n_v = 3 * velocity[0].len();
        Ok(FitState {
            adam_velocity: adam(
                settings.velocity_lr,
                settings.velocity_iterations,
                &settings,
                n_v,
                false,
            )?,
            adam_material: adam(
                settings.material_lr,
                settings.material_iterations,
                &settings,
                field.len(),
                true,
            )?,
            settings,
            iteration: 0,
            field,
            velocity,
            history: Vec::new(),
            scan_centre: log10_e,
            scan_best: None,
            scan_round_centre: None,
        })
    }

    /// Initial velocity of every particle (at rest positions `rest`).
    pub fn velocities(&self, rest: &[Vec3]) -> Result<Vec<Vec3>> {
        let [x, y, z] = [0, 1, 2].map(|c| self.velocity[c].sample(rest));
        let (x, y, z) = (x?, y?, z?);
        Ok((0..rest.len())
            .map(|i| Vec3::new(x[i] as f32, y[i] as f32, z[i] as f32))
            .collect())
    }

    /// The loss used in `stage`.
    pub fn loss(&self, stage: Stage) -> ImageLoss {
        ImageLoss {
            ssim_weight: match stage {
                Stage::Velocity => self.settings.ssim_weight_velocity,
                Stage::Scan | Stage::Material => self.settings.ssim_weight_material,
            },
        }
    }

    /// One Adam step on the velocity grids from d loss / d v₀ per particle (anchored
    /// particles' entries must be zero).
    pub fn step_velocity(&mut self, rest: &[Vec3], d_v0: &[Vec3]) -> Result<()> {
        let curvature = Curvature {
            weight: self.settings.velocity_curvature,
        };
        let n = self.velocity[0].len();
        let mut grad = Vec::with_capacity(3 * n);
        for c in 0..3 {
            let d: Vec<f64> = d_v0.iter().map(|v| v[c] as f64).collect();
            let mut g = self.velocity[c].adjoint(rest, &d)?;
            let (_, prior) = curvature.evaluate(&self.velocity[c])?;
            g.iter_mut().zip(&prior).for_each(|(a, b)| *a += b);
            grad.extend(g);
        }
        let mut values: Vec<f64> = self
            .velocity
            .iter()
            .flat_map(|f| f.values().to_vec())
            .collect();
        self.adam_velocity.step(&mut values, &grad)?;
        for c in 0..3 {
            self.velocity[c].set_values(&values[c * n..(c + 1) * n])?;
            self.velocity[c].clamp();
        }
        Ok(())
    }

    /// One Adam step on the log₁₀ E grid from d loss / d ln E per particle, plus the
    /// total-variation term; returns the regulariser's value.
    pub fn step_material(&mut self, rest: &[Vec3], d_ln_e: &[f32]) -> Result<f64> {
        let d: Vec<f64> = d_ln_e
            .iter()
            .map(|&g| g as f64 * std::f64::consts::LN_10)
            .collect();
        let mut grad = self.field.adjoint(rest, &d)?;
        let tv = TotalVariation {
            weight: self.settings.tv_weight,
            saturation: self.settings.tv_saturation,
            ..Default::default()
        };
        let (tv_value, tv_grad) = tv.evaluate(&self.field)?;
        grad.iter_mut().zip(&tv_grad).for_each(|(g, t)| *g += t);
        let mut values = self.field.values().to_vec();
        self.adam_material.step(&mut values, &grad)?;
        self.field.set_values(&values)?;
        self.field.clamp();
        Ok(tv_value)
    }
}

/// The median of `v` (NaN-free), 0 for an empty slice.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// The solver settings a fit simulates with: the scene's, one frame per video frame, and at
/// most as many substeps per frame as the gradient tape takes.
pub fn solver_config(scene: &Scene, fps: f64) -> SolverConfig {
    let mut cfg = scene.config.clone();
    cfg.frame_dt = (1.0 / fps) as f32;
    if let TimeStep::Adaptive { max_substeps, .. } = &mut cfg.time_step {
        *max_substeps = (*max_substeps).min(MAX_BATCH as u32);
    }
    cfg
}
