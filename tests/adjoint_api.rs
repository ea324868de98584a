//! The gradient API: bit-reproducible gradients (with the frame's records and grids on the
//! tape or recomputed), the solver left at the clip's start,
//! clear errors for bad adjoint input (wrong lengths, NaN) and for frames too long to tape.

mod common;
use common::*;
use glam::Vec3;
use physdreamer::particles::ParticleSet;
use physdreamer::solver::{GpuParticle, Poke, Solver, SolverConfig, TimeStep};
use rand::Rng;

/// A 6 × 5 × 4 block of particles with random E (1e3 – 1e5 Pa) drawn from stream `name`.
fn block(name: &str) -> ParticleSet {
    random_block(
        &mut rng(name),
        Vec3::new(0.4, 0.3, 0.4),
        [6, 5, 4],
        1.0 / 64.0,
        1e3,
        1e5,
    )
}

fn solver(frame_substeps: f32) -> Solver {
    let set = block("adjoint api");
    let cfg = SolverConfig {
        grid_res: 32,
        time_step: TimeStep::Fixed(1.0 / 2048.0),
        frame_dt: frame_substeps / 2048.0,
        ..Default::default()
    };
    let mut s = Solver::new(&gpu(), cfg, &set).unwrap();
    s.set_pokes(vec![Poke {
        centre: Vec3::new(0.42, 0.32, 0.42),
        radius: 0.03,
        force: Vec3::new(30.0, 0.0, 0.0),
        start: 0.0,
        duration: 0.01,
    }]);
    s
}

#[test]
fn gradients_are_bit_reproducible_taped_or_not_and_the_solver_returns_to_the_start() {
    let mut s = solver(20.0);
    let mut rng = rng("adjoint determinism");
    let n = s.len();
    let start = s.positions().unwrap();
    let weights: Vec<Vec<Vec3>> = (0..4)
        .map(|_| {
            (0..n)
                .map(|_| Vec3::new(rng.random(), rng.random(), rng.random()))
                .collect()
        })
        .collect();
    // Tape budgets: the default (the first frame learns the grid size and is taped again,
    // the next run starts knowing it); nothing (records and grids recomputed); room for one
    // node block per substep only (the first frame tries, then falls back to recomputing).
    let one_block = 20 * (n as u64 * (64 + 4) + 128 * 32);
    let budgets = [None, None, Some(0), Some(one_block)];
    let mut runs = Vec::new();
    for budget in budgets {
        if let Some(b) = budget {
            s.set_tape_budget(b);
        }
        let clip = s.record_clip(3).unwrap();
        assert_eq!(clip.frames(), 3);
        assert_eq!(clip.substeps(), vec![20, 20, 20]);
        let g = s.backward(&clip, &weights).unwrap();
        assert_eq!(
            s.positions().unwrap(),
            start,
            "backward leaves the clip's start"
        );
        assert_eq!(s.time(), 0.0);
        runs.push(g);
    }
    let bits = |g: &physdreamer::solver::adjoint::Gradients| {
        let mut b: Vec<u32> = g
            .ln_young
            .iter()
            .chain(&g.poisson)
            .map(|x| x.to_bits())
            .collect();
        b.extend(
            g.x0.iter()
                .chain(&g.v0)
                .flat_map(|v| v.to_array())
                .map(f32::to_bits),
        );
        b.extend(
            g.f0.iter()
                .chain(&g.c0)
                .flat_map(|m| m.to_cols_array())
                .map(f32::to_bits),
        );
        b
    };
    assert!(runs[0].ln_young.iter().any(|&e| e != 0.0));
    for (k, r) in runs.iter().enumerate().skip(1) {
        assert!(
            bits(&runs[0]) == bits(r),
            "backward pass {k} (tape budget {:?}) differs from the first",
            budgets[k]
        );
    }
}

/// A backward pass reruns frames without reading back their largest speed; the next clip
/// from a new state must not take that speed for its own (its substeps, and so its result,
/// would then depend on what ran before it).
#[test]
fn a_backward_pass_leaves_nothing_that_changes_the_next_clip() {
    let set = block("adjoint then clip");
    let cfg = SolverConfig {
        grid_res: 32,
        time_step: TimeStep::Adaptive {
            cfl: 0.4,
            max_substeps: 200,
        },
        frame_dt: 1.0 / 60.0,
        ..Default::default()
    };
    let with_velocity = |s: &Solver, v: Vec3| -> Vec<GpuParticle> {
        let mut state = s.state().unwrap();
        for p in &mut state {
            p.v = v.extend(0.0).to_array();
        }
        state
    };
    let slow = Vec3::new(0.0, -0.2, 0.0);
    // fresh: the slow clip on a new solver
    let mut fresh = Solver::new(&gpu(), cfg.clone(), &set).unwrap();
    let state = with_velocity(&fresh, slow);
    fresh.set_state(&state).unwrap();
    let expected = fresh.record_clip(2).unwrap();
    let expected_end = fresh.positions().unwrap();
    // after a backward pass through a fast clip
    let mut s = Solver::new(&gpu(), cfg, &set).unwrap();
    let fast = with_velocity(&s, Vec3::new(6.0, 0.0, 0.0));
    s.set_state(&fast).unwrap();
    let clip = s.record_clip(2).unwrap();
    let n = s.len();
    s.backward(&clip, &[vec![], vec![], vec![Vec3::ONE; n]])
        .unwrap();
    assert!(
        clip.substeps()[1] > expected.substeps()[1],
        "the fast clip needs more substeps ({:?} against {:?}), or this test shows nothing",
        clip.substeps(),
        expected.substeps()
    );
    s.set_state(&state).unwrap();
    let again = s.record_clip(2).unwrap();
    assert_eq!(again.substeps(), expected.substeps());
    assert_eq!(s.positions().unwrap(), expected_end);
}

#[test]
fn bad_adjoints_are_refused() {
    let mut s = solver(10.0);
    let n = s.len();
    let clip = s.record_clip(2).unwrap();
    let e = err_text(s.backward(&clip, &[vec![], vec![]]));
    assert!(
        e.contains("2 position adjoint lists") && e.contains("2 frames"),
        "{e}"
    );
    let e = err_text(s.backward(&clip, &[vec![], vec![Vec3::ONE; n - 1], vec![]]));
    assert!(
        e.contains("frame 1") && e.contains(&format!("{n} particles")),
        "{e}"
    );
    let mut nan = vec![Vec3::ZERO; n];
    nan[7] = Vec3::new(0.0, f32::NAN, 0.0);
    let e = err_text(s.backward(&clip, &[vec![], vec![], nan]));
    assert!(e.contains("NaN/inf"), "{e}");
    // a clip from another solver
    let mut rng = rng("adjoint api other");
    let set = random_block(
        &mut rng,
        Vec3::new(0.4, 0.3, 0.4),
        [3, 3, 3],
        1.0 / 64.0,
        1e3,
        1e5,
    );
    let cfg = SolverConfig {
        grid_res: 32,
        ..Default::default()
    };
    let mut other = Solver::new(&gpu(), cfg, &set).unwrap();
    let e = err_text(other.backward(&clip, &[vec![], vec![], vec![]]));
    assert!(e.contains("another particle count"), "{e}");
    // a frame longer than the tape allows
    let mut long = solver(600.0);
    let e = err_text(long.record_clip(1));
    assert!(e.contains("600 substeps"), "{e}");
}

fn err_text<T>(r: anyhow::Result<T>) -> String {
    match r {
        Ok(_) => panic!("should fail"),
        Err(e) => format!("{e:#}"),
    }
}
