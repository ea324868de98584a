//! System identification through the GPU adjoint: the clip of a poked jelly block with a known
//! global E is the target; starting 1.5 decades too soft, gradient steps on log10 E (sign of
//! the whole-clip gradient, step halved whenever the sign flips) recover E.

mod common;
use common::*;
use glam::Vec3;
use physdreamer::solver::{Poke, Solver, SolverConfig};
use physdreamer::ParticleSet;

const DT: f32 = 1.0 / 2048.0;
const FRAMES: usize = 2;

fn scene() -> (ParticleSet, SolverConfig, Poke) {
    poked_block(DT, 68.0 * DT)
}

#[test]
fn gradient_steps_on_log_e_recover_a_global_stiffness() {
    let ctx = gpu();
    let (set, cfg, poke) = scene();
    let n = set.len();
    let mut solver = Solver::new(&ctx, cfg, &set).unwrap();
    solver.set_pokes(vec![poke]);
    let truth = 4.3f64; // E = 2.0e4 Pa
    let start = solver.snapshot();
    let run = |solver: &mut Solver, log_e: f64| {
        solver.restore(&start);
        solver
            .set_young(&vec![10f64.powf(log_e) as f32; n])
            .unwrap();
        solver.record_clip(FRAMES).unwrap()
    };
    let target = run(&mut solver, truth).positions;
    let (mut theta, mut step, mut last_sign) = (truth - 1.5, 0.37, 0.0);
    let mut history = Vec::new();
    for _ in 0..40 {
        let clip = run(&mut solver, theta);
        let mut loss = 0.0;
        let adjoints: Vec<Vec<Vec3>> = clip
            .positions
            .iter()
            .zip(&target)
            .map(|(x, t)| {
                x.iter()
                    .zip(t)
                    .map(|(a, b)| {
                        loss += (*a - *b).length_squared() as f64;
                        2.0 * (*a - *b)
                    })
                    .collect()
            })
            .collect();
        let g = solver.backward(&clip, &adjoints).unwrap();
        // every particle shares one E: d/d log10 E = ln 10 * sum of d/d ln E
        let grad: f64 = g.ln_young.iter().map(|&e| e as f64).sum::<f64>() * std::f64::consts::LN_10;
        assert!(grad.is_finite());
        history.push((theta, loss, grad));
        if grad == 0.0 {
            break;
        }
        let sign = grad.signum();
        if sign == -last_sign {
            step *= 0.5;
        }
        last_sign = sign;
        theta -= sign * step;
        if step < 1e-3 {
            break;
        }
    }
    for (t, l, g) in &history {
        eprintln!("log10 E {t:.5}: loss {l:.4e}, d loss / d log10 E {g:+.4e}");
    }
    eprintln!(
        "recovered log10 E = {theta:.5} (truth {truth}) in {} gradient evaluations",
        history.len()
    );
    assert!(
        (theta - truth).abs() < 0.01,
        "recovered log10 E = {theta}, truth {truth}"
    );
}
