//! The fit's schedule: the first stage's candidates and their refinement, and the
//! coarse-to-fine E grids of the material stage (which grid each iteration uses, when it
//! changes, and that a change keeps the field and renews the optimiser), and the sharpening
//! proposal (when it is made, its two forms, the search of its levels, taking it).

use glam::Vec3;
use physdreamer::fit::{FitSettings, FitState};

fn points() -> Vec<Vec3> {
    (0..200)
        .map(|i| {
            let t = i as f32 / 199.0;
            Vec3::new(
                0.3 + 0.4 * t,
                0.2 + 0.3 * (t * 7.0).fract(),
                0.4 + 0.2 * (t * 13.0).fract(),
            )
        })
        .collect()
}

fn state(levels: u32, grid: usize) -> anyhow::Result<FitState> {
    let settings = FitSettings {
        scan_offsets: vec![-0.5, 0.0, 0.5],
        scan_refine: 0,
        velocity_iterations: 2,
        material_iterations: 30,
        velocity_refit: 6,
        material_grid: grid,
        material_levels: levels,
        ..Default::default()
    };
    let rest = points();
    FitState::new(settings, &rest, &vec![false; rest.len()], 4.5)
}

#[test]
fn levels_share_the_e_iterations_coarse_to_fine() {
    let mut s = state(3, 8).unwrap();
    assert_eq!([0, 1, 2].map(|l| s.level_grid(l)), [3, 5, 8]);
    let scan = s.scan_iterations();
    assert_eq!(scan, 9);
    assert_eq!(s.level(scan - 1), None);
    // 24 E iterations after 6 velocity-only ones: 8 each; the velocity-only ones are level 0's
    assert_eq!(s.level(scan), Some((0, scan..scan + 14)));
    assert_eq!(s.level(scan + 13), Some((0, scan..scan + 14)));
    assert_eq!(s.level(scan + 14), Some((1, scan + 14..scan + 22)));
    assert_eq!(s.level(scan + 29), Some((2, scan + 22..scan + 30)));
    let mut changes = Vec::new();
    for it in 0..s.total_iterations() {
        if s.enter_level(it).unwrap() {
            changes.push((it, s.field.dims()[0]));
            assert_eq!(s.adam_material.len(), s.field.len());
            assert_eq!(s.adam_material.steps(), 0);
        }
        let want = s.level(it).map_or(8, |(l, _)| s.level_grid(l));
        assert_eq!(s.field.dims(), [want; 3], "iteration {it}");
        // a uniform field stays the same value through every change
        assert!(s.field.values().iter().all(|&v| v == 4.5), "iteration {it}");
    }
    assert_eq!(changes, vec![(scan, 3), (scan + 14, 5), (scan + 22, 8)]);
}

#[test]
fn one_level_keeps_the_full_grid() {
    let mut s = state(1, 6).unwrap();
    for it in 0..s.total_iterations() {
        assert!(!s.enter_level(it).unwrap());
        assert_eq!(s.field.dims(), [6; 3]);
    }
    // a grid too small to halve stays at two nodes per axis
    let s = state(4, 3).unwrap();
    assert_eq!([0, 1, 2, 3].map(|l| s.level_grid(l)), [2, 2, 2, 3]);
}

#[test]
fn bad_level_counts_are_refused() {
    for levels in [0, 7] {
        let err = state(levels, 8).expect_err("refused").to_string();
        assert!(err.contains("material_levels = "), "{err}");
    }
}

