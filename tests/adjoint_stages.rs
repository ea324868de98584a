//! The stress stage's adjoint on its own, particle by particle, against dual numbers through
//! the reference's Kirchhoff stress: A = m C − dt V (4 / dx²) τ(F; E, ν), at F = I exactly
//! (all singular values repeated), pure rotations, F = s·R (repeated, scaled), random strains,
//! inverted F and nearly flat F; both elastic models. The chain through the other stages is
//! checked by `adjoint_gradients.rs`.

mod common;
use common::*;
use glam::{Mat3, Quat, Vec3};
use nalgebra::ComplexField;
use num_dual::Dual64;
use physdreamer::solver::reference::{kirchhoff, lame, Real};
use physdreamer::solver::{GpuParticle, Material, Solver, SolverConfig};
use rand::Rng;

fn mt<T: Real>(m: Mat3) -> nalgebra::Matrix3<T> {
    nalgebra::Matrix3::from_fn(|r, c| T::c(m.col(c)[r] as f64))
}

fn frob(a: Mat3, b: Mat3) -> f64 {
    (0..3).map(|j| a.col(j).dot(b.col(j)) as f64).sum()
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
