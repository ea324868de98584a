//! Adjoint stages on their own against dual numbers. The grid update's, node by node, after a
//! one-substep backward pass near slip or sticky walls and ground with anchors and damping. The
//! stress stage's, particle by particle, through the reference's Kirchhoff stress:
//! A = m C − dt V (4 / dx²) τ(F; E, ν), at F = I exactly (all singular values repeated), pure
//! rotations, F = s·R (repeated, scaled), random strains, inverted F and nearly flat F; both
//! elastic models. G2P's with the node gather, particle by particle (x, F) and node by node
//! (velocity), through G2P written out in dual numbers, with anchored and dragged particles.
//! P2G's, particle by particle (x, v and A = m C − k τ), through P2G in dual numbers; anchored
//! particles get nothing from it (their nodes are stopped).
//! The chains through all stages are checked by `adjoint_gradients.rs`.

mod common;
use common::*;
use glam::{Mat3, Quat, Vec3};
use nalgebra::ComplexField;
use num_dual::Dual64;
use physdreamer::solver::reference::bspline;
use physdreamer::solver::reference::{kirchhoff, lame, Real};
use physdreamer::solver::{
    Drag, GpuParticle, Ground, Material, Solver, SolverConfig, TimeStep, Wall,
};
use rand::Rng;

fn mt<T: Real>(m: Mat3) -> nalgebra::Matrix3<T> {
    nalgebra::Matrix3::from_fn(|r, c| T::c(m.col(c)[r] as f64))
}

fn frob(a: Mat3, b: Mat3) -> f64 {
    (0..3).map(|j| a.col(j).dot(b.col(j)) as f64).sum()
}

fn abs_m(m: Mat3) -> Mat3 {
    Mat3::from_cols(m.x_axis.abs(), m.y_axis.abs(), m.z_axis.abs())
}

fn random_m(rng: &mut impl Rng) -> Mat3 {
    Mat3::from_cols_array(&std::array::from_fn(|_| rng.random_range(-1.0f32..1.0)))
}

fn check(material: Material) {
    let mut rng = rng(&format!("stress adjoint {material:?}"));
    let set = random_block(&mut rng, Vec3::splat(0.4), [4, 4, 4], 1.0 / 64.0, 1e3, 1e6);
    let n = set.len();
    let cfg = SolverConfig {
        grid_res: 32,
        material,
        ..Default::default()
    };
    let mut solver = Solver::new(&gpu(), cfg, &set).unwrap();
    let dt = 1e-3f32;
    let fs: Vec<Mat3> = (0..n)
        .map(|i| {
            let r = Mat3::from_quat(Quat::from_scaled_axis(random_m(&mut rng).x_axis * 2.0));
            match i % 6 {
                0 => Mat3::IDENTITY,
                1 => r,
                2 => r * 1.3,
                3 => random_near_identity(&mut rng, 0.3),
                4 => r * Mat3::from_diagonal(Vec3::new(1.1, 0.9, -0.4)),
                _ => r * Mat3::from_diagonal(Vec3::new(1.0, 2e-3, 1e-3)),
            }
        })
        .collect();
    let state: Vec<GpuParticle> = (0..n)
        .map(|i| GpuParticle::new(set.position[i], Vec3::ZERO, random_m(&mut rng), fs[i]))
        .collect();
    let a_adj: Vec<Mat3> = (0..n).map(|_| random_m(&mut rng)).collect();
    let (adj, mat) = solver.debug_stress_adjoint(&state, &a_adj, dt).unwrap();
    let k = dt as f64 * 4.0 * 32.0 * 32.0;
    let mut worst = 0.0f64;
    for i in 0..n {
        let (dc, df) = (random_m(&mut rng), random_m(&mut rng));
        let (de, dnu) = (rng.random_range(-1.0..1.0), rng.random_range(-0.1..0.1));
        // CPU: d/d eps <A_adj, A(C + eps dC, F + eps dF, E e^(eps de), nu + eps dnu)>
        let eps = Dual64::new(0.0, 1.0);
        let c = mt::<Dual64>(state[i].affine()) + mt::<Dual64>(dc) * eps;
        let f = mt::<Dual64>(fs[i]) + mt::<Dual64>(df) * eps;
        let e = Dual64::c(set.young[i] as f64) * (eps * de).exp();
        let nu = Dual64::c(set.poisson[i] as f64) + eps * dnu;
        let (mu, lambda) = lame(e, nu);
        let m = Dual64::c(set.mass(i) as f64);
        let a = c * m - kirchhoff(&f, mu, lambda, material) * Dual64::c(k * set.volume[i] as f64);
        let cpu = a.component_mul(&mt::<Dual64>(a_adj[i])).sum().eps;
        let terms = [
            frob(adj[i].0, dc),
            frob(adj[i].1, df),
            mat[i][0] as f64 * de,
            mat[i][1] as f64 * dnu,
        ];
        let gpu: f64 = terms.iter().sum();
        let scale = terms.iter().map(|t| t.abs()).sum::<f64>();
        let rel = (gpu - cpu).abs() / cpu.abs().max(0.1 * scale).max(1e-30);
        assert!(
            gpu.is_finite(),
            "particle {i} (case {}): non-finite adjoint",
            i % 6
        );
        assert!(
            rel < 1e-3,
            "particle {i} (case {}, F = {:?}): GPU {gpu:e} vs CPU {cpu:e} ({rel:e})",
            i % 6,
            fs[i]
        );
        worst = worst.max(rel);
    }
    eprintln!("{material:?}: {n} particles, largest relative difference {worst:.1e}");
}

