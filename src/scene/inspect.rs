//! `physdreamer inspect SCENE`: a human-readable report of a loaded scene.

use std::fmt::Write as _;
use std::path::Path;

use glam::Vec3;
use rayon::prelude::*;

use super::knn::PointGrid;
use super::splat_ply::OPACITY_LOGIT_MAX;
use super::transform::bounds;
use super::Scene;
use crate::solver::{Material, TimeStep};

/// Loads the scene at `path` and describes it: object counts, SH degree, bounds, placement,
/// particle count, spacing and volume statistics, anchoring, attachment, material, solver
/// settings, pokes, cameras, video and loading times.
pub fn inspect(path: &Path) -> anyhow::Result<String> {
    let scene = Scene::load(path)?;
    Ok(report(&scene))
}

fn v3(v: Vec3) -> String {
    format!("({:.4}, {:.4}, {:.4})", v.x, v.y, v.z)
}

fn span(lo: Vec3, hi: Vec3) -> String {
    format!("{} .. {} (size {})", v3(lo), v3(hi), v3(hi - lo))
}

/// (min, mean, max) of `v`.
fn stats(v: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let (mut lo, mut hi, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
    for x in v {
        lo = lo.min(x);
        hi = hi.max(x);
        sum += x;
        n += 1;
    }
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    (lo, sum / n as f64, hi)
}

/// The report for an already loaded scene.
pub fn report(s: &Scene) -> String {
    let mut r = String::new();
    let w = &mut r;
    let _ = writeln!(w, "scene `{}` ({})", s.name, s.path.display());
    for src in &s.sources {
        let size = std::fs::metadata(src).map(|m| m.len()).unwrap_or(0);
        let _ = writeln!(
            w,
            "  source: {} ({:.2} MB)",
            src.display(),
            size as f64 / 1e6
        );
    }
    let t = &s.transform;
    let (axis, angle) = t.rotation.to_axis_angle();
    let _ = writeln!(
        w,
        "placement: domain = {:.5} * rotate({:.1} deg about {}) * object + {}",
        t.scale,
        angle.to_degrees(),
        v3(axis),
        v3(t.translation)
    );
    if let Some(g) = &s.splats {
        let n = g.len();
        let clamped = g
            .opacity
            .iter()
            .filter(|&&o| o == OPACITY_LOGIT_MAX)
            .count();
        let alpha = stats((0..n).map(|i| g.alpha(i) as f64));
        let scale = stats(g.log_scale.iter().map(|l| l.exp().max_element() as f64));
        let _ = writeln!(
            w,
            "splats: {n} Gaussians, SH degree {} ({} f_rest values each)",
            g.sh_degree,
            g.rest_len()
        );
        if let (Some((lo, hi)), Some((olo, ohi))) = (
            bounds(g.position.iter().copied()),
            bounds(g.position.iter().map(|&p| t.invert(p))),
        ) {
            let _ = writeln!(w, "  bounds (object file): {}", span(olo, ohi));
            let _ = writeln!(w, "  bounds (domain):      {}", span(lo, hi));
        }
        let _ = writeln!(w, "  opacity alpha min/mean/max {:.3} / {:.3} / {:.3}; {clamped} at the clamped logit {OPACITY_LOGIT_MAX}", alpha.0, alpha.1, alpha.2);
        let _ = writeln!(
            w,
            "  largest std-dev per Gaussian (domain) min/mean/max {:.2e} / {:.2e} / {:.2e}",
            scale.0, scale.1, scale.2
        );
    }
    if let Some(m) = &s.mesh {
        let _ = writeln!(
            w,
            "mesh: {} vertices, {} triangles, {} boundary edges ({})",
            m.positions.len(),
            m.triangles.len(),
            m.boundary_edges(),
            if m.boundary_edges() == 0 {
                "closed"
            } else {
                "open"
            }
        );
        if let Some((lo, hi)) = m.bounds() {
            let _ = writeln!(w, "  bounds (domain): {}", span(lo, hi));
        }
        let _ = writeln!(
            w,
            "  enclosed volume {:.5e} m^3, area {:.4} m^2",
            m.signed_volume().abs(),
            m.area()
        );
    }
    if let Some(f) = &s.fill {
        let _ = writeln!(
            w,
            "fill: spacing {:.5}; {} occupied (surface) cells, {} interior cells, {} cells dropped as fragments; estimated volume {:.5e} m^3",
            f.spacing,
            f.occupied.len(),
            f.interior.len(),
            f.dropped_cells,
            f.volume()
        );
    }
    particles(w, s);
    for (label, att) in [
        ("Gaussians", &s.splat_attachment),
        ("mesh vertices", &s.mesh_attachment),
    ] {
        if let Some(a) = att {
            let (max, mean) = a.reach();
            let _ = writeln!(w, "attachment: {} {label} follow their {} nearest particles; distance to nearest particle mean {mean:.4}, max {max:.4}", a.len(), a.k());
        }
    }
    let c = &s.config;
    let model = match c.material {
        Material::FixedCorotated => "fixed_corotated",
        Material::NeoHookean => "neo_hookean",
    };
    let p = &s.particles;
    if !p.is_empty() {
        let _ = writeln!(
            w,
            "material: {model}, E = {:.3e} Pa, nu = {}, density = {} kg/m^3",
            p.young[0], p.poisson[0], p.density[0]
        );
    }
    let step = match c.time_step {
        TimeStep::Fixed(dt) => format!("fixed dt {dt:.3e} s"),
        TimeStep::Adaptive { cfl, max_substeps } => {
            format!("adaptive (CFL {cfl}, at most {max_substeps} substeps/frame)")
        }
    };
    let _ = writeln!(
        w,
        "solver: grid {}^3 (dx {:.5}), gravity {}, damping {}, wall {:?} ({} cells), ground {:?}, {step}, frame_dt {:.5} s",
        c.grid_res,
        c.dx(),
        v3(c.gravity),
        c.damping,
        c.wall,
        c.wall_cells,
        c.ground,
        c.frame_dt
    );
    for (n, k) in &s.pokes {
        let _ = writeln!(
            w,
            "poke `{n}`: centre {}, radius {}, force {} m/s^2, t = {} .. {} s",
            v3(k.centre),
            k.radius,
            v3(k.force),
            k.start,
            k.start + k.duration
        );
    }
    let _ = writeln!(w, "cameras: {}", s.cameras.len());
    for (n, cam) in s.cameras.iter().take(8) {
        let _ = writeln!(
            w,
            "  `{n}`: {}x{}, fx {:.1}, fy {:.1}, centre {}",
            cam.width,
            cam.height,
            cam.fx,
            cam.fy,
            v3(cam.centre())
        );
    }
    if s.cameras.len() > 8 {
        let _ = writeln!(w, "  ... and {} more", s.cameras.len() - 8);
    }
    if let Some(v) = &s.video {
        let _ = writeln!(
            w,
            "video: {} frames at {} fps, camera {:?}",
            v.frames.len(),
            v.fps,
            v.camera
        );
    }
    let times: Vec<String> = s
        .timings
        .iter()
        .map(|(n, t)| format!("{n} {t:.2}s"))
        .collect();
    let _ = writeln!(w, "load time: {}", times.join(", "));
    r
}

fn particles(w: &mut String, s: &Scene) {
    let p = &s.particles;
    let n = p.len();
    let anchored = p.anchored.iter().filter(|&&a| a).count();
    let _ = writeln!(
        w,
        "particles: {n} ({anchored} anchored = {:.1} %)",
        100.0 * anchored as f64 / n.max(1) as f64
    );
    if let Some((lo, hi)) = bounds(p.position.iter().copied()) {
        let _ = writeln!(w, "  bounds (domain): {}", span(lo, hi));
        let margin = lo.min_element().min(1.0 - hi.max_element());
        let _ = writeln!(
            w,
            "  closest approach to a wall: {margin:.4} ({:.1} grid cells)",
            margin / s.config.dx()
        );
    }
    let grid = PointGrid::new(&p.position);
    let nn: Vec<f64> = p
        .position
        .par_iter()
        .map_init(Vec::new, |buf, &x| {
            grid.knn(x, 2, buf);
            buf.get(1).map_or(0.0, |&(d2, _)| (d2 as f64).sqrt())
        })
        .collect();
    let (a, b, c) = stats(nn.into_iter());
    let _ = writeln!(
        w,
        "  lattice spacing {:.5} ({:.2} per grid cell per axis); nearest-neighbour distance min/mean/max {a:.5} / {b:.5} / {c:.5}",
        s.spacing,
        s.config.dx() / s.spacing
    );
    let (a, b, c) = stats(p.volume.iter().map(|&v| v as f64));
    let total: f64 = p.volume.iter().map(|&v| v as f64).sum();
    let mass: f64 = (0..n).map(|i| p.mass(i) as f64).sum();
    let _ = writeln!(w, "  volume per particle min/mean/max {a:.3e} / {b:.3e} / {c:.3e} m^3; total volume {total:.5e} m^3, mass {mass:.4} kg");
}
