//! Adam over a flat `f64` parameter vector, with a learning-rate schedule, global-norm
//! gradient clipping, per-parameter bounds, and a serialisable state for checkpoints.
//!
//! One [`Adam::step`] with gradient `g` (after clipping) at step `t` (1-based):
//!
//! ```text
//! m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
//! p ← p − lr_t · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + ε)
//! p ← clamp(p, lower, upper)      (when bounds are set; the moments are kept as they are)
//! ```
//!
//! **Relative ε:** with [`AdamConfig::relative_epsilon`] = `r` > 0, ε of a step is
//! `max(ε, r·sqrt(mean over all parameters of v / (1 − β2^t)))`. Plain Adam moves every
//! parameter about `lr` per step whatever the size of its gradient, so a parameter the loss
//! barely sees wanders as fast as one it sees well; with `r` its step shrinks in proportion
//! once its gradient falls well below the typical one.
//!
//! **Clipping:** with [`AdamConfig::clip_norm`] = `c`, a gradient whose Euclidean norm exceeds
//! `c` is scaled to norm `c` before it enters the moments. Adam's step is scale-free per
//! coordinate (about `lr` for a steady gradient), so clipping does not shrink a lone step from a
//! fresh state; it keeps one outlier gradient out of the moments. Unclipped, the step at a spike
//! grows to up to `lr·(1 − β1)/sqrt(1 − β2)` ≈ 3.2·lr per coordinate, and the inflated second
//! moment then stalls the following steps for thousands of iterations.
//!
//! **Schedule** ([`Schedule::factor`], applied to [`AdamConfig::learning_rate`]): a linear
//! warm-up `(s + 1)/warmup` over the first `warmup` steps (`s` = steps already taken), then a
//! decay over the remaining `iterations − warmup` steps from 1 to `final_fraction`: cosine
//! `f + (1 − f)·(1 + cos πq)/2` or exponential `f^q` with progress `q` in 0..1; after
//! `iterations` steps the factor stays at `f`. [`Decay::Constant`] keeps 1 after the warm-up.
//!
//! **Checkpoints:** [`Adam`] (configuration, bounds, moments, step count) is `Serialize` and
//! `Deserialize`; [`Adam::to_json`] / [`Adam::from_json`] write and check it. serde_json is
//! built with `float_roundtrip`, so every f64 comes back bit for bit and a resumed fit follows
//! the uninterrupted trajectory exactly. All sums run in a fixed order.
//!
//! A non-finite gradient or parameter, or an update that would make a parameter non-finite, is
//! an error and leaves both the parameters and the optimiser unchanged.

use serde::{Deserialize, Serialize};

/// How the learning rate decays after the warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// No decay.
    #[default]
    Constant,
    /// Half a cosine from 1 to the final fraction.
    Cosine,
    /// Geometric from 1 to the final fraction.
    Exponential,
}

/// The learning-rate schedule (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Steps of linear warm-up (0 for none).
    pub warmup: u64,
    /// Step at which the decay reaches `final_fraction` (ignored by [`Decay::Constant`]).
    pub iterations: u64,
    /// The decay after the warm-up.
    pub decay: Decay,
    /// Factor at the end of the decay, in (0, 1].
    pub final_fraction: f64,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            warmup: 0,
            iterations: 0,
            decay: Decay::Constant,
            final_fraction: 1.0,
        }
    }
}

impl Schedule {
    /// The factor on the base learning rate for the step after `steps_taken` steps.
    pub fn factor(&self, steps_taken: u64) -> f64 {
        if steps_taken < self.warmup {
            return (steps_taken + 1) as f64 / self.warmup as f64;
        }
        let span = self.iterations.saturating_sub(self.warmup).max(1);
        let q = ((steps_taken - self.warmup) as f64 / span as f64).min(1.0);
        let f = self.final_fraction;
        match self.decay {
            Decay::Constant => 1.0,
            Decay::Cosine => f + (1.0 - f) * 0.5 * (1.0 + (std::f64::consts::PI * q).cos()),
            Decay::Exponential => f.powf(q),
        }
    }
}

/// Adam's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Base learning rate (> 0).
    pub learning_rate: f64,
    /// First-moment decay, in [0, 1).
    pub beta1: f64,
    /// Second-moment decay, in [0, 1).
    pub beta2: f64,
    /// Added to the root of the second moment (> 0).
    pub epsilon: f64,
    /// When > 0, each step's ε is at least this times the root mean square over all
    /// parameters of the bias-corrected second moment's root: a parameter whose gradient is
    /// far weaker than the rest takes a step in proportion, not a full one (see the module
    /// docs).
    #[serde(default)]
    pub relative_epsilon: f64,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Largest gradient norm; longer gradients are scaled down to it.
    pub clip_norm: Option<f64>,
}

