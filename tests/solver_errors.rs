//! Bad input ends in a clear error naming the field, the particle and the value; a blow-up
//! ends in an error naming the substep.

mod common;
use common::gpu;
use glam::Vec3;
use physdreamer::solver::{Solver, SolverConfig, TimeStep, Wall};
use physdreamer::ParticleSet;

fn good() -> ParticleSet {
    ParticleSet::block(Vec3::splat(0.4), [4, 4, 4], 0.01, 1000.0, 1e5, 0.3)
}

#[test]
fn bad_inputs_are_named() {
    let ctx = gpu();
    type Edit = Box<dyn Fn(&mut ParticleSet, &mut SolverConfig)>;
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        (
            "nu = 0.5",
            Box::new(|s, _| s.poisson[3] = 0.5),
            &["particle 3", "poisson", "0.5"],
        ),
        (
            "nu = 0.7",
            Box::new(|s, _| s.poisson[0] = 0.7),
            &["poisson", "0.7"],
        ),
        (
            "nu = -1",
            Box::new(|s, _| s.poisson[0] = -1.0),
            &["poisson"],
        ),
        (
            "E = 0",
            Box::new(|s, _| s.young[5] = 0.0),
            &["particle 5", "young", "0.0"],
        ),
        (
            "E < 0",
            Box::new(|s, _| s.young[1] = -3.0),
            &["young", "-3.0"],
        ),
        (
            "E NaN",
            Box::new(|s, _| s.young[2] = f32::NAN),
            &["young", "NaN"],
        ),
        (
            "position NaN",
            Box::new(|s, _| s.position[7].y = f32::NAN),
            &["particle 7", "position", "NaN"],
        ),
        (
            "velocity inf",
            Box::new(|s, _| s.velocity[9].x = f32::INFINITY),
            &["particle 9", "velocity", "inf"],
        ),
        (
            "outside the domain",
            Box::new(|s, _| s.position[4] = Vec3::new(1.2, 0.5, 0.5)),
            &["particle 4", "outside the simulation domain"],
        ),
        (
            "below the domain",
            Box::new(|s, _| s.position[4] = Vec3::new(0.5, -0.01, 0.5)),
            &["particle 4", "outside"],
        ),
        (
            "zero volume",
            Box::new(|s, _| s.volume[0] = 0.0),
            &["volume"],
        ),
        (
            "negative density",
            Box::new(|s, _| s.density[0] = -1.0),
            &["density"],
        ),
        (
            "zero particles",
            Box::new(|s, _| *s = ParticleSet::default()),
            &["empty"],
        ),
        (
            "length mismatch",
            Box::new(|s, _| {
                s.young.pop();
            }),
            &["young", "entries"],
        ),
        (
            "grid not a multiple of 8",
            Box::new(|_, c| c.grid_res = 60),
            &["grid_res", "60"],
        ),
        (
            "dt = 0",
            Box::new(|_, c| c.time_step = TimeStep::Fixed(0.0)),
            &["dt"],
        ),
        (
            "cfl = 2",
            Box::new(|_, c| {
                c.time_step = TimeStep::Adaptive {
                    cfl: 2.0,
                    max_substeps: 10,
                }
            }),
            &["cfl"],
        ),
        (
            "damping < 0",
            Box::new(|_, c| c.damping = -1.0),
            &["damping"],
        ),
        (
            "frame_dt NaN",
            Box::new(|_, c| c.frame_dt = f32::NAN),
            &["frame_dt"],
        ),
        (
            "gravity inf",
            Box::new(|_, c| c.gravity.y = f32::NEG_INFINITY),
            &["gravity"],
        ),
    ];
    for (name, edit, words) in cases {
        let mut set = good();
        let mut cfg = SolverConfig::default();
        edit(&mut set, &mut cfg);
        let err = match Solver::new(&ctx, cfg, &set) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => e.to_string(),
        };
        for w in words {
            assert!(
                err.contains(w),
                "{name}: error {err:?} does not mention {w:?}"
            );
        }
    }
}

#[test]
fn leaving_the_grid_is_an_error_naming_the_substep() {
    let ctx = gpu();
    let mut set = good();
    set.velocity.fill(Vec3::new(30.0, 0.0, 0.0));
    let cfg = SolverConfig {
        wall: Wall::None,
        gravity: Vec3::ZERO,
        ..Default::default()
    };
    let mut s = Solver::new(&ctx, cfg, &set).unwrap();
    // 0.4 + 0.03 m ahead of the grid edge at 30 m/s, 1e-4 s a substep: gone in ~190 substeps
    let err = s.substeps(400, 1e-4).unwrap_err().to_string();
    assert!(err.contains("left the simulation grid"), "{err}");
    let step: u32 = err
        .split("substep ")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((150..260).contains(&step), "reported substep {step}: {err}");
}

#[test]
fn instability_is_an_error_not_garbage() {
    let ctx = gpu();
    let set = ParticleSet::block(Vec3::splat(0.4), [8, 8, 8], 1.0 / 128.0, 1000.0, 1e9, 0.3);
    let mut set = set;
    for (i, v) in set.velocity.iter_mut().enumerate() {
        *v = Vec3::new(((i * 7) % 5) as f32 - 2.0, ((i * 3) % 7) as f32 - 3.0, 0.0);
    }
    // E = 1e9 needs dt ~ 1e-6; 1e-3 explodes
    let cfg = SolverConfig {
        grid_res: 64,
        wall: Wall::Sticky,
        ..Default::default()
    };
    let mut s = Solver::new(&ctx, cfg, &set).unwrap();
    let err = s.substeps(200, 1e-3).unwrap_err().to_string();
    assert!(err.contains("blew up at substep"), "{err}");
}

#[test]
fn material_changes_are_checked_and_reach_the_gpu() {
    let ctx = gpu();
    let set = good();
    let mut s = Solver::new(&ctx, SolverConfig::default(), &set).unwrap();
    let n = set.len();
    let mut young = vec![2e5f32; n];
    young[3] = -1.0;
    let err = s.set_young(&young).unwrap_err().to_string();
    assert!(err.contains("particle 3") && err.contains("young"), "{err}");
    let err = s
        .set_material(&vec![2e5; n], &vec![0.5; n])
        .unwrap_err()
        .to_string();
    assert!(err.contains("poisson"), "{err}");
    let err = s.set_young(&vec![2e5; n - 1]).unwrap_err().to_string();
    assert!(err.contains("entries"), "{err}");
    s.set_young(&vec![3e5; n]).unwrap();
    s.set_material(&vec![4e5; n], &vec![0.25; n]).unwrap();
    s.set_young(&vec![5e5; n]).unwrap();
    let mat: Vec<[f32; 4]> = ctx.read(s.material_buffer()).unwrap();
    for (i, m) in mat.iter().take(n).enumerate() {
        assert_eq!((m[0], m[1]), (5e5, 0.25), "particle {i}");
        assert_eq!(m[2], set.mass(i));
        assert_eq!(m[3], set.volume[i]);
    }
}
