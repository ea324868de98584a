//! `Attachment::position_adjoint` against the transpose of the centre map and central
//! differences through `Attachment::deform`.

use glam::{DVec3, Quat, Vec3};
use physdreamer::scene::Attachment;

use super::fd::{ball, dot, scaled_error, sizes};

#[test]
fn position_adjoint_is_the_transpose_of_the_centre_map() {
    let mut rng = crate::common::rng("position_adjoint_is_the_transpose_of_the_centre_map");
    let particles: Vec<Vec3> = (0..216)
        .map(|i| {
            Vec3::new((i % 6) as f32, (i / 6 % 6) as f32, (i / 36) as f32) * 0.1
                + ball(&mut rng) * 0.02
        })
        .collect();
    let points: Vec<Vec3> = (0..300)
        .map(|_| Vec3::splat(0.25) + ball(&mut rng) * 0.25)
        .collect();
    let att = Attachment::new(&points, &particles, 8).unwrap();
    let dp: Vec<Vec3> = (0..300).map(|_| ball(&mut rng)).collect();
    let adj = att.position_adjoint(&dp).unwrap();
    assert_eq!(adj.len(), particles.len());
    // <A dx, dp> = <dx, Aᵀ dp>, A: x ↦ (Σ_j w_j x_j) per point.
    let centres = |x: &[Vec3]| -> Vec<DVec3> {
        (0..att.len())
            .map(|i| {
                let (idx, w) = att.neighbours(i);
                idx.iter()
                    .zip(w)
                    .map(|(&j, &wj)| x[j as usize].as_dvec3() * wj as f64)
                    .sum()
            })
            .collect()
    };
    let dx: Vec<Vec3> = particles.iter().map(|_| ball(&mut rng)).collect();
    let lhs: f64 = centres(&dx)
        .iter()
        .zip(&dp)
        .map(|(a, b)| a.dot(b.as_dvec3()))
        .sum();
    let rhs = dot(&dx, &adj);
    eprintln!("adjoint identity: {lhs:.9e} vs {rhs:.9e}");
    assert!(
        scaled_error(lhs, rhs, sizes(&dx, &adj)) < 1e-6,
        "<A dx, dp> = {lhs}, <dx, Aᵀdp> = {rhs}"
    );
    // A translation moves every point rigidly (R = I): differences along it.
    let u = ball(&mut rng);
    let moved = |s: f32| -> f64 {
        let x: Vec<Vec3> = particles
            .iter()
            .map(|p| *p + u * s + Vec3::new(0.3, -0.2, 0.1))
            .collect();
        let d = att.deform(&x).unwrap();
        assert!(d
            .rotation
            .iter()
            .all(|q| q.angle_between(Quat::IDENTITY) < 1e-3));
        d.position
            .iter()
            .zip(&dp)
            .map(|(a, b)| a.as_dvec3().dot(b.as_dvec3()))
            .sum()
    };
    let (fd, an) = (
        (moved(1e-2) - moved(-1e-2)) / 2e-2,
        dot(&vec![u; particles.len()], &adj),
    );
    eprintln!("translation: differences {fd:.6e}, adjoint {an:.6e}");
    let e = scaled_error(an, fd, sizes(&vec![u; particles.len()], &adj));
    assert!(e < 1e-4, "translation: {fd} vs {an}");
    // A bending, twisting motion: the centre c = x' − R·(x − c0) through `deform`, R taken
    // from each deformed state, along random particle directions.
    let bend = |p: Vec3| {
        Quat::from_rotation_z(1.5 * p.y) * Quat::from_rotation_x(0.7 * p.x) * p
            + Vec3::new(0.1 * p.y * p.y, 0.0, 0.2)
    };
    let rest = centres(&particles);
    let centre = |x: &[Vec3]| -> Vec<DVec3> {
        let d = att.deform(x).unwrap();
        (0..att.len())
            .map(|i| {
                d.position[i].as_dvec3()
                    - d.rotation[i].as_dquat() * (points[i].as_dvec3() - rest[i])
            })
            .collect()
    };
    for _ in 0..3 {
        let dx: Vec<Vec3> = particles.iter().map(|_| ball(&mut rng)).collect();
        let at = |s: f32| -> f64 {
            let x: Vec<Vec3> = particles
                .iter()
                .zip(&dx)
                .map(|(p, d)| bend(*p) + *d * s)
                .collect();
            centre(&x)
                .iter()
                .zip(&dp)
                .map(|(a, b)| a.dot(b.as_dvec3()))
                .sum()
        };
        let (fd, an) = ((at(1e-2) - at(-1e-2)) / 2e-2, dot(&dx, &adj));
        eprintln!("bent: differences {fd:.6e}, adjoint {an:.6e}");
        assert!(
            scaled_error(an, fd, sizes(&dx, &adj)) < 1e-3,
            "bent: {fd} vs {an}"
        );
    }
    // Bad input is refused.
    let err = att.position_adjoint(&dp[1..]).unwrap_err();
    assert!(err.contains("299") && err.contains("300"), "{err}");
    let mut bad = dp.clone();
    bad[7].y = f32::NAN;
    assert!(att
        .position_adjoint(&bad)
        .unwrap_err()
        .contains("point gradient 7"));
}