#[test]
fn stress_adjoint_fixed_corotated() {
    check(Material::FixedCorotated);
}

#[test]
fn stress_adjoint_neo_hookean() {
    check(Material::NeoHookean);
}

/// The grid update's velocity, the forward formula written out here in dual numbers:
/// v = mask · e^(−damping dt) (mv / m + dt g), the mask from anchors, walls and the ground.
fn grid_velocity(
    cfg: &SolverConfig,
    dt: f64,
    node: [u32; 3],
    mv: [Dual64; 3],
    m: Dual64,
    anchored: bool,
) -> [Dual64; 3] {
    let decay = (-(cfg.damping as f64) * dt).exp();
    let g = cfg.gravity;
    let mut v = [0, 1, 2].map(|a| (mv[a] / m + Dual64::c(dt * g[a] as f64)) * Dual64::c(decay));
    if anchored {
        v = [Dual64::c(0.0); 3];
    }
    let (lo, hi) = (cfg.wall_cells, cfg.grid_res - cfg.wall_cells);
    for a in 0..3 {
        let outside = node[a] < lo || node[a] > hi;
        let outward = (node[a] < lo && v[a].re < 0.0) || (node[a] > hi && v[a].re > 0.0);
        match cfg.wall {
            Wall::Sticky if (0..3).any(|b| node[b] < lo || node[b] > hi) => v = [Dual64::c(0.0); 3],
            Wall::Slip if outside && outward => v[a] = Dual64::c(0.0),
            _ => {}
        }
    }
    if let Some(gr) = cfg.ground {
        if node[1] as f32 * (1.0 / cfg.grid_res as f32) <= gr.height {
            if gr.sticky {
                v = [Dual64::c(0.0); 3];
            } else if v[1].re < 0.0 {
                v[1] = Dual64::c(0.0);
            }
        }
    }
    v
}

/// Block-major node index → node coordinates (8 × 4 × 4 blocks, x fastest).
fn node_of(i: usize, res: u32) -> [u32; 3] {
    let (b, l) = ((i >> 7) as u32, (i & 127) as u32);
    let nb = [res / 8, res / 4, res / 4];
    let bc = [b % nb[0], (b / nb[0]) % nb[1], b / (nb[0] * nb[1])];
    [
        bc[0] * 8 + (l & 7),
        bc[1] * 4 + ((l >> 3) & 3),
        bc[2] * 4 + (l >> 5),
    ]
}

