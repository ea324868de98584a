//! What can change while the solver runs: pokes, the drag, material and forces.

use super::validate::{self, SolverError};
use super::*;

impl Solver {
    /// Replaces the poke schedule (times are absolute simulation times).
    pub fn set_pokes(&mut self, pokes: Vec<Poke>) {
        self.pokes = pokes;
    }
    pub fn add_poke(&mut self, poke: Poke) {
        self.pokes.push(poke);
    }

    /// Marks `ids` as dragged, each keeping its offset from `grab`; `None` releases the drag.
    pub fn set_drag_selection(&mut self, ids: &[u32], grab: Vec3) -> Result<()> {
        let positions = self.positions()?;
        for c in self.ctl_host.iter_mut() {
            c.flags &= !FLAG_DRAGGED;
        }
        for &i in ids {
            let c = self
                .ctl_host
                .get_mut(i as usize)
                .ok_or(SolverError::ParticleIndex {
                    index: i,
                    count: self.n,
                })?;
            c.flags |= FLAG_DRAGGED;
            c.offset = (positions[i as usize] - grab).to_array();
        }
        self.ctx
            .queue
            .write_buffer(&self.ctl, 0, bytemuck::cast_slice(&self.ctl_host));
        let texels: Vec<[f32; 4]> = self.ctl_host.iter().map(GpuCtl::texel).collect();
        self.ctl_tex.write(&self.ctx.queue, &texels);
        Ok(())
    }
    /// Sets (or with `None` stops) the drag spring's target and gains.
    pub fn set_drag(&mut self, drag: Option<Drag>) {
        self.drag = drag;
    }

    /// Replaces every particle's Young's modulus (Pa).
    pub fn set_young(&mut self, young: &[f32]) -> Result<()> {
        let poisson: Vec<f32> = self.material_host.iter().map(|m| m[1]).collect();
        self.set_material(young, &poisson)
    }

    /// Replaces every particle's Young's modulus (Pa) and Poisson ratio, checked like the
    /// initial particle set.
    pub fn set_material(&mut self, young: &[f32], poisson: &[f32]) -> Result<()> {
        let mut mat = self.material_host.clone();
        for (field, len) in [("young", young.len()), ("poisson", poisson.len())] {
            if len != mat.len() {
                return Err(SolverError::Length {
                    field,
                    expected: mat.len(),
                    got: len,
                }
                .into());
            }
        }
        for (i, m) in mat.iter_mut().enumerate() {
            validate::check_young(i, young[i])?;
            validate::check_poisson(i, poisson[i])?;
            m[0] = young[i];
            m[1] = poisson[i];
        }
        let density: Vec<f32> = mat.iter().map(|m| m[2] / m[3]).collect();
        let anchored: Vec<bool> = self
            .ctl_host
            .iter()
            .map(|c| c.flags & FLAG_ANCHORED != 0)
            .collect();
        self.max_wave_speed = validate::max_wave_speed(young, poisson, &density, &anchored);
        self.ctx
            .queue
            .write_buffer(&self.material, 0, bytemuck::cast_slice(&mat));
        self.material_tex.write(&self.ctx.queue, &mat);
        self.material_host = mat;
        Ok(())
    }

    /// Changes gravity (m/s^2) and the grid damping rate (1/s) from the next substep on.
    pub fn set_forces(&mut self, gravity: Vec3, damping: f32) -> Result<()> {
        let damping_ok = damping.is_finite() && damping >= 0.0;
        if !gravity.is_finite() || !damping_ok {
            return Err(SolverError::Config {
                field: "gravity/damping",
                value: format!("{gravity:?} / {damping}"),
                why: "gravity must be finite and damping finite and >= 0".into(),
            }
            .into());
        }
        self.cfg.gravity = gravity;
        self.cfg.damping = damping;
        Ok(())
    }

    /// Caps the substeps of an adaptive frame (beyond it the substeps grow and the run may
    /// go unstable; [`Self::step_budget`] slows down instead).
    pub fn set_max_substeps(&mut self, max: u32) {
        if let TimeStep::Adaptive { max_substeps, .. } = &mut self.cfg.time_step {
            *max_substeps = max.max(1);
        }
    }
}
