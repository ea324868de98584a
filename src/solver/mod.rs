//! The deterministic WGSL MPM solver (MLS-MPM / APIC, quadratic B-splines).
//!
//! One substep is a copy of the particle state into a texel table and eight dispatches in four
//! stages, each a module with a WGSL file of its name: `sort` (bin particles into cells,
//! prefix sums, active node blocks), `stress` (Kirchhoff stress and the P2G record in
//! cell-sorted order), `p2g` (per-node gather, then the grid update of the summed nodes:
//! forces, anchors, walls, ground) and `g2p` (transfer back, F and x update, poke and drag;
//! it also empties the cell counts, `sort::unbin`'s job on the reverse pass, and bins the new
//! positions for the next substep of the batch, whose sort then skips its `bin` dispatch);
//! between the stress stage and P2G the records are copied into their texel table.
//! Anchored particles stay out of the binning, the stress stage and P2G: the nodes they stop
//! are marked by `anchor_mask` when the state is set or restored, and G2P leaves them at rest.
//! Determinism: no float atomics anywhere; P2G is a gather over particles sorted by (cell,
//! particle index), so sums happen in a fixed order and two runs on one adapter give
//! bit-identical states. The stages fetch what they read from texel tables
//! ([`stage::Texels`]): on a CPU adapter (lavapipe) a texel fetch costs a fraction of a
//! storage-buffer load, which it does lane by lane. The particle state is copied into a
//! table before every substep and the P2G records after the stress stage (memory copies: a
//! stage storing texels costs a CPU adapter a loop a lane and component), the material and
//! the control records are written to tables with their buffers; P2G writes the grid
//! velocities as the texels G2P reads. Substeps are out-of-place: particle state ping-pongs
//! between two buffers, and the per-particle material is a buffer of its own.
//! Reverse-mode gradients of whole clips: [`adjoint`] (one adjoint stage per forward stage,
//! `*_adjoint.rs` with a WGSL file of the same name).

pub mod adjoint;
mod adjoint_debug;
mod anchor_mask;
pub mod config;
mod control;
mod encode;
pub mod g2p;
pub mod g2p_adjoint;
mod grid_tape;
pub mod grid_update_adjoint;
pub mod layout;
pub mod p2g;
pub mod p2g_adjoint;
pub mod profile;
mod readback;
pub mod reference;
pub mod sort;
mod stage;
pub mod stress;
pub mod stress_adjoint;
pub mod tape;
mod validate;

pub use config::*;
pub use layout::GpuParticle;
pub use validate::SolverError;

use crate::gpu::GpuContext;
use crate::particles::ParticleSet;
use anyhow::Result;
use glam::{Mat3, Vec3};
use layout::*;
use stage::{Stage, Texels};

/// Substeps encoded into one submission at most (one parameter record each).
pub const MAX_BATCH: usize = 512;
/// Substeps per submission while profiling (two timestamps per stage each).
const PROFILE_BATCH: usize = 256;

/// What one call to [`Solver::step_frame`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameStats {
    pub substeps: u32,
    pub dt: f32,
    /// Largest particle speed seen at the end of the frame (m/s).
    pub max_speed: f32,
}

/// A copy of the particle state on the GPU, restorable with [`Solver::restore`].
pub struct Snapshot {
    buffer: wgpu::Buffer,
    time: f64,
    step: u64,
    /// The largest particle speed (it sets the next frame's substeps).
    max_speed: f32,
}

