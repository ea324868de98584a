//! The rasteriser's backward pass on the GPU (`shaders/splat_backward.wgsl`): the per-pixel
//! work of [`super::backward`] — replaying each pixel's blends and pulling `∂L/∂image` back
//! through them — in WGSL, f32. The CPU keeps what it already has from the forward pass (the
//! projected splats in depth order and the tile lists of the [`ForwardTape`]) and finishes
//! what is cheap: the per-Gaussian sums over tiles (in tile order, f64) and the chain from the
//! pixel centre to the world-space mean.
//!
//! Three dispatches: `count` (blends per pixel, read back and turned into each pixel's slice
//! of the blend buffers), `blend` (record the blends front to back, then visit them back to
//! front and write each one's partials) and `gather` (one thread a tile entry adds its tile's
//! pixels' partials in a fixed order). No atomics: the result is the same on every run. The
//! image is processed in bands of whole tile rows so that the blend buffers (32 bytes a
//! blend) stay within the device's storage binding size.
//!
//! Same model and stop-gradients as the CPU pass; they differ by f32 rounding (and, where
//! `exp` rounds differently, by a pixel that crosses a cut-off), see
//! `tests/render_gradients.rs`.

use anyhow::{bail, Context, Result};
use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::backward::{check, gradients, Partial};
use super::{ForwardTape, SplatGradients, TILE};
use crate::gpu::{
    bind_buffers, compute_layout,
    Binding::{StorageRead as R, StorageWrite as W, Uniform as U},
    GpuContext,
};
use crate::render::SplatCloud;
use crate::scene::Camera;
use crate::video::RgbFrame;

/// `Params` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Params {
    size: [u32; 4],
    band: [u32; 4],
    entries: [u32; 4],
    background: [f32; 4],
}

/// `Splat` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct GpuSplat {
    centre_opacity: [f32; 4],
    conic: [f32; 4],
    colour: [f32; 4],
    bbox: [u32; 4],
}

/// Bytes of a pixel slot in each of the two slot buffers.
const SLOT_BYTES: u64 = 16;

/// What [`SplatBackward::run`] returns.
#[derive(Clone, Debug, Default)]
pub struct GpuGradients {
    pub gradients: SplatGradients,
    /// Splats each pixel blended, as the GPU counted them (row-major).
    pub blends: Vec<u32>,
    /// Bands of tile rows the image was processed in.
    pub bands: usize,
}

/// The pipelines of the GPU backward pass (build once, run per frame).
pub struct SplatBackward {
    layout: wgpu::BindGroupLayout,
    blend: wgpu::ComputePipeline,
    gather: wgpu::ComputePipeline,
    /// Pixel slots one band may hold.
    band_slots: u64,
    /// Bytes one storage binding may hold.
    binding: u64,
}

