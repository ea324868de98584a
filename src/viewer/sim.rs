//! The simulation the viewer drives: the scene's particles in a solver, the live material
//! scaling and forces, and the poke and drag the mouse makes.

use crate::gpu::GpuContext;
use crate::particles::ParticleSet;
use crate::scene::{Attachment, GaussianSplats, Scene, TriMesh};
use crate::solver::{Drag, FrameStats, Poke, Solver, SolverConfig};
use anyhow::Result;
use glam::Vec3;

/// log10 E at the ends of the colour map: the range of `young`, widened to at least one decade.
fn log_e_range(young: &[f32]) -> (f32, f32) {
    let (lo, hi) = young
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), e| (a.min(*e), b.max(*e)));
    let (l0, l1) = (lo.log10(), hi.log10());
    if l1 - l0 < 0.5 {
        (l0 - 0.5, l1 + 0.5)
    } else {
        (l0, l1)
    }
}

pub struct Sim {
    pub name: String,
    pub particles: ParticleSet,
    pub config: SolverConfig,
    /// The scene's named pokes.
    pub presets: Vec<(String, Poke)>,
    pub solver: Solver,
    /// Pokes made so far that may still act.
    pokes: Vec<Poke>,
    /// Positions read back since the last step (for picking).
    positions: Option<Vec<Vec3>>,
    pub bounds: (Vec3, Vec3),
    pub log_e_range: (f32, f32),
    /// The scene's mesh and how its vertices follow the particles.
    pub mesh: Option<(TriMesh, Attachment)>,
    /// The scene's Gaussians and how they follow the particles.
    pub splats: Option<(GaussianSplats, Attachment)>,
}

impl Sim {
    pub fn from_scene(ctx: &GpuContext, scene: Scene) -> Result<Self> {
        let mut sim = Self::new(ctx, scene.name, scene.particles, scene.config, scene.pokes)?;
        sim.mesh = scene.mesh.zip(scene.mesh_attachment);
        sim.splats = scene.splats.zip(scene.splat_attachment);
        Ok(sim)
    }

    /// The mesh vertices where the particles are now.
    pub fn deformed_mesh(&mut self) -> Result<Option<Vec<Vec3>>> {
        if self.mesh.is_none() {
            return Ok(None);
        }
        let positions = self.positions()?.to_vec();
        let (_, att) = self.mesh.as_ref().expect("checked");
        Ok(Some(
            att.deform(&positions).map_err(anyhow::Error::msg)?.position,
        ))
    }

    pub fn new(
        ctx: &GpuContext,
        name: String,
        particles: ParticleSet,
        config: SolverConfig,
        presets: Vec<(String, Poke)>,
    ) -> Result<Self> {
        let solver = Solver::new(ctx, config.clone(), &particles)?;
        let lo = particles
            .position
            .iter()
            .fold(Vec3::splat(f32::MAX), |a, p| a.min(*p));
        let hi = particles
            .position
            .iter()
            .fold(Vec3::splat(f32::MIN), |a, p| a.max(*p));
        let log_e_range = log_e_range(&particles.young);
        Ok(Sim {
            name,
            particles,
            config,
            presets,
            solver,
            pokes: Vec::new(),
            positions: None,
            bounds: (lo, hi),
            log_e_range,
            mesh: None,
            splats: None,
        })
    }

    /// Back to the initial state (keeps the live settings given).
    pub fn reset(&mut self, ctx: &GpuContext) -> Result<()> {
        self.solver = Solver::new(ctx, self.config.clone(), &self.particles)?;
        self.pokes.clear();
        self.positions = None;
        Ok(())
    }

    /// Takes per-particle E (and ν) from a material field file (nearest point of the file
    /// to each particle's rest position); the live E scale applies on top.
    pub fn load_material(&mut self, field: &crate::material::MaterialField) {
        let (young, poisson) = field.sample(&self.particles.position);
        self.particles.young = young;
        if let Some(nu) = poisson {
            self.particles.poisson = nu;
        }
        self.log_e_range = log_e_range(&self.particles.young);
    }

    /// Applies the live material scale and Poisson ratio and the forces.
    pub fn apply_settings(
        &mut self,
        e_scale: f32,
        poisson: Option<f32>,
        gravity: Vec3,
        damping: f32,
    ) -> Result<()> {
        let young: Vec<f32> = self.particles.young.iter().map(|e| e * e_scale).collect();
        let nu: Vec<f32> = match poisson {
            Some(nu) => vec![nu; young.len()],
            None => self.particles.poisson.clone(),
        };
        self.solver.set_material(&young, &nu)?;
        self.solver.set_forces(gravity, damping)
    }

    pub fn step(&mut self, budget: u32) -> Result<FrameStats> {
        let t = self.solver.time() as f32;
        self.pokes.retain(|p| p.start + p.duration > t);
        self.solver.set_pokes(self.pokes.clone());
        self.positions = None;
        self.solver.step_budget(budget)
    }

    /// Positions and deformation gradients, read back once; the positions also serve picking
    /// until the next step.
    pub fn positions_and_grads(&mut self) -> Result<(Vec<Vec3>, Vec<glam::Mat3>)> {
        let state = self.solver.state()?;
        let positions: Vec<Vec3> = state.iter().map(|p| p.position()).collect();
        self.positions = Some(positions.clone());
        Ok((positions, state.iter().map(|p| p.deformation()).collect()))
    }

    pub fn positions(&mut self) -> Result<&[Vec3]> {
        if self.positions.is_none() {
            self.positions = Some(self.solver.positions()?);
        }
        Ok(self.positions.as_deref().unwrap_or(&[]))
    }

    /// PhysDreamer's poke at `centre`: v += force * dt within `radius` for `duration` from now.
    pub fn poke(&mut self, centre: Vec3, force: Vec3, radius: f32, duration: f32) {
        let start = self.solver.time() as f32;
        self.pokes.push(Poke {
            centre,
            radius,
            force,
            start,
            duration,
        });
    }

    /// Starts dragging the particles within `radius` of `grab`.
    pub fn grab(&mut self, grab: Vec3, radius: f32, stiffness: f32) -> Result<usize> {
        let ids: Vec<u32> = self
            .positions()?
            .iter()
            .enumerate()
            .filter(|(_, p)| p.distance(grab) < radius)
            .map(|(i, _)| i as u32)
            .collect();
        self.solver.set_drag_selection(&ids, grab)?;
        self.solver.set_drag(Some(Drag {
            target: grab,
            stiffness,
            damping: 2.0 * stiffness.sqrt(),
        }));
        Ok(ids.len())
    }

    pub fn move_drag(&mut self, target: Vec3, stiffness: f32) {
        self.solver.set_drag(Some(Drag {
            target,
            stiffness,
            damping: 2.0 * stiffness.sqrt(),
        }));
    }

    pub fn release(&mut self) -> Result<()> {
        self.solver.set_drag(None);
        self.solver.set_drag_selection(&[], Vec3::ZERO)
    }
}
