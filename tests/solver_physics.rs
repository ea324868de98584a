//! Physics checks: conservation of linear and angular momentum, free fall, and the first
//! axial frequency of an elastic bar.

mod common;
use common::*;
use glam::Vec3;
use physdreamer::solver::reference::V3;
use physdreamer::solver::{Solver, SolverConfig, TimeStep, Wall};
use physdreamer::ParticleSet;
use rand::Rng;

#[test]
fn momentum_is_conserved_without_boundaries_or_gravity() {
    let mut rng = rng("momentum");
    let ctx = gpu();
    let res = 64;
    let mut set = random_block(
        &mut rng,
        Vec3::new(0.4, 0.4, 0.4),
        [12, 12, 12],
        1.0 / 128.0,
        1e4,
        1e5,
    );
    let c0 = Vec3::splat(0.447);
    let omega = Vec3::new(2.0, -3.0, 1.5);
    for i in 0..set.len() {
        let noise = Vec3::new(
            rng.random_range(-0.2..0.2),
            rng.random_range(-0.2..0.2),
            rng.random_range(-0.2..0.2),
        );
        set.velocity[i] = Vec3::new(0.3, -0.2, 0.25) + omega.cross(set.position[i] - c0) + noise;
    }
    let cfg = SolverConfig {
        grid_res: res,
        gravity: Vec3::ZERO,
        wall: Wall::None,
        time_step: TimeStep::Fixed(2e-4),
        ..Default::default()
    };
    let mut s = Solver::new(&ctx, cfg, &set).unwrap();
    let dx = 1.0 / res as f64;
    let masses: Vec<f64> = (0..set.len()).map(|i| set.mass(i) as f64).collect();
    let measure = |s: &Solver| {
        let st = s.state().unwrap();
        let (mut p, mut l) = (V3::zeros(), V3::zeros());
        for (q, m) in st.iter().zip(&masses) {
            let (x, v, c) = (v3(q.position() - c0), v3(q.velocity()), m3(q.affine()));
            p += v * *m;
            let spin = V3::new(
                c[(2, 1)] - c[(1, 2)],
                c[(0, 2)] - c[(2, 0)],
                c[(1, 0)] - c[(0, 1)],
            );
            l += (x.cross(&v) + spin * (dx * dx / 4.0)) * *m;
        }
        (p, l)
    };
    let (p0, l0) = measure(&s);
    s.substeps(200, 2e-4).unwrap();
    let (p1, l1) = measure(&s);
    let ep = (p1 - p0).norm() / p0.norm();
    let el = (l1 - l0).norm() / l0.norm();
    eprintln!("linear momentum drift {ep:e}, angular {el:e}");
    assert!(ep < 1e-5, "linear momentum drifted by {ep:e} (relative)");
    assert!(el < 1e-5, "angular momentum drifted by {el:e} (relative)");
    let moved = max_abs_diff(&s.positions().unwrap(), &set.position);
    assert!(moved > 0.005, "barely moved: {moved}");
}

#[test]
fn free_fall_follows_the_parabola() {
    let ctx = gpu();
    let mut set = ParticleSet::block(
        Vec3::new(0.3, 0.6, 0.4),
        [6, 6, 6],
        1.0 / 128.0,
        1000.0,
        1e5,
        0.3,
    );
    let v0 = Vec3::new(0.3, 0.5, -0.2);
    set.velocity.fill(v0);
    let g = Vec3::new(0.0, -9.8, 0.0);
    let dt = 2e-4f32;
    let cfg = SolverConfig {
        grid_res: 64,
        gravity: g,
        wall: Wall::None,
        time_step: TimeStep::Fixed(dt),
        ..Default::default()
    };
    let mut s = Solver::new(&ctx, cfg, &set).unwrap();
    let n = 500;
    s.substeps(n, dt).unwrap();
    let t = n as f64 * dt as f64;
    // symplectic Euler is first order: x_n = x0 + v0 t + g t^2 / 2 + g dt t / 2
    let tol = 0.5 * 9.8 * dt as f64 * t + 1e-5;
    let mut worst = 0.0f64;
    for (x, x0) in s.positions().unwrap().iter().zip(&set.position) {
        let want = v3(*x0) + v3(v0) * t + v3(g) * (0.5 * t * t);
        worst = worst.max((v3(*x) - want).amax());
    }
    eprintln!("free fall: worst deviation {worst:e} m after {t} s (allowed {tol:e})");
    assert!(
        worst <= tol,
        "free fall deviates by {worst} m (allowed {tol})"
    );
    assert!(
        worst >= 0.25 * tol,
        "deviation {worst} is below the scheme's own O(dt) error: check the test"
    );
}

