//! Reverse-mode gradients of whole clips.
//!
//! [`Solver::record_clip`] runs frames forward and keeps the particle state at every frame
//! boundary (a [`Clip`]); [`Solver::backward`] then takes adjoints of the particle positions
//! at any of those frames and carries them back to the start of the clip, giving
//! [`Gradients`]: d(loss)/d(ln E) and d(loss)/dν per particle, and the adjoint of the
//! initial state (x, v, C, F).
//!
//! Checkpointing: for each frame, last to first, the frame's substeps are recomputed from its
//! checkpoint while their input states, P2G records and active-block grids are copied to a
//! tape ([`super::tape`]); then, substep by substep in reverse, the particles are rebinned
//! and the records and grid loaded from the tape (or, where they exceed the tape budget,
//! recomputed: bit-identical, the solver is deterministic) and the adjoint stages run:
//! `g2p_adjoint`, `p2g`'s `gather` (the forward gather alone, fed the adjoint records),
//! `grid_update_adjoint`, `p2g_adjoint`, `stress_adjoint`. No float atomics, so gradients are
//! bit-reproducible too.
//! GPU memory on top of the forward solver:
//!
//! `(frames + 1 + S + 2) × N × 128 B` (checkpoints, tape of particle states, two adjoint
//! states) `+ S × (N × 68 B + B × 4 KiB)` (taped records, slots and grids; B = the frame's
//! most active node blocks + 25 %) `+ N × 128 B` (adjoint records, ∂A, material adjoint)
//! `+ nodes × 48 B` (node adjoints), with S the most substeps of a frame and
//! `nodes = grid_res³` — see [`gradient_memory`].

use super::stage::Texels;
use super::*;
use anyhow::bail;
use bytemuck::Zeroable;

/// A recorded forward run: the state at every frame boundary and each frame's substeps.
pub struct Clip {
    /// `checkpoints[k]` is the state at the start of frame k; the last one ends the clip.
    checkpoints: Vec<Snapshot>,
    /// Substep count and dt of each frame.
    plan: Vec<(u32, f32)>,
    /// Particle positions at every frame boundary (`frames + 1` lists).
    pub positions: Vec<Vec<Vec3>>,
}

impl Clip {
    pub fn frames(&self) -> usize {
        self.plan.len()
    }
    /// Substeps of each frame.
    pub fn substeps(&self) -> Vec<u32> {
        self.plan.iter().map(|p| p.0).collect()
    }
}

/// Gradients of a loss with respect to the inputs of a clip.
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    /// d(loss)/d(ln E) per particle (multiply by ln 10 for log₁₀ E).
    pub ln_young: Vec<f32>,
    /// d(loss)/dν per particle.
    pub poisson: Vec<f32>,
    /// Adjoint of the initial state: position, velocity, APIC matrix C, deformation F.
    pub x0: Vec<Vec3>,
    pub v0: Vec<Vec3>,
    pub c0: Vec<Mat3>,
    pub f0: Vec<Mat3>,
}

/// GPU bytes the gradient machinery adds for `n` particles on a `grid_res`³ grid, a clip of
/// `frames` frames and at most `substeps` substeps per frame, with the records and grids of
/// `tape_blocks` node blocks per substep on the tape (0: recomputed; see the module docs).
pub fn gradient_memory(n: u64, grid_res: u32, frames: u64, substeps: u64, tape_blocks: u64) -> u64 {
    let state = n * std::mem::size_of::<GpuParticle>() as u64;
    let taped = if tape_blocks > 0 {
        tape::taped_bytes(n, substeps, tape_blocks)
    } else {
        0
    };
    (frames + 1 + substeps + 2) * state
        + taped
        + n * (P2G_RECORD_BYTES + 48 + 16)
        + (grid_res as u64).pow(3) * (GRID_MOMENTUM_BYTES + 16)
}

/// The adjoint stages, their buffers and bind groups (built on first use).
pub(super) struct AdjointState {
    pub(super) stages: [Stage; 4],
    /// Adjoint particle states; a substep reads one and writes the other.
    pub(super) adj: [wgpu::Buffer; 2],
    pub(super) material_adj: wgpu::Buffer,
    /// Adjoint of each particle's A = m C − k τ (P2G's adjoint to the stress stage's).
    pub(super) a_adj: wgpu::Buffer,
    /// Node velocity adjoints (gathered) and node momentum/mass adjoints.
    pub(super) grid_adj: wgpu::Buffer,
    pub(super) node_adj: wgpu::Buffer,
    pub(super) gather: wgpu::BindGroup,
    grid: wgpu::BindGroup,
    /// `[i]`: adjoint after the substep in `adj[i]`, before it in `adj[1 - i]`.
    pub(super) g2p: [wgpu::BindGroup; 2],
    pub(super) p2g: [wgpu::BindGroup; 2],
    pub(super) stress: [wgpu::BindGroup; 2],
}