fn check_grid(wall: Wall, ground: Option<Ground>) {
    let mut rng = rng(&format!("grid update adjoint {wall:?} {ground:?}"));
    let res = 32u32;
    let mut set = random_block(
        &mut rng,
        Vec3::new(2.6, 2.8, 10.0) / res as f32,
        [14, 12, 6],
        0.5 / res as f32,
        1e3,
        1e5,
    );
    for i in 0..set.len() {
        set.anchored[i] = i % 7 == 0;
        set.velocity[i] = Vec3::new(
            rng.random_range(-2.0..1.0),
            rng.random_range(-2.0..1.0),
            rng.random_range(-1.0..1.0),
        );
    }
    let dt = 1.0 / 2048.0;
    let cfg = SolverConfig {
        grid_res: res,
        wall,
        ground,
        damping: 3.0,
        time_step: TimeStep::Fixed(dt),
        frame_dt: dt,
        ..Default::default()
    };
    let mut solver = Solver::new(&gpu(), cfg.clone(), &set).unwrap();
    let clip = solver.record_clip(1).unwrap();
    let adj: Vec<Vec3> = (0..set.len())
        .map(|_| Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5)
        .collect();
    solver.backward(&clip, &[vec![], adj]).unwrap();
    let (blocks, grid, _) = solver.debug_grid().unwrap();
    let (grid_adj, node_adj) = solver.debug_grid_adjoint().unwrap();
    let (mut checked, mut masked, mut free, mut worst) = (0, 0, 0, 0.0f64);
    for &b in &blocks {
        for l in 0..128usize {
            let i = ((b as usize) << 7) | l;
            let g = grid[i];
            if g[3] <= 0.0 {
                continue;
            }
            let node = node_of(i, res);
            let v_adj = [grid_adj[i][0], grid_adj[i][1], grid_adj[i][2]];
            let (dmv, dm) = (
                [0; 3].map(|_| rng.random_range(-1.0..1.0)),
                rng.random_range(-1.0..1.0),
            );
            let eps = Dual64::new(0.0, 1.0);
            let mv = [0, 1, 2].map(|a| Dual64::c(g[a] as f64) + eps * dmv[a]);
            let m = Dual64::c(g[3] as f64) + eps * (dm * g[3] as f64);
            let v = grid_velocity(&cfg, dt as f64, node, mv, m, g[4] > 0.0);
            let cpu: f64 = (0..3).map(|a| v[a].eps * v_adj[a] as f64).sum();
            let terms = [
                node_adj[i][0] as f64 * dmv[0],
                node_adj[i][1] as f64 * dmv[1],
                node_adj[i][2] as f64 * dmv[2],
                node_adj[i][3] as f64 * dm * g[3] as f64,
            ];
            let gpu: f64 = terms.iter().sum();
            let scale = terms.iter().map(|t| t.abs()).sum::<f64>();
            let rel = (gpu - cpu).abs() / cpu.abs().max(0.1 * scale).max(1e-30);
            assert!(
                gpu.is_finite() && rel < 1e-4,
                "node {node:?}: GPU {gpu:e} vs CPU {cpu:e} ({rel:e})"
            );
            checked += 1;
            masked += (v.iter().any(|c| c.re == 0.0)) as usize;
            free += (v.iter().all(|c| c.re != 0.0)) as usize;
            worst = worst.max(rel);
        }
    }
    eprintln!("{wall:?} {ground:?}: {checked} nodes ({masked} with a stopped component, {free} free), largest relative difference {worst:.1e}");
    assert!(
        masked > 20 && free > 20,
        "{checked} nodes, {masked} masked, {free} free: the case misses the boundaries or the interior"
    );
}

