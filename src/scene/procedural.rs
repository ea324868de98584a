//! Procedurally generated example scenes (used by `examples/jelly_scene.rs` and the tests).
//!
//! The jelly scene is a translucent red jelly block standing on a grey stone pedestal, both
//! made of flat surface Gaussians (SH degree 1), placed directly in domain coordinates; the
//! pedestal is anchored. Everything is deterministic (a fixed-seed SplitMix64 generator).

use std::path::Path;

use glam::{Quat, Vec3};

use super::mesh::TriMesh;
use super::ply::PlyFormat;
use super::splat_ply::{GaussianSplats, SH_C0};

/// SplitMix64: a tiny deterministic generator (same numbers on every platform).
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[-a, a)`.
    pub fn sym(&mut self, a: f32) -> f32 {
        (2.0 * self.f32() - 1.0) * a
    }
}

/// Appearance of generated Gaussians.
#[derive(Clone, Copy, Debug)]
pub struct Look {
    /// Base colour in [0, 1].
    pub colour: [f32; 3],
    /// Opacity alpha in (0, 1).
    pub alpha: f32,
    /// Amplitude of random degree-1 SH coefficients (view-dependent sheen).
    pub sheen: f32,
}

/// Appends flat Gaussians (disks facing out) covering the six faces of the box `[lo, hi]` at
/// about `spacing`, to a degree-1 splat set.
pub fn box_surface(
    out: &mut GaussianSplats,
    lo: Vec3,
    hi: Vec3,
    spacing: f32,
    look: Look,
    rng: &mut SplitMix64,
) {
    use std::f32::consts::FRAC_PI_2;
    let faces: [(usize, f32, Quat); 6] = [
        (0, lo.x, Quat::from_rotation_y(-FRAC_PI_2)),
        (0, hi.x, Quat::from_rotation_y(FRAC_PI_2)),
        (1, lo.y, Quat::from_rotation_x(FRAC_PI_2)),
        (1, hi.y, Quat::from_rotation_x(-FRAC_PI_2)),
        (2, lo.z, Quat::from_rotation_x(std::f32::consts::PI)),
        (2, hi.z, Quat::IDENTITY),
    ];
    let logit = (look.alpha / (1.0 - look.alpha)).ln();
    let f_dc = look.colour.map(|c| (c - 0.5) / SH_C0);
    for (axis, at, q) in faces {
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        let nu = ((hi[u] - lo[u]) / spacing).round().max(1.0) as usize;
        let nv = ((hi[v] - lo[v]) / spacing).round().max(1.0) as usize;
        let (du, dv) = ((hi[u] - lo[u]) / nu as f32, (hi[v] - lo[v]) / nv as f32);
        for i in 0..nu {
            for j in 0..nv {
                let mut p = Vec3::ZERO;
                p[axis] = at;
                p[u] = lo[u] + (i as f32 + 0.5 + rng.sym(0.25)) * du;
                p[v] = lo[v] + (j as f32 + 0.5 + rng.sym(0.25)) * dv;
                out.position.push(p);
                out.f_dc.push(f_dc.map(|c| c + rng.sym(0.05)));
                out.f_rest.extend((0..9).map(|_| rng.sym(look.sheen)));
                out.opacity.push(logit);
                out.log_scale
                    .push(Vec3::new(0.6 * du, 0.6 * dv, 0.1 * spacing).ln());
                out.rotation.push([q.w, q.x, q.y, q.z]);
            }
        }
    }
}

/// Appends flat Gaussians (disks facing out) covering the sphere `|x - centre| = radius` at
/// about `spacing` (Fibonacci points), to a degree-1 splat set.
pub fn sphere_surface(
    out: &mut GaussianSplats,
    centre: Vec3,
    radius: f32,
    spacing: f32,
    look: Look,
    rng: &mut SplitMix64,
) {
    let n = ((4.0 * std::f32::consts::PI * radius * radius) / (spacing * spacing))
        .ceil()
        .max(4.0) as usize;
    let logit = (look.alpha / (1.0 - look.alpha)).ln();
    let f_dc = look.colour.map(|c| (c - 0.5) / SH_C0);
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    for i in 0..n {
        let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
        let r = (1.0 - z * z).sqrt();
        let phi = i as f64 * golden;
        let dir = Vec3::new((r * phi.cos()) as f32, (r * phi.sin()) as f32, z as f32);
        let q = Quat::from_rotation_arc(Vec3::Z, dir);
        out.position.push(centre + dir * radius);
        out.f_dc.push(f_dc.map(|c| c + rng.sym(0.05)));
        out.f_rest.extend((0..9).map(|_| rng.sym(look.sheen)));
        out.opacity.push(logit);
        out.log_scale
            .push(Vec3::new(0.6 * spacing, 0.6 * spacing, 0.1 * spacing).ln());
        out.rotation.push([q.w, q.x, q.y, q.z]);
    }
}

/// A closed icosphere (outward-facing triangles); `subdivisions` 0 is the icosahedron.
pub fn sphere_mesh(centre: Vec3, radius: f32, subdivisions: u32) -> TriMesh {
    let t = (1.0 + 5f32.sqrt()) / 2.0;
    let mut v: Vec<Vec3> = [
        [-1.0, t, 0.0],
        [1.0, t, 0.0],
        [-1.0, -t, 0.0],
        [1.0, -t, 0.0],
        [0.0, -1.0, t],
        [0.0, 1.0, t],
        [0.0, -1.0, -t],
        [0.0, 1.0, -t],
        [t, 0.0, -1.0],
        [t, 0.0, 1.0],
        [-t, 0.0, -1.0],
        [-t, 0.0, 1.0],
    ]
    .iter()
    .map(|&p| Vec3::from(p).normalize())
    .collect();
    let mut f: Vec<[u32; 3]> = vec![
        [0, 11, 5],
        [0, 5, 1],
        [0, 1, 7],
        [0, 7, 10],
        [0, 10, 11],
        [1, 5, 9],
        [5, 11, 4],
        [11, 10, 2],
        [10, 7, 6],
        [7, 1, 8],
        [3, 9, 4],
        [3, 4, 2],
        [3, 2, 6],
        [3, 6, 8],
        [3, 8, 9],
        [4, 9, 5],
        [2, 4, 11],
        [6, 2, 10],
        [8, 6, 7],
        [9, 8, 1],
    ];
    for _ in 0..subdivisions {
        let mut mid = std::collections::HashMap::new();
        let mut next = Vec::with_capacity(f.len() * 4);
        let mut m = |a: u32, b: u32, v: &mut Vec<Vec3>| -> u32 {
            *mid.entry((a.min(b), a.max(b))).or_insert_with(|| {
                v.push(((v[a as usize] + v[b as usize]) * 0.5).normalize());
                v.len() as u32 - 1
            })
        };
        for [a, b, c] in f {
            let (ab, bc, ca) = (m(a, b, &mut v), m(b, c, &mut v), m(c, a, &mut v));
            next.extend([[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]);
        }
        f = next;
    }
    TriMesh {
        positions: v.into_iter().map(|p| centre + p * radius).collect(),
        triangles: f,
    }
}

/// The closed box `[lo, hi]` as 12 outward-facing triangles.
pub fn box_mesh(lo: Vec3, hi: Vec3) -> TriMesh {
    let positions = (0..8)
        .map(|i| {
            Vec3::new(
                if i & 1 == 0 { lo.x } else { hi.x },
                if i & 2 == 0 { lo.y } else { hi.y },
                if i & 4 == 0 { lo.z } else { hi.z },
            )
        })
        .collect();
    let triangles = vec![
        [0, 2, 3],
        [0, 3, 1],
        [4, 5, 7],
        [4, 7, 6],
        [0, 1, 5],
        [0, 5, 4],
        [2, 6, 7],
        [2, 7, 3],
        [0, 4, 6],
        [0, 6, 2],
        [1, 3, 7],
        [1, 7, 5],
    ];
    TriMesh {
        positions,
        triangles,
    }
}

/// Jelly block: x, z in [0.35, 0.65], y in [0.30, 0.54].
pub const JELLY: (Vec3, Vec3) = (Vec3::new(0.35, 0.30, 0.35), Vec3::new(0.65, 0.54, 0.65));
/// Pedestal: x, z in [0.32, 0.68], y in [0.12, 0.30].
pub const PEDESTAL: (Vec3, Vec3) = (Vec3::new(0.32, 0.12, 0.32), Vec3::new(0.68, 0.30, 0.68));

/// The jelly-on-a-pedestal Gaussians (domain coordinates, SH degree 1).
pub fn jelly_splats() -> GaussianSplats {
    jelly_splats_with(None)
}

/// Paints the Gaussians `range` of `g` in a 3D checker of cubes of side `square`: in one
/// colour of cube the base colour is darkened to 55 %, in the other lightened 45 % of the way
/// to white, so that a camera sees the surface move inside the silhouette too.
pub fn checker(g: &mut GaussianSplats, range: std::ops::Range<usize>, square: f32) {
    for i in range {
        let cell = (g.position[i] / square).floor();
        let dark = (cell.x + cell.y + cell.z).rem_euclid(2.0) == 0.0;
        let base = g.f_dc[i].map(|f| 0.5 + SH_C0 * f);
        let c = base.map(|c| if dark { 0.55 * c } else { c + 0.45 * (1.0 - c) });
        g.f_dc[i] = c.map(|c| (c - 0.5) / SH_C0);
    }
}

/// [`jelly_splats`], the jelly's Gaussians painted in a checker of cubes of side `square`
/// when given ([`checker`]).
pub fn jelly_splats_with(square: Option<f32>) -> GaussianSplats {
    let mut rng = SplitMix64(0x006a_656c_6c79);
    let mut g = GaussianSplats {
        sh_degree: 1,
        ..Default::default()
    };
    box_surface(
        &mut g,
        JELLY.0,
        JELLY.1,
        0.008,
        Look {
            colour: [0.85, 0.12, 0.18],
            alpha: 0.75,
            sheen: 0.06,
        },
        &mut rng,
    );
    if let Some(side) = square {
        let n = g.len();
        checker(&mut g, 0..n, side);
    }
    box_surface(
        &mut g,
        PEDESTAL.0,
        PEDESTAL.1,
        0.009,
        Look {
            colour: [0.55, 0.55, 0.52],
            alpha: 0.98,
            sheen: 0.0,
        },
        &mut rng,
    );
    g
}

/// The scene file of the jelly scene, with `ply` the splat path relative to it.
pub fn jelly_scene_toml(ply: &str) -> String {
    format!(
        r#"# Generated by `cargo run --release --example jelly_scene` (src/scene/procedural.rs).
name = "jelly"
description = "A translucent jelly block on an anchored stone pedestal (procedural Gaussians)."

[object]
splat = "{ply}"

[transform]
fit = false       # the Gaussians are already in domain coordinates

[particles]
per_cell = 2      # 2 x 2 x 2 particles per grid cell
neighbours = 8

[material]
model = "fixed_corotated"
young = 4.0e4     # Pa: a soft jelly
poisson = 0.35
density = 1000.0

[solver]
grid_res = 32      # coarse enough to run at interactive rates without a GPU
gravity = [0.0, -9.8, 0.0]
damping = 0.5
wall = "slip"
frame_dt = 0.033333333

[[anchor]]        # the pedestal never moves
shape = "box"
min = [0.30, 0.10, 0.30]
max = [0.70, 0.30, 0.70]

[[poke]]
name = "tap_top"
centre = [0.5, 0.54, 0.5]
radius = 0.08
force = [0.0, -60.0, 0.0]
duration = 0.2

[[poke]]
name = "push_side"
centre = [0.65, 0.46, 0.5]
radius = 0.08
force = [-40.0, 0.0, 0.0]
duration = 0.3

[[camera]]
name = "front"
eye = [0.5, 0.62, 1.55]
target = [0.5, 0.38, 0.5]
fov_y_deg = 35.0
width = 1024
height = 576

[[camera]]
name = "top"
eye = [0.9, 1.3, 0.9]
target = [0.5, 0.4, 0.5]
fov_y_deg = 40.0
width = 576
height = 576
"#
    )
}

/// Writes the jelly scene: `toml_path` and the binary splat file `ply` (relative to it).
pub fn write_jelly_scene(toml_path: &Path, ply: &str) -> anyhow::Result<()> {
    let dir = toml_path.parent().unwrap_or(Path::new("."));
    let ply_path = dir.join(ply);
    if let Some(d) = ply_path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let comments =
        vec!["Generated by physdreamer examples/jelly_scene.rs (procedural, CC0-1.0)".to_string()];
    jelly_splats().write(&ply_path, PlyFormat::BinaryLittleEndian, &comments)?;
    std::fs::write(toml_path, jelly_scene_toml(ply))?;
    Ok(())
}