impl Default for AdamConfig {
    /// Learning rate 0.01, β1 0.9, β2 0.999, ε 1e-8, constant rate, no clipping.
    fn default() -> Self {
        AdamConfig {
            learning_rate: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            relative_epsilon: 0.0,
            schedule: Schedule::default(),
            clip_norm: None,
        }
    }
}

/// Errors of the optimiser; each names the value at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimiserError {
    /// A setting out of range.
    #[error("{field} = {value}: {reason}")]
    Config {
        /// The setting, e.g. `beta1`.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// A vector of the wrong length.
    #[error("{what} has {len} values, expected {expected}")]
    Length {
        /// `parameters`, `gradient`, `lower bounds`, ...
        what: &'static str,
        /// Its length.
        len: usize,
        /// The optimiser's parameter count.
        expected: usize,
    },
    /// A NaN or infinite value.
    #[error("{what}[{index}] = {value}: must be finite")]
    NonFinite {
        /// `gradient`, `parameters`, `updated parameters`, ...
        what: &'static str,
        /// The index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A lower bound above its upper bound.
    #[error("bounds[{index}] = [{lower}, {upper}]: need lower ≤ upper")]
    Bounds {
        /// The parameter.
        index: usize,
        /// Its lower bound.
        lower: f64,
        /// Its upper bound.
        upper: f64,
    },
    /// A checkpoint that does not parse.
    #[error("optimiser state: {0}")]
    Json(String),
}

/// Per-parameter bounds, finite (use `±f64::MAX` for none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Lower bounds.
    pub lower: Vec<f64>,
    /// Upper bounds.
    pub upper: Vec<f64>,
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Steps taken, this one included.
    pub step: u64,
    /// The learning rate used.
    pub learning_rate: f64,
    /// Norm of the gradient as given.
    pub grad_norm: f64,
    /// True when the gradient was scaled down to `clip_norm`.
    pub clipped: bool,
    /// Norm of the parameter change (after clamping).
    pub update_norm: f64,
}

/// The Adam optimiser and its whole state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adam {
    config: AdamConfig,
    bounds: Option<Bounds>,
    m: Vec<f64>,
    v: Vec<f64>,
    steps: u64,
}

impl Adam {
    /// A fresh optimiser for `len` parameters.
    pub fn new(config: AdamConfig, len: usize) -> Result<Self, OptimiserError> {
        let adam = Adam {
            config,
            bounds: None,
            m: vec![0.0; len],
            v: vec![0.0; len],
            steps: 0,
        };
        adam.check()?;
        Ok(adam)
    }

