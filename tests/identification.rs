//! System identification through the differentiable reference solver: the clip of a poked
//! jelly block with a known global E is the target; starting 1.5 decades too soft, Adam on
//! log10 E with exact forward derivatives (dual numbers) recovers E.

mod common;
use common::poked_block;
use num_dual::Dual64;
use physdreamer::solver::reference::{Real, Reference};
use physdreamer::solver::{Poke, SolverConfig};
use physdreamer::ParticleSet;

const DT: f64 = 4e-4;
const FRAME: u32 = 83; // substeps of one 1/30 s frame
const FRAMES: u32 = 2;

fn scene() -> (ParticleSet, SolverConfig, Poke) {
    poked_block(DT as f32, 83.0 * DT as f32)
}

/// Positions at the end of each frame for E = 10^log_e (all particles).
fn clip<T: Real>(log_e: T) -> Vec<Vec<nalgebra::Vector3<T>>> {
    let (set, cfg, poke) = scene();
    let mut r = Reference::<T>::new(cfg, &set).unwrap();
    r.pokes.push(poke);
    let e = (log_e * T::c(std::f64::consts::LN_10)).exp();
    r.young.iter_mut().for_each(|y| *y = e);
    (0..FRAMES)
        .map(|_| {
            (0..FRAME).for_each(|_| r.substep(DT).unwrap());
            r.particles.iter().map(|p| p.x).collect()
        })
        .collect()
}

#[test]
fn gradient_descent_on_log_e_recovers_a_global_stiffness() {
    let truth = 4.3f64; // E = 2.0e4 Pa
    let target: Vec<Vec<nalgebra::Vector3<f64>>> = clip(truth);
    let loss = |log_e: Dual64| -> Dual64 {
        let mut l = Dual64::new(0.0, 0.0);
        for (frame, want) in clip(log_e).iter().zip(&target) {
            for (x, t) in frame.iter().zip(want) {
                for a in 0..3 {
                    let d = x[a] - Dual64::new(t[a], 0.0);
                    l += d * d;
                }
            }
        }
        l
    };
    // Adam on theta = log10 E, from 1.5 decades too soft
    let (mut theta, mut m, mut v) = (truth - 1.5, 0.0, 0.0);
    let (lr, b1, b2, iterations) = (0.05, 0.9, 0.999, 200);
    let mut last = f64::NAN;
    for k in 1..=iterations {
        let l = loss(Dual64::new(theta, 1.0));
        let g = l.eps;
        assert!(g.is_finite(), "gradient not finite at log10 E = {theta}");
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        let step = lr * (m / (1.0 - b1.powi(k))) / ((v / (1.0 - b2.powi(k))).sqrt() + 1e-12);
        theta -= step;
        last = l.re;
    }
    eprintln!("recovered log10 E = {theta:.5} (truth {truth}) in {iterations} iterations, last loss {last:e}");
    assert!(
        (theta - truth).abs() < 0.01,
        "recovered log10 E = {theta}, truth {truth}"
    );
}
