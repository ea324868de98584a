//! The GPU adjoint (f32, reverse mode) against the CPU reference run on dual numbers (f64,
//! forward mode): directional derivatives of a loss on positions at every frame boundary and
//! on the whole final state, along random directions in each input (ln E, ν, x₀, v₀, C₀,
//! F₀), for one substep, 10 substeps, one frame and three frames, both elastic models, with
//! anchored particles, slip walls, gravity, damping and a poke. The dual-number derivatives
//! are themselves checked against finite differences in `reference_derivatives.rs`.

mod common;
use common::*;
use glam::{Mat3, Vec3};
use num_dual::Dual64;
use physdreamer::solver::reference::{Real, Reference};
use physdreamer::solver::{GpuParticle, Material, Poke, Solver, SolverConfig, TimeStep, Wall};
use physdreamer::ParticleSet;
use rand::Rng;

const DT: f32 = 1.0 / 2048.0;
const GROUPS: [&str; 6] = ["ln E", "nu", "x0", "v0", "C0", "F0"];

struct Case {
    set: ParticleSet,
    cfg: SolverConfig,
    poke: Poke,
    c0: Vec<Mat3>,
    f0: Vec<Mat3>,
    frames: usize,
    /// Loss weights on positions at each frame boundary, and on the final v, C, F.
    wx: Vec<Vec<Vec3>>,
    end: Vec<GpuParticle>,
    /// Directions, one per input group (a matrix per particle; scalars use its first
    /// entry, vectors its first column).
    dirs: Vec<Vec<Mat3>>,
}

fn unit3(r: &mut impl Rng) -> Vec3 {
    Vec3::new(
        r.random_range(-1.0..1.0),
        r.random_range(-1.0..1.0),
        r.random_range(-1.0..1.0),
    )
}

fn unit_m(r: &mut impl Rng) -> Mat3 {
    Mat3::from_cols(unit3(r), unit3(r), unit3(r))
}

fn case(rng: &mut impl Rng, material: Material, frames: usize, per_frame: u32) -> Case {
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
        set.velocity[i] = unit3(rng) * 0.5;
    }
    let n = set.len();
    Case {
        cfg: SolverConfig {
            grid_res: res,
            material,
            wall: Wall::Slip,
            damping: 2.0,
            time_step: TimeStep::Fixed(DT),
            frame_dt: DT * per_frame as f32,
            ..Default::default()
        },
        poke: Poke {
            centre: Vec3::new(0.45, 0.36, 0.45),
            radius: 0.05,
            force: Vec3::new(20.0, 5.0, -10.0),
            start: 0.0,
            duration: 0.02,
        },
        c0: (0..n).map(|_| unit_m(rng) * 2.0).collect(),
        f0: (0..n).map(|_| random_near_identity(rng, 0.1)).collect(),
        frames,
        wx: (0..=frames)
            .map(|_| (0..n).map(|_| unit3(rng)).collect())
            .collect(),
        end: (0..n)
            .map(|_| {
                GpuParticle::new(
                    Vec3::ZERO,
                    unit3(rng),
                    unit_m(rng) * 0.01,
                    unit_m(rng) * 0.01,
                )
            })
            .collect(),
        dirs: (0..GROUPS.len())
            .map(|_| (0..n).map(|_| unit_m(rng)).collect())
            .collect(),
        set,
    }
}

fn vt<T: Real>(v: Vec3) -> nalgebra::Vector3<T> {
    nalgebra::Vector3::new(T::c(v.x as f64), T::c(v.y as f64), T::c(v.z as f64))
}
fn mt<T: Real>(m: Mat3) -> nalgebra::Matrix3<T> {
    nalgebra::Matrix3::from_fn(|r, c| T::c(m.col(c)[r] as f64))
}
fn dot_m<T: Real>(a: &nalgebra::Matrix3<T>, w: Mat3) -> T {
    let w = mt::<T>(w);
    a.component_mul(&w).sum()
}

