//! Times the splat -> particle pipeline on a synthetic object of N Gaussians (default 1,000,000):
//! reading, filling, the reduction to M driving particles (default 13,400, PhysDreamer's count
//! for its 1.04 M-Gaussian scene, whose K-means took 159 s), attaching every Gaussian to its 8
//! nearest particles, and one deformation.
//!
//! ```text
//! cargo run --release --example reduce_bench [-- N M]
//! ```

use std::time::Instant;

use glam::{Quat, Vec3};
use physdreamer::scene::ply::PlyFormat;
use physdreamer::scene::procedural::SplitMix64;
use physdreamer::scene::{GaussianSplats, Scene};

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let m = args.get(1).copied().unwrap_or(13_400);
    // Gaussians on a torus (R = 0.3, r = 0.12), a tenth of them inside it, plus 1 % floaters.
    let mut rng = SplitMix64(42);
    let mut g = GaussianSplats {
        sh_degree: 3,
        ..Default::default()
    };
    let spacing = (4.0 * std::f32::consts::PI.powi(2) * 0.3 * 0.12 / n as f32).sqrt();
    for i in 0..n {
        let (u, v) = (
            rng.f32() * std::f32::consts::TAU,
            rng.f32() * std::f32::consts::TAU,
        );
        let shrink = if i % 10 == 0 { rng.f32() } else { 1.0 };
        let ring = Vec3::new(u.cos(), 0.0, u.sin());
        let normal = ring * v.cos() + Vec3::Y * v.sin();
        let p = if i % 100 == 0 {
            Vec3::new(rng.sym(0.6), rng.sym(0.6), rng.sym(0.6))
        } else {
            ring * 0.3 + normal * 0.12 * shrink
        };
        let q = Quat::from_rotation_arc(Vec3::Z, normal);
        g.position.push(p);
        g.f_dc.push([rng.sym(1.0), rng.sym(1.0), rng.sym(1.0)]);
        g.f_rest.extend((0..45).map(|_| rng.sym(0.1)));
        g.opacity.push(if i % 100 == 0 {
            -3.0
        } else {
            rng.sym(4.0) + 2.0
        });
        g.log_scale
            .push(Vec3::new(0.6 * spacing, 0.6 * spacing, 0.1 * spacing).ln());
        g.rotation.push([q.w, q.x, q.y, q.z]);
    }
    let dir = std::env::temp_dir().join("physdreamer_reduce_bench");
    std::fs::create_dir_all(&dir)?;
    let t = Instant::now();
    g.write(&dir.join("torus.ply"), PlyFormat::BinaryLittleEndian, &[])?;
    println!(
        "wrote {n} Gaussians (SH degree 3, {:.0} MB) in {:.2} s",
        std::fs::metadata(dir.join("torus.ply"))?.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    // z-up, so the load also rotates every Gaussian and its degree-3 SH coefficients.
    let toml = format!("[object]\nsplat = \"torus.ply\"\n[transform]\nup = \"z\"\n[particles]\ncount = {m}\n[solver]\ngrid_res = 64\n");
    std::fs::write(dir.join("scene.toml"), toml)?;
    let t = Instant::now();
    let scene = Scene::load(&dir.join("scene.toml"))?;
    let total = t.elapsed().as_secs_f64();
    let stages: Vec<String> = scene
        .timings
        .iter()
        .map(|(s, t)| format!("{s} {t:.2} s"))
        .collect();
    println!(
        "Scene::load: {total:.2} s ({}) on {} threads",
        stages.join(", "),
        rayon::current_num_threads()
    );
    println!(
        "{} Gaussians -> {} driving particles (target {m}), spacing {:.4}",
        n,
        scene.particles.len(),
        scene.spacing
    );
    let moved: Vec<Vec3> = scene
        .particles
        .position
        .iter()
        .map(|&p| Quat::from_rotation_y(0.3) * p + Vec3::X * 0.01)
        .collect();
    let t = Instant::now();
    let out = scene.deform_splats(&moved, None)?.expect("splats");
    println!(
        "deforming all {} Gaussians: {:.2} s",
        out.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
