//! Checking and resolving the scene file's settings: solver and material, placement, anchors,
//! cameras, pokes and the reference video. Errors name the key (`solver.grid_res = 50 ...`).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use glam::Vec3;

use super::camera::{self, Camera};
use super::file::{self, AnchorSpec, Frame, SceneFile};
use super::knn::PointGrid;
use super::transform::{self, Similarity};
use super::ReferenceVideo;
use crate::solver::{Ground, Material, Poke, SolverConfig, TimeStep, Wall};

pub(super) fn finite3(v: [f32; 3], key: &str) -> Result<Vec3> {
    let v = Vec3::from(v);
    if !v.is_finite() {
        bail!("{key} = {v:?} must be finite");
    }
    Ok(v)
}

pub(super) fn positive(v: f32, key: &str) -> Result<f32> {
    if !(v > 0.0 && v.is_finite()) {
        bail!("{key} = {v} must be a positive number");
    }
    Ok(v)
}

/// Solver settings and material defaults (model, E, nu, density).
pub(super) fn solver_config(f: &SceneFile) -> Result<(SolverConfig, [f32; 3])> {
    let s = &f.solver;
    let mut c = SolverConfig::default();
    if let Some(g) = s.grid_res {
        if !(16..=512).contains(&g) || g % 8 != 0 {
            bail!("solver.grid_res = {g} must be a multiple of 8 between 16 and 512");
        }
        c.grid_res = g;
    }
    if let Some(g) = s.gravity {
        c.gravity = finite3(g, "solver.gravity")?;
    }
    if let Some(d) = s.damping {
        if !(d >= 0.0 && d.is_finite()) {
            bail!("solver.damping = {d} must be >= 0");
        }
        c.damping = d;
    }
    if let Some(w) = s.wall {
        c.wall = match w {
            file::WallName::None => Wall::None,
            file::WallName::Slip => Wall::Slip,
            file::WallName::Sticky => Wall::Sticky,
        };
    }
    if let Some(w) = s.wall_cells {
        if w == 0 || w >= c.grid_res / 4 {
            bail!("solver.wall_cells = {w} must be between 1 and grid_res / 4 - 1");
        }
        c.wall_cells = w;
    }
    if let Some(fdt) = s.frame_dt {
        c.frame_dt = positive(fdt, "solver.frame_dt")?;
    }
    c.time_step = match (s.dt, s.cfl, s.max_substeps) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => bail!(
            "solver: give either `dt` (fixed step) or `cfl`/`max_substeps` (adaptive), not both"
        ),
        (Some(dt), None, None) => {
            let dt = positive(dt, "solver.dt")?;
            if dt > c.frame_dt {
                bail!(
                    "solver.dt = {dt} is longer than solver.frame_dt = {}",
                    c.frame_dt
                );
            }
            TimeStep::Fixed(dt)
        }
        (None, cfl, max) => {
            let cfl = cfl.unwrap_or(0.4);
            if !(cfl > 0.0 && cfl <= 1.0) {
                bail!("solver.cfl = {cfl} must be in (0, 1]");
            }
            let max = max.unwrap_or(2000);
            if max == 0 {
                bail!("solver.max_substeps must be at least 1");
            }
            TimeStep::Adaptive {
                cfl,
                max_substeps: max,
            }
        }
    };
    if let Some(g) = &s.ground {
        if !(0.0..1.0).contains(&g.height) {
            bail!("solver.ground.height = {} must be in [0, 1)", g.height);
        }
        c.ground = Some(Ground {
            height: g.height,
            sticky: g.sticky,
        });
    }
    let m = &f.material;
    c.material = match m.model {
        Some(file::ModelName::NeoHookean) => Material::NeoHookean,
        _ => Material::FixedCorotated,
    };
    let young = positive(m.young.unwrap_or(1e5), "material.young")?;
    let nu = m.poisson.unwrap_or(0.3);
    if !(nu > -1.0 && nu < 0.5) {
        bail!("material.poisson = {nu} must be in (-1, 0.5)");
    }
    let density = positive(m.density.unwrap_or(1000.0), "material.density")?;
    Ok((c, [young, nu, density]))
}