#[test]
fn grid_update_adjoint_slip() {
    check_grid(
        Wall::Slip,
        Some(Ground {
            height: 0.1,
            sticky: false,
        }),
    );
}

#[test]
fn grid_update_adjoint_sticky() {
    check_grid(
        Wall::Sticky,
        Some(Ground {
            height: 0.1,
            sticky: true,
        }),
    );
}

/// Node coordinates → block-major index (8 × 4 × 4 blocks, x fastest).
fn index_of(node: [i64; 3], res: u32) -> usize {
    let nb = [res as i64 / 8, res as i64 / 4];
    let (b, l) = (
        [node[0] / 8, node[1] / 4, node[2] / 4],
        [node[0] % 8, node[1] % 4, node[2] % 4],
    );
    let block = (b[2] * nb[1] + b[1]) * nb[0] + b[0];
    ((block << 7) | (l[2] << 5) | (l[1] << 3) | l[0]) as usize
}

type V3 = nalgebra::Vector3<Dual64>;
type M3 = nalgebra::Matrix3<Dual64>;

/// G2P of one particle written out in dual numbers, weighted by the adjoint `a` of its
/// outputs: <a, (x', v', C', F')> with v' = Σ w v_i, C' = 4/dx Σ w v_i dposᵀ,
/// F' = (I + dt C') F, x' = x + dt v', then the drag spring on v'; an anchored particle keeps
/// x and F and gets v' = C' = 0. `gv` gives node velocities by block-major index.
struct G2pCase {
    res: u32,
    dt: f64,
    drag: Drag,
}

impl G2pCase {
    fn weighted(
        &self,
        x: V3,
        f: M3,
        gv: &dyn Fn(usize) -> V3,
        a: &GpuParticle,
        anchored: bool,
        offset: Option<Vec3>,
    ) -> Dual64 {
        let c = |v: f64| Dual64::c(v);
        let (x2, v2, c2, f2) = if anchored {
            (x, V3::zeros(), M3::zeros(), f)
        } else {
            let inv_dx = self.res as f64;
            let xg = x * c(inv_dx);
            let base: [i64; 3] = std::array::from_fn(|k| {
                ((xg[k].re - 0.5).floor() as i64).clamp(0, self.res as i64 - 3)
            });
            let fx = V3::from_fn(|k, _| xg[k] - c(base[k] as f64));
            let (mut v, mut b) = (V3::zeros(), M3::zeros());
            for o in (0..27).map(|i| [i % 3, (i / 3) % 3, i / 9]) {
                let w = (0..3).fold(c(1.0), |w, k| w * bspline(fx[k], o[k]));
                let node = std::array::from_fn(|k| base[k] + o[k] as i64);
                let g = gv(index_of(node, self.res));
                let dpos = V3::from_fn(|k, _| c(o[k] as f64) - fx[k]);
                v += g * w;
                b += g * dpos.transpose() * w;
            }
            let cm = b * c(4.0 * inv_dx);
            let f2 = (M3::identity() + cm * c(self.dt)) * f;
            let x2 = x + v * c(self.dt);
            if let Some(off) = offset {
                let d = &self.drag;
                let target = V3::from_fn(|k, _| c((d.target[k] + off[k]) as f64));
                let acc = (target - x2) * c(d.stiffness as f64) - v * c(d.damping as f64);
                v += acc * c(self.dt);
            }
            (x2, v, cm, f2)
        };
        let m = |q: Mat3| mt::<Dual64>(q);
        let vec = |q: Vec3| V3::from_fn(|k, _| c(q[k] as f64));
        vec(a.position()).dot(&x2)
            + vec(a.velocity()).dot(&v2)
            + m(a.affine()).component_mul(&c2).sum()
            + m(a.deformation()).component_mul(&f2).sum()
    }
}

