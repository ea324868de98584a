//! `physdreamer simulate`: run a scene and write per-frame particle positions as PLY.

use super::bench::parse_vec3;
use crate::demo;
use crate::gpu::GpuContext;
use crate::scene::Scene;
use crate::solver::{Poke, Solver};
use anyhow::{bail, Context, Result};
use clap::Args;
use glam::Vec3;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Default)]
pub struct SimulateArgs {
    /// Scene file (TOML, see docs/scene-format.md); default data/default.toml, or the built-in
    /// jelly demo where that file is missing. `builtin:jelly` names the demo explicitly.
    pub scene: Option<PathBuf>,
    /// Simulated time (s).
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f32,
    /// Output frames per second (default: the scene's frame_dt, 30 fps).
    #[arg(long)]
    pub fps: Option<f32>,
    /// Output folder (created if missing); frames are written as frame_NNNN.ply.
    #[arg(long, default_value = "out/simulate")]
    pub out: PathBuf,
    /// A poke: a preset name from the scene, or "x,y,z:fx,fy,fz" (centre in the unit-cube
    /// domain, acceleration in m/s^2; 0.1 m radius for 0.75 s from t = 0 as PhysDreamer does).
    /// Default: the scene's first preset.
    #[arg(long, allow_hyphen_values = true)]
    pub poke: Option<String>,
    /// No poke at all (the object only settles under gravity).
    #[arg(long, conflicts_with = "poke")]
    pub no_poke: bool,
}

/// The scene file used when none is given: `data/default.toml` in the working folder, else in
/// the source tree the binary was built from.
pub fn default_scene() -> Option<PathBuf> {
    let local = PathBuf::from("data/default.toml");
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/default.toml");
    [local, built].into_iter().find(|p| p.is_file())
}

/// Parses "x,y,z:fx,fy,fz" into a 0.75 s poke of radius 0.1 starting at t = 0.
pub fn parse_poke(s: &str) -> Result<Poke> {
    let (c, f) = s
        .split_once(':')
        .with_context(|| format!("--poke: expected \"x,y,z:fx,fy,fz\", got {s:?}"))?;
    Ok(Poke {
        centre: parse_vec3("--poke centre", c)?,
        radius: 0.1,
        force: parse_vec3("--poke force", f)?,
        start: 0.0,
        duration: 0.75,
    })
}

/// Writes `points` as a binary little-endian PLY point cloud, atomically (temp file + rename).
pub fn write_points_ply(path: &Path, points: &[Vec3]) -> Result<()> {
    let tmp = path.with_extension("ply.tmp");
    {
        let file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut w = std::io::BufWriter::new(file);
        write!(
            w,
            "ply\nformat binary_little_endian 1.0\ncomment physdreamer particle positions (m, unit-cube domain, y up)\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nend_header\n",
            points.len()
        )?;
        for p in points {
            w.write_all(bytemuck::bytes_of(&p.to_array()))?;
        }
        w.flush()
            .with_context(|| format!("writing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("moving {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

pub fn run(ctx: &GpuContext, a: SimulateArgs) -> Result<()> {
    if !(a.seconds.is_finite() && a.seconds > 0.0) {
        bail!("--seconds must be a positive number, got {}", a.seconds);
    }
    let path = a.scene.clone().or_else(default_scene);
    let (set, mut cfg, presets) = match path.as_deref() {
        Some(p) if p != Path::new("builtin:jelly") => {
            let scene = Scene::load(p).with_context(|| format!("loading scene {}", p.display()))?;
            eprintln!(
                "scene {} ({}): {} particles",
                scene.name,
                p.display(),
                scene.particles.len()
            );
            (scene.particles, scene.config, scene.pokes)
        }
        _ => {
            let (set, cfg, pokes) = demo::jelly_on_pedestal();
            eprintln!("built-in jelly demo: {} particles", set.len());
            (
                set,
                cfg,
                pokes.into_iter().map(|p| ("poke".to_string(), p)).collect(),
            )
        }
    };
    let pokes: Vec<Poke> = match (&a.poke, a.no_poke) {
        (_, true) => Vec::new(),
        (Some(p), _) if p.contains(':') => vec![parse_poke(p)?],
        (Some(name), _) => match presets.iter().find(|(n, _)| n == name) {
            Some((_, poke)) => vec![*poke],
            None => bail!(
                "--poke {name:?}: the scene has no such preset (presets: {})",
                presets
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        (None, _) => presets.first().map(|(_, p)| *p).into_iter().collect(),
    };
    if let Some(fps) = a.fps {
        if !(fps.is_finite() && fps > 0.0 && fps <= 10_000.0) {
            bail!("--fps must be in (0, 10000], got {fps}");
        }
        cfg.frame_dt = 1.0 / fps;
    }
    let fps = 1.0 / cfg.frame_dt;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("creating output folder {}", a.out.display()))?;
    let mut solver = Solver::new(ctx, cfg, &set)?;
    solver.set_pokes(pokes);
    let frames = (a.seconds * fps).round().max(1.0) as u32;
    let bar = indicatif::ProgressBar::new(frames as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} frames  {msg}  ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    write_points_ply(&a.out.join("frame_0000.ply"), &solver.positions()?)?;
    let mut substeps = 0u64;
    for f in 1..=frames {
        let st = solver
            .step_frame()
            .with_context(|| format!("frame {f} (t = {:.3} s)", solver.time()))?;
        substeps += st.substeps as u64;
        write_points_ply(
            &a.out.join(format!("frame_{f:04}.ply")),
            &solver.positions()?,
        )?;
        bar.set_message(format!(
            "{} substeps, max speed {:.2} m/s",
            st.substeps, st.max_speed
        ));
        bar.inc(1);
    }
    bar.finish();
    println!(
        "wrote {} frames of {} particles to {} ({substeps} substeps)",
        frames + 1,
        set.len(),
        a.out.display()
    );
    Ok(())
}