    /// With per-parameter bounds: every step clamps the parameters into `[lower, upper]`.
    pub fn with_bounds(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Result<Self, OptimiserError> {
        self.bounds = Some(Bounds { lower, upper });
        self.check()?;
        Ok(self)
    }

    /// With the same bounds `[lower, upper]` for every parameter.
    pub fn with_uniform_bounds(self, lower: f64, upper: f64) -> Result<Self, OptimiserError> {
        let n = self.len();
        self.with_bounds(vec![lower; n], vec![upper; n])
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.m.len()
    }

    /// True for an optimiser of no parameters.
    pub fn is_empty(&self) -> bool {
        self.m.is_empty()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The settings.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// The bounds, when set.
    pub fn bounds(&self) -> Option<&Bounds> {
        self.bounds.as_ref()
    }

    /// Drops the first moment (the running mean of the gradient) of every parameter marked in
    /// `which`, after something other than a step has moved it; the second moment, which sets
    /// the step's scale, stays.
    pub fn forget_momentum(&mut self, which: &[bool]) -> Result<(), OptimiserError> {
        same_len("momentum mask", which, self.len())?;
        for (m, _) in self.m.iter_mut().zip(which).filter(|(_, &w)| w) {
            *m = 0.0;
        }
        Ok(())
    }

    /// The learning rate of the next step.
    pub fn learning_rate(&self) -> f64 {
        self.config.learning_rate * self.config.schedule.factor(self.steps)
    }

    /// One step on `params` with gradient `grad` (see the module docs).
    pub fn step(&mut self, params: &mut [f64], grad: &[f64]) -> Result<StepReport, OptimiserError> {
        let n = self.len();
        same_len("parameters", params, n)?;
        same_len("gradient", grad, n)?;
        all_finite("gradient", grad)?;
        all_finite("parameters", params)?;
        let grad_norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        let c = &self.config;
        let scale = match c.clip_norm {
            Some(max) if grad_norm > max => max / grad_norm,
            _ => 1.0,
        };
        let t = (self.steps + 1) as f64;
        let lr = self.learning_rate();
        let (bc1, bc2) = (1.0 - c.beta1.powf(t), 1.0 - c.beta2.powf(t));
        let mut m = self.m.clone();
        let mut v = self.v.clone();
        let mut next = params.to_vec();
        for i in 0..n {
            let g = grad[i] * scale;
            m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * g;
            v[i] = c.beta2 * v[i] + (1.0 - c.beta2) * g * g;
        }
        let epsilon = if c.relative_epsilon > 0.0 && n > 0 {
            let mean_v = v.iter().sum::<f64>() / n as f64 / bc2;
            c.epsilon.max(c.relative_epsilon * mean_v.sqrt())
        } else {
            c.epsilon
        };
        for i in 0..n {
            next[i] -= lr * (m[i] / bc1) / ((v[i] / bc2).sqrt() + epsilon);
            if let Some(b) = &self.bounds {
                next[i] = next[i].clamp(b.lower[i], b.upper[i]);
            }
        }
        all_finite("updated parameters", &next)?;
        all_finite("first moment", &m)?;
        all_finite("second moment", &v)?;
        let update_norm = next
            .iter()
            .zip(params.iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        params.copy_from_slice(&next);
        self.m = m;
        self.v = v;
        self.steps += 1;
        Ok(StepReport {
            step: self.steps,
            learning_rate: lr,
            grad_norm,
            clipped: scale < 1.0,
            update_norm,
        })
    }

    /// The whole state as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the optimiser state is plain data with finite values")
    }

    /// A state written by [`Adam::to_json`], checked.
    pub fn from_json(text: &str) -> Result<Self, OptimiserError> {
        let adam: Adam =
            serde_json::from_str(text).map_err(|e| OptimiserError::Json(e.to_string()))?;
        adam.check()?;
        Ok(adam)
    }

    /// Checks the settings, the bounds and the moments.
    pub fn check(&self) -> Result<(), OptimiserError> {
        let c = &self.config;
        let config = |field, value: f64, ok: bool, reason| {
            if ok {
                Ok(())
            } else {
                Err(OptimiserError::Config {
                    field,
                    value: value.to_string(),
                    reason,
                })
            }
        };
        let lr = c.learning_rate;
        config(
            "learning_rate",
            lr,
            lr.is_finite() && lr > 0.0,
            "must be finite and > 0",
        )?;
        config(
            "beta1",
            c.beta1,
            (0.0..1.0).contains(&c.beta1),
            "must be in [0, 1)",
        )?;
        config(
            "beta2",
            c.beta2,
            (0.0..1.0).contains(&c.beta2),
            "must be in [0, 1)",
        )?;
        let eps = c.epsilon;
        config(
            "epsilon",
            eps,
            eps.is_finite() && eps > 0.0,
            "must be finite and > 0",
        )?;
        config(
            "relative_epsilon",
            c.relative_epsilon,
            c.relative_epsilon.is_finite() && c.relative_epsilon >= 0.0,
            "must be finite and ≥ 0",
        )?;
        if let Some(clip) = c.clip_norm {
            config(
                "clip_norm",
                clip,
                clip.is_finite() && clip > 0.0,
                "must be finite and > 0",
            )?;
        }
        let s = &c.schedule;
        let f = s.final_fraction;
        config(
            "schedule.final_fraction",
            f,
            f > 0.0 && f <= 1.0,
            "must be in (0, 1]",
        )?;
        if s.decay != Decay::Constant && s.iterations <= s.warmup {
            return Err(OptimiserError::Config {
                field: "schedule.iterations",
                value: s.iterations.to_string(),
                reason: "a decay needs more iterations than warm-up steps",
            });
        }
        let n = self.len();
        same_len("second moment", &self.v, n)?;
        all_finite("first moment", &self.m)?;
        all_finite("second moment", &self.v)?;
        if let Some(i) = self.v.iter().position(|&v| v < 0.0) {
            return Err(OptimiserError::Config {
                field: "second moment",
                value: format!("[{i}] = {}", self.v[i]),
                reason: "must be ≥ 0",
            });
        }
        if let Some(b) = &self.bounds {
            same_len("lower bounds", &b.lower, n)?;
            same_len("upper bounds", &b.upper, n)?;
            all_finite("lower bounds", &b.lower)?;
            all_finite("upper bounds", &b.upper)?;
            for (index, (&lower, &upper)) in b.lower.iter().zip(&b.upper).enumerate() {
                if lower > upper {
                    return Err(OptimiserError::Bounds {
                        index,
                        lower,
                        upper,
                    });
                }
            }
        }
        Ok(())
    }
}

fn same_len<T>(what: &'static str, values: &[T], expected: usize) -> Result<(), OptimiserError> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(OptimiserError::Length {
            what,
            len: values.len(),
            expected,
        })
    }
}

fn all_finite(what: &'static str, values: &[f64]) -> Result<(), OptimiserError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(OptimiserError::NonFinite {
            what,
            index,
            value: values[index],
        }),
    }
}