pub struct Solver {
    ctx: GpuContext,
    cfg: SolverConfig,
    n: u32,
    particles: [wgpu::Buffer; 2],
    material: wgpu::Buffer,
    /// What `material` holds (only this solver writes it).
    material_host: Vec<[f32; 4]>,
    ctl: wgpu::Buffer,
    ctl_host: Vec<GpuCtl>,
    params: wgpu::Buffer,
    params_stride: u64,
    status: wgpu::Buffer,
    active: wgpu::Buffer,
    grid: wgpu::Buffer,
    grid_v: wgpu::Buffer,
    /// The grid velocities again, as texels (G2P and its adjoint read these).
    grid_v_tex: Texels,
    records: wgpu::Buffer,
    /// The P2G records again, as texels (P2G reads these).
    record_tex: Texels,
    /// Each particle's index in the cell-sorted records (written by the stress stage where
    /// `keep_buffers` says).
    slot: wgpu::Buffer,
    cell_start: wgpu::Buffer,
    /// Row counts then row starts, one set per particle buffer (see `Groups`).
    rows: [wgpu::Buffer; 2],
    /// Per grid node: 1 where an anchored particle touches it (`anchor_mask`).
    anchor_mask: wgpu::Buffer,
    anchors: anchor_mask::Anchors,
    stages: [Stage; 4],
    groups: Groups,
    /// The particle state a substep starts from, as texels (see `state_texel` in
    /// `shaders/mpm_common.wgsl`): copied from the particle buffer before every substep.
    state_tex: Texels,
    /// `material` and `ctl` again, as texels (one a particle, see [`GpuCtl::texel`]), for the
    /// binning, stress and G2P stages: written with the buffers.
    material_tex: Texels,
    ctl_tex: Texels,
    cur: usize,
    time: f64,
    step: u64,
    max_wave_speed: f32,
    max_speed: f32,
    pokes: Vec<Poke>,
    drag: Option<Drag>,
    profiler: Option<profile::Profiler>,
    /// Adjoint pipelines and buffers, built on the first backward pass.
    adjoint: Option<Box<adjoint::AdjointState>>,
    /// The backward pass's tape of one frame, built with it.
    tape: Option<Box<tape::Tape>>,
    tape_budget: u64,
    /// Whether substeps also write the buffers of record slots, grid sums and grid velocities
    /// (see [`Solver::keep_buffers`]).
    keep_buffers: bool,
}

/// Bind groups of the stages, `[i]` for a substep that reads particle buffer i (G2P's
/// writes buffer 1 - i; the others read the state from its texel copy). With the particle
/// buffers alternate the cell counts, row counts and particle bins, so that G2P can bin the
/// new positions for the next substep while it empties the counts of this one.
struct Groups {
    sort: [wgpu::BindGroup; 2],
    stress: [wgpu::BindGroup; 2],
    p2g: [wgpu::BindGroup; 2],
    g2p: [wgpu::BindGroup; 2],
}

