//! Adam: convergence on a quadratic and on Rosenbrock, clipping, bounds, the schedule,
//! bit-identical resume from a checkpoint, and errors for non-finite values.

mod common;

use physdreamer::optimiser::{Adam, AdamConfig, Decay, OptimiserError, Schedule};
use rand::Rng;

/// `Σ c_i (x_i − t_i)²` and its gradient.
fn quadratic(c: &[f64], t: &[f64], x: &[f64]) -> (f64, Vec<f64>) {
    let f = (0..x.len()).map(|i| c[i] * (x[i] - t[i]).powi(2)).sum();
    let g = (0..x.len()).map(|i| 2.0 * c[i] * (x[i] - t[i])).collect();
    (f, g)
}

fn rosenbrock(x: &[f64]) -> (f64, Vec<f64>) {
    let (a, b) = (x[0], x[1]);
    let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
    let g = vec![
        -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
        200.0 * (b - a * a),
    ];
    (f, g)
}

fn decaying(learning_rate: f64, iterations: u64, final_fraction: f64, decay: Decay) -> AdamConfig {
    AdamConfig {
        learning_rate,
        schedule: Schedule {
            warmup: 10,
            iterations,
            decay,
            final_fraction,
        },
        ..AdamConfig::default()
    }
}

#[test]
fn minimises_a_quadratic() {
    let mut rng = common::rng("minimises_a_quadratic");
    let n = 20;
    let c: Vec<f64> = (0..n).map(|_| rng.random_range(0.5..5.0)).collect();
    let t: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
    let mut x: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
    let mut adam = Adam::new(decaying(0.1, 1000, 1e-3, Decay::Cosine), n).unwrap();
    let start = quadratic(&c, &t, &x).0;
    for _ in 0..1000 {
        let (_, g) = quadratic(&c, &t, &x);
        adam.step(&mut x, &g).unwrap();
    }
    let (end, _) = quadratic(&c, &t, &x);
    let err = x
        .iter()
        .zip(&t)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!("quadratic: {start:.3e} → {end:.3e}, largest |x − t| {err:.1e}");
    assert!(err < 1e-4, "{err}");
}

#[test]
fn minimises_rosenbrock() {
    let mut x = vec![-1.5, 2.0];
    let iterations = 20_000;
    let mut adam = Adam::new(decaying(0.02, iterations, 1e-3, Decay::Exponential), 2).unwrap();
    for _ in 0..iterations {
        let (_, g) = rosenbrock(&x);
        adam.step(&mut x, &g).unwrap();
    }
    let (f, _) = rosenbrock(&x);
    eprintln!("rosenbrock: f = {f:.2e} at {x:?}");
    assert!(
        (x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6,
        "{x:?}"
    );
}

#[test]
fn clipping_caps_the_step_at_a_spike_and_after_it() {
    // Norms of the step at a 1e6 gradient spike after 3000 steady steps, and 200 steps later.
    let spike = |clip_norm: Option<f64>| {
        let config = AdamConfig {
            learning_rate: 1e-3,
            clip_norm,
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(config, 3).unwrap();
        let mut x = vec![0.0; 3];
        let steady = [0.6, 0.0, 0.8];
        for _ in 0..3000 {
            assert!(!adam.step(&mut x, &steady).unwrap().clipped);
        }
        let normal = adam.step(&mut x, &steady).unwrap().update_norm;
        let r = adam.step(&mut x, &[6e5, 0.0, 8e5]).unwrap();
        assert_eq!(r.grad_norm, 1e6);
        assert_eq!(r.clipped, clip_norm.is_some());
        for _ in 0..199 {
            adam.step(&mut x, &steady).unwrap();
        }
        let later = adam.step(&mut x, &steady).unwrap().update_norm;
        (normal, r.update_norm, later)
    };
    let (normal, free, free_later) = spike(None);
    let (_, clipped, clipped_later) = spike(Some(1.0));
    eprintln!(
        "steady step {normal:.3e}; at the spike {free:.3e} unclipped, {clipped:.3e} clipped; \
         200 steps later {free_later:.3e} unclipped, {clipped_later:.3e} clipped"
    );
    assert!((normal - 2f64.sqrt() * 1e-3).abs() < 1e-9, "{normal}");
    assert!(free > 3.0 * normal, "{free}");
    assert!((clipped - normal).abs() < 1e-9 * normal, "{clipped}");
    assert!(free_later < 1e-3 * normal, "{free_later}");
    assert!(
        (clipped_later - normal).abs() < 1e-9 * normal,
        "{clipped_later}"
    );
}

#[test]
fn bounds_are_respected() {
    let mut rng = common::rng("bounds_are_respected");
    let n = 8;
    let t: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 10.0 } else { -10.0 })
        .collect();
    let c = vec![1.0; n];
    let lower: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..-1.0)).collect();
    let upper: Vec<f64> = (0..n).map(|_| rng.random_range(1.0..2.0)).collect();
    let mut adam = Adam::new(
        AdamConfig {
            learning_rate: 0.3,
            ..AdamConfig::default()
        },
        n,
    )
    .unwrap()
    .with_bounds(lower.clone(), upper.clone())
    .unwrap();
    let mut x = vec![0.0; n];
    for _ in 0..200 {
        let (_, g) = quadratic(&c, &t, &x);
        adam.step(&mut x, &g).unwrap();
        assert!(
            (0..n).all(|i| x[i] >= lower[i] && x[i] <= upper[i]),
            "{x:?}"
        );
    }
    for i in 0..n {
        assert_eq!(x[i], if i % 2 == 0 { upper[i] } else { lower[i] });
    }
    let bad = Adam::new(AdamConfig::default(), 2)
        .unwrap()
        .with_bounds(vec![0.0, 1.0], vec![1.0, 0.5]);
    assert_eq!(
        bad.unwrap_err(),
        OptimiserError::Bounds {
            index: 1,
            lower: 1.0,
            upper: 0.5
        }
    );
}

