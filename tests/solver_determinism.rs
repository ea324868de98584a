//! Two runs from the same input on the same adapter give bit-identical particle states, and
//! so does a run that keeps its P2G records in their buffer.

mod common;
use common::*;
use glam::Vec3;
use physdreamer::solver::{Drag, Poke, Solver, SolverConfig, Wall};

#[test]
fn repeat_runs_are_bit_identical() {
    let mut rng = rng("determinism");
    let ctx = gpu();
    let set = random_block(
        &mut rng,
        Vec3::new(0.3, 0.1, 0.3),
        [16, 12, 16],
        1.0 / 128.0,
        1e4,
        1e6,
    );
    let cfg = SolverConfig {
        grid_res: 64,
        wall: Wall::Sticky,
        ..Default::default()
    };
    let run = |keep_buffers: bool| {
        let mut s = Solver::new(&ctx, cfg.clone(), &set).unwrap();
        s.keep_buffers(keep_buffers);
        s.add_poke(Poke {
            centre: Vec3::new(0.36, 0.15, 0.36),
            radius: 0.05,
            force: Vec3::new(0.0, 50.0, 20.0),
            start: 0.0,
            duration: 0.05,
        });
        let ids: Vec<u32> = (0..s.len() as u32).filter(|i| i % 11 == 0).collect();
        s.set_drag_selection(&ids, Vec3::new(0.4, 0.15, 0.4))
            .unwrap();
        s.set_drag(Some(Drag {
            target: Vec3::new(0.45, 0.2, 0.4),
            stiffness: 400.0,
            damping: 2.0,
        }));
        let mut substeps = 0;
        for _ in 0..3 {
            substeps += s.step_frame().unwrap().substeps;
        }
        (
            bytemuck::cast_slice::<_, u8>(&s.state().unwrap()).to_vec(),
            substeps,
        )
    };
    let (a, na) = run(false);
    let (b, nb) = run(false);
    let (c, nc) = run(true);
    assert_eq!(na, nc);
    assert!(a == c, "keeping the stage buffers changed the run");
    assert_eq!(na, nb);
    assert!(na >= 3);
    let moved = a
        .iter()
        .zip(bytemuck::cast_slice::<_, u8>(
            &Solver::new(&ctx, cfg.clone(), &set)
                .unwrap()
                .state()
                .unwrap(),
        ))
        .any(|(x, y)| x != y);
    assert!(moved, "the state did not change at all");
    let first = a.iter().zip(&b).position(|(x, y)| x != y);
    assert_eq!(
        first,
        None,
        "runs differ first at byte {first:?} (particle {:?})",
        first.map(|i| i / 128)
    );
}
