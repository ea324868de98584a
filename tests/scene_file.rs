//! Scene files: the shipped scenes, validation, anchors, cameras, video and `inspect`.

use std::path::{Path, PathBuf};

use glam::{Vec2, Vec3};
use physdreamer::scene::camera::{load_colmap_text, load_transforms_json};
use physdreamer::scene::ply::PlyFormat;
use physdreamer::scene::procedural::{box_mesh, jelly_scene_toml, jelly_splats};
use physdreamer::scene::{inspect, Camera, GaussianSplats, Scene};
use physdreamer::solver::{Material, TimeStep, Wall};

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(p)
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scene_file")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn near(a: usize, b: usize, rel: f64) -> bool {
    (a as f64 - b as f64).abs() <= rel * b as f64
}

#[test]
fn shipped_scenes_load_with_expected_counts() {
    let jelly = Scene::load(&data("default.toml")).unwrap();
    assert_eq!(jelly.name, "jelly");
    assert_eq!(jelly.splats.as_ref().unwrap().len(), 13_578);
    assert!(
        near(jelly.particles.len(), 15_830, 0.01),
        "{}",
        jelly.particles.len()
    );
    let anchored = jelly.particles.anchored.iter().filter(|&&a| a).count();
    assert!(anchored > jelly.particles.len() / 3 && anchored < jelly.particles.len() * 2 / 3);
    assert_eq!(jelly.config.grid_res, 32);
    assert_eq!(jelly.config.wall, Wall::Slip);
    assert_eq!(
        jelly
            .pokes
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["tap_top", "push_side"]
    );
    assert_eq!(
        jelly.poke("tap_top").unwrap().force,
        Vec3::new(0.0, -60.0, 0.0)
    );
    assert_eq!(jelly.particles.young[0], 4.0e4);
    assert!(jelly.camera("front").is_some() && jelly.video.is_none());

    let donut = Scene::load(&data("donut.toml")).unwrap();
    assert_eq!(donut.splats.as_ref().unwrap().len(), 45_624);
    assert!(
        near(donut.particles.len(), 45_000, 0.1),
        "{}",
        donut.particles.len()
    );
    // The hole of the donut stays empty: no particle near its vertical axis.
    let (sx, sz) = donut
        .particles
        .position
        .iter()
        .fold((0.0, 0.0), |(x, z), p| (x + p.x, z + p.z));
    let n = donut.particles.len() as f32;
    let axis = Vec2::new(sx / n, sz / n);
    let hole = donut
        .particles
        .position
        .iter()
        .map(|p| Vec2::new(p.x, p.z).distance(axis))
        .fold(f32::INFINITY, f32::min);
    assert!(hole > 0.03, "closest particle to the donut's axis: {hole}");

    let fox = Scene::load(&data("fox.toml")).unwrap();
    assert_eq!(fox.splats.as_ref().unwrap().len(), 44_522);
    assert!(
        near(fox.particles.len(), 40_000, 0.05),
        "count mode: {}",
        fox.particles.len()
    );
    assert_eq!(fox.config.gravity, Vec3::ZERO);

    let spot = Scene::load(&data("spot.toml")).unwrap();
    let mesh = spot.mesh.as_ref().unwrap();
    assert_eq!((mesh.positions.len(), mesh.triangles.len()), (2_930, 5_856));
    assert_eq!(spot.config.material, Material::NeoHookean);
    // Volume of the particles = volume of the (scaled) mesh, within 2 %.
    let vol: f64 = spot.particles.volume.iter().map(|&v| v as f64).sum();
    assert!(
        (vol / mesh.signed_volume() - 1.0).abs() < 0.02,
        "{vol} vs {}",
        mesh.signed_volume()
    );
    for s in [&jelly, &donut, &fox, &spot] {
        let (lo, hi) = (
            s.config.wall_cells as f32 * s.config.dx(),
            1.0 - s.config.wall_cells as f32 * s.config.dx(),
        );
        assert!(
            s.particles
                .position
                .iter()
                .all(|p| p.min_element() > lo && p.max_element() < hi),
            "{} reaches the walls",
            s.name
        );
    }
}

#[test]
fn the_jelly_scene_is_reproducible_from_code() {
    let shipped = GaussianSplats::read(&data("jelly/jelly.ply")).unwrap();
    assert_eq!(jelly_splats(), shipped);
    let text = std::fs::read_to_string(data("default.toml")).unwrap();
    assert_eq!(text, jelly_scene_toml("jelly/jelly.ply"));
}

