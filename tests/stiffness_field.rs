//! The stiffness field: exact interpolation of linear fields, the adjoint identity, the
//! total-variation gradient, clamping, material files, and a small fit through the adjoint.

mod common;

use glam::Vec3;
use physdreamer::field::{log10_gradient, Curvature, FieldError, StiffnessField, TotalVariation};
use physdreamer::material::MaterialField;
use physdreamer::optimiser::{Adam, AdamConfig};
use physdreamer::ParticleSet;
use rand::Rng;

fn random_points(rng: &mut impl Rng, n: usize, lo: f32, hi: f32) -> Vec<Vec3> {
    (0..n)
        .map(|_| Vec3::from_array(std::array::from_fn(|_| rng.random_range(lo..hi))))
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn interpolation_is_exact_for_linear_fields() {
    let mut rng = common::rng("interpolation_is_exact_for_linear_fields");
    let (min, max) = (Vec3::new(0.1, 0.2, 0.15), Vec3::new(0.8, 0.6, 0.9));
    let mut field = StiffnessField::new(min, max, [5, 4, 7], 5.0).unwrap();
    // |c . p| <= 0.8 + 0.6 + 0.9 = 2.3 in the box, so the field stays inside the default range
    // 3..8 of log10 E, to which set_values clamps
    let c: [f64; 3] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
    let linear = |p: [f64; 3]| 5.5 + c[0] * p[0] + c[1] * p[1] + c[2] * p[2];
    let [nx, ny, nz] = field.dims();
    let mut values = vec![0.0; field.len()];
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                values[field.index(i, j, k)] = linear(field.node_position(i, j, k));
            }
        }
    }
    field.set_values(&values).unwrap();
    assert_eq!(field.values(), &values[..]);
    let inside = random_points(&mut rng, 500, 0.0, 1.0)
        .into_iter()
        .map(|u| min + u * (max - min))
        .collect::<Vec<_>>();
    let got = field.sample(&inside).unwrap();
    let mut worst: f64 = 0.0;
    for (p, v) in inside.iter().zip(&got) {
        worst = worst.max((v - linear(p.to_array().map(f64::from))).abs());
    }
    eprintln!("linear field: largest interpolation error {worst:.1e}");
    assert!(worst < 1e-12, "{worst}");
    // Outside the box: the value at the nearest point of the box.
    let outside = vec![Vec3::new(-1.0, 0.4, 0.5), Vec3::new(0.5, 2.0, -3.0)];
    let clamped: Vec<Vec3> = outside.iter().map(|p| p.clamp(min, max)).collect();
    assert_eq!(
        field.sample(&outside).unwrap(),
        field.sample(&clamped).unwrap()
    );
}

