//! Fit checkpoints: the whole [`FitState`] (settings, parameters, both optimisers' moments,
//! loss history) with what it was fitted to, as JSON written atomically after every
//! iteration, so that an interrupted fit resumes bit-identically.

use super::FitState;
use crate::render::image::write_atomic;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a checkpoint belongs to; resuming with other inputs is refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitIdentity {
    pub scene: String,
    pub video: String,
    pub camera: String,
    pub frames: usize,
    pub particles: usize,
}

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    format: u32,
    identity: FitIdentity,
    state: FitState,
}

const FORMAT: u32 = 1;

/// Writes `state` to `path` (temp file + rename).
pub fn save(path: &Path, identity: &FitIdentity, state: &FitState) -> Result<()> {
    let c = Checkpoint {
        format: FORMAT,
        identity: identity.clone(),
        state: state.clone(),
    };
    let text = serde_json::to_string(&c).context("encoding the checkpoint")?;
    write_atomic(path, text.as_bytes())
}

/// Reads the checkpoint at `path`, checking that it belongs to `identity` and is sound.
pub fn load(path: &Path, identity: &FitIdentity) -> Result<FitState> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading checkpoint {}", path.display()))?;
    let c: Checkpoint = serde_json::from_str(&text)
        .with_context(|| format!("checkpoint {} is not a fit checkpoint", path.display()))?;
    if c.format != FORMAT {
        bail!(
            "checkpoint {}: format {} (this build reads {FORMAT})",
            path.display(),
            c.format
        );
    }
    if &c.identity != identity {
        bail!(
            "checkpoint {} belongs to another fit ({:?}); this one is {:?} — use another --out \
             or --restart",
            path.display(),
            c.identity,
            identity
        );
    }
    let s = c.state;
    let fields = std::iter::once(&s.field).chain(s.velocity.iter());
    for f in fields {
        let dims = f.dims();
        if dims.iter().any(|&d| d < 2) || dims.iter().product::<usize>() != f.len() {
            bail!(
                "checkpoint {}: a grid of {dims:?} nodes holds {} values",
                path.display(),
                f.len()
            );
        }
        if f.values().iter().any(|v| !v.is_finite()) {
            bail!("checkpoint {}: a parameter is NaN/inf", path.display());
        }
    }
    s.adam_material
        .check()
        .and(s.adam_velocity.check())
        .with_context(|| format!("checkpoint {}: optimiser state", path.display()))?;
    if s.iteration > s.total_iterations() {
        bail!(
            "checkpoint {}: iteration {} beyond the fit's {}",
            path.display(),
            s.iteration,
            s.total_iterations()
        );
    }
    Ok(s)
}
