//! `shaders/g2p.wgsl`: grid-to-particle transfer and particle update, one lane per particle
//! (the node velocities from the texel table P2G writes).

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageWrite as W, TextureRead as T, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

/// `shaders/g2p.wgsl`: grid-to-particle transfer and particle update.
pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "g2p",
        include_str!("../../shaders/g2p.wgsl"),
        &["g2p"],
        &[U, T, W, T, T, W, W, W, W, W, W],
    )
}