impl AdjointState {
    fn new(s: &Solver) -> Result<Self> {
        let ctx = &s.ctx;
        let none = wgpu::BufferUsages::empty();
        let n = s.n as u64;
        let nodes = (s.cfg.grid_res as u64).pow(3);
        let stages = [
            g2p_adjoint::build(ctx)?,
            grid_update_adjoint::build(ctx)?,
            p2g_adjoint::build(ctx)?,
            stress_adjoint::build(ctx)?,
        ];
        let state_bytes = n * std::mem::size_of::<GpuParticle>() as u64;
        let adj = [0, 1].map(|i| ctx.storage(&format!("adjoint{i}"), state_bytes, none));
        let records = Texels::new(ctx, "adjoint records", 4 * n)?;
        let grid_adj = ctx.storage("grid adjoint", nodes * GRID_MOMENTUM_BYTES, none);
        let node_adj = ctx.storage("node adjoint", nodes * 16, none);
        let a_adj = ctx.storage("A adjoint", n * 48, none);
        let material_adj = ctx.storage("material adjoint", n * 16, none);
        let [s_g2p, s_grid, s_p2g, s_stress] = &stages;
        let p0 = &s.particles[0];
        let gather = s.stages[2].bind_with(
            ctx,
            &s.params,
            vec![
                s.active.as_entire_binding(),
                s.cell_start.as_entire_binding(),
                records.binding(),
                grid_adj.as_entire_binding(),
                s.rows[0].as_entire_binding(),
                s.anchor_mask.as_entire_binding(),
                // (entry `gather` writes neither)
                s.grid_v.as_entire_binding(),
                s.grid_v_tex.binding(),
            ],
        );
        let grid = s_grid.bind(ctx, &s.params, &[&s.active, &s.grid, &grid_adj, &node_adj]);
        let g2p = [0, 1].map(|i| {
            let buffers = [&s.ctl, &adj[i], &adj[1 - i], &s.slot];
            let mut res = vec![p0.as_entire_binding(), s.grid_v_tex.binding()];
            res.extend(buffers.iter().map(|b| b.as_entire_binding()));
            res.push(records.binding());
            s_g2p.bind_with(ctx, &s.params, res)
        });
        let p2g = [0, 1].map(|i| {
            s_p2g.bind(
                ctx,
                &s.params,
                &[&node_adj, &s.slot, &s.records, &adj[1 - i], &a_adj],
            )
        });
        let stress = [0, 1].map(|i| {
            s_stress.bind(
                ctx,
                &s.params,
                &[p0, &s.material, &a_adj, &adj[1 - i], &material_adj],
            )
        });
        Ok(AdjointState {
            stages,
            adj,
            material_adj,
            a_adj,
            grid_adj,
            node_adj,
            gather,
            grid,
            g2p,
            p2g,
            stress,
        })
    }

    /// The adjoint stages of one substep (after the forward stages up to the grid update
    /// have run or been loaded): the adjoint after the substep is in `adj[cur]`, the one
    /// before it goes to `adj[1 - cur]`.
    pub(super) fn dispatch_substep(
        &self,
        s: &Solver,
        pass: &mut wgpu::ComputePass,
        off: u32,
        cur: usize,
    ) {
        let [a_g2p, a_grid, a_p2g, a_stress] = &self.stages;
        let [s_sort, _, s_p2g, _] = &s.stages;
        let n = s.n;
        a_g2p.dispatch_particles(pass, 0, &self.g2p[cur], off, n);
        s_p2g.dispatch_blocks(pass, p2g::GATHER, &self.gather, off, &s.active);
        a_grid.dispatch_blocks(pass, 0, &self.grid, off, &s.active);
        a_p2g.dispatch_particles(pass, 0, &self.p2g[cur], off, n);
        a_stress.dispatch_particles(pass, 0, &self.stress[cur], off, n);
        s_sort.dispatch_particles(pass, sort::UNBIN, &s.groups.sort[0], off, n);
    }
}

impl Solver {
    /// Builds the adjoint stages and buffers on first use.
    pub(super) fn build_adjoint(&mut self) -> Result<()> {
        if self.adjoint.is_none() {
            self.adjoint = Some(Box::new(AdjointState::new(self)?));
        }
        Ok(())
    }

    /// Runs `frames` frames forward (substeps planned as [`Self::step_frame`] does),
    /// keeping the state at every frame boundary for [`Self::backward`].
    pub fn record_clip(&mut self, frames: usize) -> Result<Clip> {
        let mut clip = Clip {
            checkpoints: vec![self.snapshot()],
            plan: Vec::with_capacity(frames),
            positions: vec![self.positions()?],
        };
        for _ in 0..frames {
            let (k, dt) = self.plan_frame();
            if k as usize > MAX_BATCH {
                bail!(
                    "a frame needs {k} substeps; gradients handle at most {MAX_BATCH} per \
                     frame (shorten frame_dt or lower max_substeps)"
                );
            }
            self.substeps(k, dt)?;
            clip.plan.push((k, dt));
            clip.checkpoints.push(self.snapshot());
            clip.positions.push(self.positions()?);
        }
        Ok(clip)
    }

