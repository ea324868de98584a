//! Reading the particle state back, writing it, snapshots, and views of the internal buffers
//! for the stage tests.

use super::*;

/// Active block ids, grid momentum records (mv, m, anchored mass, padding) and grid
/// velocities, block-major.
pub type GridDebug = (Vec<u32>, Vec<[f32; 8]>, Vec<[f32; 3]>);

impl Solver {
    /// The full particle state, read back.
    pub fn state(&self) -> Result<Vec<GpuParticle>> {
        let mut v: Vec<GpuParticle> = self.ctx.read(&self.particles[self.cur])?;
        v.truncate(self.n as usize);
        Ok(v)
    }

    /// Particle positions, read back.
    pub fn positions(&self) -> Result<Vec<Vec3>> {
        Ok(self.state()?.iter().map(|p| p.position()).collect())
    }

    /// Overwrites the particle state (e.g. with a state from the CPU reference).
    pub fn set_state(&mut self, state: &[GpuParticle]) -> Result<()> {
        if state.len() != self.n as usize {
            return Err(SolverError::Length {
                field: "state",
                expected: self.n as usize,
                got: state.len(),
            }
            .into());
        }
        self.ctx
            .queue
            .write_buffer(&self.particles[self.cur], 0, bytemuck::cast_slice(state));
        self.mark_anchors(self.cur);
        // the next frame's substeps follow from this state alone, as after a fresh start
        self.max_speed = state
            .iter()
            .map(|p| p.velocity().length())
            .fold(0.0, f32::max);
        self.forget_reported_speed();
        Ok(())
    }

    /// A GPU copy of the particle state and clock.
    pub fn snapshot(&self) -> Snapshot {
        let src = &self.particles[self.cur];
        let buffer = self
            .ctx
            .storage("snapshot", src.size(), wgpu::BufferUsages::empty());
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, 0, &buffer, 0, src.size());
        self.ctx.queue.submit([enc.finish()]);
        Snapshot {
            buffer,
            time: self.time,
            step: self.step,
            max_speed: self.max_speed,
        }
    }

    /// Puts back a state taken by [`Self::snapshot`].
    pub fn restore(&mut self, snap: &Snapshot) {
        let dst = &self.particles[self.cur];
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&snap.buffer, 0, dst, 0, dst.size());
        self.ctx.queue.submit([enc.finish()]);
        self.mark_anchors(self.cur);
        self.time = snap.time;
        self.step = snap.step;
        self.max_speed = snap.max_speed;
        self.forget_reported_speed();
    }

    /// Clears the largest speed the GPU has reported since the last check: substeps run
    /// without a check (a backward pass's recomputed frames) leave theirs there, and the next
    /// frame after a new state must not take it for its own.
    pub(super) fn forget_reported_speed(&self) {
        self.ctx
            .queue
            .write_buffer(&self.status, 8, bytemuck::cast_slice(&[0u32]));
    }

    /// Grid velocities (xyz per node, block-major order) of the last substep's active
    /// nodes, and the grid momentum records; for tests of the grid stages. Substeps write
    /// them only after [`Solver::keep_buffers`]`(true)` (and on gradient passes).
    pub fn debug_grid(&self) -> Result<GridDebug> {
        let active: Vec<u32> = self.ctx.read(&self.active)?;
        let count = active[0] as usize;
        let blocks = active[3..3 + count].to_vec();
        Ok((
            blocks,
            self.ctx.read(&self.grid)?,
            self.ctx.read(&self.grid_v)?,
        ))
    }

    /// The P2G records of the last substep (cell-sorted; see [`layout::unpack_record`]; the
    /// particles that are not anchored), for tests of the stress stage (every substep
    /// writes them).
    pub fn debug_records(&self) -> Result<Vec<[f32; 16]>> {
        let mut r: Vec<[f32; 16]> = self.ctx.read(&self.records)?;
        // anchored particles have no record
        let free = self
            .ctl_host
            .iter()
            .filter(|c| c.flags & FLAG_ANCHORED == 0);
        r.truncate(free.count());
        Ok(r)
    }
}