/// The object -> domain similarity, from the `[transform]` table and the bounds of the object
/// after its rotation.
pub(super) fn placement(
    f: &SceneFile,
    c: &SolverConfig,
    rot: glam::Quat,
    rotated: (Vec3, Vec3),
) -> Result<Similarity> {
    let t = &f.transform;
    if !t.fit.unwrap_or(true) {
        if t.margin.is_some() || t.box_min.is_some() || t.box_max.is_some() || t.align.is_some() {
            bail!("transform: `margin`, `box_min`, `box_max` and `align` need `fit = true`");
        }
        let scale = positive(t.scale.unwrap_or(1.0), "transform.scale")?;
        let offset = finite3(t.offset.unwrap_or([0.0; 3]), "transform.offset")?;
        return Ok(Similarity {
            scale,
            rotation: rot,
            translation: offset,
        });
    }
    if t.scale.is_some() || t.offset.is_some() {
        bail!("transform: `scale` and `offset` need `fit = false`");
    }
    let (bmin, bmax) = match (t.box_min, t.box_max, t.margin) {
        (Some(_), Some(_), Some(_)) => {
            bail!("transform: give either `margin` or `box_min`/`box_max`")
        }
        (Some(a), Some(b), None) => (
            finite3(a, "transform.box_min")?,
            finite3(b, "transform.box_max")?,
        ),
        (None, None, m) => {
            let m =
                m.unwrap_or_else(|| (0.1f32).max((c.wall_cells + 2) as f32 / c.grid_res as f32));
            if !(0.0..0.5).contains(&m) {
                bail!("transform.margin = {m} must be in [0, 0.5)");
            }
            (Vec3::splat(m), Vec3::splat(1.0 - m))
        }
        _ => bail!("transform: `box_min` and `box_max` go together"),
    };
    if bmin.min_element() < 0.0 || bmax.max_element() > 1.0 || bmin.cmpge(bmax).any() {
        bail!("transform: the box {bmin:?}..{bmax:?} must lie inside [0, 1]^3 with min < max");
    }
    let bottom = t.align == Some(file::Align::Bottom);
    let fit = transform::fit_into_box(rotated.0, rotated.1, bmin, bmax, bottom);
    Ok(Similarity {
        scale: 1.0,
        rotation: rot,
        translation: Vec3::ZERO,
    }
    .then(&fit))
}

/// `anchored[i]` for every particle.
pub(super) fn anchors(
    f: &SceneFile,
    base: &Path,
    s: &Similarity,
    pts: &[Vec3],
) -> Result<Vec<bool>> {
    let mut anchored = vec![false; pts.len()];
    for (k, a) in f.anchor.iter().enumerate() {
        let key = format!("anchor[{k}]");
        let to_frame = |fr: Frame, p: Vec3| if fr == Frame::Object { s.invert(p) } else { p };
        let hit: Box<dyn Fn(Vec3) -> bool> = match a {
            AnchorSpec::Box { min, max, frame } => {
                let (lo, hi) = (
                    finite3(*min, &format!("{key}.min"))?,
                    finite3(*max, &format!("{key}.max"))?,
                );
                if lo.cmpgt(hi).any() {
                    bail!("{key}: min {lo:?} must not exceed max {hi:?}");
                }
                let fr = *frame;
                Box::new(move |p| {
                    let q = to_frame(fr, p);
                    q.cmpge(lo).all() && q.cmple(hi).all()
                })
            }
            AnchorSpec::Sphere {
                centre,
                radius,
                frame,
            } => {
                let c = finite3(*centre, &format!("{key}.centre"))?;
                let r = positive(*radius, &format!("{key}.radius"))?;
                let fr = *frame;
                Box::new(move |p| to_frame(fr, p).distance(c) <= r)
            }
            AnchorSpec::HalfSpace {
                point,
                normal,
                frame,
            } => {
                let o = finite3(*point, &format!("{key}.point"))?;
                let n = finite3(*normal, &format!("{key}.normal"))?;
                if n.length() < 1e-12 {
                    bail!("{key}.normal must not be zero");
                }
                let fr = *frame;
                Box::new(move |p| (to_frame(fr, p) - o).dot(n) >= 0.0)
            }
            AnchorSpec::Mask { file, radius } => {
                let r = positive(*radius, &format!("{key}.radius"))?;
                let mask: Vec<Vec3> = super::ply::read_points(&base.join(file))?
                    .into_iter()
                    .map(|p| s.apply(p))
                    .collect();
                if mask.is_empty() {
                    bail!("{key}.file {file}: the mask has no points");
                }
                let grid = PointGrid::new(&mask);
                Box::new(move |p| grid.nearest(p).is_none_or(|(d, _)| d > r))
            }
        };
        for (flag, &p) in anchored.iter_mut().zip(pts) {
            *flag |= hit(p);
        }
    }
    Ok(anchored)
}

