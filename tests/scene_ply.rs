//! The 3DGS `.ply` reader and writer: real files, round trips, malformed inputs, fuzzing.

mod common;
use common::{data, shared};
use std::path::{Path, PathBuf};

use glam::{DVec3, Quat, Vec3};
use physdreamer::scene::ply::{Header, PlyFormat};
use physdreamer::scene::procedural::SplitMix64;
use physdreamer::scene::sh::sh_basis;
use physdreamer::scene::splat_ply::{rest_len, OPACITY_LOGIT_MAX};
use physdreamer::scene::{GaussianSplats, Similarity, TriMesh};

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scene_ply");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Random Gaussians with SH degree `deg`.
fn random_splats(n: usize, deg: u32, seed: u64) -> GaussianSplats {
    let mut r = SplitMix64(seed);
    let mut g = GaussianSplats {
        sh_degree: deg,
        ..Default::default()
    };
    for _ in 0..n {
        g.position
            .push(Vec3::new(r.sym(3.0), r.sym(3.0), r.sym(3.0)));
        g.f_dc.push([r.sym(2.0), r.sym(2.0), r.sym(1e-7)]);
        g.f_rest.extend((0..rest_len(deg)).map(|_| r.sym(0.5)));
        g.opacity.push(r.sym(8.0));
        g.log_scale
            .push(Vec3::new(r.sym(9.0), r.sym(9.0), -r.f32() * 9.0));
        g.rotation
            .push([r.sym(2.0), r.sym(2.0), r.sym(2.0), r.sym(2.0)]);
    }
    g
}

fn bits_equal(a: &GaussianSplats, b: &GaussianSplats) -> bool {
    let f = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let flat3 = |v: &[Vec3]| v.iter().flat_map(|p| p.to_array()).collect::<Vec<_>>();
    a.sh_degree == b.sh_degree
        && f(&flat3(&a.position)) == f(&flat3(&b.position))
        && f(&a.f_dc.concat()) == f(&b.f_dc.concat())
        && f(&a.f_rest) == f(&b.f_rest)
        && f(&a.opacity) == f(&b.opacity)
        && f(&flat3(&a.log_scale)) == f(&flat3(&b.log_scale))
        && f(&a.rotation.concat()) == f(&b.rotation.concat())
}

#[test]
fn real_files_load_with_expected_counts() {
    let donut = GaussianSplats::read(&data("donut_v3dg/fused.ply")).unwrap();
    assert_eq!(donut.len(), 45_624);
    assert_eq!(donut.sh_degree, 0);
    assert!(donut.f_rest.is_empty());
    // Quaternions are stored unnormalised (|q| from 0.61 to 2.72 per SOURCE.md).
    let norms: Vec<f32> = donut
        .rotation
        .iter()
        .map(|q| q.iter().map(|v| v * v).sum::<f32>().sqrt())
        .collect();
    assert!(norms.iter().cloned().fold(f32::INFINITY, f32::min) < 0.7);
    assert!(norms.iter().cloned().fold(0.0, f32::max) > 2.6);
    assert!((donut.unit_rotation(0).length() - 1.0).abs() < 1e-5);

    let fox = GaussianSplats::read(&data("fox_statue_splat/fox_crop.ply")).unwrap();
    assert_eq!(fox.len(), 44_522);
    assert_eq!(
        fox.opacity
            .iter()
            .filter(|&&o| o == OPACITY_LOGIT_MAX)
            .count(),
        26
    );
    assert!(fox.opacity.iter().all(|o| o.is_finite()));

    let jelly = GaussianSplats::read(&data("jelly/jelly.ply")).unwrap();
    assert_eq!(jelly.len(), 13_578);
    assert_eq!(jelly.sh_degree, 1);
    assert_eq!(jelly.f_rest.len(), 13_578 * 9);

    // The uncropped original, with its 37 infinite opacities, where the shared assets exist.
    if let Some(original) = shared("fox_statue_splat/fox.ply") {
        let fox = GaussianSplats::read(&original).unwrap();
        assert_eq!(fox.len(), 50_000);
        assert_eq!(
            fox.opacity
                .iter()
                .filter(|&&o| o == OPACITY_LOGIT_MAX)
                .count(),
            37
        );
    }
}

