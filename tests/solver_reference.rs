//! The GPU solver against the CPU f64 reference over hundreds of substeps, with a
//! heterogeneous E field, both elastic models, anchors, walls, the ground, a poke and a drag.

mod common;
use common::*;
use glam::Vec3;
use physdreamer::solver::reference::Reference;
use physdreamer::solver::{Drag, Ground, Material, Poke, Solver, SolverConfig, TimeStep, Wall};
use rand::Rng;

fn compare(material: Material, name: &str) {
    let mut rng = rng(name);
    let ctx = gpu();
    let res = 32;
    let dx = 1.0 / res as f32;
    let mut set = random_block(
        &mut rng,
        Vec3::new(0.35, 0.2, 0.35),
        [10, 10, 10],
        dx * 0.5,
        3e3,
        3e4,
    );
    let centre = Vec3::new(0.475, 0.325, 0.475);
    let omega = Vec3::new(
        rng.random_range(-6.0..6.0),
        rng.random_range(-6.0..6.0),
        rng.random_range(-6.0..6.0),
    );
    for i in 0..set.len() {
        set.velocity[i] = omega.cross(set.position[i] - centre) + Vec3::new(0.5, 0.8, -0.3);
        set.anchored[i] = set.position[i].y < 0.2 + dx && set.position[i].x < 0.4;
        // a strip of the bottom layers
    }
    let cfg = SolverConfig {
        grid_res: res,
        material,
        damping: 0.5,
        wall: Wall::Slip,
        ground: Some(Ground {
            height: 0.15,
            sticky: false,
        }),
        time_step: TimeStep::Fixed(3e-4),
        ..Default::default()
    };
    let poke = Poke {
        centre,
        radius: 0.08,
        force: Vec3::new(30.0, -20.0, 10.0),
        start: 0.03,
        duration: 0.02,
    };
    // a spring drag on every 13th particle towards a point beside the block
    let grab = centre + Vec3::new(0.0, 0.05, 0.0);
    let drag = Drag {
        target: grab + Vec3::new(0.04, 0.02, -0.03),
        stiffness: 300.0,
        damping: 1.0,
    };
    let dragged: Vec<u32> = (0..set.len() as u32)
        .filter(|i| i % 13 == 0 && !set.anchored[*i as usize])
        .collect();
    let mut g = Solver::new(&ctx, cfg.clone(), &set).unwrap();
    g.add_poke(poke);
    g.set_drag_selection(&dragged, grab).unwrap();
    g.set_drag(Some(drag));
    let mut c = Reference::new(cfg, &set).unwrap();
    c.pokes.push(poke);
    c.drag = Some(drag);
    for &i in &dragged {
        c.drag_offset[i as usize] = Some(v3(set.position[i as usize] - grab));
    }
    let steps = 400;
    g.substeps(steps, 3e-4).unwrap();
    for _ in 0..steps {
        c.substep(3e-4f32 as f64).unwrap();
    }
    let gp = g.positions().unwrap();
    let cp = c.positions();
    let moved = max_abs_diff(&cp, &set.position);
    let err = max_abs_diff(&gp, &cp);
    eprintln!("{name}: max displacement {moved:.4} m, max GPU-CPU difference {err:.3e} m");
    assert!(
        moved > 0.01,
        "the scene barely moved ({moved} m): the comparison would be weak"
    );
    assert!(
        err / moved < 1e-3,
        "{name}: GPU differs from the f64 reference by {err:e} m ({:e} of the motion)",
        err / moved
    );
}

#[test]
fn gpu_matches_f64_reference_fixed_corotated() {
    compare(Material::FixedCorotated, "reference_fixed_corotated");
}

#[test]
fn gpu_matches_f64_reference_neo_hookean() {
    compare(Material::NeoHookean, "reference_neo_hookean");
}