pub(super) fn cameras(f: &SceneFile, base: &Path, s: &Similarity) -> Result<Vec<(String, Camera)>> {
    let mut out: Vec<(String, Camera)> = Vec::new();
    for (k, c) in f.camera.iter().enumerate() {
        let key = format!("camera[{k}]");
        let look = c.eye.is_some() || c.target.is_some();
        let sources = [look, c.transforms.is_some(), c.colmap.is_some()]
            .iter()
            .filter(|&&b| b)
            .count();
        if sources != 1 {
            bail!(
                "{key}: give exactly one of `eye` + `target` (look-at), `transforms` or `colmap`"
            );
        }
        let prefixed = |n: String| c.name.as_ref().map_or(n.clone(), |p| format!("{p}/{n}"));
        if look {
            let (Some(eye), Some(target)) = (c.eye, c.target) else {
                bail!("{key}: a look-at camera needs both `eye` and `target`")
            };
            let name = c
                .name
                .clone()
                .ok_or_else(|| anyhow!("{key}: a look-at camera needs a `name`"))?;
            let cam = Camera::look_at(
                finite3(eye, &format!("{key}.eye"))?,
                finite3(target, &format!("{key}.target"))?,
                finite3(c.up.unwrap_or([0.0, 1.0, 0.0]), &format!("{key}.up"))?,
                c.fov_y_deg.unwrap_or(40.0),
                c.width.unwrap_or(1024),
                c.height.unwrap_or(576),
            )
            .map_err(|e| anyhow!("{key}: {e}"))?;
            out.push((name, cam));
        } else {
            if c.up.is_some() || c.fov_y_deg.is_some() || c.width.is_some() || c.height.is_some() {
                bail!(
                    "{key}: `up`, `fov_y_deg`, `width` and `height` are for look-at cameras only"
                );
            }
            let loaded = match (&c.transforms, &c.colmap) {
                (Some(t), _) => camera::load_transforms_json(&base.join(t))?,
                (_, Some(d)) => camera::load_colmap_text(&base.join(d))?,
                _ => Vec::new(),
            };
            out.extend(
                loaded
                    .into_iter()
                    .map(|(n, cam)| (prefixed(n), cam.transformed(s))),
            );
        }
    }
    for (i, (n, _)) in out.iter().enumerate() {
        if out[..i].iter().any(|(m, _)| m == n) {
            bail!("camera name `{n}` is used twice");
        }
    }
    Ok(out)
}

pub(super) fn pokes(f: &SceneFile) -> Result<Vec<(String, Poke)>> {
    let mut out: Vec<(String, Poke)> = Vec::new();
    for (k, p) in f.poke.iter().enumerate() {
        let key = format!("poke[{k}] `{}`", p.name);
        if out.iter().any(|(n, _)| *n == p.name) {
            bail!("{key}: the name is used twice");
        }
        let start = p.start.unwrap_or(0.0);
        if !(start >= 0.0 && start.is_finite()) {
            bail!("{key}.start = {start} must be >= 0");
        }
        let poke = Poke {
            centre: finite3(p.centre, &format!("{key}.centre"))?,
            radius: positive(p.radius.unwrap_or(0.1), &format!("{key}.radius"))?,
            force: finite3(p.force, &format!("{key}.force"))?,
            start,
            duration: positive(p.duration.unwrap_or(0.75), &format!("{key}.duration"))?,
        };
        out.push((p.name.clone(), poke));
    }
    Ok(out)
}

pub(super) fn video(
    f: &SceneFile,
    base: &Path,
    cams: &[(String, Camera)],
) -> Result<Option<ReferenceVideo>> {
    let Some(v) = &f.video else { return Ok(None) };
    let dir = base.join(&v.frames);
    let entries = std::fs::read_dir(&dir)
        .with_context(|| format!("video.frames: cannot list {}", dir.display()))?;
    let mut frames: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    frames.sort();
    if frames.is_empty() {
        bail!("video.frames: no .png/.jpg images in {}", dir.display());
    }
    let fps = positive(v.fps.unwrap_or(30.0), "video.fps")?;
    if let Some(c) = &v.camera {
        if !cams.iter().any(|(n, _)| n == c) {
            bail!("video.camera = `{c}` is not the name of a camera");
        }
    }
    Ok(Some(ReferenceVideo {
        frames,
        fps,
        camera: v.camera.clone(),
    }))
}