#[test]
fn round_trips_binary_and_ascii_all_sh_degrees() {
    for deg in 0..=3 {
        let g = random_splats(50, deg, 7 + deg as u64);
        for fmt in [PlyFormat::BinaryLittleEndian, PlyFormat::Ascii] {
            let bytes = g.to_bytes(fmt, &["round trip".into()]);
            let back = GaussianSplats::from_bytes(&bytes).unwrap();
            assert!(bits_equal(&g, &back), "degree {deg} {fmt:?}");
            assert_eq!(
                Header::parse(&bytes).unwrap().comments,
                vec!["round trip".to_string()]
            );
        }
    }
    // A real file through the file API, both encodings.
    let donut = GaussianSplats::read(&data("donut_v3dg/fused.ply")).unwrap();
    for (fmt, name) in [
        (PlyFormat::BinaryLittleEndian, "donut_bin.ply"),
        (PlyFormat::Ascii, "donut_ascii.ply"),
    ] {
        donut.write(&tmp(name), fmt, &[]).unwrap();
        assert!(bits_equal(
            &donut,
            &GaussianSplats::read(&tmp(name)).unwrap()
        ));
    }
    // The writer's binary layout has the size its header promises.
    let bytes = donut.to_bytes(PlyFormat::BinaryLittleEndian, &[]);
    assert_eq!(
        bytes.len(),
        Header::parse(&bytes).unwrap().len + donut.len() * 14 * 4
    );
}

#[test]
fn big_endian_and_property_order_and_extra_properties() {
    // Hand-written big-endian file with normals and a shuffled property order.
    let names = [
        "nx", "rot_3", "x", "y", "z", "ny", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0",
        "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "nz",
    ];
    let mut h = String::from("ply\nformat binary_big_endian 1.0\nelement vertex 2\n");
    for n in names {
        h += &format!(
            "property {} {n}\n",
            if n == "x" { "double" } else { "float" }
        );
    }
    h += "element extra 1\nproperty uchar flag\nend_header\n";
    let mut b = h.into_bytes();
    for row in 0..2 {
        for (k, n) in names.iter().enumerate() {
            let v = (row * 100 + k) as f32;
            if *n == "x" {
                b.extend((v as f64).to_be_bytes());
            } else {
                b.extend(v.to_be_bytes());
            }
        }
    }
    b.push(1);
    let g = GaussianSplats::from_bytes(&b).unwrap();
    assert_eq!(g.position[1], Vec3::new(102.0, 103.0, 104.0));
    assert_eq!(g.rotation[0], [13.0, 14.0, 15.0, 1.0]);
    assert_eq!(g.opacity[1], 109.0);
}

/// Valid binary and ASCII splat files for the malformed-input cases.
fn base_files() -> (Vec<u8>, String) {
    let g = random_splats(3, 1, 99);
    (
        g.to_bytes(PlyFormat::BinaryLittleEndian, &[]),
        String::from_utf8(g.to_bytes(PlyFormat::Ascii, &[])).unwrap(),
    )
}

