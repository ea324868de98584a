//! Material field files: round trip, nearest-point sampling, and clear errors.

use glam::Vec3;
use physdreamer::material::MaterialField;

fn field() -> MaterialField {
    MaterialField {
        points: vec![
            Vec3::new(0.2, 0.2, 0.2),
            Vec3::new(0.8, 0.2, 0.2),
            Vec3::new(0.5, 0.7, 0.5),
        ],
        young: vec![1e4, 2e5, 3e6],
        poisson: Some(vec![0.2, 0.3, 0.4]),
    }
}

#[test]
fn round_trip_and_sampling() {
    let dir = std::env::temp_dir().join(format!("physdreamer-material-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.ply");
    let f = field();
    f.write(&path).unwrap();
    assert_eq!(MaterialField::read(&path).unwrap(), f);
    let no_nu = MaterialField {
        poisson: None,
        ..f.clone()
    };
    no_nu.write(&path).unwrap();
    assert_eq!(MaterialField::read(&path).unwrap(), no_nu);
    let (e, nu) = f.sample(&[
        Vec3::new(0.25, 0.2, 0.2),
        Vec3::new(0.75, 0.25, 0.2),
        Vec3::new(0.5, 0.6, 0.5),
    ]);
    assert_eq!(e, vec![1e4, 2e5, 3e6]);
    assert_eq!(nu, Some(vec![0.2, 0.3, 0.4]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_material_files_are_named() {
    let dir = std::env::temp_dir().join(format!("physdreamer-material-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("zero E", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty float young\nend_header\n0.5 0.5 0.5 0\n", "young = 0"),
        ("NaN E", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty float young\nend_header\n0.5 0.5 0.5 nan\n", "young"),
        ("no young", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n0.5 0.5 0.5\n", "young"),
        ("nu 0.5", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty float young\nproperty float poisson\nend_header\n0.5 0.5 0.5 1e5 0.5\n", "poisson = 0.5"),
        ("empty", "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nproperty float young\nend_header\n", "no points"),
        ("truncated", "ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nproperty float young\nend_header\n\0\0\0\0", "m.ply"),
        ("not a ply", "hello", "m.ply"),
    ];
    for (name, text, want) in cases {
        let path = dir.join("m.ply");
        std::fs::write(&path, text).unwrap();
        let err = format!("{:#}", MaterialField::read(&path).expect_err(name));
        assert!(
            err.contains(want),
            "{name}: {err:?} does not mention {want:?}"
        );
        assert!(
            err.contains("m.ply"),
            "{name}: {err:?} does not name the file"
        );
    }
    let err = format!(
        "{:#}",
        MaterialField::read(&dir.join("missing.ply")).unwrap_err()
    );
    assert!(err.contains("missing.ply"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
