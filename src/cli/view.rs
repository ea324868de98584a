//! `physdreamer view`: the interactive viewer, with an optional script for unattended runs.

use crate::viewer::{self, ViewerOptions};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
pub struct ViewArgs {
    /// Scene file (TOML); default data/default.toml (or the built-in jelly where missing).
    pub scene: Option<PathBuf>,
    /// A material field file (PLY with x y z young [poisson], docs/material-format.md) whose
    /// values the particles take (nearest point).
    #[arg(long)]
    pub material: Option<PathBuf>,
    /// Display mode to start in: splats, mesh, particles or e-field.
    #[arg(long, value_parser = parse_display)]
    pub display: Option<viewer::Display>,
    /// Window size in pixels.
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    #[arg(long, default_value_t = 720)]
    pub height: u32,
    /// Quit after this many frames (for unattended runs).
    #[arg(long)]
    pub exit_after: Option<u64>,
    /// "FRAME:FILE.png": save the 3D view at that frame (repeatable).
    #[arg(long)]
    pub screenshot: Vec<String>,
    /// "FRAME:FX,FY": click (poke) at that frame at the pixel given as fractions of the
    /// window size, e.g. 30:0.6,0.5 (repeatable).
    #[arg(long)]
    pub click: Vec<String>,
    /// Exactly this many substeps each frame (at the CFL-stable size) instead of a time
    /// budget, so that a scripted run is reproducible.
    #[arg(long)]
    pub substeps: Option<u32>,
}

fn parse_display(s: &str) -> Result<viewer::Display, String> {
    match s.to_ascii_lowercase().as_str() {
        "splats" => Ok(viewer::Display::Splats),
        "mesh" => Ok(viewer::Display::Mesh),
        "particles" => Ok(viewer::Display::Particles),
        "e-field" | "efield" | "e" => Ok(viewer::Display::EField),
        other => Err(format!(
            "unknown display mode {other:?}: use splats, mesh, particles or e-field"
        )),
    }
}

fn frame_and_rest<'a>(flag: &str, s: &'a str) -> Result<(u64, &'a str)> {
    let (f, rest) = s
        .split_once(':')
        .with_context(|| format!("{flag}: expected FRAME:..., got {s:?}"))?;
    let frame = f
        .trim()
        .parse()
        .with_context(|| format!("{flag}: frame {f:?} is not a whole number (in {s:?})"))?;
    Ok((frame, rest))
}

pub fn run(a: ViewArgs, adapter: Option<String>) -> Result<()> {
    let mut opts = ViewerOptions {
        scene: a.scene,
        adapter,
        width: a.width,
        height: a.height,
        exit_after: a.exit_after,
        fixed_substeps: a.substeps,
        material: a.material,
        display: a.display,
        ..Default::default()
    };
    for s in &a.screenshot {
        let (f, path) = frame_and_rest("--screenshot", s)?;
        opts.screenshots.push((f, PathBuf::from(path)));
    }
    for s in &a.click {
        let (f, xy) = frame_and_rest("--click", s)?;
        let v = super::bench::parse_vec2("--click", xy)?;
        if !(0.0..=1.0).contains(&v.x) || !(0.0..=1.0).contains(&v.y) {
            bail!("--click: {xy:?} must be fractions of the window size in [0, 1]");
        }
        opts.pokes.push((f, v));
    }
    if let Some(p) = &opts.scene {
        if !p.is_file() {
            bail!("scene file {} does not exist", p.display());
        }
    }
    viewer::run(opts)
}