fn set_f32(bytes: &mut [u8], row: usize, prop: usize, v: f32) {
    let h = Header::parse(bytes).unwrap();
    let row_size = h.elements[0].fixed_row_size().unwrap();
    let at = h.len + row * row_size + prop * 4;
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn malformed_inputs_give_clear_errors() {
    let (bin, ascii) = base_files();
    let header_end = Header::parse(&bin).unwrap().len;
    let head = String::from_utf8(bin[..header_end].to_vec()).unwrap();
    let body = &bin[header_end..];
    let with_header = |h: String| -> Vec<u8> {
        let mut v = h.into_bytes();
        v.extend_from_slice(body);
        v
    };
    let mut nan = bin.clone();
    set_f32(&mut nan, 1, 0, f32::NAN);
    let mut neg_inf = bin.clone();
    set_f32(&mut neg_inf, 2, 15, f32::NEG_INFINITY); // opacity follows x y z f_dc(3) f_rest(9)
    let mut pos_inf_scale = bin.clone();
    set_f32(&mut pos_inf_scale, 0, 16, f32::INFINITY);
    let ascii_lines: Vec<&str> = ascii.lines().collect();
    let n = ascii_lines.len();
    let short_row = format!(
        "{}\n{}\n",
        ascii_lines[..n - 1].join("\n"),
        ascii_lines[n - 1].rsplit_once(' ').unwrap().0
    );
    let bad_token = ascii.replacen(ascii_lines[n - 2].split(' ').next().unwrap(), "abc", 1);
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("empty file", vec![], &["not a PLY"]),
        ("wrong magic", b"plx\nformat ascii 1.0\nend_header\n".to_vec(), &["not a PLY"]),
        ("header never ends", head.replace("end_header\n", "").into_bytes(), &["end_header"]),
        ("unknown format", with_header(head.replace("binary_little_endian", "binary_middle_endian")), &["line 2", "unknown format"]),
        ("bad format version", with_header(head.replace("1.0", "2.0")), &["format"]),
        ("non-numeric count", with_header(head.replace("element vertex 3", "element vertex abc")), &["element vertex abc", "row count"]),
        ("absurd count", with_header(head.replace("element vertex 3", "element vertex 40000000000")), &["larger than"]),
        ("count beyond the data", with_header(head.replace("element vertex 3", "element vertex 2000000000")), &["describes", "2000000000 `vertex` rows"]),
        ("unknown type", with_header(head.replace("property float x", "property float16 x")), &["unknown type `float16`"]),
        ("missing opacity", with_header(head.replace("property float opacity", "property float opacityy")), &["no property `opacity`"]),
        ("missing rot_3", with_header(head.replace("property float rot_3", "property float rot_4")), &["no property `rot_3`"]),
        ("wrong f_rest count", with_header(head.replace("property float f_rest_8\n", "")), &["8 `f_rest_*` properties"]),
        ("gap in f_rest names", with_header(head.replace("property float f_rest_8", "property float f_rest_9")), &["no property `f_rest_8`"]),
        ("duplicate property", with_header(head.replace("property float rot_3", "property float rot_2")), &["second property"]),
        ("list where a scalar belongs", with_header(head.replace("property float x\n", "property list uchar float x\n")), &["`x`", "expected a scalar"]),
        ("property before element", b"ply\nformat ascii 1.0\nproperty float x\nend_header\n".to_vec(), &["property before any element"]),
        ("no vertex element", b"ply\nformat ascii 1.0\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n".to_vec(), &["no `vertex` element"]),
        ("non-ASCII header", with_header(head.replace("comment", "c\u{f6}mment").replace("element vertex", "comment \u{e9}\nelement vertex")), &["ASCII"]),
        ("truncated body", bin[..bin.len() - 10].to_vec(), &["describes", "file has"]),
        ("trailing bytes", [bin.clone(), vec![0u8; 4]].concat(), &["describes"]),
        ("NaN position", nan, &["row 1", "`x`", "NaN", "not finite"]),
        ("-inf opacity", neg_inf, &["row 2", "`opacity`", "-inf"]),
        ("+inf scale", pos_inf_scale, &["row 0", "`scale_0`", "inf"]),
        ("ASCII row too short", short_row.into_bytes(), &["line", "has 22 values, expected 23"]),
        ("ASCII bad token", bad_token.into_bytes(), &["`abc`", "not a float"]),
        ("ASCII trailing text", format!("{ascii}1 2 3\n").into_bytes(), &["after the last element"]),
        ("ASCII truncated", ascii.as_bytes()[..ascii.len() / 2 + 40].to_vec(), &["line"]),
        ("double out of f32 range", {
            let h = "ply\nformat ascii 1.0\nelement vertex 1\nproperty double x\nproperty float y\nproperty float z\nproperty float f_dc_0\nproperty float f_dc_1\nproperty float f_dc_2\nproperty float opacity\nproperty float scale_0\nproperty float scale_1\nproperty float scale_2\nproperty float rot_0\nproperty float rot_1\nproperty float rot_2\nproperty float rot_3\nend_header\n";
            format!("{h}1e300 0 0 0 0 0 0 0 0 0 1 0 0 0\n").into_bytes()
        }, &["`x`", "range of a 32-bit float"]),
    ];
    assert!(cases.len() >= 15);
    for (name, bytes, needles) in cases {
        let err = match GaussianSplats::from_bytes(&bytes) {
            Ok(_) => panic!("case `{name}` was accepted"),
            Err(e) => e.to_string(),
        };
        for needle in needles {
            assert!(
                err.contains(needle),
                "case `{name}`: error `{err}` lacks `{needle}`"
            );
        }
    }
}

