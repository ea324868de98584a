//! Built-in procedural scenes that need no files.

use crate::particles::ParticleSet;
use crate::solver::{Ground, Material, Poke, SolverConfig, TimeStep, Wall};
use glam::Vec3;

/// A soft jelly cube (E = 5 kPa, 28^3 particles) on a stiff anchored pedestal, poked sideways near its top at
/// t = 0.1 s for 0.1 s. Grid 64^3, particles at half the cell size.
pub fn jelly_on_pedestal() -> (ParticleSet, SolverConfig, Vec<Poke>) {
    let res = 64;
    let s = 0.5 / res as f32;
    let mut set = ParticleSet::block(Vec3::new(0.4, 0.1, 0.4), [26, 6, 26], s, 1200.0, 2e6, 0.3);
    set.anchored.fill(true);
    let jelly = ParticleSet::block(
        Vec3::new(0.3875, 0.1 + 6.0 * s, 0.3875),
        [28, 28, 28],
        s,
        1000.0,
        5e3,
        0.35,
    );
    set.extend(&jelly);
    let cfg = SolverConfig {
        grid_res: res,
        material: Material::FixedCorotated,
        gravity: Vec3::new(0.0, -9.8, 0.0),
        damping: 0.5,
        wall: Wall::Slip,
        wall_cells: 3,
        ground: Some(Ground {
            height: 0.05,
            sticky: false,
        }),
        time_step: TimeStep::Adaptive {
            cfl: 0.4,
            max_substeps: 400,
        },
        frame_dt: 1.0 / 30.0,
    };
    let top = Vec3::new(0.5, 0.1 + 34.0 * s, 0.5);
    let poke = Poke {
        centre: top + Vec3::new(-0.08, -0.02, 0.0),
        radius: 0.06,
        force: Vec3::new(60.0, 0.0, 20.0),
        start: 0.1,
        duration: 0.1,
    };
    (set, cfg, vec![poke])
}
