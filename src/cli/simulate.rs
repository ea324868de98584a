//! `physdreamer simulate`: run a scene and write per-frame particle positions as PLY.

use super::bench::parse_vec3;
use crate::demo;
use crate::gpu::GpuContext;
use crate::solver::{Poke, Solver};
use anyhow::{bail, Context, Result};
use clap::Args;
use glam::Vec3;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Simulated time (s).
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f32,
    /// Output frames per second.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f32,
    /// Output folder (created if missing); frames are written as frame_NNNN.ply.
    #[arg(long, default_value = "out/simulate")]
    pub out: PathBuf,
    /// An extra poke "x,y,z:fx,fy,fz" (centre in the unit-cube domain, acceleration in m/s^2),
    /// 0.1 m radius, applied for 0.75 s from t = 0 as PhysDreamer does.
    #[arg(long, allow_hyphen_values = true)]
    pub poke: Option<String>,
    /// Leave out the built-in scene's own poke.
    #[arg(long)]
    pub no_default_poke: bool,
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
    if !(a.fps.is_finite() && a.fps > 0.0 && a.fps <= 10_000.0) {
        bail!("--fps must be in (0, 10000], got {}", a.fps);
    }
    let (set, mut cfg, mut pokes) = demo::jelly_on_pedestal();
    if a.no_default_poke {
        pokes.clear();
    }
    if let Some(p) = &a.poke {
        pokes.push(parse_poke(p)?);
    }
    cfg.frame_dt = 1.0 / a.fps;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("creating output folder {}", a.out.display()))?;
    let mut solver = Solver::new(ctx, cfg, &set)?;
    solver.set_pokes(pokes);
    let frames = (a.seconds * a.fps).round().max(1.0) as u32;
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