#[test]
fn resume_from_a_checkpoint_is_bit_identical() {
    let mut rng = common::rng("resume_from_a_checkpoint_is_bit_identical");
    let n = 50;
    let c: Vec<f64> = (0..n).map(|_| rng.random_range(0.1..10.0)).collect();
    let t: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let x0: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let config = AdamConfig {
        learning_rate: 0.05,
        clip_norm: Some(5.0),
        schedule: Schedule {
            warmup: 20,
            iterations: 200,
            decay: Decay::Cosine,
            final_fraction: 0.05,
        },
        ..AdamConfig::default()
    };
    let new = || {
        Adam::new(config, n)
            .unwrap()
            .with_uniform_bounds(-0.8, 0.8)
            .unwrap()
    };
    let run = |adam: &mut Adam, x: &mut Vec<f64>, steps: usize| {
        for _ in 0..steps {
            let (_, g) = quadratic(&c, &t, x);
            adam.step(x, &g).unwrap();
        }
    };
    let (mut straight, mut xs) = (new(), x0.clone());
    run(&mut straight, &mut xs, 200);

    let (mut first, mut xr) = (new(), x0);
    run(&mut first, &mut xr, 77);
    let checkpoint = first.to_json();
    let params = serde_json::to_string(&xr).unwrap();
    drop(first);
    let mut resumed = Adam::from_json(&checkpoint).unwrap();
    let mut xr: Vec<f64> = serde_json::from_str(&params).unwrap();
    assert_eq!(resumed.steps(), 77);
    run(&mut resumed, &mut xr, 123);

    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&xs), bits(&xr));
    assert_eq!(straight, resumed);
    assert_eq!(straight.to_json(), resumed.to_json());
}

#[test]
fn the_schedule_warms_up_then_decays() {
    let s = Schedule {
        warmup: 4,
        iterations: 14,
        decay: Decay::Cosine,
        final_fraction: 0.1,
    };
    let f: Vec<f64> = (0..20).map(|k| s.factor(k)).collect();
    assert_eq!(&f[..5], &[0.25, 0.5, 0.75, 1.0, 1.0]);
    assert!((f[9] - 0.55).abs() < 1e-12, "{}", f[9]);
    assert!(f[4..15].windows(2).all(|w| w[1] < w[0]));
    assert!(f[14..].iter().all(|&v| (v - 0.1).abs() < 1e-15));
    let e = Schedule {
        decay: Decay::Exponential,
        final_fraction: 0.01,
        ..s
    };
    assert!((e.factor(9) - 0.1).abs() < 1e-12 && (e.factor(100) - 0.01).abs() < 1e-15);
    let c = Schedule {
        decay: Decay::Constant,
        ..s
    };
    assert_eq!((c.factor(0), c.factor(100)), (0.25, 1.0));
    let mut adam = Adam::new(
        AdamConfig {
            learning_rate: 2.0,
            schedule: s,
            ..AdamConfig::default()
        },
        1,
    )
    .unwrap();
    let r = adam.step(&mut [0.0], &[1.0]).unwrap();
    assert_eq!((r.step, r.learning_rate), (1, 0.5));
    assert_eq!(adam.learning_rate(), 1.0);
}

