//! Neighbour queries, the nearest-rotation fit and the attachment of Gaussians and mesh
//! vertices to driving particles.

use std::path::Path;

use glam::{DMat3, DQuat, DVec3, Mat3, Quat, Vec3};
use physdreamer::scene::driving::{nearest_rotation, Attachment};
use physdreamer::scene::knn::PointGrid;
use physdreamer::scene::procedural::SplitMix64;
use physdreamer::scene::Scene;

fn data(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(p)
}

#[test]
fn knn_matches_brute_force() {
    let mut r = SplitMix64(1);
    // A dense cluster, a sparse shell and a far outlier.
    let mut pts: Vec<Vec3> = (0..3000)
        .map(|_| Vec3::new(r.sym(0.1), r.sym(0.1), r.sym(0.1)) + 0.5)
        .collect();
    pts.extend(
        (0..300)
            .map(|_| Vec3::new(r.sym(1.0), r.sym(1.0), r.sym(1.0)).normalize_or_zero() * 0.4 + 0.5),
    );
    pts.push(Vec3::new(5.0, -3.0, 2.0));
    let grid = PointGrid::new(&pts);
    let mut out = Vec::new();
    for q in 0..400 {
        let p = if q % 4 == 0 {
            Vec3::new(r.sym(8.0), r.sym(8.0), r.sym(8.0))
        } else {
            Vec3::new(r.f32(), r.f32(), r.f32())
        };
        let k = 1 + q % 9;
        grid.knn(p, k, &mut out);
        let mut brute: Vec<(f32, u32)> = pts
            .iter()
            .enumerate()
            .map(|(i, x)| ((*x - p).length_squared(), i as u32))
            .collect();
        brute.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(out, brute[..k].to_vec(), "query {p} k {k}");
    }
    assert!(PointGrid::new(&[]).nearest(Vec3::ZERO).is_none());
    let one = PointGrid::new(&[Vec3::ONE]);
    one.knn(Vec3::ZERO, 5, &mut out);
    assert_eq!(out.len(), 1);
}

fn random_rotation(r: &mut SplitMix64) -> DQuat {
    DQuat::from_xyzw(
        r.sym(1.0) as f64,
        r.sym(1.0) as f64,
        r.sym(1.0) as f64,
        r.sym(1.0) as f64,
    )
    .normalize()
}

#[test]
fn nearest_rotation_recovers_the_rotation_of_q_times_spd() {
    let mut r = SplitMix64(2);
    for case in 0..200 {
        let q = if case == 0 {
            DMat3::from_rotation_z(std::f64::consts::PI)
        } else {
            DMat3::from_quat(random_rotation(&mut r))
        };
        let b = DMat3::from_cols_array(&[0.0; 9].map(|_: f64| r.sym(1.0) as f64));
        let mut s = b * b.transpose();
        if case % 3 == 1 {
            // Rank 2 (coplanar neighbours): still a unique answer.
            let n = DVec3::new(r.sym(1.0) as f64, r.sym(1.0) as f64, 1.0).normalize();
            let proj = DMat3::IDENTITY - DMat3::from_cols(n * n.x, n * n.y, n * n.z);
            s = proj * s * proj;
        }
        let got = nearest_rotation(q * s);
        let err = (got - q)
            .to_cols_array()
            .iter()
            .map(|v| v.abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-8, "case {case}: error {err}");
    }
    // A reflection is mapped to a proper rotation; zero to the identity.
    let refl = DMat3::from_diagonal(DVec3::new(1.0, 1.0, -1.0));
    assert!((nearest_rotation(refl).determinant() - 1.0).abs() < 1e-9);
    assert_eq!(nearest_rotation(DMat3::ZERO), DMat3::IDENTITY);
}

#[test]
fn attachment_weights_are_a_partition_of_unity() {
    let mut r = SplitMix64(3);
    let particles: Vec<Vec3> = (0..500)
        .map(|_| Vec3::new(r.f32(), r.f32(), r.f32()))
        .collect();
    let points: Vec<Vec3> = (0..200)
        .map(|_| Vec3::new(r.f32(), r.f32(), r.f32()))
        .collect();
    let att = Attachment::new(&points, &particles, 8).unwrap();
    assert_eq!((att.len(), att.k()), (200, 8));
    for (i, point) in points.iter().enumerate() {
        let (idx, w) = att.neighbours(i);
        assert!(w.iter().all(|&v| v > 0.0));
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let d: Vec<f32> = idx
            .iter()
            .map(|&j| particles[j as usize].distance(*point))
            .collect();
        assert!(d.windows(2).all(|p| p[0] <= p[1]));
    }
    // Unmoved particles leave every point where it was.
    let same = att.deform(&particles).unwrap();
    for (a, b) in same.position.iter().zip(&points) {
        assert!(a.distance(*b) < 1e-6);
    }
    assert!(Attachment::new(&points, &particles[..3], 8).unwrap().k() == 3);
    assert!(Attachment::new(&points, &[], 8).is_err());
    assert!(att.deform(&particles[..10]).is_err());
}

