//! The coarse-to-fine schedule of the fitted E grid: which grid each iteration of the
//! material stage uses, when it changes, and that a change keeps the field and renews the
//! optimiser.

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
        let err = state(levels, 8).err().expect("refused").to_string();
        assert!(err.contains("material_levels = "), "{err}");
    }
}
