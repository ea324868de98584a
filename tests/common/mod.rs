//! Shared by the solver tests: the GPU context and random scenes.
#![allow(dead_code)]

use glam::{Mat3, Vec3};
use physdreamer::gpu::GpuContext;
use physdreamer::solver::reference::{M3, V3};
use physdreamer::ParticleSet;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

pub fn gpu() -> GpuContext {
    GpuContext::from_env().expect("a wgpu adapter (on Linux without a GPU: mesa-vulkan-drivers)")
}

/// A fresh seed each run, printed so that a failure can be replayed with PHYSDREAMER_SEED.
pub fn rng(test: &str) -> rand::rngs::StdRng {
    let seed = std::env::var("PHYSDREAMER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("{test}: seed {seed} (replay with PHYSDREAMER_SEED={seed})");
    rand::rngs::StdRng::seed_from_u64(seed)
}

pub fn v3(v: Vec3) -> V3 {
    V3::new(v.x as f64, v.y as f64, v.z as f64)
}

pub fn m3(m: Mat3) -> M3 {
    M3::from_fn(|r, c| m.col(c)[r] as f64)
}

pub fn to_glam(m: &M3) -> Mat3 {
    Mat3::from_cols_array(&[
        m[(0, 0)] as f32,
        m[(1, 0)] as f32,
        m[(2, 0)] as f32,
        m[(0, 1)] as f32,
        m[(1, 1)] as f32,
        m[(2, 1)] as f32,
        m[(0, 2)] as f32,
        m[(1, 2)] as f32,
        m[(2, 2)] as f32,
    ])
}

/// A jittered block of particles at spacing `s` from `min`, with random material:
/// E log-uniform in [e_lo, e_hi], nu uniform in [0.2, 0.4], density 1000.
pub fn random_block(
    rng: &mut impl Rng,
    min: Vec3,
    n: [u32; 3],
    s: f32,
    e_lo: f32,
    e_hi: f32,
) -> ParticleSet {
    let mut set = ParticleSet::block(min, n, s, 1000.0, 1.0, 0.3);
    for i in 0..set.len() {
        set.position[i] += Vec3::new(
            rng.random_range(-0.2..0.2),
            rng.random_range(-0.2..0.2),
            rng.random_range(-0.2..0.2),
        ) * s;
        set.young[i] = (rng.random_range(e_lo.ln()..e_hi.ln())).exp();
        set.poisson[i] = rng.random_range(0.2..0.4);
    }
    set
}

/// A random matrix near the identity: I + amp * uniform(-1, 1) entries.
pub fn random_near_identity(rng: &mut impl Rng, amp: f32) -> Mat3 {
    Mat3::IDENTITY
        + Mat3::from_cols_array(&std::array::from_fn::<f32, 9, _>(|_| {
            rng.random_range(-amp..amp)
        }))
}

pub fn max_abs_diff(a: &[Vec3], b: &[Vec3]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x - *y).abs().max_element())
        .fold(0.0, f32::max)
}

/// A file of the shipped `data/` folder.
pub fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(p)
}

/// A file of the shared third-party asset folder (`$PHYSDREAMER_SHARED_DATA`, `/work/shared/data`
/// or `../shared/data`), if present; tests that need one skip that part otherwise.
pub fn shared(p: &str) -> Option<PathBuf> {
    let roots = [
        std::env::var_os("PHYSDREAMER_SHARED_DATA").map(PathBuf::from),
        Some(PathBuf::from("/work/shared/data")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")),
    ];
    roots
        .into_iter()
        .flatten()
        .map(|r| r.join(p))
        .find(|f| f.exists())
}

/// The identification scene: a 6×6×6 jelly block (spacing half a cell of a 32³ grid), its
/// bottom layer anchored, no gravity, slip walls, poked sideways for 0.03 s; fixed `dt` and
/// frames of `frame_dt`.
pub fn poked_block(
    dt: f32,
    frame_dt: f32,
) -> (
    ParticleSet,
    physdreamer::solver::SolverConfig,
    physdreamer::solver::Poke,
) {
    use physdreamer::solver::{Poke, SolverConfig, TimeStep, Wall};
    let res = 32;
    let s = 0.5 / res as f32;
    let mut set = ParticleSet::block(Vec3::new(0.4, 0.3, 0.4), [6, 6, 6], s, 1000.0, 1.0, 0.3);
    for i in 0..set.len() {
        set.anchored[i] = set.position[i].y < 0.3 + s;
    }
    let cfg = SolverConfig {
        grid_res: res,
        wall: Wall::Slip,
        gravity: Vec3::ZERO,
        time_step: TimeStep::Fixed(dt),
        frame_dt,
        ..Default::default()
    };
    let poke = Poke {
        centre: Vec3::new(0.45, 0.39, 0.45),
        radius: 0.06,
        force: Vec3::new(40.0, 0.0, 15.0),
        start: 0.0,
        duration: 0.03,
    };
    (set, cfg, poke)
}