/// The loss on the reference, with input group `g` moved by `eps` along its direction.
fn cpu_loss<T: Real>(c: &Case, g: usize, eps: T) -> T {
    let mut r = Reference::<T>::new(c.cfg.clone(), &c.set).unwrap();
    r.pokes.push(c.poke);
    for i in 0..c.set.len() {
        let d = c.dirs[g][i];
        let p = &mut r.particles[i];
        p.c = mt(c.c0[i]);
        p.f = mt(c.f0[i]);
        match g {
            0 => r.young[i] = r.young[i] * (eps * T::c(d.x_axis.x as f64)).exp(),
            1 => r.poisson[i] += eps * T::c(d.x_axis.x as f64 * 0.1),
            2 => p.x += vt::<T>(d.x_axis * 1e-3) * eps,
            3 => p.v += vt::<T>(d.x_axis) * eps,
            4 => p.c += mt::<T>(d) * eps,
            _ => p.f += mt::<T>(d * 0.1) * eps,
        }
    }
    let per_frame = (c.cfg.frame_dt / DT).round() as u32;
    let mut loss = T::zero();
    for k in 0..=c.frames {
        if k > 0 {
            for _ in 0..per_frame {
                r.substep(DT as f64).unwrap();
            }
        }
        for (p, w) in r.particles.iter().zip(&c.wx[k]) {
            loss += p.x.dot(&vt(*w));
        }
    }
    for (p, w) in r.particles.iter().zip(&c.end) {
        loss += p.v.dot(&vt(w.velocity())) + dot_m(&p.c, w.affine()) + dot_m(&p.f, w.deformation());
    }
    loss
}

/// The GPU gradient projected on each group's direction.
fn gpu_directional(c: &Case) -> Vec<f64> {
    let ctx = gpu();
    let mut s = Solver::new(&ctx, c.cfg.clone(), &c.set).unwrap();
    let init: Vec<GpuParticle> = (0..c.set.len())
        .map(|i| GpuParticle::new(c.set.position[i], c.set.velocity[i], c.c0[i], c.f0[i]))
        .collect();
    s.set_state(&init).unwrap();
    s.set_pokes(vec![c.poke]);
    let clip = s.record_clip(c.frames).unwrap();
    let g = s.backward_with_state(&clip, &c.wx, &c.end).unwrap();
    let mut out = vec![0.0f64; GROUPS.len()];
    for i in 0..c.set.len() {
        let d = |k: usize| c.dirs[k][i];
        let fm = |a: Mat3, b: Mat3| (0..3).map(|j| a.col(j).dot(b.col(j)) as f64).sum::<f64>();
        out[0] += g.ln_young[i] as f64 * d(0).x_axis.x as f64;
        out[1] += g.poisson[i] as f64 * d(1).x_axis.x as f64 * 0.1;
        out[2] += g.x0[i].dot(d(2).x_axis * 1e-3) as f64;
        out[3] += g.v0[i].dot(d(3).x_axis) as f64;
        out[4] += fm(g.c0[i], d(4));
        out[5] += fm(g.f0[i], d(5) * 0.1);
    }
    out
}

fn check(material: Material, frames: usize, per_frame: u32) {
    let name = format!("adjoint {material:?}, {frames} frame(s) of {per_frame} substep(s)");
    let mut rng = rng(&name);
    let c = case(&mut rng, material, frames, per_frame);
    let gpu = gpu_directional(&c);
    for (g, group) in GROUPS.iter().enumerate() {
        let cpu = cpu_loss(&c, g, Dual64::new(0.0, 1.0)).eps;
        let rel = (gpu[g] - cpu).abs() / cpu.abs().max(1e-12);
        eprintln!("{name}, d/d {group}: GPU adjoint {:.6e}, CPU f64 forward {cpu:.6e}, relative {rel:.1e}", gpu[g]);
        assert!(
            cpu.is_finite() && gpu[g].is_finite(),
            "{name}, {group}: non-finite"
        );
        assert!(
            cpu.abs() > 1e-9,
            "{name}, {group}: derivative {cpu:e} too small to check"
        );
        assert!(
            rel < 1e-2,
            "{name}, d/d {group}: GPU {:e} vs CPU {cpu:e} ({rel:e} relative)",
            gpu[g]
        );
    }
}

#[test]
fn one_substep_fixed_corotated() {
    check(Material::FixedCorotated, 1, 1);
}

#[test]
fn one_substep_neo_hookean() {
    check(Material::NeoHookean, 1, 1);
}

#[test]
fn ten_substeps_fixed_corotated() {
    check(Material::FixedCorotated, 1, 10);
}

#[test]
fn ten_substeps_neo_hookean() {
    check(Material::NeoHookean, 1, 10);
}

#[test]
fn three_frames_fixed_corotated() {
    check(Material::FixedCorotated, 3, 25);
}

#[test]
fn three_frames_neo_hookean() {
    check(Material::NeoHookean, 3, 25);
}
