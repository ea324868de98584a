//! Adjoint stages on their own, for tests: the stress stage's, G2P's (with the node gather)
//! and, after a backward pass, the node adjoints of its last substep.

use super::encode::{P2G, SORT, STRESS};
use super::*;
use anyhow::bail;
use bytemuck::Zeroable;

impl Solver {
    /// The common start of the probes below: checks the lengths of `state` and of another
    /// input (`other`: its name, length and the length wanted), builds the adjoint stages,
    /// writes one substep's parameters for `dt` without advancing the clock and puts `state`
    /// in particle buffer 0. Returns the substep's parameter offset.
    fn probe_substep(
        &mut self,
        probe: &str,
        state: &[GpuParticle],
        other: (&str, usize, usize),
        dt: f32,
    ) -> Result<u32> {
        let n = self.n as usize;
        let (what, len, want) = other;
        if state.len() != n || len != want {
            bail!(
                "{probe}: {} states for {n} particles and {len} {what} (want {want})",
                state.len()
            );
        }
        self.build_adjoint()?;
        let (time, step) = (self.time, self.step);
        let off = self.write_params(1, dt, true, false)[0];
        (self.time, self.step) = (time, step);
        let q = &self.ctx.queue;
        q.write_buffer(&self.particles[0], 0, bytemuck::cast_slice(state));
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        self.copy_state_texels(&mut enc, 0);
        q.submit([enc.finish()]);
        self.mark_anchors(0);
        Ok(off)
    }
}

/// Per particle (adjoint of C, adjoint of F), and (d ln E, d ν).
pub type StressAdjoint = (Vec<(Mat3, Mat3)>, Vec<[f32; 2]>);

impl Solver {
    /// For tests of the stress stage's adjoint alone: with particle states `state` (C and F
    /// matter) and `a_adj`, the adjoint of each particle's A = m C − dt V (4 / dx²) τ, returns
    /// the adjoints of C and F, and of (ln E, ν), for a substep of `dt`. Leaves the solver's
    /// particle state undefined (set it again before stepping).
    pub fn debug_stress_adjoint(
        &mut self,
        state: &[GpuParticle],
        a_adj: &[Mat3],
        dt: f32,
    ) -> Result<StressAdjoint> {
        let n = self.n as usize;
        let other = ("adjoints of A", a_adj.len(), n);
        let off = self.probe_substep("debug_stress_adjoint", state, other, dt)?;
        let a = self.adjoint.as_ref().expect("built by probe_substep");
        let q = &self.ctx.queue;
        let padded: Vec<[f32; 12]> = a_adj
            .iter()
            .map(|m| {
                let c = m.to_cols_array();
                [
                    c[0], c[1], c[2], 0.0, c[3], c[4], c[5], 0.0, c[6], c[7], c[8], 0.0,
                ]
            })
            .collect();
        let a_buf = self.ctx.storage_init("A adjoint (debug)", &padded);
        let zero = vec![GpuParticle::zeroed(); n];
        q.write_buffer(&a.adj[1], 0, bytemuck::cast_slice(&zero));
        q.write_buffer(
            &a.material_adj,
            0,
            bytemuck::cast_slice(&vec![[0f32; 4]; n]),
        );
        let group = a.stages[3].bind(
            &self.ctx,
            &self.params,
            &[
                &self.particles[0],
                &self.material,
                &a_buf,
                &a.adj[1],
                &a.material_adj,
            ],
        );
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            a.stages[3].dispatch_particles(&mut pass, 0, &group, off, self.n);
        }
        self.ctx.queue.submit([enc.finish()]);
        let adj: Vec<GpuParticle> = self.ctx.read(&a.adj[1])?;
        let mat: Vec<[f32; 4]> = self.ctx.read(&a.material_adj)?;
        Ok((
            adj[..n]
                .iter()
                .map(|p| (p.affine(), p.deformation()))
                .collect(),
            mat[..n].iter().map(|m| [m[0], m[1]]).collect(),
        ))
    }
}

/// Per node (block-major, like [`Solver::debug_grid`]): the adjoint of the node's velocity
/// (xyz of each record) and the adjoint of its momentum and mass.
pub type GridAdjoint = (Vec<[f32; 8]>, Vec<[f32; 4]>);

impl Solver {
    /// For tests of the grid-update adjoint: after a backward pass, the node adjoints of the
    /// last substep it processed (the clip's first), beside [`Solver::debug_grid`]'s forward
    /// values of that substep.
    pub fn debug_grid_adjoint(&self) -> Result<GridAdjoint> {
        let Some(a) = self.adjoint.as_ref() else {
            bail!("debug_grid_adjoint: no backward pass has run");
        };
        Ok((self.ctx.read(&a.grid_adj)?, self.ctx.read(&a.node_adj)?))
    }
}

