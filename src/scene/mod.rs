//! Scenes: real Gaussian-splat and mesh objects turned into simulation particles.
//!
//! A scene file (TOML; see `docs/scene-format.md` and [`file`](mod@file)) names an object — a
//! trained 3DGS `.ply` ([`GaussianSplats`]), a triangle mesh ([`TriMesh`]), or both — and says
//! how to place it in the unit-cube domain, which part is anchored, its material, solver
//! settings, cameras, poke presets and an optional reference video. [`Scene::load`] turns it
//! into a [`ParticleSet`] (driving particles on a regular lattice that fills the object's
//! volume) plus [`Attachment`]s that make every Gaussian and mesh vertex follow the particles.
//!
//! Modules: [`ply`] (strict PLY core), [`splat_ply`] (3DGS files), [`mesh`] (OBJ/PLY meshes),
//! [`winding`] and [`fill`] (volume filling), [`knn`] (neighbour queries), [`driving`]
//! (attachment and deformation), [`camera`], [`file`](mod@file) (the TOML schema), [`build`]
//! (loading; the settings are checked in a private `settings` module),
//! [`inspect`](mod@inspect) (the `physdreamer inspect` report), [`procedural`] (generated
//! example scenes), [`sh`] (rotating view-dependent colour), [`transform`] (placement).

#![warn(missing_docs)]

pub mod build;
pub mod camera;
pub mod driving;
pub mod file;
pub mod fill;
pub mod inspect;
pub mod knn;
pub mod mesh;
pub mod ply;
pub mod procedural;
mod settings;
pub mod sh;
pub mod splat_ply;
pub mod transform;
pub mod winding;

use std::path::{Path, PathBuf};

pub use camera::Camera;
pub use driving::{Attachment, Deformed};
pub use fill::SplatFill;
pub use inspect::inspect;
pub use mesh::TriMesh;
pub use splat_ply::GaussianSplats;
pub use transform::Similarity;

use crate::particles::ParticleSet;
use crate::solver;

/// A reference video: image files of its frames, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceVideo {
    /// Frame image paths, sorted by file name.
    pub frames: Vec<PathBuf>,
    /// Frames per second.
    pub fps: f32,
    /// Name of the camera that filmed it, if given.
    pub camera: Option<String>,
}

/// A loaded scene, everything in domain coordinates (`[0, 1]^3`, metres, y up).
#[derive(Clone, Debug)]
pub struct Scene {
    /// Display name.
    pub name: String,
    /// The scene file.
    pub path: PathBuf,
    /// Driving particles with material and anchoring.
    pub particles: ParticleSet,
    /// Solver settings (file values, defaults otherwise).
    pub config: solver::SolverConfig,
    /// Named poke presets, in file order.
    pub pokes: Vec<(String, solver::Poke)>,
    /// Named cameras, in file order.
    pub cameras: Vec<(String, Camera)>,
    /// The Gaussians (transformed into the domain).
    pub splats: Option<GaussianSplats>,
    /// The mesh (transformed into the domain).
    pub mesh: Option<TriMesh>,
    /// How each Gaussian follows the particles.
    pub splat_attachment: Option<Attachment>,
    /// How each mesh vertex follows the particles.
    pub mesh_attachment: Option<Attachment>,
    /// The interior fill of a splat object (fill points with nearest-Gaussian colours).
    pub fill: Option<SplatFill>,
    /// Object file coordinates -> domain.
    pub transform: Similarity,
    /// Lattice spacing of the particles (domain units).
    pub spacing: f32,
    /// Optional reference video.
    pub video: Option<ReferenceVideo>,
    /// Object files that were read.
    pub sources: Vec<PathBuf>,
    /// Wall-clock seconds of each loading stage.
    pub timings: Vec<(&'static str, f64)>,
}

impl Scene {
    /// Loads and builds the scene described by the TOML file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<Scene> {
        build::load(path)
    }

    /// Builds a scene from TOML text; relative paths resolve against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path, path: &Path) -> anyhow::Result<Scene> {
        build::from_toml(text, base_dir, path)
    }

    /// The poke preset called `name`.
    pub fn poke(&self, name: &str) -> Option<solver::Poke> {
        self.pokes.iter().find(|(n, _)| n == name).map(|(_, p)| *p)
    }

    /// The camera called `name`.
    pub fn camera(&self, name: &str) -> Option<&Camera> {
        self.cameras.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The Gaussians moved by the particles at `positions` (optionally with per-particle
    /// deformation gradients).
    pub fn deform_splats(
        &self,
        positions: &[glam::Vec3],
        grads: Option<&[glam::Mat3]>,
    ) -> anyhow::Result<Option<GaussianSplats>> {
        match (&self.splats, &self.splat_attachment) {
            (Some(s), Some(a)) => Ok(Some(
                a.deform_splats(s, positions, grads)
                    .map_err(anyhow::Error::msg)?,
            )),
            _ => Ok(None),
        }
    }

    /// The mesh moved by the particles at `positions`.
    pub fn deform_mesh(&self, positions: &[glam::Vec3]) -> anyhow::Result<Option<TriMesh>> {
        match (&self.mesh, &self.mesh_attachment) {
            (Some(m), Some(a)) => Ok(Some(
                a.deform_mesh(m, positions).map_err(anyhow::Error::msg)?,
            )),
            _ => Ok(None),
        }
    }
}
