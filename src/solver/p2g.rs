//! `shaders/p2g.wgsl`: particle-to-grid transfer as a fixed-order gather per grid node, and
//! the grid update of the summed nodes.

use super::stage::Stage;
use crate::gpu::{
    Binding::{
        StorageRead as R, StorageWrite as W, TextureRead as T, TextureWrite as TW,
        UniformDynamic as U,
    },
    GpuContext,
};
use anyhow::Result;

/// Entries: `p2g` (the forward substep's P2G and grid update), `gather` (the sums alone).
pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "p2g",
        include_str!("../../shaders/p2g.wgsl"),
        &["p2g", "gather"],
        &[U, R, R, T, W, R, R, W, TW],
    )
}

/// Entry `gather`: the node sums alone, to the bind group's grid buffer (the backward pass
/// runs it on the adjoint records).
pub const GATHER: usize = 1;
