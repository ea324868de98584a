//! Mesh readers, winding numbers and volume filling (meshes and splats).

mod common;
use common::{data, shared};
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use glam::{DVec3, Quat, Vec3};
use physdreamer::scene::fill::{fill_mesh, fill_splats};
use physdreamer::scene::mesh::MeshError;
use physdreamer::scene::ply::PlyFormat;
use physdreamer::scene::procedural::{
    box_mesh, box_surface, sphere_mesh, sphere_surface, Look, SplitMix64,
};
use physdreamer::scene::winding::WindingNumber;
use physdreamer::scene::{GaussianSplats, Similarity, TriMesh};

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scene_mesh");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn spot_obj_loads_closed_with_expected_counts() {
    let m = TriMesh::read(&data("spot_cow/spot_triangulated.obj")).unwrap();
    assert_eq!(m.positions.len(), 2_930);
    assert_eq!(m.triangles.len(), 5_856);
    assert_eq!(m.boundary_edges(), 0);
    let (lo, hi) = m.bounds().unwrap();
    assert!(
        (lo - Vec3::new(-0.472, -0.737, -0.669)).abs().max_element() < 2e-3,
        "{lo}"
    );
    assert!(
        (hi - Vec3::new(0.472, 0.954, 1.049)).abs().max_element() < 2e-3,
        "{hi}"
    );
    assert!(m.signed_volume() > 0.0, "Spot's triangles face outwards");
}

#[test]
fn obj_and_ply_polygons_are_triangulated() {
    let obj = "# a unit square and a pentagon, one with relative indices\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1 4//1\no second\nv 0 0 1\nv 1 0 1\nv 1.5 0.5 1\nv 1 1 1\nv 0 1 1\nf -5 -4 -3 -2 -1\n";
    let m = TriMesh::from_obj_bytes(obj.as_bytes(), Path::new("poly.obj")).unwrap();
    assert_eq!(m.triangles.len(), 2 + 3);
    assert!((m.area() - (1.0 + 1.25)).abs() < 1e-6);
    let ply = "ply\nformat ascii 1.0\nelement vertex 5\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nelement face 2\nproperty list uchar int vertex_index\nend_header\n0 0 0 1\n1 0 0 2\n1 1 0 3\n0 1 0 4\n0.5 1.5 0 5\n4 0 1 2 3\n3 3 2 4\n";
    let m = TriMesh::from_ply_bytes(ply.as_bytes()).unwrap();
    assert_eq!(m.triangles, vec![[0, 1, 2], [0, 2, 3], [3, 2, 4]]);
    // The PLY writer round-trips.
    let cube = box_mesh(Vec3::ZERO, Vec3::ONE);
    for fmt in [PlyFormat::Ascii, PlyFormat::BinaryLittleEndian] {
        let p = tmp(&format!("cube_{fmt:?}.ply"));
        std::fs::write(&p, cube.to_ply_bytes(fmt)).unwrap();
        assert_eq!(TriMesh::read(&p).unwrap(), cube);
    }
    assert!((cube.signed_volume() - 1.0).abs() < 1e-9);
    assert!(
        rel_err(
            sphere_mesh(Vec3::ZERO, 1.0, 4).signed_volume(),
            4.0 / 3.0 * PI
        ) < 0.01
    );
}