#[test]
fn file_errors_name_the_file() {
    let (bin, _) = base_files();
    let p = tmp("truncated_named.ply");
    std::fs::write(&p, &bin[..bin.len() - 3]).unwrap();
    let e = GaussianSplats::read(&p).unwrap_err().to_string();
    assert!(e.contains("truncated_named.ply"), "{e}");
    let e = GaussianSplats::read(&tmp("does_not_exist.ply"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does_not_exist.ply") && e.contains("I/O"), "{e}");
}

#[test]
fn positive_infinite_opacity_is_clamped() {
    let (mut bin, _) = base_files();
    set_f32(&mut bin, 1, 15, f32::INFINITY);
    let g = GaussianSplats::from_bytes(&bin).unwrap();
    assert_eq!(g.opacity[1], OPACITY_LOGIT_MAX);
    assert!(g.alpha(1) > 0.999_999);
}

#[test]
fn fuzzed_files_never_panic() {
    let (bin, ascii) = base_files();
    let mesh = physdreamer::scene::procedural::box_mesh(Vec3::ZERO, Vec3::ONE);
    let mesh_bin = mesh.to_ply_bytes(PlyFormat::BinaryLittleEndian);
    let mesh_ascii = mesh.to_ply_bytes(PlyFormat::Ascii);
    let obj =
        b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvt 0 0\nf 1/1 2/1 3/1\nf 1 3 4\nf -1 -2 -3 -4\n"
            .to_vec();
    let bases = [bin, ascii.into_bytes(), mesh_bin, mesh_ascii, obj];
    let mut rng = SplitMix64(2024);
    let tokens: [&[u8]; 8] = [
        b"\n",
        b" ",
        b"-1",
        b"4294967296",
        b"nan",
        b"list",
        b"element vertex 99999999\n",
        b"/",
    ];
    let mut accepted = 0;
    for iter in 0..4000 {
        let mut b = bases[iter % bases.len()].clone();
        for _ in 0..1 + rng.next_u64() % 6 {
            let at = (rng.next_u64() as usize) % (b.len() + 1);
            match rng.next_u64() % 5 {
                0 if at < b.len() => b[at] = rng.next_u64() as u8,
                1 if at < b.len() => b[at] ^= 1 << (rng.next_u64() % 8),
                2 => b.truncate(at),
                3 => {
                    let t = tokens[(rng.next_u64() % tokens.len() as u64) as usize];
                    b.splice(at..at, t.iter().copied());
                }
                _ if at < b.len() => {
                    b.remove(at);
                }
                _ => {}
            }
        }
        accepted += GaussianSplats::from_bytes(&b).is_ok() as usize;
        let _ = TriMesh::from_ply_bytes(&b);
        let _ = TriMesh::from_obj_bytes(&b, Path::new("fuzz.obj"));
        let _ = Header::parse(&b);
    }
    // Some mutations (e.g. in a float's low bits) stay valid; most must be rejected.
    assert!(accepted > 0 && accepted < 4000);
}

#[test]
fn transform_moves_scales_rotates_and_keeps_view_dependent_colour() {
    let g0 = random_splats(20, 3, 5);
    let s = Similarity {
        scale: 2.5,
        rotation: Quat::from_euler(glam::EulerRot::XYZ, 0.3, -1.1, 2.0),
        translation: Vec3::new(0.1, 0.2, 0.3),
    };
    let mut g = g0.clone();
    g.transform(&s);
    let per = g.rest_len() / 3;
    for i in 0..g.len() {
        assert!((g.position[i] - s.apply(g0.position[i])).length() < 1e-5);
        assert!(
            (g.log_scale[i] - g0.log_scale[i] - Vec3::splat(2.5f32.ln()))
                .abs()
                .max_element()
                < 1e-5
        );
        let q = s.rotation * g0.unit_rotation(i);
        assert!(g.unit_rotation(i).dot(q).abs() > 1.0 - 1e-5);
        // Colour seen along R d after the transform == colour along d before.
        for k in 0..10 {
            let d = DVec3::new(
                (k as f64 * 0.7).sin(),
                (k as f64 * 1.3).cos(),
                0.4 - k as f64 * 0.1,
            )
            .normalize();
            let rd = s.rotation.as_dquat() * d;
            for ch in 0..3 {
                let eval = |coeffs: &[f32], dir: DVec3| -> f64 {
                    sh_basis(dir)
                        .iter()
                        .zip(coeffs)
                        .map(|(b, &c)| b * c as f64)
                        .sum()
                };
                let before = eval(&g0.f_rest[i * 45 + ch * per..i * 45 + (ch + 1) * per], d);
                let after = eval(&g.f_rest[i * 45 + ch * per..i * 45 + (ch + 1) * per], rd);
                assert!(
                    (before - after).abs() < 1e-4,
                    "SH mismatch {before} vs {after}"
                );
            }
        }
    }
}
