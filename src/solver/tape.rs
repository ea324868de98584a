//! The tape of one frame on the backward pass.
//!
//! For each substep of the frame being differentiated the tape keeps its input particle
//! state and, while they fit in [`Solver::set_tape_budget`]'s budget, its P2G records, record
//! slots and the grid of its active blocks (`grid_tape`). With those, a reverse substep
//! only rebins the particles (for the gathers' cell lists) before its adjoint stages; without
//! them it recomputes the stress, P2G and the grid update too. Both ways give bit-identical
//! gradients: the forward stages are deterministic.

use super::encode::{G2P, P2G, SORT};
use super::*;
use anyhow::Result;

/// The default budget for the records and grids on the tape (bytes).
pub const DEFAULT_TAPE_BUDGET: u64 = 512 << 20;

/// Bytes of the records, record slots and grids of `blocks` node blocks taped for each of
/// `substeps` substeps of `n` particles.
pub fn taped_bytes(n: u64, substeps: u64, blocks: u64) -> u64 {
    substeps * (n * (P2G_RECORD_BYTES + 4) + blocks * grid_tape::BLOCK_BYTES)
}

pub(super) struct Tape {
    stage: Stage,
    /// Input particle state of each substep.
    states: Vec<wgpu::Buffer>,
    /// P2G records, then record slots, of each substep.
    records: Vec<wgpu::Buffer>,
    /// Active-block grid of each substep, and its `grid_tape` bind group.
    grids: Vec<(wgpu::Buffer, wgpu::BindGroup)>,
    /// Node blocks each grid tape holds (0 until a frame has been taped).
    capacity: u32,
    /// Whether the last frame's records and grids went on the tape.
    fitted: bool,
    /// The largest active-block count `grid_tape::store` saw since it was last cleared.
    high_water: wgpu::Buffer,
}

impl Tape {
    pub(super) fn new(ctx: &GpuContext) -> Result<Self> {
        Ok(Tape {
            stage: grid_tape::build(ctx)?,
            states: Vec::new(),
            records: Vec::new(),
            grids: Vec::new(),
            capacity: 0,
            fitted: false,
            high_water: ctx.storage("tape high water", 4, wgpu::BufferUsages::empty()),
        })
    }

    /// Bytes of records and grids for `count` substeps of `capacity` blocks each.
    fn bytes(s: &Solver, count: usize, capacity: u32) -> u64 {
        taped_bytes(s.n as u64, count as u64, capacity as u64)
    }

    /// Makes room for `count` substeps of particle states, and of records and grids of
    /// `capacity` blocks (rebuilding the grids when the capacity changes).
    fn reserve(&mut self, s: &Solver, count: usize, capacity: u32) {
        let none = wgpu::BufferUsages::empty();
        while self.states.len() < count {
            let size = s.particles[0].size();
            self.states.push(s.ctx.storage("tape state", size, none));
        }
        if capacity == 0 {
            return;
        }
        while self.records.len() < count {
            let size = s.records.size() + s.slot.size();
            self.records.push(s.ctx.storage("tape records", size, none));
        }
        if capacity != self.capacity {
            self.grids.clear();
            self.capacity = capacity;
        }
        while self.grids.len() < count {
            let size = capacity as u64 * grid_tape::BLOCK_BYTES;
            let buf = s.ctx.storage("tape grid", size, none);
            let buffers = [&s.active, &s.grid, &s.grid_v, &buf, &self.high_water];
            let mut res: Vec<_> = buffers.iter().map(|b| b.as_entire_binding()).collect();
            res.push(s.grid_v_tex.binding());
            let group = self.stage.bind_with(&s.ctx, &s.params, res);
            self.grids.push((buf, group));
        }
    }
}

impl Solver {
    /// Node blocks per substep the tape holds grids for (0 before a backward pass, or when
    /// they did not fit the budget).
    pub fn tape_blocks(&self) -> u32 {
        self.tape
            .as_ref()
            .map_or(0, |t| if t.fitted { t.capacity } else { 0 })
    }

    /// Sets the most bytes the backward pass may spend on taping the P2G records and grids
    /// of a frame's substeps (default [`DEFAULT_TAPE_BUDGET`]); a frame that needs more is
    /// differentiated by recomputing them instead (slower, same gradients). 0 never tapes them.
    /// Setting it frees the records and grids taped so far (particle states stay).
    pub fn set_tape_budget(&mut self, bytes: u64) {
        self.tape_budget = bytes;
        if let Some(t) = self.tape.as_mut() {
            t.records.clear();
            t.grids.clear();
            t.capacity = 0;
            t.fitted = false;
        }
    }