#[test]
fn malformed_meshes_give_clear_errors() {
    let obj = |text: &str| {
        TriMesh::from_obj_bytes(text.as_bytes(), Path::new("bad.obj"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let ply = |text: &str| {
        TriMesh::from_ply_bytes(text.as_bytes())
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let head = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n";
    let cases: Vec<(&str, Result<(), String>, &[&str])> = vec![
        (
            "OBJ index past the end",
            obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n"),
            &[
                "bad.obj",
                "line 4",
                "vertex index 4 is out of range (3 defined)",
            ],
        ),
        (
            "OBJ index zero",
            obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n"),
            &["line 4", "vertex index 0"],
        ),
        (
            "OBJ relative index too far back",
            obj("v 0 0 0\nv 1 0 0\nf -1 -2 -3\nv 0 1 0\n"),
            &["line 3", "-3"],
        ),
        (
            "OBJ bad number",
            obj("v 0 0 0\nv 1 zero 0\nv 0 1 0\nf 1 2 3\n"),
            &["line 2", "`zero` is not a number"],
        ),
        (
            "OBJ NaN",
            obj("v 0 0 0\nv 1 nan 0\nv 0 1 0\nf 1 2 3\n"),
            &["line 2", "not finite"],
        ),
        (
            "OBJ too few coordinates",
            obj("v 0 0\nf 1 1 1\n"),
            &["line 1", "expected 3 to 7 numbers"],
        ),
        (
            "OBJ two-vertex face",
            obj("v 0 0 0\nv 1 0 0\nf 1 2\n"),
            &["line 3", "at least 3 vertices"],
        ),
        (
            "OBJ texture index past the end",
            obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/2 3/1\n"),
            &["texture coordinate index 2"],
        ),
        (
            "OBJ malformed reference",
            obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1/1/1 2 3\n"),
            &["malformed vertex reference"],
        ),
        ("OBJ no vertices", obj("# nothing\n"), &["no `v`"]),
        ("OBJ no faces", obj("v 0 0 0\n"), &["no triangles"]),
        (
            "PLY index out of range",
            ply(&format!("{head}0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n")),
            &["face", "row 0", "`3`", "out of range"],
        ),
        (
            "PLY negative index",
            ply(&format!("{head}0 0 0\n1 0 0\n0 1 0\n3 0 1 -1\n")),
            &["vertex_indices", "-1"],
        ),
        (
            "PLY two-vertex face",
            ply(&format!("{head}0 0 0\n1 0 0\n0 1 0\n2 0 1\n")),
            &["not a polygon"],
        ),
        (
            "PLY inf vertex",
            ply(&format!("{head}0 0 0\n1 inf 0\n0 1 0\n3 0 1 2\n")),
            &["vertex", "row 1", "`y`", "not finite"],
        ),
        (
            "PLY missing face element",
            ply("ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n"),
            &["no `face` element"],
        ),
        (
            "PLY float indices",
            ply(&head.replace("uchar int", "uchar float")),
            &["list of integers"],
        ),
        (
            "PLY list longer than the row",
            ply(&format!("{head}0 0 0\n1 0 0\n0 1 0\n200 0 1 2\n")),
            &["line 13", "at least 201"],
        ),
    ];
    assert!(cases.len() >= 15);
    for (name, res, needles) in cases {
        let err = res.expect_err(name);
        for n in needles {
            assert!(err.contains(n), "case `{name}`: `{err}` lacks `{n}`");
        }
    }
    assert!(matches!(
        TriMesh::read(Path::new("mesh.stl")),
        Err(MeshError::Extension { .. })
    ));
    let e = TriMesh::read(&tmp("missing.obj")).unwrap_err().to_string();
    assert!(e.contains("missing.obj"), "{e}");
}

#[test]
fn fast_winding_number_matches_exact_sum() {
    let m = TriMesh::read(&data("spot_cow/spot_triangulated.obj")).unwrap();
    let wn = WindingNumber::new(&m);
    let mut r = SplitMix64(11);
    let mut worst: f64 = 0.0;
    for _ in 0..300 {
        let p = DVec3::new(
            r.sym(0.6) as f64,
            r.sym(1.0) as f64 + 0.1,
            r.sym(1.1) as f64 + 0.2,
        );
        worst = worst.max((wn.eval(p) - wn.eval_exact(p)).abs());
    }
    assert!(worst < 0.03, "fast winding number off by {worst}");
}

fn rel_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / want
}

#[test]
fn mesh_fill_volume_of_sphere_and_cubes_within_two_percent() {
    let h = 1.0 / 96.0;
    let cell = (h as f64).powi(3);
    let r = 0.3;
    let sphere = sphere_mesh(Vec3::splat(0.5), r, 4);
    let v = fill_mesh(&sphere, h).unwrap().len() as f64 * cell;
    let e = rel_err(v, 4.0 / 3.0 * PI * (r as f64).powi(3));
    assert!(e < 0.02, "sphere volume error {e}");
    // Inside-out orientation fills the same volume.
    let mut flipped = sphere.clone();
    flipped.triangles.iter_mut().for_each(|t| t.swap(1, 2));
    assert_eq!(fill_mesh(&flipped, h).unwrap().len() as f64 * cell, v);
    // Lattice-aligned cube: exact; rotated cube: within 2 %.
    let cube = box_mesh(Vec3::splat(0.25), Vec3::splat(0.75));
    assert_eq!(fill_mesh(&cube, h).unwrap().len(), 48 * 48 * 48);
    let mut rotated = box_mesh(Vec3::splat(-0.2), Vec3::splat(0.2));
    rotated.transform(&Similarity {
        scale: 1.0,
        rotation: Quat::from_euler(glam::EulerRot::XYZ, 0.4, 0.7, -0.2),
        translation: Vec3::splat(0.5),
    });
    let e = rel_err(
        fill_mesh(&rotated, h).unwrap().len() as f64 * cell,
        0.4f64.powi(3),
    );
    assert!(e < 0.02, "rotated cube volume error {e}");
}

#[test]
fn mesh_fill_is_robust_to_holes() {
    // Remove 2 % of the sphere's triangles in a patch (a hole like the bunny's base).
    let mut sphere = sphere_mesh(Vec3::splat(0.5), 0.3, 4);
    let n = sphere.triangles.len();
    let c = Vec3::new(0.5, 0.2, 0.5);
    let pos = sphere.positions.clone();
    sphere.triangles.retain(|t| {
        t.iter()
            .map(|&i| pos[i as usize].distance(c))
            .fold(0.0, f32::max)
            > 0.09
    });
    assert!(sphere.triangles.len() < n && sphere.boundary_edges() > 0);
    let h = 1.0 / 64.0;
    let v = fill_mesh(&sphere, h).unwrap().len() as f64 * (h as f64).powi(3);
    let e = rel_err(v, 4.0 / 3.0 * PI * 0.027);
    assert!(e < 0.03, "holey sphere volume error {e}");
    // The Stanford bunny (open base), where the shared assets are available.
    if let Some(bunny) = shared("stanford_bunny/stanford-bunny.obj") {
        let m = TriMesh::read(&bunny).unwrap();
        assert_eq!((m.positions.len(), m.triangles.len()), (35_947, 69_451));
        assert!(m.boundary_edges() > 0);
        let h = 0.004;
        let pts = fill_mesh(&m, h).unwrap();
        let v = pts.len() as f64 * (h as f64).powi(3);
        let e = rel_err(v, m.signed_volume().abs());
        assert!(
            e < 0.05,
            "bunny fill {v} vs signed volume {}",
            m.signed_volume()
        );
    }
}

fn splat_look() -> Look {
    Look {
        colour: [0.7, 0.3, 0.2],
        alpha: 0.9,
        sheen: 0.0,
    }
}

#[test]
fn splat_fill_volume_of_sphere_and_cube_within_two_percent() {
    let h = 1.0 / 96.0;
    let mut r = SplitMix64(3);
    let mut sphere = GaussianSplats {
        sh_degree: 1,
        ..Default::default()
    };
    sphere_surface(
        &mut sphere,
        Vec3::splat(0.5),
        0.3,
        0.006,
        splat_look(),
        &mut r,
    );
    let fill = fill_splats(&sphere, h, 0.1, 8).unwrap();
    let e = rel_err(fill.volume(), 4.0 / 3.0 * PI * 0.027);
    assert!(e < 0.02, "splat sphere volume error {e}");
    assert!(fill.interior.len() > fill.occupied.len());
    // Interior points take the colour of their nearest Gaussian (to within a fraction of a cell).
    for (p, (&i, c)) in fill
        .interior
        .iter()
        .zip(fill.nearest.iter().zip(&fill.f_dc))
        .step_by(97)
    {
        let d = sphere.position[i as usize].distance(*p);
        let best = sphere
            .position
            .iter()
            .map(|q| q.distance(*p))
            .fold(f32::INFINITY, f32::min);
        assert!(
            d - best < 0.25 * h && *c == sphere.f_dc[i as usize],
            "{d} vs {best}"
        );
    }
    let mut cube = GaussianSplats {
        sh_degree: 1,
        ..Default::default()
    };
    box_surface(
        &mut cube,
        Vec3::new(0.23, 0.27, 0.3),
        Vec3::new(0.77, 0.71, 0.74),
        0.006,
        splat_look(),
        &mut r,
    );
    let fill = fill_splats(&cube, h, 0.1, 8).unwrap();
    let e = rel_err(fill.volume(), 0.54 * 0.44 * 0.44);
    assert!(e < 0.02, "splat cube volume error {e}");
}

#[test]
fn splat_fill_drops_floaters_and_ignores_transparent_gaussians() {
    let h = 1.0 / 64.0;
    let mut r = SplitMix64(4);
    let mut g = GaussianSplats {
        sh_degree: 1,
        ..Default::default()
    };
    sphere_surface(&mut g, Vec3::splat(0.5), 0.25, 0.008, splat_look(), &mut r);
    let base = fill_splats(&g, h, 0.1, 8).unwrap();
    // A lone opaque floater and a cloud of nearly transparent ones.
    sphere_surface(
        &mut g,
        Vec3::new(0.9, 0.9, 0.9),
        0.001,
        0.001,
        splat_look(),
        &mut r,
    );
    sphere_surface(
        &mut g,
        Vec3::new(0.1, 0.1, 0.1),
        0.05,
        0.004,
        Look {
            alpha: 0.02,
            ..splat_look()
        },
        &mut r,
    );
    let with = fill_splats(&g, h, 0.1, 8).unwrap();
    assert_eq!(with.occupied.len(), base.occupied.len());
    assert_eq!(with.interior.len(), base.interior.len());
    assert!(with.dropped_cells > 0);
    assert!(fill_splats(&g, h, 0.0, 8).is_err());
}