/// 100 jittered particles at 0.6 cells' spacing near the middle of a `res`³ grid, every 7th
/// anchored.
fn probe_block(rng: &mut impl Rng, res: u32) -> physdreamer::ParticleSet {
    let mut set = random_block(rng, Vec3::splat(0.4), [5, 5, 4], 0.6 / res as f32, 1e3, 1e5);
    for i in 0..set.len() {
        set.anchored[i] = i % 7 == 0;
    }
    set
}

#[test]
fn g2p_adjoint_with_anchors_and_drag() {
    let mut rng = rng("g2p adjoint");
    let res = 32u32;
    let mut set = probe_block(&mut rng, res);
    let n = set.len();
    for i in 0..n {
        set.velocity[i] = Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5;
    }
    let dt = 1.0 / 2048.0;
    let cfg = SolverConfig {
        grid_res: res,
        time_step: TimeStep::Fixed(dt),
        frame_dt: dt,
        ..Default::default()
    };
    let mut solver = Solver::new(&gpu(), cfg, &set).unwrap();
    let drag = Drag {
        target: Vec3::new(0.47, 0.45, 0.43),
        stiffness: 2000.0,
        damping: 30.0,
    };
    let grab = Vec3::new(0.45, 0.44, 0.44);
    let dragged: Vec<u32> = (0..n as u32).filter(|i| i % 5 == 1).collect();
    solver.set_drag_selection(&dragged, grab).unwrap();
    solver.set_drag(Some(drag));
    let state: Vec<GpuParticle> = (0..n)
        .map(|i| {
            let c = random_m(&mut rng) * 20.0;
            let f = random_near_identity(&mut rng, 0.2);
            GpuParticle::new(set.position[i], set.velocity[i], c, f)
        })
        .collect();
    // Every other particle gets no adjoint of x': its x adjoint is then G2P's weight
    // derivative alone (no pass-through term to hide an error in it).
    let out_adj: Vec<GpuParticle> = (0..n)
        .map(|i| {
            let x = (Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5) * (i % 2) as f32;
            let v = Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5;
            GpuParticle::new(x, v, random_m(&mut rng) * 1e-2, random_m(&mut rng))
        })
        .collect();
    let (adj, node_adj) = solver.debug_g2p_adjoint(&state, &out_adj, dt).unwrap();
    let (_, _, grid_v) = solver.debug_grid().unwrap();
    let case = G2pCase {
        res,
        dt: dt as f64,
        drag,
    };
    let offset = |i: usize| (i % 5 == 1).then(|| set.position[i] - grab);
    let fixed = |i: usize| {
        let g = grid_v[i];
        V3::from_fn(|k, _| Dual64::c(g[k] as f64))
    };
    let x_of = |i: usize| V3::from_fn(|k, _| Dual64::c(state[i].position()[k] as f64));
    let f_of = |i: usize| mt::<Dual64>(state[i].deformation());
    let rel =
        |gpu: f64, cpu: f64, scale: f64| (gpu - cpu).abs() / cpu.abs().max(0.1 * scale).max(1e-30);
    // particles: d/d eps of the weighted outputs along a random dx, then a random dF
    let mut worst = 0.0f64;
    for i in 0..n {
        let dx = Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5;
        let df = random_m(&mut rng);
        let eps = Dual64::new(0.0, 1.0);
        let x = x_of(i) + V3::from_fn(|k, _| eps * (dx[k] as f64 / res as f64));
        let f = f_of(i) + mt::<Dual64>(df) * eps;
        let along_x = case.weighted(x, f_of(i), &fixed, &out_adj[i], set.anchored[i], offset(i));
        let along_f = case.weighted(x_of(i), f, &fixed, &out_adj[i], set.anchored[i], offset(i));
        let (ax, af) = (adj[i].position(), adj[i].deformation());
        let gpu_x = ax.dot(dx) as f64 / res as f64;
        let scale_x = (ax * dx).abs().element_sum() as f64 / res as f64;
        let gpu_f = frob(af, df);
        let scale_f = frob(abs_m(af), abs_m(df));
        for (what, gpu, cpu, scale) in [
            ("x", gpu_x, along_x.eps, scale_x),
            ("F", gpu_f, along_f.eps, scale_f),
        ] {
            let r = rel(gpu, cpu, scale);
            assert!(
                gpu.is_finite() && r < 1e-4,
                "particle {i}, adjoint of {what}: GPU {gpu:e} vs CPU {cpu:e} ({r:e})"
            );
            worst = worst.max(r);
        }
        assert_eq!(adj[i].velocity(), Vec3::ZERO, "particle {i}: v adjoint");
    }
    // nodes: d/d eps of all particles' weighted outputs with one node's velocity moved
    let mut nodes: Vec<usize> = Vec::new();
    for p in &state {
        let xg = p.position() * res as f32;
        let base = (xg - 0.5).floor();
        for o in 0..27 {
            let node = [0, 1, 2].map(|k| base[k] as i64 + [o % 3, (o / 3) % 3, o / 9][k] as i64);
            nodes.push(index_of(node, res));
        }
    }
    nodes.sort();
    nodes.dedup();
    let mut worst_node = 0.0f64;
    for &k in &nodes {
        let d = Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5;
        let eps = Dual64::new(0.0, 1.0);
        let moved = |i: usize| {
            let v = fixed(i);
            if i == k {
                v + V3::from_fn(|c, _| eps * d[c] as f64)
            } else {
                v
            }
        };
        let cpu: f64 = (0..n)
            .map(|i| {
                case.weighted(
                    x_of(i),
                    f_of(i),
                    &moved,
                    &out_adj[i],
                    set.anchored[i],
                    offset(i),
                )
                .eps
            })
            .sum();
        let terms = [0, 1, 2].map(|c| node_adj[k][c] as f64 * d[c] as f64);
        let gpu: f64 = terms.iter().sum();
        let r = rel(gpu, cpu, terms.iter().map(|t| t.abs()).sum());
        assert!(
            gpu.is_finite() && r < 1e-4,
            "node {k}: GPU {gpu:e} vs CPU {cpu:e} ({r:e})"
        );
        worst_node = worst_node.max(r);
    }
    eprintln!("G2P adjoint: {n} particles ({} anchored, {} dragged), {} nodes; largest relative difference {worst:.1e} (particles), {worst_node:.1e} (nodes)", set.anchored.iter().filter(|a| **a).count(), dragged.len(), nodes.len());
}

