//! Every GPU stage against the CPU f64 reference on fresh random inputs: one substep from a
//! random particle state (random v, C and F, some F inverted or pure rotations), comparing
//! the stress records, the grid after P2G and the grid update, and the particles after G2P.

mod common;
use common::*;
use glam::{Mat3, Quat, Vec3};
use physdreamer::solver::layout::unpack_record;
use physdreamer::solver::reference::{Reference, M3};
use physdreamer::solver::{GpuParticle, Ground, Material, Solver, SolverConfig, TimeStep, Wall};
use rand::Rng;

/// Block-major node index: 8 x 4 x 4 blocks (see shaders/mpm_common.wgsl).
fn grid_index(c: [i32; 3], res: u32) -> usize {
    let n = [(res / 8) as i32, (res / 4) as i32];
    let b = [c[0] >> 3, c[1] >> 2, c[2] >> 2];
    let l = [c[0] & 7, c[1] & 3, c[2] & 3];
    ((((b[2] * n[1] + b[1]) * n[0] + b[0]) << 7) | (l[2] << 5) | (l[1] << 3) | l[0]) as usize
}

fn random_state(rng: &mut impl Rng, set: &physdreamer::ParticleSet) -> Vec<GpuParticle> {
    (0..set.len())
        .map(|i| {
            let f = match i % 5 {
                0 => Mat3::from_quat(Quat::from_axis_angle(
                    Vec3::new(1.0, 2.0, 3.0).normalize(),
                    rng.random_range(-3.0..3.0),
                )),
                1 => -random_near_identity(rng, 0.2), // inverted
                _ => random_near_identity(rng, 0.3),
            };
            let c = Mat3::from_cols_array(&std::array::from_fn::<f32, 9, _>(|_| {
                rng.random_range(-5.0..5.0)
            }));
            let v = Vec3::new(
                rng.random_range(-1.0..1.0),
                rng.random_range(-1.0..1.0),
                rng.random_range(-1.0..1.0),
            );
            GpuParticle::new(set.position[i], v, c, f)
        })
        .collect()
}

/// The f64 reference of `set` under `cfg`, with its particles at `state`.
fn reference_at(
    cfg: &SolverConfig,
    set: &physdreamer::ParticleSet,
    state: &[GpuParticle],
) -> Reference {
    let mut cpu = Reference::new(cfg.clone(), set).unwrap();
    for (p, s) in cpu.particles.iter_mut().zip(state) {
        p.x = v3(s.position());
        p.v = v3(s.velocity());
        p.c = m3(s.affine());
        p.f = m3(s.deformation());
    }
    cpu
}

/// How far f32 rounding in F can move the rotation of F's signed SVD (fixed-corotated): a
/// change dF moves it by about dF / (s_i + s_j) over the pairs of signed singular values,
/// which nearly cancel for an inverted F whose two smallest singular values nearly agree
/// (then even the f64 reference's choice of which one to negate hangs on the last bits).
/// 1 for well-conditioned F, larger in proportion below a pair sum of 0.1.
fn rotation_amplification(f: &M3) -> f64 {
    let mut s: Vec<f64> = f
        .svd(false, false)
        .singular_values
        .iter()
        .copied()
        .collect();
    s.sort_by(|a, b| b.total_cmp(a));
    if f.determinant() < 0.0 {
        s[2] = -s[2];
    }
    let pair = (s[0] + s[1])
        .abs()
        .min((s[0] + s[2]).abs())
        .min((s[1] + s[2]).abs());
    (0.1 / pair).max(1.0)
}

fn rel(a: f64, b: f64, scale: f64) -> f64 {
    (a - b).abs() / scale.max(1e-30)
}

