//! Building a [`Scene`] from a scene file: validation, object loading, placement, particles,
//! anchoring, attachment, cameras, pokes and video.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use glam::Vec3;

use super::driving::{Attachment, DEFAULT_NEIGHBOURS};
use super::file::{self, SceneFile};
use super::fill::{self, SplatFill};
use super::settings::{
    anchors, cameras, finite3, placement, pokes, positive, solver_config, video,
};
use super::transform::{self, euler_xyz_deg, UpAxis};
use super::{GaussianSplats, Scene, TriMesh};
use crate::particles::ParticleSet;
use crate::solver::SolverConfig;

/// Most driving particles a scene may ask for.
pub const MAX_PARTICLES: usize = 8_000_000;

/// Reads and builds the scene file at `path`.
pub fn load(path: &Path) -> Result<Scene> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read scene file {}", path.display()))?;
    let base = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    from_toml(&text, &base, path)
}

/// Builds a scene from TOML text (`path` names it in messages).
pub fn from_toml(text: &str, base: &Path, path: &Path) -> Result<Scene> {
    let file =
        SceneFile::parse(text).map_err(|e| anyhow!("{}: {}", path.display(), e.trim_end()))?;
    build(&file, base, path).map_err(|e| anyhow!("{}: {e:#}", path.display()))
}

/// Particle lattice spacing and sites; returns (sites, volume per site, spacing, splat fill).
fn particles(
    f: &SceneFile,
    c: &SolverConfig,
    splats: Option<&GaussianSplats>,
    mesh: Option<&TriMesh>,
) -> Result<(Vec<Vec3>, f64, f32, Option<SplatFill>)> {
    let p = &f.particles;
    let given = [p.count.is_some(), p.spacing.is_some(), p.per_cell.is_some()]
        .iter()
        .filter(|&&b| b)
        .count();
    if given > 1 {
        bail!("particles: give at most one of `count`, `spacing` and `per_cell`");
    }
    let tau = p.opacity_threshold.unwrap_or(0.1);
    if !(tau > 0.0 && tau < 1.0) {
        bail!("particles.opacity_threshold = {tau} must be in (0, 1)");
    }
    let frag = p.min_fragment.unwrap_or(8);
    let fill_at = |h: f32| -> Result<(Vec<Vec3>, f64, Option<SplatFill>)> {
        if let Some(m) = mesh {
            let pts = fill::fill_mesh(m, h).map_err(anyhow::Error::msg)?;
            Ok((pts, (h as f64).powi(3), None))
        } else if let Some(s) = splats {
            let fl = fill::fill_splats_within(s, h, tau, frag, (Vec3::ZERO, Vec3::ONE))
                .map_err(anyhow::Error::msg)?;
            let sites = fl.sites();
            let v = fl.volume() / sites.len().max(1) as f64;
            Ok((sites, v, Some(fl)))
        } else {
            bail!("object: give `splat` or `mesh`")
        }
    };
    let result = if let Some(n) = p.count {
        if n == 0 || n > MAX_PARTICLES {
            bail!("particles.count = {n} must be between 1 and {MAX_PARTICLES}");
        }
        // Estimate the volume, then correct the spacing once or twice.
        let vol = match (mesh, splats) {
            (Some(m), _) => m.signed_volume().abs().max(1e-12),
            (None, Some(s)) => {
                let opaque = (0..s.len())
                    .filter(|&i| s.alpha(i) >= tau)
                    .map(|i| s.position[i].clamp(Vec3::ZERO, Vec3::ONE));
                let (lo, hi) = transform::bounds(opaque).unwrap_or((Vec3::ZERO, Vec3::ONE));
                let h0 = ((hi - lo).max_element() / 40.0).max(1e-6);
                let (sites, _, _) = fill_at(h0)?;
                sites.len() as f64 * (h0 as f64).powi(3)
            }
            _ => bail!("object: give `splat` or `mesh`"),
        };
        let mut h = (vol / n as f64).cbrt() as f32;
        let mut result = fill_at(h)?;
        for _ in 0..2 {
            let got = result.0.len();
            if got == 0 || (got as f64 / n as f64 - 1.0).abs() < 0.03 {
                break;
            }
            h *= (got as f64 / n as f64).cbrt() as f32;
            result = fill_at(h)?;
        }
        (h, result)
    } else {
        let h = match p.spacing {
            Some(h) => positive(h, "particles.spacing")?,
            None => c.dx() / positive(p.per_cell.unwrap_or(2.0), "particles.per_cell")?,
        };
        (h, fill_at(h)?)
    };
    let (h, (sites, vol, fl)) = result;
    if sites.is_empty() {
        bail!("no particles: the object encloses no lattice point at spacing {h} (is the mesh closed, the spacing small enough?)");
    }
    if sites.len() > MAX_PARTICLES {
        bail!("{} particles at spacing {h} is more than {MAX_PARTICLES}; use a larger spacing or a smaller count", sites.len());
    }
    Ok((sites, vol, h, fl))
}