/// One particle's P2G contributions written out in dual numbers, weighted by the node
/// adjoints: Σ_nodes w (n.xyz · (m v + A (node − xg) dx) + n.w m).
fn p2g_weighted(x: V3, v: V3, a: M3, m: f64, res: u32, node_adj: &[[f32; 4]]) -> Dual64 {
    let c = |v: f64| Dual64::c(v);
    let (inv_dx, dx) = (res as f64, 1.0 / res as f64);
    let xg = x * c(inv_dx);
    let base: [i64; 3] =
        std::array::from_fn(|k| ((xg[k].re - 0.5).floor() as i64).clamp(0, res as i64 - 3));
    let fx = V3::from_fn(|k, _| xg[k] - c(base[k] as f64));
    let mut sum = c(0.0);
    for o in (0..27).map(|i| [i % 3, (i / 3) % 3, i / 9]) {
        let w = (0..3).fold(c(1.0), |w, k| w * bspline(fx[k], o[k]));
        let node = std::array::from_fn(|k| base[k] + o[k] as i64);
        let na = node_adj[index_of(node, res)];
        let dpos = V3::from_fn(|k, _| (c(o[k] as f64) - fx[k]) * c(dx));
        let mom = v * c(m) + a * dpos;
        let n3 = V3::from_fn(|k, _| c(na[k] as f64));
        sum += w * (n3.dot(&mom) + c(na[3] as f64 * m));
    }
    sum
}