fn one_substep(material: Material, seed_name: &str) {
    let mut rng = rng(seed_name);
    let ctx = gpu();
    let res = 32;
    let dx = 1.0 / res as f32;
    let mut set = random_block(&mut rng, Vec3::splat(0.4), [7, 6, 5], dx * 0.5, 1e4, 1e6);
    for i in (0..set.len()).step_by(7) {
        set.anchored[i] = true;
    }
    let cfg = SolverConfig {
        grid_res: res,
        material,
        gravity: Vec3::new(0.3, -9.8, 0.1),
        damping: 2.0,
        wall: Wall::Slip,
        ground: Some(Ground {
            height: 0.42,
            sticky: false,
        }),
        time_step: TimeStep::Fixed(1e-4),
        ..Default::default()
    };
    let state = random_state(&mut rng, &set);
    let mut gpu_solver = Solver::new(&ctx, cfg.clone(), &set).unwrap();
    gpu_solver.keep_buffers(true);
    gpu_solver.set_state(&state).unwrap();
    let mut cpu = reference_at(&cfg, &set, &state);
    let before = cpu.particles.clone();
    let dt = 1e-4;
    gpu_solver.substeps(1, dt as f32).unwrap();
    cpu.substep(dt).unwrap();

    // stress stage: records hold m C - dt V 4/dx^2 tau, in cell-sorted order
    let records = gpu_solver.debug_records().unwrap();
    let mut worst = 0.0f64;
    for r in &records {
        let (xg, mass, _mv, affine) = unpack_record(r);
        let p = state
            .iter()
            .position(|s| (s.position() * res as f32 - xg).length() < 1e-4)
            .expect("record matches a particle");
        let (mu, lambda) = physdreamer::solver::lame(cpu.young[p], cpu.poisson[p]);
        let tau = physdreamer::solver::reference::kirchhoff(&before[p].f, mu, lambda, material);
        let k = dt * cpu.volume[p] * 4.0 * (res * res) as f64;
        let want: M3 = before[p].c * cpu.mass[p] - tau * k;
        let got = m3(affine);
        assert!(
            !set.anchored[p],
            "particle {p} is anchored but has a record"
        );
        let mut scale = want.norm().max(cpu.mass[p] * 5.0);
        if material == Material::FixedCorotated {
            scale *= rotation_amplification(&before[p].f);
        }
        worst = worst.max((got - want).norm() / scale);
        assert!((mass as f64 - cpu.mass[p]).abs() <= 1e-6 * cpu.mass[p]);
    }
    assert!(
        worst < 2e-5,
        "stress records differ from the f64 reference by {worst:e} (relative)"
    );

    // p2g and grid_update: every node the reference touched
    let (blocks, grid, grid_v) = gpu_solver.debug_grid().unwrap();
    let mscale = cpu.grid.values().map(|n| n.m).fold(0.0, f64::max);
    let pscale = cpu.grid.values().map(|n| n.mv.norm()).fold(0.0, f64::max);
    let vscale = cpu.grid.values().map(|n| n.v.norm()).fold(0.0, f64::max);
    let mut nodes = 0;
    for (idx, node) in &cpu.grid {
        let i = grid_index(*idx, res);
        assert!(
            blocks.contains(&((i >> 7) as u32)),
            "node {idx:?} is not in an active block"
        );
        let g = grid[i];
        assert!(
            rel(g[3] as f64, node.m, mscale) < 1e-5,
            "mass at {idx:?}: {} vs {}",
            g[3],
            node.m
        );
        assert!(
            rel(g[4] as f64, node.m_anchor, mscale) < 1e-5,
            "anchored mass at {idx:?}"
        );
        for a in 0..3 {
            assert!(
                rel(g[a] as f64, node.mv[a], pscale) < 1e-5,
                "momentum at {idx:?}: {:?} vs {:?}",
                &g[..3],
                node.mv
            );
            if node.m > 1e-9 * mscale {
                assert!(
                    rel(grid_v[i][a] as f64, node.v[a], vscale) < 1e-4,
                    "velocity at {idx:?}: {:?} vs {:?}",
                    grid_v[i],
                    node.v
                );
            }
        }
        nodes += 1;
    }
    assert!(nodes > 100, "too few grid nodes compared: {nodes}");

    // g2p: the whole particle state
    let after = gpu_solver.state().unwrap();
    let (mut ex, mut ev, mut ec, mut ef) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (g, c) in after.iter().zip(&cpu.particles) {
        ex = ex.max((v3(g.position()) - c.x).amax());
        ev = ev.max((v3(g.velocity()) - c.v).amax());
        ec = ec.max((m3(g.affine()) - c.c).amax());
        ef = ef.max((m3(g.deformation()) - c.f).amax());
    }
    assert!(ex < 1e-6, "positions differ by {ex:e}");
    assert!(ev < 1e-4, "velocities differ by {ev:e}");
    assert!(ec < 1e-2, "C differs by {ec:e} (C entries are O(10-100))");
    assert!(ef < 1e-5, "F differs by {ef:e}");
}

#[test]
fn stages_match_reference_fixed_corotated() {
    one_substep(Material::FixedCorotated, "stages_fixed_corotated");
}

#[test]
fn stages_match_reference_neo_hookean() {
    one_substep(Material::NeoHookean, "stages_neo_hookean");
}