#[test]
fn refinement_rounds_close_in_on_the_best_candidate() {
    let settings = FitSettings {
        scan_offsets: vec![-0.6, 0.0, 0.6],
        scan_refine: 2,
        velocity_iterations: 1,
        ..Default::default()
    };
    let rest = points();
    let mut s = FitState::new(settings.clone(), &rest, &vec![false; rest.len()], 4.5).unwrap();
    assert_eq!(s.candidate_count(), 7);
    assert_eq!(s.scan_iterations(), 14);
    // a pretend loss, least at 4.75
    let loss = |e: f64| (e - 4.75) * (e - 4.75);
    let mut tried = Vec::new();
    for c in 0..7 {
        s.begin_candidate(c).unwrap();
        let e = s.field.values()[0];
        assert!(
            s.field.values().iter().all(|&v| v == e),
            "a uniform candidate"
        );
        tried.push(e);
        s.end_candidate(c, loss(e)).unwrap();
    }
    // 3.9 4.5 5.1; round 1 round 4.5: 4.2 4.8; round 2 round 4.8: 4.65 4.95
    let want = [3.9, 4.5, 5.1, 4.2, 4.8, 4.65, 4.95];
    for (t, w) in tried.iter().zip(want) {
        assert!((t - w).abs() < 1e-12, "tried {tried:?}, want {want:?}");
    }
    // the best of all is installed for the material stage
    assert!(s.field.values().iter().all(|&v| (v - 4.8).abs() < 1e-12));
    // a single candidate is not refined
    let single = FitSettings {
        scan_offsets: vec![0.0],
        ..settings
    };
    let s = FitState::new(single, &rest, &vec![false; rest.len()], 4.5).unwrap();
    assert_eq!(s.candidate_count(), 1);
}

#[test]
fn each_optimiser_gets_its_relative_epsilon() {
    let settings = FitSettings {
        scan_offsets: vec![-0.5, 0.5],
        scan_refine: 0,
        velocity_iterations: 1,
        material_iterations: 12,
        velocity_refit: 2,
        material_levels: 2,
        relative_epsilon: 0.2,
        velocity_relative_epsilon: 0.3,
        ..Default::default()
    };
    let rest = points();
    let mut s = FitState::new(settings, &rest, &vec![false; rest.len()], 4.5).unwrap();
    let check = |s: &FitState, when: &str| {
        assert_eq!(s.adam_velocity.config().relative_epsilon, 0.3, "{when}");
        assert_eq!(s.adam_material.config().relative_epsilon, 0.2, "{when}");
    };
    check(&s, "new");
    for c in 0..2 {
        s.begin_candidate(c).unwrap();
        check(&s, "a candidate");
        s.end_candidate(c, c as f64).unwrap();
    }
    check(&s, "the material stage");
    for it in s.scan_iterations()..s.total_iterations() {
        s.enter_level(it).unwrap();
        check(&s, "a level");
    }
    // A velocity step: x seen strongly, z (along the line of sight) a million times more
    // weakly. Plain Adam moves both by about the learning rate; with the relative ε the
    // weak one barely moves.
    let grad = vec![Vec3::new(1.0, 0.0, 1e-6); rest.len()];
    for (r, weak_moves) in [(0.0, true), (0.3, false)] {
        let settings = FitSettings {
            velocity_relative_epsilon: r,
            warmup: 0,
            ..Default::default()
        };
        let mut s = FitState::new(settings, &rest, &vec![false; rest.len()], 4.5).unwrap();
        s.step_velocity(&rest, &grad).unwrap();
        let v = s.velocities(&rest).unwrap();
        let (x, z) = v.iter().fold((0f32, 0f32), |(x, z), v| {
            (x.max(v.x.abs()), z.max(v.z.abs()))
        });
        assert!(x > 0.05, "r = {r}: x moved {x}");
        assert_eq!(z > 0.5 * x, weak_moves, "r = {r}: x moved {x}, z {z}");
    }
}