#[test]
fn p2g_adjoint() {
    let mut rng = rng("p2g adjoint");
    let res = 32u32;
    let set = probe_block(&mut rng, res);
    let n = set.len();
    let dt = 1.0 / 2048.0;
    let cfg = SolverConfig {
        grid_res: res,
        ..Default::default()
    };
    let mut solver = Solver::new(&gpu(), cfg, &set).unwrap();
    // F = I: no stress, so each record's A is m C exactly as the CPU forms it.
    let state: Vec<GpuParticle> = (0..n)
        .map(|i| {
            let v = Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5;
            GpuParticle::new(
                set.position[i],
                v,
                random_m(&mut rng) * 20.0,
                Mat3::IDENTITY,
            )
        })
        .collect();
    let node_adj: Vec<[f32; 4]> = (0..(res as usize).pow(3))
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect();
    let (adj, a_adj) = solver.debug_p2g_adjoint(&state, &node_adj, dt).unwrap();
    let rel =
        |gpu: f64, cpu: f64, scale: f64| (gpu - cpu).abs() / cpu.abs().max(0.1 * scale).max(1e-30);
    let mut worst = 0.0f64;
    let mut free = 0;
    for i in 0..n {
        if set.anchored[i] {
            // Every node an anchored particle touches is stopped, so the grid update's adjoint
            // gives it a zero adjoint: the stage adds nothing for anchored particles, whatever
            // the node adjoints it is handed.
            assert_eq!(
                adj[i],
                bytemuck::Zeroable::zeroed(),
                "anchored particle {i}: adjoint"
            );
            assert_eq!(a_adj[i], Mat3::ZERO, "anchored particle {i}: A adjoint");
            continue;
        }
        free += 1;
        let m = set.mass(i) as f64;
        let vec = |q: Vec3| V3::from_fn(|k, _| Dual64::c(q[k] as f64));
        let (x, v) = (vec(state[i].position()), vec(state[i].velocity()));
        let a = mt::<Dual64>(state[i].affine()) * Dual64::c(m);
        let eps = Dual64::new(0.0, 1.0);
        let dx = Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5;
        let dv = Vec3::new(rng.random(), rng.random(), rng.random()) - 0.5;
        let da = random_m(&mut rng);
        let along_x = p2g_weighted(x + vec(dx / res as f32) * eps, v, a, m, res, &node_adj);
        let along_v = p2g_weighted(x, v + vec(dv) * eps, a, m, res, &node_adj);
        let along_a = p2g_weighted(x, v, a + mt::<Dual64>(da) * eps, m, res, &node_adj);
        let (ax, av) = (adj[i].position(), adj[i].velocity());
        let checks = [
            (
                "x",
                ax.dot(dx) as f64 / res as f64,
                (ax * dx).abs().element_sum() as f64 / res as f64,
                along_x.eps,
            ),
            (
                "v",
                av.dot(dv) as f64,
                (av * dv).abs().element_sum() as f64,
                along_v.eps,
            ),
            (
                "A",
                frob(a_adj[i], da),
                frob(abs_m(a_adj[i]), abs_m(da)),
                along_a.eps,
            ),
        ];
        for (what, gpu, scale, cpu) in checks {
            let r = rel(gpu, cpu, scale);
            assert!(
                gpu.is_finite() && r < 1e-4,
                "particle {i}, adjoint of {what}: GPU {gpu:e} vs CPU {cpu:e} ({r:e})"
            );
            worst = worst.max(r);
        }
        assert_eq!(adj[i].affine(), Mat3::ZERO, "particle {i}: C adjoint");
    }
    assert!(free > 0 && free < n, "{free} of {n} particles free");
    eprintln!("P2G adjoint: {n} particles ({free} free), largest relative difference {worst:.1e}");
}
