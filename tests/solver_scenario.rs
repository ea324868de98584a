//! Cross-checks A and B of the standard jelly-drop scenario (shared/bench/SCENARIO.md).

mod common;
use common::gpu;
use glam::Vec3;
use physdreamer::bench::{run, Scenario, WARMUP};

#[test]
fn cross_check_a_free_fall() {
    let r = run(
        &gpu(),
        &Scenario {
            steps: 105 - WARMUP,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        (r.mean_y - 0.49945).abs() < 2e-4,
        "mean y {} vs 0.49945",
        r.mean_y
    );
}

#[test]
fn cross_check_b_elastic_impact() {
    let r = run(
        &gpu(),
        &Scenario {
            steps: 1000 - WARMUP,
            v0: Vec3::new(0.0, -5.0, 0.0),
            ..Default::default()
        },
    )
    .unwrap();
    eprintln!(
        "cross-check B: mean {:.5} std {:.5} min {:.5}",
        r.mean_y, r.std_y, r.min_y
    );
    assert!(
        (r.mean_y - 0.11842).abs() < 2e-4,
        "mean y {} vs 0.11842",
        r.mean_y
    );
    assert!(
        (r.std_y - 0.06094).abs() < 2e-4,
        "std y {} vs 0.06094",
        r.std_y
    );
    assert!(
        (r.min_y - 0.03284).abs() < 2e-4,
        "min y {} vs 0.03284",
        r.min_y
    );
}