    /// Restores `start` and runs `count` substeps of `dt`, taping each substep; returns the
    /// parameter offsets of the substeps and whether their records and grids are on the tape.
    pub(super) fn record_tape(
        &mut self,
        start: &Snapshot,
        count: usize,
        dt: f32,
    ) -> Result<(Vec<u32>, bool)> {
        let mut tape = self.tape.take().expect("built by backward");
        let result = self.record_tape_with(&mut tape, start, count, dt);
        tape.fitted = matches!(result, Ok((_, true)));
        self.tape = Some(tape);
        result
    }

    fn record_tape_with(
        &mut self,
        tape: &mut Tape,
        start: &Snapshot,
        count: usize,
        dt: f32,
    ) -> Result<(Vec<u32>, bool)> {
        // Before any frame was taped the grid size is unknown: tape one block to learn it.
        let mut capacity = tape.capacity.max(1);
        if Tape::bytes(self, count, capacity) > self.tape_budget {
            capacity = 0;
        }
        loop {
            self.restore(start);
            // the adjoint of P2G reads the records, from the tape or recomputed with these
            // parameters
            let offsets = self.write_params(count, dt, true, false);
            tape.reserve(self, count, capacity);
            let taped = capacity > 0;
            if taped {
                self.ctx
                    .queue
                    .write_buffer(&tape.high_water, 0, bytemuck::bytes_of(&0u32));
            }
            let size = self.particles[0].size();
            let (records, slot) = (self.records.size(), self.slot.size());
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            for (s, &off) in offsets.iter().enumerate() {
                let i = (self.cur + s) % 2;
                enc.copy_buffer_to_buffer(&self.particles[i], 0, &tape.states[s], 0, size);
                self.copy_state_texels(&mut enc, i);
                self.encode_stages(&mut enc, SORT..P2G + 1, off, i, false);
                let mut pass = enc.begin_compute_pass(&Default::default());
                if taped {
                    let (_, group) = &tape.grids[s];
                    let active = &self.active;
                    tape.stage
                        .dispatch_blocks(&mut pass, grid_tape::STORE, group, off, active);
                    drop(pass);
                    let dst = &tape.records[s];
                    enc.copy_buffer_to_buffer(&self.records, 0, dst, 0, records);
                    enc.copy_buffer_to_buffer(&self.slot, 0, dst, records, slot);
                    pass = enc.begin_compute_pass(&Default::default());
                }
                self.dispatch_stage(&mut pass, G2P, off, i, false);
            }
            self.cur = (self.cur + count) % 2;
            self.ctx.queue.submit([enc.finish()]);
            if !taped {
                return Ok((offsets, false));
            }
            let seen = self.ctx.read::<u32>(&tape.high_water)?[0];
            log::debug!(
                "tape: {count} substeps, {seen} active blocks at most, room for {capacity}"
            );
            if seen <= capacity {
                return Ok((offsets, true));
            }
            // Grow with some room, or give up taping grids for this frame (the particle
            // states on the tape are complete either way).
            let want = seen + seen / 4 + 1;
            if Tape::bytes(self, count, want) > self.tape_budget {
                return Ok((offsets, false));
            }
            capacity = want;
        }
    }

    /// The adjoint of one frame whose tape was just recorded: the adjoint after the frame is
    /// in `adj[cur]`; returns the index of the buffer holding the adjoint before it.
    pub(super) fn backward_frame(&self, offsets: &[u32], taped: bool, mut cur: usize) -> usize {
        let a = self.adjoint.as_ref().expect("built by backward");
        let tape = self.tape.as_ref().expect("built by backward");
        let size = self.particles[0].size();
        let (records, slot) = (self.records.size(), self.slot.size());
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        for (s, &off) in offsets.iter().enumerate().rev() {
            enc.copy_buffer_to_buffer(&tape.states[s], 0, &self.particles[0], 0, size);
            if taped {
                let src = &tape.records[s];
                enc.copy_buffer_to_buffer(src, 0, &self.records, 0, records);
                enc.copy_buffer_to_buffer(src, records, &self.slot, 0, slot);
            }
            self.copy_state_texels(&mut enc, 0);
            // the forward stages up to the grid update: binning always, the rest from the
            // tape or recomputed
            let mut pass = if taped {
                let mut pass = enc.begin_compute_pass(&Default::default());
                self.dispatch_stage(&mut pass, SORT, off, 0, false);
                let (_, group) = &tape.grids[s];
                let active = &self.active;
                tape.stage
                    .dispatch_blocks(&mut pass, grid_tape::LOAD, group, off, active);
                pass
            } else {
                self.encode_stages(&mut enc, SORT..P2G + 1, off, 0, false);
                enc.begin_compute_pass(&Default::default())
            };
            a.dispatch_substep(self, &mut pass, off, cur);
            cur = 1 - cur;
        }
        self.ctx.queue.submit([enc.finish()]);
        cur
    }
}
