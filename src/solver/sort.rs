//! `shaders/sort.wgsl`: bin, scan_rows, scan_global, scan_cells, scatter, unbin.

use super::stage::Stage;
use crate::gpu::{
    Binding::{StorageWrite as W, TextureRead as T, UniformDynamic as U},
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
        &[U, T, W, W, W, W, W, W, W, T],
    )
}

/// Bin the particles into cells and list the active node blocks (entries 0..=4 of `build`:
/// bin, scan_rows, scan_global, scan_cells, scatter; without `bin` where `binned`, the G2P
/// before having binned them). `sizes`: particles, rows of cells.
pub fn dispatch_bin(
    pass: &mut wgpu::ComputePass,
    stage: &Stage,
    bg: &wgpu::BindGroup,
    offset: u32,
    sizes: (u32, u32),
    binned: bool,
) {
    let (n, n_rows) = sizes;
    let groups = [
        n.div_ceil(64),
        n_rows.div_ceil(64),
        1,
        n_rows.div_ceil(64),
        n.div_ceil(64),
    ];
    for (entry, g) in groups.into_iter().enumerate().skip(binned as usize) {
        stage.dispatch(pass, entry, bg, offset, g);
    }
}

/// Entry `unbin`: empty the cell counts used this substep.
pub const UNBIN: usize = 5;
