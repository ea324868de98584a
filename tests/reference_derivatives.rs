//! Forward derivatives of whole reference runs (the f64 solver run on dual numbers) against
//! central finite differences: d(loss)/d(log E) along a random direction over every particle,
//! and d(loss)/d(initial velocity) along a random direction, for 1 substep up to three
//! frames, both elastic models, with anchors, walls, gravity and a poke. This is the
//! independent derivative that the GPU adjoint will be checked against.

mod common;
use common::*;
use glam::{Mat3, Vec3};
use num_dual::Dual64;
use physdreamer::solver::reference::{Real, Reference};
use physdreamer::solver::{Material, Poke, SolverConfig, TimeStep, Wall};
use physdreamer::ParticleSet;
use rand::Rng;

struct Case {
    set: ParticleSet,
    cfg: SolverConfig,
    poke: Poke,
    /// Initial deformation gradients (a pre-strained start makes the stress matter at once).
    f0: Vec<Mat3>,
    /// Loss weights on final positions and velocities.
    wx: Vec<Vec3>,
    wv: Vec<Vec3>,
    /// Directions: per-particle log E, per-particle initial velocity.
    de: Vec<f64>,
    dv: Vec<Vec3>,
}

fn case(rng: &mut impl Rng, material: Material) -> Case {
    let res = 32;
    let mut set = random_block(
        rng,
        Vec3::new(0.4, 0.3, 0.4),
        [5, 5, 5],
        0.5 / res as f32,
        2e3,
        2e4,
    );
    for i in 0..set.len() {
        set.anchored[i] = set.position[i].y < 0.3 + 0.5 / res as f32;
        set.velocity[i] = Vec3::new(
            rng.random_range(-0.5..0.5),
            rng.random_range(-0.5..0.5),
            rng.random_range(-0.5..0.5),
        );
    }
    let n = set.len();
    let unit = |r: &mut dyn rand::RngCore| {
        Vec3::new(
            r.random_range(-1.0..1.0),
            r.random_range(-1.0..1.0),
            r.random_range(-1.0..1.0),
        )
    };
    Case {
        cfg: SolverConfig {
            grid_res: res,
            material,
            wall: Wall::Slip,
            time_step: TimeStep::Fixed(4e-4),
            ..Default::default()
        },
        poke: Poke {
            centre: Vec3::new(0.45, 0.36, 0.45),
            radius: 0.05,
            force: Vec3::new(20.0, 5.0, -10.0),
            start: 0.0,
            duration: 0.02,
        },
        f0: (0..n).map(|_| random_near_identity(rng, 0.1)).collect(),
        wx: (0..n).map(|_| unit(rng)).collect(),
        wv: (0..n).map(|_| unit(rng)).collect(),
        de: (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
        dv: (0..n).map(|_| unit(rng)).collect(),
        set,
    }
}

/// Runs `steps` substeps with E scaled by exp(eps_e * de) and v0 moved by eps_v * dv, and
/// returns the loss sum(wx . x) + sum(wv . v).
fn run<T: Real>(c: &Case, steps: u32, eps_e: T, eps_v: T) -> T {
    let mut r = Reference::<T>::new(c.cfg.clone(), &c.set).unwrap();
    r.pokes.push(c.poke);
    for i in 0..c.set.len() {
        r.young[i] *= (eps_e * T::c(c.de[i])).exp();
        let d = c.dv[i];
        let p = &mut r.particles[i];
        p.v += nalgebra::Vector3::new(T::c(d.x as f64), T::c(d.y as f64), T::c(d.z as f64)) * eps_v;
        p.f = nalgebra::Matrix3::from_fn(|row, col| T::c(c.f0[i].col(col)[row] as f64));
    }
    for _ in 0..steps {
        r.substep(4e-4).unwrap();
    }
    let mut loss = T::zero();
    for (i, p) in r.particles.iter().enumerate() {
        for a in 0..3 {
            loss += p.x[a] * T::c(c.wx[i][a] as f64) + p.v[a] * T::c(c.wv[i][a] as f64);
        }
    }
    loss
}

fn check(material: Material, name: &str) {
    let mut rng = rng(name);
    let c = case(&mut rng, material);
    for steps in [1u32, 10, 83, 250] {
        // forward derivative along the log E direction and along the velocity direction
        let de = run(&c, steps, Dual64::new(0.0, 1.0), Dual64::new(0.0, 0.0)).eps;
        let dv = run(&c, steps, Dual64::new(0.0, 0.0), Dual64::new(0.0, 1.0)).eps;
        // Central differences at three steps: a large one is spoilt where a slip condition or
        // the poke's sphere flips inside it, a small one by round-off where the derivative is
        // small beside the loss (1e-5 beside terms of order 1); a right derivative matches at
        // least one of them.
        let fd = |e: f64, v: f64| (run(&c, steps, e, v) - run(&c, steps, -e, -v)) / (2.0 * (e + v));
        for (what, analytic, fds) in [
            ("log E", de, [1e-3, 1e-4, 1e-5].map(|h| (h, fd(h, 0.0)))),
            ("v0", dv, [1e-4, 1e-5, 1e-6].map(|h| (h, fd(0.0, h)))),
        ] {
            let (h, fd) = fds
                .into_iter()
                .min_by(|a, b| (a.1 - analytic).abs().total_cmp(&(b.1 - analytic).abs()))
                .expect("three steps");
            let rel = (analytic - fd).abs() / analytic.abs().max(1e-12);
            eprintln!("{name}, {steps} substeps, d/d {what}: forward {analytic:.9e}, central FD (best of three, h {h:e}) {fd:.9e}, relative {rel:.2e}");
            assert!(analytic.is_finite(), "{name}: non-finite derivative");
            assert!(
                analytic.abs() > 1e-9,
                "{name}, {steps} substeps, d/d {what} = {analytic:e}: too small to check"
            );
            assert!(rel < 1e-5, "{name}, {steps} substeps: d loss / d {what} forward {analytic:e} vs FD {fd:e} ({rel:e} relative)");
        }
    }
}

#[test]
fn forward_derivatives_match_finite_differences_fixed_corotated() {
    check(Material::FixedCorotated, "derivatives_fixed_corotated");
}

#[test]
fn forward_derivatives_match_finite_differences_neo_hookean() {
    check(Material::NeoHookean, "derivatives_neo_hookean");
}
