//! Encoding substeps: per-substep parameter records and the stages of a substep.

use super::*;

/// The stages' indices in [`profile::STAGES`].
pub(super) const SORT: usize = 0;
pub(super) const STRESS: usize = 1;
pub(super) const P2G: usize = 2;
pub(super) const G2P: usize = 3;

impl Solver {
    pub(super) fn params_for(&self, dt: f32) -> GpuParams {
        let c = &self.cfg;
        let t = self.time as f32;
        let mut p = GpuParams {
            res: c.grid_res,
            n_particles: self.n,
            material: match c.material {
                Material::FixedCorotated => 0,
                Material::NeoHookean => 1,
            },
            wall: match c.wall {
                Wall::None => 0,
                Wall::Slip => 1,
                Wall::Sticky => 2,
            },
            wall_cells: c.wall_cells,
            step: self.step.min(u32::MAX as u64 / 4) as u32,
            ground_on: c.ground.is_some() as u32,
            ground_sticky: c.ground.map(|g| g.sticky as u32).unwrap_or(0),
            dx: c.dx(),
            inv_dx: c.grid_res as f32,
            dt,
            time: t,
            gravity: c.gravity.extend(c.damping).to_array(),
            ground_y: c.ground.map(|g| g.height).unwrap_or(0.0),
            ..Default::default()
        };
        if let Some(k) = self
            .pokes
            .iter()
            .find(|k| k.start <= t && t < k.start + k.duration)
        {
            p.poke_on = 1;
            p.poke_centre = k.centre.extend(k.radius).to_array();
            p.poke_force = k.force.extend(0.0).to_array();
        }
        if let Some(d) = self.drag {
            p.drag_on = 1;
            p.drag_stiffness = d.stiffness;
            p.drag_target = d.target.extend(d.damping).to_array();
        }
        p
    }

    /// Writes the parameter records of the next `batch` substeps of `dt` (advancing the
    /// clock) and returns their offsets in the parameter buffer; `keep_buffers`: whether the
    /// stages also write the buffers of record slots, grid sums and grid velocities;
    /// `bin_ahead`: whether G2P bins the new positions for the next substep of the batch
    /// (which must then skip the sort's `bin`, see `encode_batch`).
    pub(super) fn write_params(
        &mut self,
        batch: usize,
        dt: f32,
        keep_buffers: bool,
        bin_ahead: bool,
    ) -> Vec<u32> {
        assert!(batch <= MAX_BATCH, "at most {MAX_BATCH} substeps per batch");
        let stride = self.params_stride as usize;
        let mut bytes = vec![0u8; stride * batch];
        let mut offsets = Vec::with_capacity(batch);
        for k in 0..batch {
            let mut p = self.params_for(dt);
            p.report_speed = (k + 1 == batch) as u32;
            p.keep_buffers = keep_buffers as u32;
            p.bin_next = (bin_ahead && k + 1 < batch) as u32;
            bytes[k * stride..k * stride + std::mem::size_of::<GpuParams>()]
                .copy_from_slice(bytemuck::bytes_of(&p));
            offsets.push((k * stride) as u32);
            self.time += dt as f64;
            self.step += 1;
        }
        self.ctx.queue.write_buffer(&self.params, 0, &bytes);
        offsets
    }

