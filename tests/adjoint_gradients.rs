//! The GPU adjoint (f32, reverse mode) against the CPU reference run on dual numbers (f64,
//! forward mode): directional derivatives of a loss on positions at every frame boundary and
//! on the whole final state, along random directions in each input (ln E, ν, x₀, v₀, C₀,
//! F₀), for one substep, 10 substeps, one frame and three frames, both elastic models, from
//! rest (F = I), pre-strained and partly inverted starts, with anchored particles, slip and
//! sticky walls, a ground plane, damping, a poke and a drag spring. The dual-number
//! derivatives are checked against central finite differences of the f64 reference here too.

mod common;
use common::*;
use glam::{Mat3, Vec3};
use num_dual::Dual64;
use physdreamer::solver::reference::{Real, Reference};
use physdreamer::solver::{
    Drag, GpuParticle, Ground, Material, Poke, Solver, SolverConfig, TimeStep, Wall,
};
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
    /// Particles pulled by the drag spring (see `DRAG`).
    dragged: Vec<u32>,
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

/// What the scene exercises besides the interior: see each variant.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Setup {
    /// Anchored bottom layer, slip walls far away, a poke, a pre-strained random start.
    Interior,
    /// Starting at rest shape (F = I exactly, C = 0): repeated singular values.
    Rest,
    /// Some particles start inverted (det F < 0).
    Inverted,
    /// Moving into the low-x slip wall and onto a slip ground plane.
    SlipBoundaries,
    /// Sticky walls, a sticky ground plane and a drag spring on part of the block.
    StickyAndDrag,
}

const GRAB: Vec3 = Vec3::new(0.12, 0.12, 0.32);
const DRAG: Drag = Drag {
    target: Vec3::new(0.15, 0.14, 0.33),
    stiffness: 800.0,
    damping: 3.0,
};