impl Solver {
    /// Uploads `set` and builds the pipelines; every input is validated first
    /// (see [`SolverError`]).
    pub fn new(ctx: &GpuContext, cfg: SolverConfig, set: &ParticleSet) -> Result<Self> {
        validate::check(&cfg, set, &ctx.device.limits())?;
        let n = set.len() as u32;
        let res = cfg.grid_res;
        let nodes = (res as u64).pow(3);
        let n_blocks = (res / 8) * (res / 4) * (res / 4);
        let init: Vec<GpuParticle> = (0..set.len())
            .map(|i| GpuParticle::new(set.position[i], set.velocity[i], Mat3::ZERO, Mat3::IDENTITY))
            .collect();
        let material_host: Vec<[f32; 4]> = (0..set.len())
            .map(|i| [set.young[i], set.poisson[i], set.mass(i), set.volume[i]])
            .collect();
        let ctl_host: Vec<GpuCtl> = set
            .anchored
            .iter()
            .map(|&a| GpuCtl {
                offset: [0.0; 3],
                flags: if a { FLAG_ANCHORED } else { 0 },
            })
            .collect();
        let stride = (std::mem::size_of::<GpuParams>() as u64)
            .max(ctx.device.limits().min_uniform_buffer_offset_alignment as u64);
        let stride = stride.div_ceil(256) * 256;
        let params = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: stride * MAX_BATCH as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let none = wgpu::BufferUsages::empty();
        let particles = [
            ctx.storage_init("particles0", &init),
            ctx.storage_init("particles1", &init),
        ];
        let material = ctx.storage_init("material", &material_host);
        let ctl = ctx.storage_init("ctl", &ctl_host);
        let status = ctx.storage_init("status", &[u32::MAX, u32::MAX, 0, 0]);
        // two sets of bins: a substep reading particle buffer i uses set i (see `Groups`)
        let cell_count = [0, 1].map(|i| ctx.storage(&format!("cell_count{i}"), nodes * 4, none));
        let particle_bin =
            [0, 1].map(|i| ctx.storage(&format!("particle_bin{i}"), n as u64 * 8, none));
        let rows = [0, 1].map(|i| ctx.storage(&format!("rows{i}"), (res as u64).pow(2) * 8, none));
        let block_mark = ctx.storage("block_mark", n_blocks as u64 * 4, none);
        let cell_start = ctx.storage("cell_start", (nodes + 1) * 4, none);
        let sorted_id = ctx.storage("sorted_id", n as u64 * 4, none);
        let active = ctx.storage(
            "active",
            (3 + n_blocks as u64) * 4,
            wgpu::BufferUsages::INDIRECT,
        );
        let records = ctx.storage("records", n as u64 * P2G_RECORD_BYTES, none);
        let slot = ctx.storage("slot", n as u64 * 4, none);
        let record_tex = Texels::new(ctx, "records", 4 * n as u64)?;
        let grid = ctx.storage("grid", nodes * GRID_MOMENTUM_BYTES, none);
        let grid_v = ctx.storage("grid_v", nodes * 12, none);
        let grid_v_tex = Texels::new(ctx, "grid_v", nodes)?;
        let anchor_mask = ctx.storage("anchor_mask", nodes * 4, none);
        let state_tex = Texels::new(ctx, "state", 8 * n as u64)?;
        let material_tex = Texels::new(ctx, "material", n as u64)?;
        let ctl_tex = Texels::new(ctx, "ctl", n as u64)?;
        material_tex.write(&ctx.queue, &material_host);
        let ctl_texels: Vec<[f32; 4]> = ctl_host.iter().map(GpuCtl::texel).collect();
        ctl_tex.write(&ctx.queue, &ctl_texels);
        let anchors = anchor_mask::Anchors::new(ctx, stride, &particles, &ctl, &anchor_mask)?;
        let stages = [
            sort::build(ctx)?,
            stress::build(ctx)?,
            p2g::build(ctx)?,
            g2p::build(ctx)?,
        ];
        let [s_sort, s_stress, s_p2g, s_g2p] = &stages;
        let groups = Groups {
            sort: [0, 1].map(|i| {
                let res = vec![
                    state_tex.binding(),
                    cell_count[i].as_entire_binding(),
                    particle_bin[i].as_entire_binding(),
                    rows[i].as_entire_binding(),
                    cell_start.as_entire_binding(),
                    sorted_id.as_entire_binding(),
                    active.as_entire_binding(),
                    block_mark.as_entire_binding(),
                    ctl_tex.binding(),
                ];
                s_sort.bind_with(ctx, &params, res)
            }),
            stress: [0, 1].map(|i| {
                let res = vec![
                    state_tex.binding(),
                    material_tex.binding(),
                    ctl_tex.binding(),
                    cell_count[i].as_entire_binding(),
                    cell_start.as_entire_binding(),
                    sorted_id.as_entire_binding(),
                    records.as_entire_binding(),
                    slot.as_entire_binding(),
                ];
                s_stress.bind_with(ctx, &params, res)
            }),
            p2g: [0, 1].map(|i| {
                let res = vec![
                    active.as_entire_binding(),
                    cell_start.as_entire_binding(),
                    record_tex.binding(),
                    grid.as_entire_binding(),
                    rows[i].as_entire_binding(),
                    anchor_mask.as_entire_binding(),
                    grid_v.as_entire_binding(),
                    grid_v_tex.binding(),
                ];
                s_p2g.bind_with(ctx, &params, res)
            }),
            g2p: [0, 1].map(|i| {
                let mut res = vec![
                    state_tex.binding(),
                    particles[1 - i].as_entire_binding(),
                    grid_v_tex.binding(),
                    ctl_tex.binding(),
                ];
                let buffers = [
                    &status,
                    &cell_count[i],
                    &rows[i],
                    &cell_count[1 - i],
                    &rows[1 - i],
                    &particle_bin[1 - i],
                ];
                res.extend(buffers.iter().map(|b| b.as_entire_binding()));
                s_g2p.bind_with(ctx, &params, res)
            }),
        };
        let max_speed = set
            .velocity
            .iter()
            .map(|v| v.length())
            .fold(0.0f32, f32::max);
        let mut solver = Solver {
            ctx: ctx.clone(),
            cfg,
            n,
            particles,
            material,
            material_host,
            ctl,
            ctl_host,
            params,
            params_stride: stride,
            status,
            active,
            grid,
            grid_v,
            grid_v_tex,
            records,
            record_tex,
            slot,
            cell_start,
            anchor_mask,
            anchors,
            rows,
            stages,
            groups,
            state_tex,
            material_tex,
            ctl_tex,
            cur: 0,
            time: 0.0,
            step: 0,
            max_wave_speed: 0.0,
            max_speed,
            pokes: Vec::new(),
            drag: None,
            profiler: None,
            adjoint: None,
            tape: None,
            tape_budget: tape::DEFAULT_TAPE_BUDGET,
            keep_buffers: false,
        };
        solver.max_wave_speed =
            validate::max_wave_speed(&set.young, &set.poisson, &set.density, &set.anchored);
        solver.mark_anchors(solver.cur);
        Ok(solver)
    }