    pub(super) fn encode_batch(&mut self, batch: usize, dt: f32) {
        let offsets = self.write_params(batch, dt, self.keep_buffers, true);
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        let stages = profile::STAGES.len();
        // Every substep starts with a copy of its state into the texel table, then without a
        // profiler its stages run in two passes (see `encode_stages`); with one, every stage
        // gets its own pass with timestamps around it. The first substep bins its particles;
        // the G2P before each of the others has binned them.
        match self.profiler.as_ref() {
            None => {
                for (k, &off) in offsets.iter().enumerate() {
                    let i = (self.cur + k) % 2;
                    self.copy_state_texels(&mut enc, i);
                    self.encode_stages(&mut enc, 0..stages, off, i, k > 0);
                }
            }
            Some(prof) => {
                for (k, &off) in offsets.iter().enumerate() {
                    let i = (self.cur + k) % 2;
                    self.copy_state_texels(&mut enc, i);
                    for st in 0..stages {
                        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some(profile::STAGES[st]),
                            timestamp_writes: Some(prof.writes(k, st)),
                        });
                        self.dispatch_stage(&mut pass, st, off, i, k > 0);
                        drop(pass);
                        if st == STRESS {
                            self.copy_record_texels(&mut enc);
                        }
                    }
                }
                prof.resolve(&mut enc, batch);
            }
        }
        self.cur = (self.cur + batch) % 2;
        self.ctx.queue.submit([enc.finish()]);
    }

    /// Records the copy of particle buffer `i` into the texel table from which a substep's
    /// binning, stress and G2P stages read the state: due before every substep.
    pub(super) fn copy_state_texels(&self, enc: &mut wgpu::CommandEncoder, i: usize) {
        let texels = 8 * self.n as u64;
        self.state_tex.copy_from(enc, &self.particles[i], texels);
    }

    /// Records the copy of the P2G records, written by the stress stage to their buffer,
    /// into the texel table P2G reads: due between the two. On a CPU adapter a memory copy
    /// costs a fraction of the stress stage storing the texels itself (which it does lane by
    /// lane, component by component).
    pub(super) fn copy_record_texels(&self, enc: &mut wgpu::CommandEncoder) {
        self.record_tex
            .copy_from(enc, &self.records, 4 * self.n as u64);
    }

    /// Records stages `range` (see [`profile::STAGES`]) of a substep reading particle buffer
    /// `i`: those up to the stress stage in one compute pass, then the copy of the records
    /// into their texel table where the stress stage ran, then the rest in a second pass;
    /// `binned`: the G2P before has binned the particles (its parameters' `bin_next`).
    pub(super) fn encode_stages(
        &self,
        enc: &mut wgpu::CommandEncoder,
        range: std::ops::Range<usize>,
        off: u32,
        i: usize,
        binned: bool,
    ) {
        let first = range.start..range.end.min(STRESS + 1);
        let second = range.start.max(STRESS + 1)..range.end;
        if !first.is_empty() {
            let mut pass = enc.begin_compute_pass(&Default::default());
            for st in first.clone() {
                self.dispatch_stage(&mut pass, st, off, i, binned);
            }
        }
        if first.contains(&STRESS) {
            self.copy_record_texels(enc);
        }
        if !second.is_empty() {
            let mut pass = enc.begin_compute_pass(&Default::default());
            for st in second {
                self.dispatch_stage(&mut pass, st, off, i, binned);
            }
        }
    }

    /// Records stage `st` (see [`profile::STAGES`]) of a substep reading particle buffer `i`
    /// (`binned`: as for [`Self::encode_stages`]).
    pub(super) fn dispatch_stage(
        &self,
        pass: &mut wgpu::ComputePass,
        st: usize,
        off: u32,
        i: usize,
        binned: bool,
    ) {
        let [s_sort, s_stress, s_p2g, s_g2p] = &self.stages;
        let (g, n) = (&self.groups, self.n);
        match st {
            SORT => sort::dispatch_bin(
                pass,
                s_sort,
                &g.sort[i],
                off,
                (n, self.cfg.grid_res * self.cfg.grid_res),
                binned,
            ),
            STRESS => s_stress.dispatch_particles(pass, 0, &g.stress[i], off, n),
            P2G => s_p2g.dispatch_blocks(pass, 0, &g.p2g[i], off, &self.active),
            G2P => s_g2p.dispatch_particles(pass, 0, &g.g2p[i], off, n),
            _ => unreachable!("stage {st} of {}", profile::STAGES.len()),
        }
    }
}