/// A cube mesh `[0.3, 0.7]^3` written beside a scene with `body` (and a coarse particle spacing
/// unless `body` has a `[particles]` table, to keep the tests fast).
fn cube_scene(dir: &str, body: &str) -> anyhow::Result<Scene> {
    if body.contains("[particles]") {
        cube_scene_raw(dir, body)
    } else {
        cube_scene_raw(dir, &format!("{body}\n[particles]\nspacing = 0.0125\n"))
    }
}

/// [`cube_scene`] without the coarse spacing.
fn cube_scene_raw(dir: &str, body: &str) -> anyhow::Result<Scene> {
    let d = tmp_dir(dir);
    std::fs::write(
        d.join("cube.ply"),
        box_mesh(Vec3::splat(0.3), Vec3::splat(0.7)).to_ply_bytes(PlyFormat::BinaryLittleEndian),
    )
    .unwrap();
    let path = d.join("scene.toml");
    std::fs::write(&path, format!("[object]\nmesh = \"cube.ply\"\n{body}")).unwrap();
    Scene::load(&path)
}

#[test]
fn unknown_keys_and_bad_values_are_errors_naming_the_key() {
    let cases: &[(&str, &[&str])] = &[
        ("gravity = [0, 0, 0]\n", &["unknown field `gravity`"]),
        ("[solver]\ngrid = 64\n", &["unknown field `grid`", "grid_res"]),
        ("[[anchor]]\nshape = \"box\"\nmin = [0, 0, 0]\nmax = [1, 1, 1]\nradius = 2\n", &["unknown field `radius`"]),
        ("[[anchor]]\nshape = \"cone\"\n", &["unknown variant `cone`"]),
        ("[[camera]]\nname = \"a\"\neye = [0, 0, 2]\ntarget = [0, 0, 0]\nfov = 40\n", &["unknown field `fov`"]),
        ("[transform]\nup = \"w\"\n", &["unknown variant `w`"]),
        ("[solver]\nwall = \"bouncy\"\n", &["unknown variant `bouncy`"]),
        ("[solver]\ngrid_res = 50\n", &["solver.grid_res = 50"]),
        ("[solver]\ndt = 1e-4\ncfl = 0.3\n", &["`dt`", "`cfl`"]),
        ("[material]\npoisson = 0.5\n", &["material.poisson = 0.5"]),
        ("[material]\nyoung = -3\n", &["material.young = -3"]),
        ("[transform]\nmargin = 0.6\n", &["transform.margin = 0.6"]),
        ("[transform]\nfit = false\nmargin = 0.1\n", &["need `fit = true`"]),
        ("[transform]\ncrop_min = [0, 0, 0]\ncrop_max = [1, 1, 1]\n", &["splats only"]),
        ("[particles]\ncount = 1000\nspacing = 0.01\n", &["at most one of `count`, `spacing` and `per_cell`"]),
        ("[particles]\nneighbours = 0\n", &["particles.neighbours = 0"]),
        ("[[anchor]]\nshape = \"box\"\nmin = [1, 1, 1]\nmax = [0, 0, 0]\n", &["anchor[0]", "must not exceed"]),
        ("[[anchor]]\nshape = \"mask\"\nfile = \"nope.ply\"\nradius = 0.1\n", &["nope.ply", "I/O"]),
        ("[[camera]]\neye = [0, 0, 2]\ntarget = [0, 0, 0]\n", &["camera[0]", "needs a `name`"]),
        ("[[camera]]\nname = \"c\"\neye = [0, 0, 2]\n", &["camera[0]", "both `eye` and `target`"]),
        ("[[poke]]\nname = \"p\"\ncentre = [0.5, 0.5, 0.5]\nforce = [0, 1, 0]\n[[poke]]\nname = \"p\"\ncentre = [0.5, 0.5, 0.5]\nforce = [0, 1, 0]\n", &["`p`", "used twice"]),
        ("[[poke]]\nname = \"p\"\ncentre = [0.5, 0.5, 0.5]\nforce = [0, 1, 0]\nradius = 0\n", &["radius = 0"]),
        ("[video]\nframes = \"no_such_folder\"\n", &["video.frames", "no_such_folder"]),
    ];
    for (body, needles) in cases {
        let err = match cube_scene("bad", body) {
            Ok(_) => panic!("accepted:\n{body}"),
            Err(e) => format!("{e:#}"),
        };
        assert!(
            err.contains("scene.toml"),
            "error does not name the scene file: {err}"
        );
        for n in *needles {
            assert!(err.contains(n), "for\n{body}\nerror `{err}` lacks `{n}`");
        }
    }
    let err = Scene::load(&tmp_dir("bad").join("absent.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.toml"));
    let d = tmp_dir("nofile");
    std::fs::write(d.join("s.toml"), "[object]\nsplat = \"missing.ply\"\n").unwrap();
    assert!(format!("{:#}", Scene::load(&d.join("s.toml")).unwrap_err()).contains("missing.ply"));
    std::fs::write(d.join("s.toml"), "[object]\n").unwrap();
    assert!(format!("{:#}", Scene::load(&d.join("s.toml")).unwrap_err()).contains("give `splat`"));
}

