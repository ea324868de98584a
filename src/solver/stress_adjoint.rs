//! `shaders/stress_adjoint.wgsl`: adjoint of the stress stage (both elastic models) and of ln E and nu.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "stress_adjoint",
        include_str!("../../shaders/stress_adjoint.wgsl"),
        &["stress_adjoint"],
        &[U, R, R, R, W, W],
    )
}