    pub fn config(&self) -> &SolverConfig {
        &self.cfg
    }
    pub fn len(&self) -> usize {
        self.n as usize
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// Simulated time (s).
    pub fn time(&self) -> f64 {
        self.time
    }
    /// Substeps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }
    /// The buffer holding the current particle state (array of [`GpuParticle`]).
    pub fn particle_buffer(&self) -> &wgpu::Buffer {
        &self.particles[self.cur]
    }
    /// The per-particle material buffer (`vec4(E, nu, mass, volume)` each).
    pub fn material_buffer(&self) -> &wgpu::Buffer {
        &self.material
    }
    /// Per-particle control records (drag offset, flag bits: 1 anchored, 2 dragged).
    pub fn ctl_buffer(&self) -> &wgpu::Buffer {
        &self.ctl
    }

    /// Starts timing every stage with GPU timestamps (each stage then runs in its own pass,
    /// which itself costs a little); fails where the adapter has no timestamp queries.
    pub fn enable_profiling(&mut self) -> Result<()> {
        self.profiler = Some(profile::Profiler::new(&self.ctx, PROFILE_BATCH)?);
        Ok(())
    }

    /// Total GPU seconds per stage since profiling started, by stage name.
    pub fn profile(&self) -> Option<Vec<(&'static str, f64)>> {
        self.profiler.as_ref().map(|p| p.totals())
    }

    /// Substeps the CFL bound wants for the next frame (uncapped).
    fn cfl_substeps(&self, cfl: f32) -> u32 {
        let frame = self.cfg.frame_dt;
        let t0 = self.time as f32;
        let poke: f32 = self
            .pokes
            .iter()
            .filter(|p| p.start < t0 + frame && t0 < p.start + p.duration)
            .map(|p| p.force.length() * frame.min(p.duration))
            .sum();
        let v = self.max_speed + poke + self.cfg.gravity.length() * frame;
        let mut dt = cfl * self.cfg.dx() / (self.max_wave_speed + v).max(1e-6);
        if let Some(d) = self.drag {
            dt = dt.min(cfl / d.stiffness.max(1e-6).sqrt());
        }
        (frame / dt).ceil().clamp(1.0, u32::MAX as f32) as u32
    }

    /// The substep count and dt of the next frame: fixed, or from the CFL bound.
    pub fn plan_frame(&self) -> (u32, f32) {
        let frame = self.cfg.frame_dt;
        match self.cfg.time_step {
            TimeStep::Fixed(dt) => ((frame / dt).ceil().max(1.0) as u32, dt),
            TimeStep::Adaptive { cfl, max_substeps } => {
                let wanted = self.cfl_substeps_logged(cfl, max_substeps);
                let k = wanted.min(max_substeps);
                (k, frame / k as f32)
            }
        }
    }

    fn cfl_substeps_logged(&self, cfl: f32, max_substeps: u32) -> u32 {
        let wanted = self.cfl_substeps(cfl);
        if wanted > max_substeps {
            log::warn!("CFL wants {wanted} substeps this frame; capped at {max_substeps}");
        }
        wanted
    }

    /// For live use: at most `budget` substeps of the CFL-stable size (never enlarged to fit
    /// the frame), so a heavy frame advances less simulated time instead of going unstable.
    pub fn step_budget(&mut self, budget: u32) -> Result<FrameStats> {
        let (k, dt) = match self.cfg.time_step {
            TimeStep::Fixed(dt) => (
                ((self.cfg.frame_dt / dt).ceil() as u32).clamp(1, budget.max(1)),
                dt,
            ),
            TimeStep::Adaptive { cfl, .. } => {
                let wanted = self.cfl_substeps(cfl);
                (wanted.min(budget.max(1)), self.cfg.frame_dt / wanted as f32)
            }
        };
        self.substeps(k, dt)?;
        Ok(FrameStats {
            substeps: k,
            dt,
            max_speed: self.max_speed,
        })
    }

    /// Advances one frame (`frame_dt`), substeps chosen by [`Self::plan_frame`].
    pub fn step_frame(&mut self) -> Result<FrameStats> {
        let (k, dt) = self.plan_frame();
        self.substeps(k, dt)?;
        Ok(FrameStats {
            substeps: k,
            dt,
            max_speed: self.max_speed,
        })
    }

    /// Whether later substeps also keep their record slots, grid sums and grid velocities in
    /// their buffers, which [`Self::debug_grid`] reads (off by default: forward runs read only
    /// the velocities' texel copy; gradient passes keep them on their own). The P2G records'
    /// buffer ([`Self::debug_records`]) is written either way.
    pub fn keep_buffers(&mut self, on: bool) {
        self.keep_buffers = on;
    }

    /// Runs `count` substeps of `dt`, then checks for blow-up (an error names the substep).
    pub fn substeps(&mut self, count: u32, dt: f32) -> Result<()> {
        self.substeps_unchecked(count, dt);
        self.check()
    }

    /// Encodes and submits `count` substeps without waiting for them (for benchmarks);
    /// call [`Self::check`] afterwards.
    pub fn substeps_unchecked(&mut self, count: u32, dt: f32) {
        let mut left = count as usize;
        while left > 0 {
            let batch = left.min(if self.profiler.is_some() {
                PROFILE_BATCH
            } else {
                MAX_BATCH
            });
            self.encode_batch(batch, dt);
            if let Some(p) = self.profiler.as_mut() {
                p.collect(&self.ctx, batch);
            }
            left -= batch;
        }
    }

    /// Waits for the GPU and turns a recorded blow-up into an error naming the substep;
    /// also refreshes the largest particle speed.
    pub fn check(&mut self) -> Result<()> {
        let s: Vec<u32> =
            bytemuck::pod_collect_to_vec(&self.ctx.read_bytes(&self.status, 0, 16)?);
        self.max_speed = f32::from_bits(s[2]);
        self.forget_reported_speed();
        if s[0] != u32::MAX {
            self.ctx.queue.write_buffer(
                &self.status,
                0,
                bytemuck::cast_slice(&[u32::MAX, u32::MAX]),
            );
            let kind = if s[0] % 4 == 1 {
                "position, velocity or F became NaN/inf"
            } else {
                "left the simulation grid"
            };
            return Err(SolverError::BlowUp {
                step: s[0] / 4,
                particle: s[1],
                what: kind,
            }
            .into());
        }
        Ok(())
    }
}