#[test]
fn bad_priors_are_refused() {
    let rest = points();
    for (settings, name) in [
        (
            FitSettings {
                velocity_curvature: -1.0,
                ..Default::default()
            },
            "velocity_curvature = -1",
        ),
        (
            FitSettings {
                tv_saturation: Some(0.0),
                ..Default::default()
            },
            "tv_saturation = 0",
        ),
        (
            FitSettings {
                sharpen_tolerance: -1.0,
                ..Default::default()
            },
            "sharpen_tolerance = -1",
        ),
        (
            FitSettings {
                sharpen_tolerance: f64::NAN,
                ..Default::default()
            },
            "sharpen_tolerance = NaN",
        ),
    ] {
        let err = FitState::new(settings, &rest, &vec![false; rest.len()], 4.5)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(name), "{err}");
    }
    // a proposal may be asked to lower the loss by a margin
    let margin = FitSettings {
        sharpen_tolerance: -0.02,
        ..Default::default()
    };
    assert!(FitState::new(margin, &rest, &vec![false; rest.len()], 4.5).is_ok());
}

#[test]
fn sharpening_is_proposed_on_the_finest_level_only() {
    let base = FitSettings {
        sharpen: true,
        sharpen_every: 3,
        ..state(3, 8).unwrap().settings
    };
    let rest = points();
    // the material iterations (after the first stage's) that propose a sharpened grid
    let due = |settings: &FitSettings| -> Vec<u32> {
        let s = FitState::new(settings.clone(), &rest, &vec![false; rest.len()], 4.5).unwrap();
        let scan = s.scan_iterations();
        (0..s.total_iterations())
            .filter(|&it| s.sharpen_due(it))
            .map(|it| it - scan)
            .collect()
    };
    // the finest level is material iterations 22..30: every third after its first, and its last
    assert_eq!(due(&base), vec![25, 28, 29]);
    // one level: the E iterations start after the 6 velocity-only ones
    let one = FitSettings {
        material_levels: 1,
        ..base.clone()
    };
    assert_eq!(due(&one), vec![9, 12, 15, 18, 21, 24, 27, 29]);
    // 0: the last iteration only
    let last = FitSettings {
        sharpen_every: 0,
        ..base.clone()
    };
    assert_eq!(due(&last), vec![29]);
    let off = FitSettings {
        sharpen: false,
        ..base
    };
    assert!(due(&off).is_empty());
}

#[test]
fn a_sharpened_grid_is_adopted_with_its_moved_nodes_momentum_dropped() {
    let mut s = state(1, 8).unwrap();
    // no ramp: nothing to sharpen
    let young = s.field.young(&points()).unwrap();
    assert!(s.sharpened(&points(), &young).unwrap().is_none());
    // a step blurred over x nodes 3 and 4 (4.5 | 5.5)
    let ramp = [4.5, 4.5, 4.5, 4.8, 5.2, 5.5, 5.5, 5.5];
    let n = s.field.len();
    let values: Vec<f64> = (0..n).map(|idx| ramp[idx % 8]).collect();
    s.field.set_values(&values).unwrap();
    // some momentum on every node
    let mut p = values.clone();
    s.adam_material.step(&mut p, &vec![1e-3; n]).unwrap();
    let young = s.field.young(&points()).unwrap();
    let sharp = s
        .sharpened(&points(), &young)
        .unwrap()
        .expect("a ramp to sharpen");
    // the sides split halfway between the plateaus the ramp's nodes went to
    assert_eq!(sharp.middle, 5.0);
    let want: Vec<f64> = (0..n)
        .map(|idx| [4.5, 4.5, 4.5, 4.5, 5.5, 5.5, 5.5, 5.5][idx % 8])
        .collect();
    assert_eq!(sharp.field.values(), &want[..]);
    assert_eq!(sharp.shifted(0.0, 0.0).unwrap().values(), &want[..]);
    assert_eq!(s.adopt_sharpened(sharp.field).unwrap(), 2 * 64);
    assert_eq!(s.field.values(), &want[..]);
    // the next step with a zero gradient moves only the nodes that kept their momentum
    let mut q = want.clone();
    s.adam_material.step(&mut q, &vec![0.0; n]).unwrap();
    for idx in 0..n {
        let moved_by_sharpening = matches!(idx % 8, 3 | 4);
        assert_eq!(q[idx] == want[idx], moved_by_sharpening, "node {idx}");
    }
}

