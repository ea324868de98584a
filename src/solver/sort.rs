//! `shaders/sort.wgsl`: bin, scan_rows, scan_global, scan_cells, scatter, unbin.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageRead as R, StorageWrite as W, UniformDynamic as U},
    GpuContext,
};
use anyhow::Result;

/// `shaders/sort.wgsl`: bin, scan_rows, scan_global, scan_cells, scatter, unbin.
pub fn build(ctx: &GpuContext) -> Result<Stage> {
    Stage::new(
        ctx,
        "sort",
        include_str!("../../shaders/sort.wgsl"),
        &[
            "bin",
            "scan_rows",
            "scan_global",
            "scan_cells",
            "scatter",
            "unbin",
        ],
        &[U, R, W, W, W, W, W, W, W],
    )
}

/// Bin the particles into cells and list the active node blocks (entries 0..=4 of `build`).
pub fn dispatch_bin(
    pass: &mut wgpu::ComputePass,
    stage: &Stage,
    bg: &wgpu::BindGroup,
    offset: u32,
    n: u32,
    n_rows: u32,
) {
    pass.set_bind_group(0, bg, &[offset]);
    let groups = [
        n.div_ceil(64),
        n_rows.div_ceil(64),
        1,
        n_rows.div_ceil(64),
        n.div_ceil(64),
    ];
    for (pipeline, g) in stage.pipelines[..5].iter().zip(groups) {
        pass.set_pipeline(pipeline);
        pass.dispatch_workgroups(g, 1, 1);
    }
}

/// Empty the cell counts used this substep (entry `unbin`).
pub fn dispatch_unbin(
    pass: &mut wgpu::ComputePass,
    stage: &Stage,
    bg: &wgpu::BindGroup,
    offset: u32,
    n: u32,
) {
    pass.set_bind_group(0, bg, &[offset]);
    pass.set_pipeline(&stage.pipelines[5]);
    pass.dispatch_workgroups(n.div_ceil(64), 1, 1);
}