#[test]
fn adjoint_is_the_transpose() {
    let mut rng = common::rng("adjoint_is_the_transpose");
    let particles = random_points(&mut rng, 700, 0.2, 0.7);
    let mut field = StiffnessField::around_points(&particles, [6, 5, 4], 0.02, 5.0)
        .unwrap()
        .with_range(-30.0, 30.0)
        .unwrap();
    // Some particles outside the box too.
    let mut positions = particles.clone();
    positions.extend(random_points(&mut rng, 50, -0.5, 1.5));
    let mut worst: f64 = 0.0;
    for _ in 0..5 {
        let x: Vec<f64> = (0..field.len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let y: Vec<f64> = (0..positions.len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        field.set_values(&x).unwrap();
        let ax = field.sample(&positions).unwrap();
        let aty = field.adjoint(&positions, &y).unwrap();
        let (lhs, rhs) = (dot(&ax, &y), dot(&x, &aty));
        // Relative to the size of the terms: the sums themselves may nearly cancel.
        let scale: f64 = ax.iter().zip(&y).map(|(a, b)| (a * b).abs()).sum();
        let rel = (lhs - rhs).abs() / scale;
        worst = worst.max(rel);
        assert!(
            rel < 1e-14,
            "<Ax, y> = {lhs}, <x, Aᵀy> = {rhs}, scale {scale}"
        );
    }
    eprintln!("adjoint identity: largest |<Ax, y> − <x, Aᵀy>| / Σ|(Ax)_i y_i| = {worst:.1e}");
    // Weights sum to 1: Aᵀ of all ones sums to the particle count.
    let ones = vec![1.0; positions.len()];
    let total: f64 = field.adjoint(&positions, &ones).unwrap().iter().sum();
    assert!((total - positions.len() as f64).abs() < 1e-9);
}

#[test]
fn total_variation_gradient_matches_differences() {
    let mut rng = common::rng("total_variation_gradient_matches_differences");
    let mut field = StiffnessField::new(Vec3::ZERO, Vec3::ONE, [4, 5, 3], 5.0).unwrap();
    let tv = TotalVariation {
        weight: 0.3,
        epsilon: 0.05,
        saturation: None,
    };
    assert_eq!(tv.evaluate(&field).unwrap(), (0.0, vec![0.0; field.len()]));
    let values: Vec<f64> = (0..field.len())
        .map(|_| rng.random_range(4.0..6.0))
        .collect();
    for saturation in [None, Some(0.2)] {
        let tv = TotalVariation { saturation, ..tv };
        field.set_values(&values).unwrap();
        let (_, grad) = tv.evaluate(&field).unwrap();
        let mut worst: f64 = 0.0;
        for i in 0..field.len() {
            let h = 1e-4;
            let mut at = |d: f64| {
                let mut v = values.clone();
                v[i] += d;
                field.set_values(&v).unwrap();
                tv.evaluate(&field).unwrap().0
            };
            let fd = (8.0 * (at(h) - at(-h)) - (at(2.0 * h) - at(-2.0 * h))) / (12.0 * h);
            // relative to the node's gradient, or to 1e-3 where its edges' terms nearly
            // cancel (about 0.3 each): there the difference quotient's rounding, ~1e-11,
            // is all that is left
            let rel = (fd - grad[i]).abs() / grad[i].abs().max(1e-3);
            worst = worst.max(rel);
            assert!(rel < 1e-6, "node {i}: analytic {}, central {fd}", grad[i]);
        }
        eprintln!("total variation {saturation:?}: largest relative gradient error {worst:.1e}");
    }
    // A step of 1 between the halves along x: one crossing edge per (j, k) row.
    let step: Vec<f64> = (0..field.len())
        .map(|n| if n % 4 < 2 { 4.0 } else { 5.0 })
        .collect();
    field.set_values(&step).unwrap();
    let want = 0.3 * 15.0 * ((1.0f64 + 0.05 * 0.05).sqrt() - 0.05);
    assert!((tv.evaluate(&field).unwrap().0 - want).abs() < 1e-12);
    for (weight, epsilon, saturation) in [
        (-1.0, 0.1, None),
        (1.0, 0.0, None),
        (f64::NAN, 0.1, None),
        (1.0, 0.1, Some(0.0)),
        (1.0, 0.1, Some(f64::INFINITY)),
    ] {
        let e = TotalVariation {
            weight,
            epsilon,
            saturation,
        }
        .evaluate(&field)
        .unwrap_err();
        assert!(e.to_string().contains("total variation"), "{e}");
    }
}

#[test]
fn saturating_total_variation_prefers_a_step_to_a_ramp() {
    // One row of 6 nodes along x rising by 1: a step between nodes 2 and 3, or a ramp
    // over nodes 1..=4 (the same rise in four equal parts, monotone).
    let mut field = StiffnessField::new(Vec3::ZERO, Vec3::ONE, [6, 2, 2], 4.0).unwrap();
    let profile = |ramp: bool| -> Vec<f64> {
        (0..24)
            .map(|n| {
                let i = (n % 6) as f64;
                if ramp {
                    4.0 + ((i - 1.0) / 4.0).clamp(0.0, 1.0)
                } else if i < 3.0 {
                    4.0
                } else {
                    5.0
                }
            })
            .collect()
    };
    let cost = |field: &mut StiffnessField, ramp: bool, saturation| {
        field.set_values(&profile(ramp)).unwrap();
        TotalVariation {
            weight: 1.0,
            epsilon: 1e-9,
            saturation,
        }
        .evaluate(field)
        .unwrap()
        .0
    };
    // plain: both cost the rise on each of the 4 rows (ε → 0)
    let (step, ramp) = (cost(&mut field, false, None), cost(&mut field, true, None));
    assert!(
        (step - 4.0).abs() < 1e-6 && (ramp - 4.0).abs() < 1e-6,
        "{step} {ramp}"
    );
    // saturating with s = 0.1: a step costs 4·0.1·ln 11, a ramp 16·0.1·ln 3.5
    let (step, ramp) = (
        cost(&mut field, false, Some(0.1)),
        cost(&mut field, true, Some(0.1)),
    );
    assert!((step - 0.4 * 11f64.ln()).abs() < 1e-6, "{step}");
    assert!((ramp - 1.6 * 3.5f64.ln()).abs() < 1e-6, "{ramp}");
    assert!(step < 0.5 * ramp);
}

#[test]
fn values_stay_in_range() {
    let mut rng = common::rng("values_stay_in_range");
    let mut field = StiffnessField::new(Vec3::ZERO, Vec3::ONE, [3, 3, 3], 4.0).unwrap();
    assert_eq!(field.range(), (3.0, 8.0));
    let wild: Vec<f64> = (0..27)
        .map(|i| {
            if i % 3 == 0 {
                12.0
            } else {
                -1.0 + i as f64 * 0.4
            }
        })
        .collect();
    field.set_values(&wild).unwrap();
    assert!(field.values().iter().all(|&v| (3.0..=8.0).contains(&v)));
    assert_eq!(field.values()[0], 8.0);
    assert_eq!(field.values()[1], 3.0);
    let e = field
        .young(&random_points(&mut rng, 200, -0.2, 1.2))
        .unwrap();
    assert!(e.iter().all(|&e| (1e3..=1e8).contains(&e)), "{e:?}");
    field.values_mut()[4] = 9.5;
    field.values_mut()[5] = 2.0;
    assert_eq!(field.clamp(), 2);
    assert_eq!((field.values()[4], field.values()[5]), (8.0, 3.0));
    assert_eq!(field.clamp(), 0);
    let narrow = field.clone().with_range(4.0, 5.0).unwrap();
    assert!(narrow.values().iter().all(|&v| (4.0..=5.0).contains(&v)));
    assert!(matches!(
        field.fill(8.5),
        Err(FieldError::Setting {
            field: "log10_e",
            ..
        })
    ));
    assert!(StiffnessField::new(Vec3::ZERO, Vec3::ONE, [2; 3], 2.0).is_err());
    assert!(field.clone().with_range(5.0, 4.0).is_err());
    assert!(field.clone().with_range(0.0, 40.0).is_err());
    let e = field.set_values(&[f64::NAN; 27]).unwrap_err().to_string();
    assert!(e.contains("values[0] = NaN"), "{e}");
}

#[test]
fn the_box_surrounds_the_particles() {
    let set = ParticleSet::block(Vec3::new(0.3, 0.1, 0.4), [4, 6, 2], 0.05, 1000.0, 1e5, 0.3);
    let field = StiffnessField::around(&set, [8, 8, 8], 0.02, 5.0).unwrap();
    let (min, max) = field.bounds();
    let want_min = [0.325, 0.125, 0.425].map(|v| v - 0.02);
    let want_max = [0.475, 0.375, 0.475].map(|v| v + 0.02);
    for a in 0..3 {
        assert!((min[a] - want_min[a]).abs() < 1e-6 && (max[a] - want_max[a]).abs() < 1e-6);
    }
    assert_eq!(field.len(), 512);
    assert_eq!(field.sample(&set.position).unwrap(), vec![5.0; set.len()]);
    // A flat set needs a margin.
    let flat = ParticleSet::block(Vec3::ZERO, [3, 3, 1], 0.1, 1000.0, 1e5, 0.3);
    assert!(matches!(
        StiffnessField::around(&flat, [4; 3], 0.0, 5.0),
        Err(FieldError::Box { .. })
    ));
    assert!(StiffnessField::around(&flat, [4; 3], 0.01, 5.0).is_ok());
    let errors = [
        StiffnessField::around(&flat, [1, 4, 4], 0.01, 5.0).unwrap_err(),
        StiffnessField::around(&flat, [4; 3], -0.1, 5.0).unwrap_err(),
        StiffnessField::around(&ParticleSet::default(), [4; 3], 0.1, 5.0).unwrap_err(),
        StiffnessField::around_points(&[Vec3::new(0.0, f32::NAN, 0.0)], [4; 3], 0.1, 5.0)
            .unwrap_err(),
    ];
    let texts: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(texts[0].contains("[1, 4, 4]"), "{texts:?}");
    assert!(texts[1].contains("margin = -0.1"), "{texts:?}");
    assert_eq!(errors[2], FieldError::NoParticles);
    assert!(texts[3].contains("positions[0]"), "{texts:?}");
    let e = field.adjoint(&set.position, &[1.0; 3]).unwrap_err();
    assert_eq!(
        e,
        FieldError::Length {
            what: "d_log10_e",
            len: 3,
            expected: 48
        }
    );
}

#[test]
fn material_files_carry_the_field() {
    let mut rng = common::rng("material_files_carry_the_field");
    let points = random_points(&mut rng, 100, 0.3, 0.6);
    let mut field = StiffnessField::around_points(&points, [4, 4, 4], 0.05, 5.0).unwrap();
    let values: Vec<f64> = (0..field.len())
        .map(|_| rng.random_range(3.5..7.5))
        .collect();
    field.set_values(&values).unwrap();
    let nu: Vec<f32> = (0..points.len())
        .map(|_| rng.random_range(0.2..0.45))
        .collect();
    let m = field.to_material_field(&points, Some(&nu)).unwrap();
    let log_e = field.sample(&points).unwrap();
    for (e, l) in m.young.iter().zip(&log_e) {
        assert!(((*e as f64).log10() - l).abs() < 1e-6, "{e} vs 10^{l}");
    }
    let dir = std::env::temp_dir().join(format!("physdreamer-field-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fitted.ply");
    m.write(&path).unwrap();
    assert_eq!(MaterialField::read(&path).unwrap(), m);
    std::fs::remove_dir_all(&dir).unwrap();
    let bad = field
        .to_material_field(&points, Some(&vec![0.5; 100]))
        .unwrap_err();
    assert!(bad.to_string().contains("poisson"), "{bad}");
    assert!(field.to_material_field(&points, Some(&nu[..99])).is_err());
    // Chain rule from E to log10 E.
    let e = [2e4f32];
    let g = log10_gradient(&e, &[3.0])[0];
    let fd = 3.0
        * (10f64.powf(e[0].log10() as f64 + 1e-7) - 10f64.powf(e[0].log10() as f64 - 1e-7))
        / 2e-7;
    assert!((g - fd).abs() < 1e-5 * fd, "{g} vs {fd}");
}

#[test]
fn adam_recovers_a_field_through_the_adjoint() {
    let mut rng = common::rng("adam_recovers_a_field_through_the_adjoint");
    let points = random_points(&mut rng, 2000, 0.2, 0.8);
    let truth_fn = |p: Vec3| 4.0 + 3.0 * p.x - 1.5 * p.y * p.z + (p.z * 5.0).sin() * 0.3;
    let target: Vec<f64> = points.iter().map(|&p| truth_fn(p) as f64).collect();
    let mut field = StiffnessField::around_points(&points, [5, 5, 5], 0.01, 5.5).unwrap();
    let mut adam = Adam::new(
        AdamConfig {
            learning_rate: 0.05,
            ..AdamConfig::default()
        },
        field.len(),
    )
    .unwrap();
    let tv = TotalVariation {
        weight: 1e-5,
        epsilon: 0.01,
        saturation: None,
    };
    let mse = |f: &StiffnessField| {
        let s = f.sample(&points).unwrap();
        s.iter()
            .zip(&target)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / points.len() as f64
    };
    let start = mse(&field);
    for _ in 0..600 {
        let s = field.sample(&points).unwrap();
        let d: Vec<f64> = s
            .iter()
            .zip(&target)
            .map(|(a, b)| 2.0 * (a - b) / points.len() as f64)
            .collect();
        let mut grad = field.adjoint(&points, &d).unwrap();
        let (_, g_tv) = tv.evaluate(&field).unwrap();
        grad.iter_mut().zip(&g_tv).for_each(|(g, t)| *g += t);
        adam.step(field.values_mut(), &grad).unwrap();
        field.clamp();
    }
    let end = mse(&field);
    eprintln!("fit through the adjoint: mse {start:.3e} → {end:.3e}");
    assert!(end < 1e-3 && end < start * 1e-2, "{start} → {end}");
}

#[test]
fn resampling_keeps_the_field() {
    let mut rng = common::rng("resampling_keeps_the_field");
    let (min, max) = (Vec3::new(0.1, 0.2, 0.15), Vec3::new(0.8, 0.6, 0.9));
    let mut field = StiffnessField::new(min, max, [4, 5, 3], 5.0)
        .unwrap()
        .with_range(3.5, 7.5)
        .unwrap();
    let values: Vec<f64> = (0..field.len())
        .map(|_| rng.random_range(3.5..7.5))
        .collect();
    field.set_values(&values).unwrap();
    let points: Vec<Vec3> = random_points(&mut rng, 500, 0.0, 1.0)
        .into_iter()
        .map(|u| min + u * (max - min))
        .collect();
    let before = field.sample(&points).unwrap();
    // Halved cells: the new nodes include the old ones, so the function is the same.
    let fine = field.resampled([7, 9, 5]).unwrap();
    assert_eq!(
        (fine.dims(), fine.bounds(), fine.range()),
        ([7, 9, 5], field.bounds(), field.range())
    );
    let worst = fine
        .sample(&points)
        .unwrap()
        .iter()
        .zip(&before)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!("halved cells: largest difference {worst:.1e}");
    assert!(worst < 1e-12, "{worst}");
    // Any other grid: each node takes the old field's value where it lies.
    let other = field.resampled([3, 6, 6]).unwrap();
    for k in 0..6 {
        for j in 0..6 {
            for i in 0..3 {
                let p = Vec3::from_array(other.node_position(i, j, k).map(|v| v as f32));
                let want = field.sample(&[p]).unwrap()[0];
                let got = other.values()[other.index(i, j, k)];
                assert!(
                    (got - want).abs() < 1e-5,
                    "node ({i}, {j}, {k}): {got} vs {want}"
                );
            }
        }
    }
    // Coarser and back: a field that a coarse grid holds comes back unchanged.
    let coarse = field.resampled([2, 2, 2]).unwrap();
    let again = coarse
        .resampled([5, 3, 9])
        .unwrap()
        .resampled([2, 2, 2])
        .unwrap();
    for (a, b) in coarse.values().iter().zip(again.values()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    assert!(matches!(
        field.resampled([1, 4, 4]),
        Err(FieldError::Dims { .. })
    ));
}

#[test]
fn curvature_spares_affine_motion_and_matches_differences() {
    let mut rng = common::rng("curvature_spares_affine_motion_and_matches_differences");
    let mut field = StiffnessField::new(Vec3::ZERO, Vec3::ONE, [4, 3, 5], 3.0)
        .unwrap()
        .with_range(-30.0, 30.0)
        .unwrap();
    let curvature = Curvature { weight: 0.7 };
    // any affine function of the node position costs nothing
    let [nx, ny, nz] = field.dims();
    let (a, b, c, d): (f64, f64, f64, f64) = (
        rng.random_range(-3.0..3.0),
        rng.random_range(-3.0..3.0),
        rng.random_range(-3.0..3.0),
        rng.random_range(-3.0..3.0),
    );
    let mut affine = vec![0.0; field.len()];
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let p = field.node_position(i, j, k);
                affine[field.index(i, j, k)] = a + b * p[0] + c * p[1] + d * p[2];
            }
        }
    }
    field.set_values(&affine).unwrap();
    let (value, grad) = curvature.evaluate(&field).unwrap();
    assert!(value.abs() < 1e-20, "affine field costs {value}");
    assert!(grad.iter().all(|g| g.abs() < 1e-10), "{grad:?}");
    // random values: the gradient against central differences (the term is quadratic, so
    // they agree to rounding)
    let values: Vec<f64> = (0..field.len())
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    field.set_values(&values).unwrap();
    let (_, grad) = curvature.evaluate(&field).unwrap();
    for i in 0..field.len() {
        let h = 1e-3;
        let mut at = |dv: f64| {
            let mut v = values.clone();
            v[i] += dv;
            field.set_values(&v).unwrap();
            curvature.evaluate(&field).unwrap().0
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        assert!(
            (fd - grad[i]).abs() < 1e-8 * (1.0 + grad[i].abs()),
            "node {i}: analytic {}, central {fd}",
            grad[i]
        );
    }
    // a bump: 0, 1, 0 along x on a 3 x 2 x 2 grid: four rows of (0 − 2 + 0)² = 4
    let mut bump = StiffnessField::new(Vec3::ZERO, Vec3::ONE, [3, 2, 2], 3.0)
        .unwrap()
        .with_range(-30.0, 30.0)
        .unwrap();
    let v: Vec<f64> = (0..12)
        .map(|n| if n % 3 == 1 { 1.0 } else { 0.0 })
        .collect();
    bump.set_values(&v).unwrap();
    assert!((curvature.evaluate(&bump).unwrap().0 - 0.7 * 16.0).abs() < 1e-12);
    for weight in [-1.0, f64::NAN, f64::INFINITY] {
        let e = Curvature { weight }.evaluate(&bump).unwrap_err();
        assert!(e.to_string().contains("curvature weight"), "{e}");
    }
}