#[test]
fn settings_and_defaults_reach_the_solver_config() {
    let s = cube_scene("settings", "[solver]\ngrid_res = 32\ndt = 1e-4\nground = { height = 0.2, sticky = true }\nwall = \"sticky\"\n[material]\nmodel = \"neo_hookean\"\ndensity = 500\n").unwrap();
    assert_eq!(s.config.grid_res, 32);
    assert_eq!(s.config.time_step, TimeStep::Fixed(1e-4));
    assert_eq!(s.config.ground.unwrap().height, 0.2);
    assert_eq!(s.config.wall, Wall::Sticky);
    assert_eq!(s.config.material, Material::NeoHookean);
    assert!(s.particles.density.iter().all(|&d| d == 500.0));
    let d = cube_scene_raw("defaults", "").unwrap();
    assert_eq!(d.config, physdreamer::solver::SolverConfig::default());
    assert_eq!(
        (
            d.particles.young[0],
            d.particles.poisson[0],
            d.particles.density[0]
        ),
        (1e5, 0.3, 1000.0)
    );
    // Default placement: fit into [0.1, 0.9]^3, spacing dx / 2.
    assert!((d.spacing - 1.0 / 128.0).abs() < 1e-7);
    let (lo, hi) = d.mesh.as_ref().unwrap().bounds().unwrap();
    assert!(
        (lo - Vec3::splat(0.1)).abs().max_element() < 1e-5
            && (hi - Vec3::splat(0.9)).abs().max_element() < 1e-5
    );
}

#[test]
fn anchors_box_sphere_half_space_and_mask() {
    let fixed = "[transform]\nfit = false\n";
    let s = cube_scene(
        "box",
        &format!(
            "{fixed}[[anchor]]\nshape = \"box\"\nmin = [0.0, 0.0, 0.0]\nmax = [1.0, 0.4, 1.0]\n"
        ),
    )
    .unwrap();
    for (p, &a) in s.particles.position.iter().zip(&s.particles.anchored) {
        assert_eq!(a, p.y <= 0.4);
    }
    let s = cube_scene(
        "sphere",
        &format!("{fixed}[[anchor]]\nshape = \"sphere\"\ncenter = [0.5, 0.5, 0.5]\nradius = 0.1\n"),
    )
    .unwrap();
    for (p, &a) in s.particles.position.iter().zip(&s.particles.anchored) {
        assert_eq!(a, p.distance(Vec3::splat(0.5)) <= 0.1);
    }
    let s = cube_scene(
        "half",
        &format!(
            "{fixed}[[anchor]]\nshape = \"half_space\"\npoint = [0.6, 0, 0]\nnormal = [1, 0, 0]\n"
        ),
    )
    .unwrap();
    for (p, &a) in s.particles.position.iter().zip(&s.particles.anchored) {
        assert_eq!(a, p.x >= 0.6);
    }
    // Object-frame shapes go through the placement transform (here z-up and fitted).
    let s = cube_scene("object", "[transform]\nup = \"z\"\n[[anchor]]\nshape = \"half_space\"\npoint = [0, 0, 0.45]\nnormal = [0, 0, -1]\nframe = \"object\"\n").unwrap();
    for (p, &a) in s.particles.position.iter().zip(&s.particles.anchored) {
        assert_eq!(a, s.transform.invert(*p).z <= 0.45);
    }
    assert!(s.particles.anchored.iter().any(|&a| a) && s.particles.anchored.iter().any(|&a| !a));
    // A mask of the moving part (object coordinates): particles near it move, others are fixed.
    let d = tmp_dir("mask");
    let mask: Vec<Vec3> = (0..21)
        .flat_map(|i| {
            (0..21).map(move |k| Vec3::new(0.3 + i as f32 * 0.02, 0.7, 0.3 + k as f32 * 0.02))
        })
        .collect();
    let mut ply = format!("ply\nformat ascii 1.0\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nend_header\n", mask.len());
    for p in &mask {
        ply += &format!("{} {} {}\n", p.x, p.y, p.z);
    }
    std::fs::write(d.join("moving_part_points.ply"), ply).unwrap();
    let s = cube_scene("mask", &format!("{fixed}[[anchor]]\nshape = \"mask\"\nfile = \"moving_part_points.ply\"\nradius = 0.05\n")).unwrap();
    for (p, &a) in s.particles.position.iter().zip(&s.particles.anchored) {
        let d = mask
            .iter()
            .map(|m| m.distance(*p))
            .fold(f32::INFINITY, f32::min);
        assert_eq!(a, d > 0.05, "{p}");
    }
}