/// Applies `x -> Q x + t` to every point.
fn rigid(q: Quat, t: Vec3, pts: &[Vec3]) -> Vec<Vec3> {
    pts.iter().map(|&p| q * p + t).collect()
}

#[test]
fn splats_follow_a_rigid_motion_exactly() {
    let scene = Scene::load(&data("default.toml")).unwrap();
    let splats = scene.splats.as_ref().unwrap();
    let mut r = SplitMix64(4);
    for _ in 0..3 {
        let q = random_rotation(&mut r).as_quat();
        let t = Vec3::new(r.sym(0.3), r.sym(0.3), r.sym(0.3));
        let moved = rigid(q, t, &scene.particles.position);
        let out = scene.deform_splats(&moved, None).unwrap().unwrap();
        let grads = vec![Mat3::from_quat(q); moved.len()];
        let with_f = scene.deform_splats(&moved, Some(&grads)).unwrap().unwrap();
        for i in 0..splats.len() {
            let want = q * splats.position[i] + t;
            assert!(
                out.position[i].distance(want) < 1e-5,
                "Gaussian {i}: {} vs {want}",
                out.position[i]
            );
            assert!(with_f.position[i].distance(want) < 1e-5);
            let want_q = q * splats.unit_rotation(i);
            assert!(
                out.unit_rotation(i).dot(want_q).abs() > 1.0 - 1e-6,
                "rotation of Gaussian {i}"
            );
            assert_eq!(out.log_scale[i], splats.log_scale[i]);
            // With F = Q the covariance rotates: Q Sigma Q^T.
            let want_cov =
                Mat3::from_quat(q) * splats.covariance(i) * Mat3::from_quat(q).transpose();
            let scale = splats.scale(i).max_element().powi(2);
            let err = (with_f.covariance(i) - want_cov)
                .to_cols_array()
                .iter()
                .map(|v| v.abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-4 * scale, "covariance of Gaussian {i}: {err}");
        }
    }
}

#[test]
fn mesh_vertices_follow_a_rigid_motion_exactly() {
    let scene = Scene::load(&data("spot.toml")).unwrap();
    let mesh = scene.mesh.as_ref().unwrap();
    let q = Quat::from_axis_angle(Vec3::new(1.0, 2.0, -0.5).normalize(), 2.9);
    let t = Vec3::new(0.05, -0.1, 0.2);
    let moved = rigid(q, t, &scene.particles.position);
    let out = scene.deform_mesh(&moved).unwrap().unwrap();
    assert_eq!(out.triangles, mesh.triangles);
    for (a, b) in out.positions.iter().zip(&mesh.positions) {
        assert!(a.distance(q * *b + t) < 1e-5);
    }
    let frames = scene
        .mesh_attachment
        .as_ref()
        .unwrap()
        .deform(&moved)
        .unwrap();
    assert!(frames.rotation.iter().all(|r| r.dot(q).abs() > 1.0 - 1e-6));
}

#[test]
fn a_bend_moves_points_smoothly() {
    // Particles of a bar bent about z: attached points stay close to the bent bar.
    let mut particles = Vec::new();
    for i in 0..40 {
        for j in 0..4 {
            for k in 0..4 {
                particles.push(Vec3::new(i as f32 * 0.01, j as f32 * 0.01, k as f32 * 0.01));
            }
        }
    }
    let points: Vec<Vec3> = (0..100)
        .map(|i| Vec3::new(i as f32 * 0.0039, 0.015, 0.015))
        .collect();
    let att = Attachment::new(&points, &particles, 8).unwrap();
    let bend = |p: Vec3| Quat::from_rotation_z(p.x * 2.0) * p;
    let moved: Vec<Vec3> = particles.iter().map(|&p| bend(p)).collect();
    let out = att.deform(&moved).unwrap();
    for (a, &p) in out.position.iter().zip(&points) {
        assert!(a.distance(bend(p)) < 2e-3, "{a} vs {}", bend(p));
    }
    for w in out.position.windows(2) {
        assert!(w[0].distance(w[1]) < 0.01);
    }
}
