//! The particle set a simulation starts from: positions, velocities and per-particle material.
//!
//! Everything upstream (procedural scenes, splat and mesh loaders) produces a [`ParticleSet`];
//! the GPU solver and the CPU reference both consume it. Units are SI; the simulation domain is
//! the unit cube `[0, 1]^3` (metres), y is up.

use glam::Vec3;

/// Material and kinematic state of every particle, one entry per particle in each vector.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParticleSet {
    /// Position in the domain `[0, 1]^3` (m).
    pub position: Vec<Vec3>,
    /// Initial velocity (m/s).
    pub velocity: Vec<Vec3>,
    /// Rest volume (m^3).
    pub volume: Vec<f32>,
    /// Rest density (kg/m^3); mass = volume * density.
    pub density: Vec<f32>,
    /// Young's modulus E (Pa), > 0.
    pub young: Vec<f32>,
    /// Poisson ratio nu, in (-1, 0.5).
    pub poisson: Vec<f32>,
    /// Anchored particles never move: grid nodes where their mass dominates get zero velocity.
    pub anchored: Vec<bool>,
}

impl ParticleSet {
    pub fn len(&self) -> usize {
        self.position.len()
    }

    pub fn is_empty(&self) -> bool {
        self.position.is_empty()
    }

    /// Appends one particle.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        x: Vec3,
        v: Vec3,
        volume: f32,
        density: f32,
        young: f32,
        poisson: f32,
        anchored: bool,
    ) {
        self.position.push(x);
        self.velocity.push(v);
        self.volume.push(volume);
        self.density.push(density);
        self.young.push(young);
        self.poisson.push(poisson);
        self.anchored.push(anchored);
    }

    /// Mass of particle `i` (kg).
    pub fn mass(&self, i: usize) -> f32 {
        self.volume[i] * self.density[i]
    }

    /// A solid box of `n[0] x n[1] x n[2]` particles with spacing `s`, the first centre at
    /// `min + s/2`; every particle gets volume `s^3` and the given material.
    pub fn block(min: Vec3, n: [u32; 3], s: f32, density: f32, young: f32, poisson: f32) -> Self {
        let mut set = ParticleSet::default();
        for k in 0..n[2] {
            for j in 0..n[1] {
                for i in 0..n[0] {
                    let x = min + (Vec3::new(i as f32, j as f32, k as f32) + 0.5) * s;
                    set.push(x, Vec3::ZERO, s * s * s, density, young, poisson, false);
                }
            }
        }
        set
    }

    /// Appends all particles of `other`.
    pub fn extend(&mut self, other: &ParticleSet) {
        self.position.extend_from_slice(&other.position);
        self.velocity.extend_from_slice(&other.velocity);
        self.volume.extend_from_slice(&other.volume);
        self.density.extend_from_slice(&other.density);
        self.young.extend_from_slice(&other.young);
        self.poisson.extend_from_slice(&other.poisson);
        self.anchored.extend_from_slice(&other.anchored);
    }
}