#[test]
fn cameras_from_look_at_transforms_json_and_colmap_agree() {
    let cam = Camera::look_at(
        Vec3::new(0.0, 0.0, 3.0),
        Vec3::ZERO,
        Vec3::Y,
        60.0,
        640,
        480,
    )
    .unwrap();
    let c = cam.project(Vec3::ZERO).unwrap();
    assert!((c - Vec2::new(320.0, 240.0)).length() < 1e-3);
    assert!(
        cam.project(Vec3::new(0.0, 0.5, 0.0)).unwrap().y < 240.0,
        "up in the world is up in the image"
    );
    assert!(
        cam.project(Vec3::new(0.5, 0.0, 0.0)).unwrap().x > 320.0,
        "right is right"
    );
    assert!(
        cam.project(Vec3::new(0.0, 0.0, 5.0)).is_none(),
        "behind the camera"
    );
    assert!((cam.centre() - Vec3::new(0.0, 0.0, 3.0)).length() < 1e-5);
    assert!(Camera::look_at(Vec3::ZERO, Vec3::ZERO, Vec3::Y, 40.0, 10, 10).is_err());

    let d = tmp_dir("cams");
    let fy = cam.fy;
    let json = format!(
        r#"{{"fl_x": {fy}, "fl_y": {fy}, "cx": 320, "cy": 240, "w": 640, "h": 480, "k1": 0.01,
            "frames": [{{"file_path": "images/a.png", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}}]}}"#
    );
    std::fs::write(d.join("transforms.json"), json).unwrap();
    let ns = load_transforms_json(&d.join("transforms.json")).unwrap();
    std::fs::write(d.join("cameras.txt"), format!("# Camera list\n1 PINHOLE 640 480 {fy} {fy} 320 240\n2 OPENCV_FISHEYE 10 10 1 1 1 1 0 0 0 0\n")).unwrap();
    std::fs::write(
        d.join("images.txt"),
        "# Image list\n7 0 1 0 0 0 0 3 1 a.png\n\n",
    )
    .unwrap();
    let e = load_colmap_text(&d).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("OPENCV_FISHEYE"), "{e}");
    std::fs::write(
        d.join("cameras.txt"),
        format!("1 PINHOLE 640 480 {fy} {fy} 320 240\n"),
    )
    .unwrap();
    let colmap = load_colmap_text(&d).unwrap();
    assert_eq!((ns.len(), colmap.len()), (1, 1));
    assert_eq!(
        (ns[0].0.as_str(), colmap[0].0.as_str()),
        ("images/a.png", "a.png")
    );
    for p in [
        Vec3::ZERO,
        Vec3::new(0.3, -0.2, 0.5),
        Vec3::new(-1.0, 0.4, -2.0),
    ] {
        let want = cam.project(p).unwrap();
        assert!((ns[0].1.project(p).unwrap() - want).length() < 1e-3);
        assert!((colmap[0].1.project(p).unwrap() - want).length() < 1e-3);
    }
    // Bad files.
    std::fs::write(
        d.join("bad.json"),
        r#"{"w": 10, "h": 10, "frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,3]]}]}"#,
    )
    .unwrap();
    let e = load_transforms_json(&d.join("bad.json"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.json") && e.contains("frames[0].fl_x"),
        "{e}"
    );
    std::fs::write(d.join("bad.json"), r#"{"fl_x": 5, "w": 10, "h": 10, "frames": [{"transform_matrix": [[2,0,0,0],[0,1,0,0],[0,0,1,3]]}]}"#).unwrap();
    assert!(load_transforms_json(&d.join("bad.json"))
        .unwrap_err()
        .to_string()
        .contains("not a rigid"));
    std::fs::write(d.join("images.txt"), "7 0 1 0 0 0 0 3 9 a.png\n\n").unwrap();
    assert!(load_colmap_text(&d)
        .unwrap_err()
        .to_string()
        .contains("camera id 9"));

    // File cameras are in object coordinates and move with the placement transform.
    std::fs::write(
        d.join("cube.ply"),
        box_mesh(Vec3::splat(-1.0), Vec3::splat(1.0)).to_ply_bytes(PlyFormat::Ascii),
    )
    .unwrap();
    std::fs::write(d.join("images.txt"), "7 0 1 0 0 0 0 3 1 a.png\n\n").unwrap();
    let toml = "[object]\nmesh = \"cube.ply\"\n[particles]\nspacing = 0.02\n[transform]\nup = \"z\"\n[[camera]]\ntransforms = \"transforms.json\"\n[[camera]]\nname = \"sfm\"\ncolmap = \".\"\n";
    std::fs::write(d.join("scene.toml"), toml).unwrap();
    let s = Scene::load(&d.join("scene.toml")).unwrap();
    assert_eq!(
        s.cameras
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["images/a.png", "sfm/a.png"]
    );
    for p in [Vec3::new(0.2, 0.1, -0.3), Vec3::new(-0.5, 0.5, 0.5)] {
        let want = cam.project(p).unwrap();
        for (_, c) in &s.cameras {
            assert!((c.project(s.transform.apply(p)).unwrap() - want).length() < 1e-2);
        }
    }
}

#[test]
fn reference_video_frames_are_listed_in_order() {
    let d = tmp_dir("video");
    std::fs::write(
        d.join("cube.ply"),
        box_mesh(Vec3::splat(0.0), Vec3::splat(1.0)).to_ply_bytes(PlyFormat::Ascii),
    )
    .unwrap();
    std::fs::create_dir_all(d.join("frames")).unwrap();
    for f in ["0002.png", "0001.png", "0010.jpg", "notes.txt"] {
        std::fs::write(d.join("frames").join(f), b"").unwrap();
    }
    let toml = "[object]\nmesh = \"cube.ply\"\n[particles]\nspacing = 0.02\n[[camera]]\nname = \"front\"\neye = [0.5, 0.5, 2]\ntarget = [0.5, 0.5, 0.5]\n[video]\nframes = \"frames\"\nfps = 24\ncamera = \"front\"\n";
    std::fs::write(d.join("scene.toml"), toml).unwrap();
    let v = Scene::load(&d.join("scene.toml")).unwrap().video.unwrap();
    let names: Vec<String> = v
        .frames
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["0001.png", "0002.png", "0010.jpg"]);
    assert_eq!((v.fps, v.camera.as_deref()), (24.0, Some("front")));
    std::fs::write(
        d.join("scene.toml"),
        toml.replace("camera = \"front\"", "camera = \"back\""),
    )
    .unwrap();
    assert!(format!("{:#}", Scene::load(&d.join("scene.toml")).unwrap_err()).contains("`back`"));
}

#[test]
fn inspect_reports_counts_bounds_spacing_and_volumes() {
    let r = inspect(&data("default.toml")).unwrap();
    for needle in [
        "scene `jelly`",
        "13578 Gaussians",
        "SH degree 1",
        "bounds (domain)",
        "particles:",
        "anchored",
        "lattice spacing",
        "nearest-neighbour distance",
        "volume per particle",
        "poke `tap_top`",
        "`front`",
        "grid 32^3",
    ] {
        assert!(r.contains(needle), "report lacks `{needle}`:\n{r}");
    }
    let r = inspect(&data("spot.toml")).unwrap();
    assert!(
        r.contains("2930 vertices, 5856 triangles, 0 boundary edges (closed)"),
        "{r}"
    );
    assert!(inspect(Path::new("no/such/scene.toml")).is_err());
}