/// A grid blurred over x nodes 3 and 4 between 4.5 and 5.5, sharpened.
fn sharpened_ramp() -> (FitState, physdreamer::fit::Sharpened) {
    let mut s = state(1, 8).unwrap();
    let ramp = [4.5, 4.5, 4.5, 4.8, 5.2, 5.5, 5.5, 5.5];
    let values: Vec<f64> = (0..s.field.len()).map(|idx| ramp[idx % 8]).collect();
    s.field.set_values(&values).unwrap();
    let young = s.field.young(&points()).unwrap();
    let sharp = s.sharpened(&points(), &young).unwrap().expect("a ramp");
    (s, sharp)
}

/// The squared distance in log₁₀ E at the particles from `target`'s E.
fn distance_to(
    target: &physdreamer::field::StiffnessField,
) -> impl Fn(&[f32]) -> anyhow::Result<f64> {
    let target: Vec<f64> = target
        .young(&points())
        .unwrap()
        .iter()
        .map(|&e| (e as f64).log10())
        .collect();
    move |young: &[f32]| {
        Ok(young
            .iter()
            .zip(&target)
            .map(|(&e, t)| ((e as f64).log10() - t).powi(2))
            .sum())
    }
}

#[test]
fn the_shift_search_finds_the_levels_of_both_sides() {
    let (_, sharp) = sharpened_ramp();
    let rest = points();
    // each side shifted as a whole: the high side by +0.015, the low one by −0.010
    let shifted = sharp.shifted(0.015, -0.010).unwrap();
    for (&a, &b) in shifted.values().iter().zip(sharp.field.values()) {
        let d = if b >= 5.0 { 0.015 } else { -0.010 };
        assert!((a - b - d).abs() < 1e-12);
    }
    // a loss whose minimum is that grid: the search lands on it (to its 0.0005 decades)
    let loss = distance_to(&shifted);
    let found = sharp.search(&rest, 40, &loss).unwrap();
    assert!((found.shifts.0 - 0.015).abs() < 6e-4, "{:?}", found.shifts);
    assert!((found.shifts.1 + 0.010).abs() < 6e-4, "{:?}", found.shifts);
    assert!(found.loss < 1e-4, "{}", found.loss);
    let again = sharp.shifted(found.shifts.0, found.shifts.1).unwrap();
    assert_eq!(found.field.values(), again.values());
    // every grid it simulated was a new one
    assert!(found.evaluations <= 40 && found.evaluations >= 5);
    // the budget is kept: one evaluation is the sharpened grid as it is
    let counted = |budget: u32| {
        let mut calls = 0;
        let r = sharp
            .search(&rest, budget, |y| {
                calls += 1;
                loss(y)
            })
            .unwrap();
        (calls, r)
    };
    let (calls, once) = counted(1);
    assert_eq!((calls, once.evaluations, once.shifts), (1, 1, (0.0, 0.0)));
    assert_eq!(once.field.values(), sharp.field.values());
    let (calls, few) = counted(4);
    assert_eq!((calls, few.evaluations), (4, 4));
    assert!(few.loss < once.loss);
    // grids that fail to simulate (an infinite loss) are stepped around
    let bounded = sharp
        .search(&rest, 40, |y| {
            let high = (y[y.len() - 1] as f64).log10()
                - sharp.field.sample(&rest[rest.len() - 1..]).unwrap()[0];
            if high > 0.0101 {
                Ok(f64::INFINITY)
            } else {
                loss(y)
            }
        })
        .unwrap();
    assert!(bounded.loss.is_finite() && bounded.loss < once.loss);
    assert!(bounded.shifts.0 <= 0.0101, "{:?}", bounded.shifts);
    assert!(
        (bounded.shifts.1 + 0.010).abs() < 0.003,
        "{:?}",
        bounded.shifts
    );
}