#[test]
fn non_finite_values_are_errors_and_change_nothing() {
    let mut adam = Adam::new(AdamConfig::default(), 3).unwrap();
    let mut x = vec![0.5, -0.5, 1.0];
    adam.step(&mut x, &[1.0, 2.0, 3.0]).unwrap();
    let (before, x_before) = (adam.clone(), x.clone());
    for (grad, what) in [
        ([1.0, f64::NAN, 0.0], "gradient[1] = NaN"),
        ([f64::INFINITY, 0.0, 0.0], "gradient[0] = inf"),
        ([1e300, 1e300, 0.0], "second moment"),
    ] {
        let e = adam.step(&mut x, &grad).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
        assert_eq!(adam, before);
        assert_eq!(x, x_before);
    }
    let mut bad_x = vec![0.0, f64::NAN, 0.0];
    let e = adam.step(&mut bad_x, &[0.0; 3]).unwrap_err();
    assert!(matches!(
        e,
        OptimiserError::NonFinite {
            what: "parameters",
            index: 1,
            ..
        }
    ));
    let e = adam.step(&mut x, &[0.0; 2]).unwrap_err();
    assert_eq!(
        e,
        OptimiserError::Length {
            what: "gradient",
            len: 2,
            expected: 3
        }
    );
    assert_eq!(adam, before);
}

#[test]
fn bad_settings_and_checkpoints_are_errors() {
    let bad = [
        AdamConfig {
            learning_rate: 0.0,
            ..AdamConfig::default()
        },
        AdamConfig {
            beta1: 1.0,
            ..AdamConfig::default()
        },
        AdamConfig {
            beta2: -0.1,
            ..AdamConfig::default()
        },
        AdamConfig {
            epsilon: f64::NAN,
            ..AdamConfig::default()
        },
        AdamConfig {
            clip_norm: Some(0.0),
            ..AdamConfig::default()
        },
        AdamConfig {
            schedule: Schedule {
                warmup: 5,
                iterations: 5,
                decay: Decay::Cosine,
                final_fraction: 0.1,
            },
            ..AdamConfig::default()
        },
        AdamConfig {
            schedule: Schedule {
                final_fraction: 0.0,
                ..Schedule::default()
            },
            ..AdamConfig::default()
        },
    ];
    for config in bad {
        let e = Adam::new(config, 4).unwrap_err();
        assert!(
            matches!(e, OptimiserError::Config { .. }),
            "{config:?}: {e}"
        );
    }
    let good = Adam::new(AdamConfig::default(), 2).unwrap().to_json();
    let short = good.replace("\"v\":[0.0,0.0]", "\"v\":[0.0]");
    assert_ne!(short, good);
    let e = Adam::from_json(&short).unwrap_err().to_string();
    assert!(e.contains("second moment has 1 values, expected 2"), "{e}");
    assert!(matches!(
        Adam::from_json("{\"steps\": 3}"),
        Err(OptimiserError::Json(_))
    ));
}

#[test]
fn relative_epsilon_scales_down_weak_parameters() {
    let mut rng = common::rng("relative_epsilon_scales_down_weak_parameters");
    let lr = 0.1;
    let strong: f64 = rng.random_range(0.5..2.0);
    let weak = strong * rng.random_range(1e-4..1e-2);
    let grad = [strong, -weak, strong * 0.5];
    for r in [0.0, 0.3] {
        let config = AdamConfig {
            learning_rate: lr,
            relative_epsilon: r,
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(config, 3).unwrap();
        let mut x = [0.0; 3];
        adam.step(&mut x, &grad).unwrap();
        // first step: m̂ = g, v̂ = g², so each step is lr·g/(|g| + ε)
        let mean_v = grad.iter().map(|g| g * g).sum::<f64>() / 3.0;
        let eps = if r > 0.0 {
            (r * mean_v.sqrt()).max(1e-8)
        } else {
            1e-8
        };
        for i in 0..3 {
            let want = -lr * grad[i] / (grad[i].abs() + eps);
            assert!(
                (x[i] - want).abs() < 1e-15,
                "r {r}, [{i}]: {} vs {want}",
                x[i]
            );
        }
        if r == 0.0 {
            assert!(
                x[1] > 0.99 * lr,
                "plain Adam: the weak parameter takes a full step"
            );
        } else {
            assert!(
                x[1] < 0.05 * lr,
                "relative ε: the weak one moves {} of lr",
                x[1] / lr
            );
            assert!(
                -x[0] > 0.7 * lr,
                "the strong one still moves {}",
                -x[0] / lr
            );
        }
    }
    // a checkpoint written before the setting existed loads with it off
    let json = Adam::new(AdamConfig::default(), 2).unwrap().to_json();
    let old = json.replace(",\"relative_epsilon\":0.0", "");
    assert_ne!(old, json);
    assert_eq!(
        Adam::from_json(&old).unwrap().config().relative_epsilon,
        0.0
    );
    for bad in [-0.1, f64::NAN] {
        let config = AdamConfig {
            relative_epsilon: bad,
            ..AdamConfig::default()
        };
        let err = Adam::new(config, 2).unwrap_err().to_string();
        assert!(err.contains("relative_epsilon"), "{err}");
    }
}
