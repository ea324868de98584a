//! `shaders/grid_tape.wgsl`: the active blocks' grid of a substep to and from the tape.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, TextureWrite as ST, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

/// Tape bytes per node block: 128 nodes × (momentum, mass, velocity, anchored mass).
pub const BLOCK_BYTES: u64 = 128 * 32;

/// Entries `store` (0) and `load` (1).
pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "grid_tape",
        include_str!("../../shaders/grid_tape.wgsl"),
        &["store", "load"],
        &[U, R, W, W, W, W, ST],
    )
}

pub const STORE: usize = 0;
pub const LOAD: usize = 1;
