//! physdreamer: static 3D objects made physically interactive with a deterministic WGSL
//! material-point-method solver.

pub mod bench;
pub mod cli;
pub mod demo;
pub mod field;
pub mod fit;
pub mod gpu;
pub mod loss;
pub mod material;
pub mod optimiser;
pub mod particles;
pub mod render;
pub mod scene;
pub mod solver;
pub mod video;
pub mod viewer;

pub use particles::ParticleSet;