#[test]
fn elastic_bar_first_axial_frequency() {
    let ctx = gpu();
    let res = 128u32;
    let dx = 1.0 / res as f32;
    let s = dx / 2.0;
    let (e, rho, len) = (1e5f32, 1000.0f32, 0.5f32);
    let xa = 26.0 * dx;
    let nfree = (len / s).round() as u32;
    let nanch = 8;
    let lo = Vec3::new(xa - nanch as f32 * s, 0.5 - 2.0 * s, 0.5 - 2.0 * s);
    let mut set = ParticleSet::block(lo, [nfree + nanch, 4, 4], s, rho, e, 0.0);
    let c = (e / rho).sqrt();
    let v0 = 0.05;
    for i in 0..set.len() {
        let xi = set.position[i].x - xa;
        if xi < 0.0 {
            set.anchored[i] = true;
        } else {
            set.velocity[i] = Vec3::X * v0 * (std::f32::consts::PI * xi / (2.0 * len)).sin();
        }
    }
    // modal velocity of the first mode: the projection of v_x on its shape (higher modes are
    // orthogonal to it, so they do not shift its zero crossings)
    let shape: Vec<f64> = set
        .position
        .iter()
        .map(|p| {
            if p.x < xa {
                0.0
            } else {
                (std::f64::consts::PI * (p.x - xa) as f64 / (2.0 * len as f64)).sin()
            }
        })
        .collect();
    let dt = 4e-4f32; // CFL number c dt / dx = 0.51
    let cfg = SolverConfig {
        grid_res: res,
        gravity: Vec3::ZERO,
        wall: Wall::None,
        time_step: TimeStep::Fixed(dt),
        ..Default::default()
    };
    let mut sim = Solver::new(&ctx, cfg, &set).unwrap();
    let expected = c / (4.0 * len);
    let chunk = 10;
    let (mut t, mut prev, mut crossings) = (0.0f64, v0 as f64, Vec::new());
    while t < 1.4 / expected as f64 {
        sim.substeps(chunk, dt).unwrap();
        t += (chunk as f32 * dt) as f64;
        let st = sim.state().unwrap();
        let v = st
            .iter()
            .zip(&shape)
            .map(|(p, w)| p.velocity().x as f64 * w)
            .sum::<f64>();
        if (prev > 0.0) != (v > 0.0) {
            let h = (chunk as f32 * dt) as f64;
            crossings.push(t - h * v / (v - prev));
        }
        prev = v;
    }
    assert!(
        crossings.len() >= 3,
        "modal velocity crossed zero only {} times",
        crossings.len()
    );
    let half_periods = (crossings.len() - 1) as f64;
    let period = 2.0 * (crossings.last().unwrap() - crossings[0]) / half_periods;
    let f = 1.0 / period;
    let err = (f - expected as f64).abs() / expected as f64;
    eprintln!(
        "bar: measured {f:.4} Hz, sqrt(E/rho)/(4L) = {expected:.4} Hz, error {:.2} %",
        err * 100.0
    );
    assert!(
        err < 0.02,
        "first axial frequency {f} Hz vs {expected} Hz ({:.2} % off)",
        err * 100.0
    );
}
