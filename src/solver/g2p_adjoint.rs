//! `shaders/g2p_adjoint.wgsl`: adjoint of G2P (particle share and the records whose gather gives the nodes' velocity adjoints).

use super::stage::Stage;
use crate::gpu::{
    Binding::{
        StorageRead as R, StorageWrite as W, TextureRead as T, TextureWrite as ST,
        UniformDynamic as U,
    },
    GpuContext,
};
use anyhow::Result;

pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "g2p_adjoint",
        include_str!("../../shaders/g2p_adjoint.wgsl"),
        &["g2p_adjoint"],
        &[U, R, T, R, R, W, R, ST],
    )
}