/// Per particle, the adjoint before G2P (x and F; G2P's outputs do not depend on the incoming
/// v and C, so theirs are zero), and per grid node (block-major, like
/// [`Solver::debug_grid`]) the adjoint of its velocity, gathered from the particles' records.
pub type G2pAdjoint = (Vec<GpuParticle>, Vec<[f32; 8]>);

impl Solver {
    /// For tests of G2P's adjoint alone: from particle states `state`, runs the forward stages
    /// of a substep of `dt` up to the grid update (see [`Solver::debug_grid`] for the grid
    /// velocities G2P reads), then `g2p_adjoint` with `out_adjoint`, the adjoint of the state
    /// after G2P, and the node gather. Leaves the solver's particle state undefined.
    pub fn debug_g2p_adjoint(
        &mut self,
        state: &[GpuParticle],
        out_adjoint: &[GpuParticle],
        dt: f32,
    ) -> Result<G2pAdjoint> {
        let n = self.n as usize;
        let other = ("adjoints", out_adjoint.len(), n);
        let off = self.probe_substep("debug_g2p_adjoint", state, other, dt)?;
        let a = self.adjoint.as_ref().expect("built by probe_substep");
        let q = &self.ctx.queue;
        q.write_buffer(&a.adj[0], 0, bytemuck::cast_slice(out_adjoint));
        let [s_sort, _, s_p2g, _] = &self.stages;
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        self.encode_stages(&mut enc, SORT..P2G + 1, off, 0, false);
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            a.stages[0].dispatch_particles(&mut pass, 0, &a.g2p[0], off, self.n);
            s_p2g.dispatch_blocks(&mut pass, p2g::GATHER, &a.gather, off, &self.active);
            let sort = &self.groups.sort[0];
            s_sort.dispatch_particles(&mut pass, sort::UNBIN, sort, off, self.n);
        }
        self.ctx.queue.submit([enc.finish()]);
        let mut adj: Vec<GpuParticle> = self.ctx.read(&a.adj[1])?;
        adj.truncate(n);
        Ok((adj, self.ctx.read(&a.grid_adj)?))
    }
}

/// Per particle, the adjoint of x and v from P2G (C and F: zero) and of its A = m C − k τ.
pub type P2gAdjoint = (Vec<GpuParticle>, Vec<Mat3>);

impl Solver {
    /// For tests of P2G's adjoint alone: from particle states `state`, bins them and writes
    /// their P2G records for a substep of `dt` (see [`Solver::debug_records`]), then runs
    /// `p2g_adjoint` with `node_adjoint`, the adjoint of every node's (momentum, mass), in
    /// block-major order over the whole grid. Leaves the solver's particle state undefined.
    pub fn debug_p2g_adjoint(
        &mut self,
        state: &[GpuParticle],
        node_adjoint: &[[f32; 4]],
        dt: f32,
    ) -> Result<P2gAdjoint> {
        let n = self.n as usize;
        let nodes = (self.cfg.grid_res as usize).pow(3);
        let other = ("node adjoints", node_adjoint.len(), nodes);
        let off = self.probe_substep("debug_p2g_adjoint", state, other, dt)?;
        let a = self.adjoint.as_ref().expect("built by probe_substep");
        let q = &self.ctx.queue;
        q.write_buffer(&a.node_adj, 0, bytemuck::cast_slice(node_adjoint));
        let zero = vec![GpuParticle::zeroed(); n];
        q.write_buffer(&a.adj[1], 0, bytemuck::cast_slice(&zero));
        let s_sort = &self.stages[0];
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        self.encode_stages(&mut enc, SORT..STRESS + 1, off, 0, false);
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            a.stages[2].dispatch_particles(&mut pass, 0, &a.p2g[0], off, self.n);
            let sort = &self.groups.sort[0];
            s_sort.dispatch_particles(&mut pass, sort::UNBIN, sort, off, self.n);
        }
        self.ctx.queue.submit([enc.finish()]);
        let mut adj: Vec<GpuParticle> = self.ctx.read(&a.adj[1])?;
        adj.truncate(n);
        let a_adj: Vec<[f32; 12]> = self.ctx.read(&a.a_adj)?;
        let a_adj = a_adj[..n]
            .iter()
            .map(|c| {
                Mat3::from_cols(
                    Vec3::new(c[0], c[1], c[2]),
                    Vec3::new(c[4], c[5], c[6]),
                    Vec3::new(c[8], c[9], c[10]),
                )
            })
            .collect();
        Ok((adj, a_adj))
    }
}