#[test]
fn the_shift_search_follows_a_narrow_valley_across_the_axes() {
    let (_, sharp) = sharpened_ramp();
    let rest = points();
    // the loss of a sway: steep across the line where the high side's stiffening makes up
    // for the low side's softening, shallow along it; the minimum at (+0.02, −0.06)
    let (h0, l0) = (0.02, -0.06);
    let probe = |h: f64, l: f64| 1e4 * (h + l - h0 - l0).powi(2) + (h - l - h0 + l0).powi(2);
    let mut seen = Vec::new();
    let found = sharp
        .search(&rest, 40, |young| {
            // the two sides' shifts, read back from the E the search simulates
            let e0 = (young[0] as f64).log10() - sharp.field.sample(&rest[..1]).unwrap()[0];
            let last = rest.len() - 1;
            let e1 = (young[last] as f64).log10() - sharp.field.sample(&rest[last..]).unwrap()[0];
            seen.push((e1, e0));
            Ok(probe(e1, e0))
        })
        .unwrap();
    // the first and the last point lie on the low and the high side
    assert!(sharp.field.sample(&rest[..1]).unwrap()[0] < sharp.middle);
    assert!(sharp.field.sample(&rest[rest.len() - 1..]).unwrap()[0] >= sharp.middle);
    assert!((found.shifts.0 - h0).abs() < 0.004, "{:?}", found.shifts);
    assert!((found.shifts.1 - l0).abs() < 0.004, "{:?}", found.shifts);
    assert!(
        found.loss < 1e-3 * probe(0.0, 0.0),
        "{} after {seen:?}",
        found.loss
    );
}

#[test]
fn two_parts_sets_each_side_to_its_weighted_median() {
    let (_, sharp) = sharpened_ramp();
    let n = sharp.field.len();
    // x nodes 0–3 are the low side (4.5), 4–7 the high (5.5); give them other values
    let mut uneven = sharp.clone();
    let values: Vec<f64> = (0..n)
        .map(|idx| [4.4, 4.5, 4.6, 4.9, 5.1, 5.3, 5.5, 5.7][idx % 8])
        .collect();
    uneven.field.set_values(&values).unwrap();
    // the weights put the low side's median at 4.6 and the high side's at 5.3
    let weights: Vec<f64> = (0..n)
        .map(|idx| [1.0, 1.0, 3.0, 0.0, 0.0, 5.0, 1.0, 2.0][idx % 8])
        .collect();
    let parts = uneven
        .two_parts(&weights)
        .unwrap()
        .expect("both sides weighted");
    let want: Vec<f64> = (0..n)
        .map(|idx| if idx % 8 < 4 { 4.6 } else { 5.3 })
        .collect();
    assert_eq!(parts.field.values(), &want[..]);
    assert_eq!(parts.middle, uneven.middle);
    // a side that no particle sees has no median
    let one_side: Vec<f64> = (0..n)
        .map(|idx| if idx % 8 < 4 { 1.0 } else { 0.0 })
        .collect();
    assert!(uneven.two_parts(&one_side).unwrap().is_none());
    let err = uneven.two_parts(&one_side[1..]).unwrap_err().to_string();
    assert!(err.contains(&format!("{} weights", n - 1)), "{err}");
    // the proposal's best form: two parts where they fit the loss better, else the grid
    let rest = points();
    let weights = sharp.field.adjoint(&rest, &vec![1.0; rest.len()]).unwrap();
    let flat = uneven.two_parts(&weights).unwrap().unwrap();
    let to_parts = uneven
        .best_form(&rest, &weights, 12, distance_to(&flat.field))
        .unwrap();
    assert!(to_parts.two_parts);
    assert_eq!(to_parts.search.shifts, (0.0, 0.0));
    assert_eq!(to_parts.search.field.values(), flat.field.values());
    let to_grid = uneven
        .best_form(&rest, &weights, 12, distance_to(&uneven.field))
        .unwrap();
    assert!(!to_grid.two_parts);
    assert_eq!(to_grid.search.field.values(), uneven.field.values());
    // both forms were searched, each within its budget
    assert!(
        (16..=24).contains(&to_parts.evaluations),
        "{}",
        to_parts.evaluations
    );
}