    /// Carries adjoints of particle positions back through `clip`: `position_adjoints[k]`
    /// is d(loss)/d(positions at frame boundary k) for k = 0 ..= frames, or empty where the
    /// loss does not see that frame. Leaves the solver at the start of the clip.
    pub fn backward(&mut self, clip: &Clip, position_adjoints: &[Vec<Vec3>]) -> Result<Gradients> {
        self.backward_with_state(clip, position_adjoints, &[])
    }

    /// [`Self::backward`] with, in addition, the adjoint of the whole particle state at the
    /// end of the clip (`end_adjoint`: x, v, C, F per particle, or empty).
    pub fn backward_with_state(
        &mut self,
        clip: &Clip,
        position_adjoints: &[Vec<Vec3>],
        end_adjoint: &[GpuParticle],
    ) -> Result<Gradients> {
        let n = self.n as usize;
        if clip
            .checkpoints
            .iter()
            .any(|c| c.buffer.size() != self.particles[0].size())
        {
            bail!("backward: the clip was recorded by a solver with another particle count");
        }
        if !end_adjoint.is_empty() && end_adjoint.len() != n {
            bail!(
                "backward: {} end-state adjoints for {n} particles",
                end_adjoint.len()
            );
        }
        if position_adjoints.len() != clip.frames() + 1 {
            bail!(
                "backward: {} position adjoint lists for a clip of {} frames (want frames + 1)",
                position_adjoints.len(),
                clip.frames()
            );
        }
        if let Some((k, a)) = position_adjoints
            .iter()
            .enumerate()
            .find(|(_, a)| !a.is_empty() && a.len() != n)
        {
            bail!(
                "backward: frame {k} has {} position adjoints for {n} particles",
                a.len()
            );
        }
        self.build_adjoint()?;
        if self.tape.is_none() {
            self.tape = Some(Box::new(tape::Tape::new(&self.ctx)?));
        }
        let mut state = if end_adjoint.is_empty() {
            vec![GpuParticle::zeroed(); n]
        } else {
            end_adjoint.to_vec()
        };
        let zero4 = vec![[0f32; 4]; n];
        {
            let a = self.adjoint.as_ref().expect("built above");
            self.ctx
                .queue
                .write_buffer(&a.material_adj, 0, bytemuck::cast_slice(&zero4));
        }
        let mut cur = 0;
        let (mut t_tape, mut t_adjoint) = (0.0, 0.0);
        for k in (0..=clip.frames()).rev() {
            add_positions(&mut state, &position_adjoints[k]);
            if k == 0 {
                break;
            }
            let a = self.adjoint.as_ref().expect("built above");
            self.ctx
                .queue
                .write_buffer(&a.adj[cur], 0, bytemuck::cast_slice(&state));
            let (substeps, dt) = clip.plan[k - 1];
            let start = &clip.checkpoints[k - 1];
            let t0 = std::time::Instant::now();
            let (offsets, taped) = self.record_tape(start, substeps as usize, dt)?;
            let t1 = std::time::Instant::now();
            cur = self.backward_frame(&offsets, taped, cur);
            let a = self.adjoint.as_ref().expect("built above");
            state = self.ctx.read(&a.adj[cur])?;
            state.truncate(n);
            t_tape += (t1 - t0).as_secs_f64();
            t_adjoint += t1.elapsed().as_secs_f64();
        }
        log::debug!("backward: taping {t_tape:.2} s, adjoint stages {t_adjoint:.2} s");
        self.restore(&clip.checkpoints[0]);
        let a = self.adjoint.as_ref().expect("built above");
        let mat: Vec<[f32; 4]> = self.ctx.read(&a.material_adj)?;
        let grads = Gradients {
            ln_young: mat[..n].iter().map(|m| m[0]).collect(),
            poisson: mat[..n].iter().map(|m| m[1]).collect(),
            x0: state.iter().map(|p| p.position()).collect(),
            v0: state.iter().map(|p| p.velocity()).collect(),
            c0: state.iter().map(|p| p.affine()).collect(),
            f0: state.iter().map(|p| p.deformation()).collect(),
        };
        check_finite(&grads)?;
        Ok(grads)
    }
}

fn add_positions(state: &mut [GpuParticle], adj: &[Vec3]) {
    for (p, a) in state.iter_mut().zip(adj) {
        p.x[0] += a.x;
        p.x[1] += a.y;
        p.x[2] += a.z;
    }
}

fn check_finite(g: &Gradients) -> Result<()> {
    let bad = |name: &str, i: usize| -> Result<()> {
        bail!("the gradient of {name} became NaN/inf at particle {i}")
    };
    if let Some(i) = g.ln_young.iter().position(|e| !e.is_finite()) {
        return bad("ln E", i);
    }
    if let Some(i) = g.poisson.iter().position(|e| !e.is_finite()) {
        return bad("nu", i);
    }
    for (name, m) in [("x0", &g.x0), ("v0", &g.v0)] {
        if let Some(i) = m.iter().position(|v| !v.is_finite()) {
            return bad(name, i);
        }
    }
    for (name, m) in [("C0", &g.c0), ("F0", &g.f0)] {
        if let Some(i) = m.iter().position(|v| !v.is_finite()) {
            return bad(name, i);
        }
    }
    Ok(())
}