impl SplatBackward {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let layout = compute_layout(
            &ctx.device,
            "splat_backward",
            &[U, R, R, R, R, R, W, W, W, W],
        );
        let src = include_str!("../../../shaders/splat_backward.wgsl");
        let pipe = |e| ctx.compute_pipeline(&format!("splat_backward.{e}"), src, e, &[&layout]);
        let limits = ctx.device.limits();
        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        Ok(SplatBackward {
            blend: pipe("blend")?,
            gather: pipe("gather")?,
            layout,
            band_slots: binding / SLOT_BYTES,
            binding,
        })
    }

    /// Caps the pixel slots of one band (tests use it to force several bands).
    pub fn with_band_slots(mut self, slots: u64) -> Self {
        self.band_slots = slots.clamp(1, self.band_slots);
        self
    }

    /// Pixel slots [`Self::run`] needs for `tape`: one per pixel of each (tile, splat)
    /// entry's box within its tile.
    pub fn slots(tape: &ForwardTape) -> u64 {
        entry_areas(tape).sum()
    }

    /// [`Self::slots`] per row of tiles.
    pub fn row_slots(tape: &ForwardTape) -> Vec<u64> {
        let tiles = &tape.tiles;
        let per_row = tiles.tiles_x as usize;
        let mut areas = entry_areas(tape);
        (0..tiles.len() / per_row.max(1))
            .map(|row| {
                let n = tiles.offsets()[(row + 1) * per_row] - tiles.offsets()[row * per_row];
                areas.by_ref().take(n).sum()
            })
            .collect()
    }

    /// `∂L/∂` the means, colours and opacities of `cloud`, as [`super::backward`] computes
    /// them, for the same arguments.
    pub fn run(
        &self,
        ctx: &GpuContext,
        cloud: &SplatCloud,
        camera: &Camera,
        background: [f32; 3],
        tape: &ForwardTape,
        d_image: &RgbFrame<f64>,
    ) -> Result<GpuGradients> {
        check(cloud, camera, background, tape, d_image)?;
        let (w, h) = (tape.width, tape.height);
        let tiles = &tape.tiles;
        let entries = tiles.entries();
        if entries == 0 {
            return Ok(GpuGradients {
                gradients: gradients(cloud, camera, tape, &[]),
                blends: vec![0; (w * h) as usize],
                bands: 0,
            });
        }
        let too_many = |what: &str, n: usize| -> Result<u32> {
            u32::try_from(n).with_context(|| format!("{n} {what}: more than the GPU pass indexes"))
        };
        too_many("tile entries", 2 * entries)?;
        let splats: Vec<GpuSplat> = tape
            .splats
            .iter()
            .map(|s| GpuSplat {
                centre_opacity: [s.p.centre.x, s.p.centre.y, s.p.alpha, 0.0],
                conic: [s.p.conic.x, s.p.conic.y, s.p.conic.z, 0.0],
                colour: [s.p.colour.x, s.p.colour.y, s.p.colour.z, 0.0],
                bbox: s.bbox,
            })
            .collect();
        let offsets: Vec<u32> = tiles.offsets().iter().map(|&o| o as u32).collect();
        // every entry's slots: one per pixel of its box within the tile, entry after entry
        let mut entry_slot = Vec::with_capacity(entries + 1);
        let mut slots = 0u64;
        for area in entry_areas(tape) {
            entry_slot.push(too_many("pixel slots", slots as usize)?);
            slots += area;
        }
        entry_slot.push(too_many("pixel slots", slots as usize)?);
        let grad: Vec<[f32; 4]> = d_image
            .rgb
            .iter()
            .map(|g| [g[0] as f32, g[1] as f32, g[2] as f32, 0.0])
            .collect();
        let pixels = (w * h) as usize;
        let buffers = [
            ctx.storage_init("splat_backward.splats", &splats),
            ctx.storage_init("splat_backward.tile_offsets", &offsets),
            ctx.storage_init("splat_backward.tile_entries", tiles.all()),
            ctx.storage_init("splat_backward.entry_slot", &entry_slot),
            ctx.storage_init("splat_backward.d_image", &grad),
        ];

        // bands of whole tile rows, each within the slot buffers
        let tiles_y = h.div_ceil(TILE);
        let row_entry = |ty: u32| offsets[(ty.min(tiles_y) * tiles.tiles_x) as usize] as usize;
        let row_slot = |ty: u32| entry_slot[row_entry(ty)] as u64;
        let bands = bands(tiles_y, self.band_slots, row_slot)
            .with_context(|| format!("the GPU backward pass of a {w}x{h} image"))?;
        if entries as u64 * 32 > self.binding {
            bail!("{entries} tile entries: more than one GPU buffer holds");
        }
        let largest = bands
            .iter()
            .map(|&(a, b)| row_slot(b) - row_slot(a))
            .max()
            .unwrap_or(0);
        let slot_buf = |name| {
            ctx.storage(
                name,
                largest.max(1) * SLOT_BYTES,
                wgpu::BufferUsages::empty(),
            )
        };
        let outputs = [
            ctx.storage(
                "splat_backward.pixel_blends",
                4 * pixels as u64,
                wgpu::BufferUsages::empty(),
            ),
            slot_buf("splat_backward.slot_a"),
            slot_buf("splat_backward.slot_b"),
            ctx.storage(
                "splat_backward.entry_grad",
                entries as u64 * 32,
                wgpu::BufferUsages::empty(),
            ),
        ];
        for &(t0, t1) in &bands {
            let (y0, y1) = (t0 * TILE, (t1 * TILE).min(h));
            let (e0, e1) = (row_entry(t0) as u32, row_entry(t1) as u32);
            let p = Params {
                size: [w, h, tiles.tiles_x, 0],
                band: [y0, y1, row_slot(t0) as u32, 0],
                entries: [e0, e1, 0, 0],
                background: [background[0], background[1], background[2], 0.0],
            };
            let bg = self.bind(ctx, &p, &buffers, &outputs);
            self.dispatch(
                ctx,
                &bg,
                &self.blend,
                [w.div_ceil(8), (y1 - y0).div_ceil(8), 1],
            );
            let groups = (e1 - e0).div_ceil(64);
            let gx = groups.min(65_535);
            self.dispatch(ctx, &bg, &self.gather, [gx, groups.div_ceil(gx.max(1)), 1]);
        }
        let blends: Vec<u32> = ctx.read(&outputs[0])?;
        let blends = blends[..pixels].to_vec();
        let out = &outputs[3];
        let sums: Vec<[f32; 4]> = ctx.read(out)?;
        let per_entry: Vec<Partial> = (0..entries)
            .map(|e| {
                let (a, c) = (sums[2 * e], sums[2 * e + 1]);
                [a[0], a[1], c[0], c[1], c[2], a[2]].map(|v| v as f64)
            })
            .collect();
        Ok(GpuGradients {
            gradients: gradients(cloud, camera, tape, &per_entry),
            blends,
            bands: bands.len(),
        })
    }

    fn bind(
        &self,
        ctx: &GpuContext,
        params: &Params,
        inputs: &[wgpu::Buffer; 5],
        outputs: &[wgpu::Buffer; 4],
    ) -> wgpu::BindGroup {
        let uniform = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("splat_backward.params"),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut all: Vec<&wgpu::Buffer> = vec![&uniform];
        all.extend(inputs.iter());
        all.extend(outputs.iter());
        bind_buffers(&ctx.device, "splat_backward", &self.layout, &all, None)
    }

    fn dispatch(
        &self,
        ctx: &GpuContext,
        bg: &wgpu::BindGroup,
        pipe: &wgpu::ComputePipeline,
        groups: [u32; 3],
    ) {
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipe);
            pass.set_bind_group(0, bg, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
        ctx.queue.submit([enc.finish()]);
    }
}