fn build(f: &SceneFile, base: &Path, path: &Path) -> Result<Scene> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, f64)>| {
        timings.push((name, clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let (config, [young, poisson, density]) = solver_config(f)?;
    let neighbours = f.particles.neighbours.unwrap_or(DEFAULT_NEIGHBOURS);
    if !(1..=64).contains(&neighbours) {
        bail!("particles.neighbours = {neighbours} must be between 1 and 64");
    }
    let mut sources = Vec::new();
    let mut splats = match &f.object.splat {
        Some(p) => {
            sources.push(base.join(p));
            Some(GaussianSplats::read(&base.join(p))?)
        }
        None => None,
    };
    let mut mesh = match &f.object.mesh {
        Some(p) => {
            sources.push(base.join(p));
            Some(TriMesh::read(&base.join(p))?)
        }
        None => None,
    };
    if splats.is_none() && mesh.is_none() {
        bail!("object: give `splat` (a 3DGS .ply) or `mesh` (.obj/.ply), or both");
    }
    lap("read", &mut timings);
    let t = &f.transform;
    match (t.crop_min, t.crop_max, splats.as_mut()) {
        (None, None, _) => {}
        (Some(a), Some(b), Some(s)) => {
            let (lo, hi) = (
                finite3(a, "transform.crop_min")?,
                finite3(b, "transform.crop_max")?,
            );
            let keep: Vec<bool> = s
                .position
                .iter()
                .map(|p| p.cmpge(lo).all() && p.cmple(hi).all())
                .collect();
            *s = s.select(&keep);
            if s.is_empty() {
                bail!("transform: no Gaussian lies inside crop_min..crop_max");
            }
        }
        (Some(_), Some(_), None) => bail!("transform: `crop_min`/`crop_max` apply to splats only"),
        _ => bail!("transform: `crop_min` and `crop_max` go together"),
    }
    let up = match t.up.unwrap_or_default() {
        file::Up::PosX => UpAxis::PosX,
        file::Up::NegX => UpAxis::NegX,
        file::Up::PosY => UpAxis::PosY,
        file::Up::NegY => UpAxis::NegY,
        file::Up::PosZ => UpAxis::PosZ,
        file::Up::NegZ => UpAxis::NegZ,
    };
    let rot =
        (euler_xyz_deg(finite3(t.rotate_deg.unwrap_or([0.0; 3]), "transform.rotate_deg")?.into())
            * up.to_y_up())
        .normalize();
    let tau = f.particles.opacity_threshold.unwrap_or(0.1);
    let rotated = match (&mesh, &splats) {
        (Some(m), _) => transform::bounds(m.positions.iter().map(|&p| rot * p)),
        (None, Some(s)) => transform::bounds(
            (0..s.len())
                .filter(|&i| s.alpha(i) >= tau)
                .map(|i| rot * s.position[i]),
        ),
        _ => None,
    };
    let rotated = rotated.ok_or_else(|| {
        anyhow!("the object has no point with opacity >= particles.opacity_threshold = {tau}")
    })?;
    let sim = placement(f, &config, rot, rotated)?;
    if let Some(s) = splats.as_mut() {
        s.transform(&sim);
    }
    if let Some(m) = mesh.as_mut() {
        m.transform(&sim);
    }
    lap("transform", &mut timings);
    let (sites, volume, spacing, fill) = particles(f, &config, splats.as_ref(), mesh.as_ref())?;
    let (lo, hi) = transform::bounds(sites.iter().copied()).unwrap_or_default();
    if lo.min_element() < 0.0 || hi.max_element() > 1.0 {
        bail!("the particles span {lo:?}..{hi:?}, outside the domain [0, 1]^3; adjust [transform]");
    }
    let wall = config.wall_cells as f32 * config.dx();
    if lo.min_element() < wall || hi.max_element() > 1.0 - wall {
        log::warn!(
            "{}: particles reach into the {} wall cells; give the object more margin",
            path.display(),
            config.wall_cells
        );
    }
    lap("particles", &mut timings);
    let anchored = anchors(f, base, &sim, &sites)?;
    let mut set = ParticleSet::default();
    for (&p, &a) in sites.iter().zip(&anchored) {
        set.push(p, Vec3::ZERO, volume as f32, density, young, poisson, a);
    }
    lap("anchors", &mut timings);
    let attach =
        |pts: &[Vec3]| Attachment::new(pts, &sites, neighbours).map_err(anyhow::Error::msg);
    let splat_attachment = splats.as_ref().map(|s| attach(&s.position)).transpose()?;
    let mesh_attachment = mesh.as_ref().map(|m| attach(&m.positions)).transpose()?;
    lap("attach", &mut timings);
    let cams = cameras(f, base, &sim)?;
    let video = video(f, base, &cams)?;
    let name = f.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map_or("scene".into(), |s| s.to_string_lossy().into_owned())
    });
    Ok(Scene {
        name,
        path: path.to_path_buf(),
        particles: set,
        config,
        pokes: pokes(f)?,
        cameras: cams,
        splats,
        mesh,
        splat_attachment,
        mesh_attachment,
        fill,
        transform: sim,
        spacing,
        video,
        sources,
        timings,
    })
}