/// The rotation used by fixed-corotated stress: zero stress for pure rotations and at F = I
/// (repeated singular values), finite and matching the reference for inverted and
/// degenerate F.
#[test]
fn stress_at_special_deformations() {
    let ctx = gpu();
    let res = 32;
    let dx = 1.0 / res as f32;
    let fs = [
        Mat3::IDENTITY,
        Mat3::from_quat(Quat::from_rotation_y(2.5)),
        Mat3::from_diagonal(Vec3::new(1.2, 1.2, 0.9)), // repeated singular values
        Mat3::from_diagonal(Vec3::new(1.0, 1.0, -0.5)), // inverted
        Mat3::from_diagonal(Vec3::new(-1.2, -1.0, -0.8)), // inverted on all axes
        // (F = -I is left out: with three equal singular values, which axis flips is arbitrary)
        Mat3::from_diagonal(Vec3::new(1.1, 0.9, 1e-7)), // nearly flat
        Mat3::from_cols(Vec3::X, Vec3::X * 1.0001, Vec3::Z), // nearly singular shear
    ];
    for material in [Material::FixedCorotated, Material::NeoHookean] {
        let set = physdreamer::ParticleSet::block(
            Vec3::new(0.3, 0.5, 0.5),
            [fs.len() as u32, 1, 1],
            2.0 * dx,
            1000.0,
            1e5,
            0.3,
        );
        let cfg = SolverConfig {
            grid_res: res,
            material,
            time_step: TimeStep::Fixed(1e-6),
            gravity: Vec3::ZERO,
            ..Default::default()
        };
        let mut s = Solver::new(&ctx, cfg.clone(), &set).unwrap();
        s.keep_buffers(true);
        let state: Vec<GpuParticle> = fs
            .iter()
            .enumerate()
            .map(|(i, f)| GpuParticle::new(set.position[i], Vec3::ZERO, Mat3::ZERO, *f))
            .collect();
        s.set_state(&state).unwrap();
        s.substeps(1, 1e-6).unwrap();
        let records = s.debug_records().unwrap();
        let (mu, lambda) = physdreamer::solver::lame(1e5, 0.3);
        for r in &records {
            let (xg, _, _, affine) = unpack_record(r);
            let p = ((xg.x / res as f32 - 0.3) / (2.0 * dx)).floor() as usize;
            let tau = physdreamer::solver::reference::kirchhoff(&m3(fs[p]), mu, lambda, material);
            let k = 1e-6 * set.volume[p] as f64 * 4.0 * (res * res) as f64;
            let got = -m3(affine) / k;
            assert!(
                got.iter().all(|e| e.is_finite()),
                "{material:?} F#{p}: non-finite stress"
            );
            let err = (got - tau).norm() / (mu + lambda);
            assert!(
                err < 1e-4,
                "{material:?} F#{p} = {:?}: stress {got} vs reference {tau} (error {err:e})",
                fs[p]
            );
            if p < 2 {
                assert!(
                    got.norm() < 1e-3 * mu,
                    "{material:?}: rotation F#{p} must be stress-free, got {got}"
                );
            }
        }
    }
}

/// The grid's anchor flags after one substep from `state` against the reference's, node by
/// node over the nodes the moving particles reach; returns how many of them are stopped.
fn anchor_flags_match(
    solver: &mut Solver,
    cfg: &SolverConfig,
    set: &physdreamer::ParticleSet,
    state: &[GpuParticle],
) -> usize {
    let res = cfg.grid_res;
    let dt = 1e-4;
    solver.substeps(1, dt as f32).unwrap();
    let mut cpu = reference_at(cfg, set, state);
    cpu.substep(dt).unwrap();
    let (_, grid, _) = solver.debug_grid().unwrap();
    let mut stopped = 0;
    for (idx, node) in cpu.grid.iter().filter(|(_, n)| n.m > 0.0) {
        let flag = grid[grid_index(*idx, res)][4] as f64;
        assert_eq!(flag, node.m_anchor, "anchor flag at node {idx:?}");
        stopped += (flag > 0.0) as usize;
    }
    stopped
}

/// Anchored particles stay out of P2G: the nodes they stop are marked when the state is set
/// or restored. Moving them with `set_state` must move the marks, and `restore` must put the
/// first ones back (stale marks differ from the reference's at the nodes between the places).
#[test]
fn anchor_marks_follow_set_state_and_restore() {
    let mut rng = rng("anchor marks");
    let res = 32;
    let dx = 1.0 / res as f32;
    let mut set = random_block(&mut rng, Vec3::splat(0.4), [8, 6, 5], dx * 0.5, 1e4, 1e5);
    for i in (0..set.len()).step_by(5) {
        set.anchored[i] = true;
    }
    let cfg = SolverConfig {
        grid_res: res,
        time_step: TimeStep::Fixed(1e-4),
        ..Default::default()
    };
    let mut solver = Solver::new(&gpu(), cfg.clone(), &set).unwrap();
    // (the grid buffers that debug_grid reads are written only then)
    solver.keep_buffers(true);
    let at_rest = |shift: Vec3| -> Vec<GpuParticle> {
        (0..set.len())
            .map(|i| {
                let x = set.position[i] + if set.anchored[i] { shift } else { Vec3::ZERO };
                GpuParticle::new(x, Vec3::ZERO, Mat3::ZERO, Mat3::IDENTITY)
            })
            .collect()
    };
    let first = at_rest(Vec3::ZERO);
    let first_snapshot = solver.snapshot();
    let a = anchor_flags_match(&mut solver, &cfg, &set, &first);
    // the anchored particles 2.5 cells towards +x, half a cell up: other nodes stop
    let moved = at_rest(Vec3::new(2.5, 0.5, 0.0) * dx);
    solver.set_state(&moved).unwrap();
    let b = anchor_flags_match(&mut solver, &cfg, &set, &moved);
    solver.restore(&first_snapshot);
    let c = anchor_flags_match(&mut solver, &cfg, &set, &first);
    assert!(a > 20 && b > 20, "too few stopped nodes: {a}, {b}");
    assert_eq!(a, c, "restoring the first state restores its stopped nodes");
}