/// Pixels of each (tile, splat) entry's box within its tile, entries in tile order.
fn entry_areas(tape: &ForwardTape) -> impl Iterator<Item = u64> + '_ {
    let tiles = &tape.tiles;
    (0..tiles.len()).flat_map(move |t| {
        let area = super::tile_area(t, tiles.tiles_x, tape.width, tape.height);
        tiles.list(t).iter().map(move |&e| {
            let b = tape.splats[e as usize].bbox;
            let x = b[1].min(area[1]).saturating_sub(b[0].max(area[0]));
            let y = b[3].min(area[3]).saturating_sub(b[2].max(area[2]));
            (x * y) as u64
        })
    })
}

/// Bands `(first, end)` of consecutive tile rows (of `rows`) whose slots (`row_slot(r)`: the
/// first slot of row `r`) fit in `cap`.
fn bands(rows: u32, cap: u64, row_slot: impl Fn(u32) -> u64) -> Result<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < rows {
        let mut end = start + 1;
        let need = row_slot(end) - row_slot(start);
        if need > cap {
            bail!(
                "tile row {start} needs {need} pixel slots, more than the {cap} a GPU buffer holds"
            );
        }
        while end < rows && row_slot(end + 1) - row_slot(start) <= cap {
            end += 1;
        }
        out.push((start, end));
        start = end;
    }
    Ok(out)
}