fn case(
    rng: &mut impl Rng,
    material: Material,
    setup: Setup,
    frames: usize,
    per_frame: u32,
) -> Case {
    let res = 32;
    let near_wall = matches!(setup, Setup::SlipBoundaries | Setup::StickyAndDrag);
    let min = if near_wall {
        Vec3::new(2.7, 3.0, 10.0) / res as f32
    } else {
        Vec3::new(0.4, 0.3, 0.4)
    };
    let mut set = random_block(rng, min, [5, 5, 5], 0.5 / res as f32, 2e3, 2e4);
    for i in 0..set.len() {
        set.anchored[i] = !near_wall && set.position[i].y < 0.3 + 0.5 / res as f32;
        set.velocity[i] = unit3(rng) * 0.5;
        if near_wall {
            set.velocity[i] += Vec3::new(-1.0, -1.0, 0.0);
        }
    }
    let n = set.len();
    let (c0, f0): (Vec<Mat3>, Vec<Mat3>) = match setup {
        Setup::Rest => (vec![Mat3::ZERO; n], vec![Mat3::IDENTITY; n]),
        _ => (0..n)
            .map(|i| {
                let mut f = random_near_identity(rng, 0.1);
                if setup == Setup::Inverted && i % 5 == 0 {
                    f *= Mat3::from_diagonal(Vec3::new(1.0, 1.0, -0.3));
                }
                (unit_m(rng) * 2.0, f)
            })
            .unzip(),
    };
    let (wall, ground) = match setup {
        Setup::SlipBoundaries => (
            Wall::Slip,
            Some(Ground {
                height: 0.1,
                sticky: false,
            }),
        ),
        Setup::StickyAndDrag => (
            Wall::Sticky,
            Some(Ground {
                height: 0.1,
                sticky: true,
            }),
        ),
        _ => (Wall::Slip, None),
    };
    Case {
        cfg: SolverConfig {
            grid_res: res,
            material,
            wall,
            ground,
            damping: 2.0,
            time_step: TimeStep::Fixed(DT),
            frame_dt: DT * per_frame as f32,
            ..Default::default()
        },
        poke: Poke {
            centre: if near_wall {
                min + Vec3::splat(0.04)
            } else {
                Vec3::new(0.45, 0.36, 0.45)
            },
            radius: 0.05,
            force: Vec3::new(20.0, 5.0, -10.0),
            start: 0.0,
            duration: 0.02,
        },
        dragged: if setup == Setup::StickyAndDrag {
            (0..n as u32).filter(|i| i % 3 == 0).collect()
        } else {
            Vec::new()
        },
        c0,
        f0,
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
    if !c.dragged.is_empty() {
        r.drag = Some(DRAG);
        for &i in &c.dragged {
            r.drag_offset[i as usize] = Some(vt(c.set.position[i as usize] - GRAB));
        }
    }
    for i in 0..c.set.len() {
        let d = c.dirs[g][i];
        let p = &mut r.particles[i];
        p.c = mt(c.c0[i]);
        p.f = mt(c.f0[i]);
        match g {
            0 => r.young[i] *= (eps * T::c(d.x_axis.x as f64)).exp(),
            1 => r.poisson[i] += eps * T::c(d.x_axis.x as f64 * 0.1),
            2 => p.x += vt::<T>(d.x_axis * 0.01) * eps,
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

/// The GPU gradient projected on each group's direction, and the sum of the absolute
/// per-particle terms of that projection (its scale before cancellation).
fn gpu_directional(c: &Case) -> (Vec<f64>, Vec<f64>) {
    let ctx = gpu();
    let mut s = Solver::new(&ctx, c.cfg.clone(), &c.set).unwrap();
    let init: Vec<GpuParticle> = (0..c.set.len())
        .map(|i| GpuParticle::new(c.set.position[i], c.set.velocity[i], c.c0[i], c.f0[i]))
        .collect();
    s.set_state(&init).unwrap();
    s.set_pokes(vec![c.poke]);
    if !c.dragged.is_empty() {
        s.set_drag_selection(&c.dragged, GRAB).unwrap();
        s.set_drag(Some(DRAG));
    }
    let clip = s.record_clip(c.frames).unwrap();
    let g = s.backward_with_state(&clip, &c.wx, &c.end).unwrap();
    let mut out = vec![0.0f64; GROUPS.len()];
    let mut scale = vec![0.0f64; GROUPS.len()];
    for i in 0..c.set.len() {
        let d = |k: usize| c.dirs[k][i];
        let fm = |a: Mat3, b: Mat3| (0..3).map(|j| a.col(j).dot(b.col(j)) as f64).sum::<f64>();
        let terms = [
            g.ln_young[i] as f64 * d(0).x_axis.x as f64,
            g.poisson[i] as f64 * d(1).x_axis.x as f64 * 0.1,
            g.x0[i].dot(d(2).x_axis * 0.01) as f64,
            g.v0[i].dot(d(3).x_axis) as f64,
            fm(g.c0[i], d(4)),
            fm(g.f0[i], d(5) * 0.1),
        ];
        for k in 0..GROUPS.len() {
            out[k] += terms[k];
            scale[k] += terms[k].abs();
        }
    }
    (out, scale)
}

fn check(material: Material, setup: Setup, frames: usize, per_frame: u32) {
    let name =
        format!("adjoint {material:?} {setup:?}, {frames} frame(s) of {per_frame} substep(s)");
    let mut rng = rng(&name);
    let c = case(&mut rng, material, setup, frames, per_frame);
    let (gpu, scale) = gpu_directional(&c);
    for (g, group) in GROUPS.iter().enumerate() {
        let cpu = cpu_loss(&c, g, Dual64::new(0.0, 1.0)).eps;
        // The f64 derivative itself against finite differences at several steps: a large one
        // is spoilt where a slip condition, the poke's sphere or an anchored node's support
        // flips inside it (kinks, and jumps where a contact moves to another substep), a
        // small one by round-off where the derivative is small; a right derivative matches
        // at least one of them. Where such flips lie close together, even h = 1e-6 can
        // straddle a jump on either side; the one-sided differences at 1e-7 see one side
        // only, and the derivative is that of the side the base point is on. Where the
        // projection cancels by more than 10x, FD's truncation error follows the size of the
        // terms, not of their sum, so the error is taken relative to a tenth of the terms.
        let denominator = cpu.abs().max(0.1 * scale[g]).max(1e-12);
        let l0 = cpu_loss(&c, g, 0.0);
        let mut fd = Vec::new();
        for h in [1e-4, 1e-5, 1e-6, 1e-7] {
            let (up, down) = (cpu_loss(&c, g, h), cpu_loss(&c, g, -h));
            fd.push(("central", h, (up - down) / (2.0 * h)));
            if h == 1e-7 {
                fd.push(("forward", h, (up - l0) / h));
                fd.push(("backward", h, (l0 - down) / h));
            }
        }
        let fd_rel = fd
            .iter()
            .map(|&(kind, h, fd)| {
                eprintln!(
                    "{name}, d/d {group}: CPU f64 forward {cpu:.9e}, {kind} FD (h {h:e}) {fd:.9e}"
                );
                (fd - cpu).abs() / denominator
            })
            .fold(f64::INFINITY, f64::min);
        eprintln!(
            "{name}, d/d {group}: f64 forward vs the nearest FD, relative {fd_rel:.1e} (terms {:.3e})",
            scale[g]
        );
        assert!(
            fd_rel < 1e-5,
            "{name}, d/d {group}: f64 forward {cpu:e} vs FD ({fd_rel:e} relative)"
        );
        // Relative error; where the projection cancels by more than 10x (a random direction
        // nearly orthogonal to the gradient), relative to a tenth of its absolute terms.
        let rel = (gpu[g] - cpu).abs() / denominator;
        eprintln!("{name}, d/d {group}: GPU adjoint {:.6e}, CPU f64 forward {cpu:.6e}, relative {rel:.1e}", gpu[g]);
        assert!(
            cpu.is_finite() && gpu[g].is_finite(),
            "{name}, {group}: non-finite"
        );
        if setup == Setup::Rest && frames as u32 * per_frame == 1 && g < 2 {
            // tau(F = I) = 0 for every E and nu: the first substep from rest cannot see them
            assert!(
                cpu == 0.0 && gpu[g] == 0.0,
                "{name}, {group}: want exactly 0"
            );
            continue;
        }
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

use Material::{FixedCorotated as Fcr, NeoHookean as Nh};

#[test]
fn one_substep() {
    for m in [Fcr, Nh] {
        for setup in [Setup::Interior, Setup::Rest, Setup::Inverted] {
            check(m, setup, 1, 1);
        }
    }
}

#[test]
fn ten_substeps() {
    for m in [Fcr, Nh] {
        check(m, Setup::Interior, 1, 10);
        check(m, Setup::Rest, 1, 10);
    }
}

#[test]
fn one_frame_at_boundaries() {
    for m in [Fcr, Nh] {
        check(m, Setup::SlipBoundaries, 1, 40);
        check(m, Setup::StickyAndDrag, 1, 40);
    }
}

#[test]
fn three_frames() {
    for m in [Fcr, Nh] {
        check(m, Setup::Interior, 3, 25);
        check(m, Setup::SlipBoundaries, 3, 25);
    }
}
