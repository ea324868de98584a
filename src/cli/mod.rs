//! The command line: `view`, `simulate`, `prepare`, `inspect`, `bench`. Without a command:
//! the viewer on the default scene (or, where no display is available, `simulate`).

pub mod bench;
pub mod fit;
pub mod prepare;
pub mod simulate;
pub mod view;

use crate::gpu::{AdapterChoice, GpuContext};
use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "physdreamer",
    version,
    about = "Make static 3D objects physically interactive (MPM in WGSL)"
)]
pub struct Cli {
    /// GPU adapter: auto, hardware, software, or part of an adapter name
    /// (default: $PHYSDREAMER_ADAPTER, else auto).
    #[arg(long, global = true)]
    pub adapter: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The standard jelly-drop MPM scenario: throughput and cross-check figures.
    Bench(bench::BenchArgs),
    /// Run a scene (default data/default.toml) with a poke and write per-frame particle
    /// positions as PLY point clouds, and with --render PNG frames and a GIF.
    Simulate(simulate::SimulateArgs),
    /// Open the interactive viewer on a scene (default data/default.toml): poke and drag the
    /// object with the mouse.
    View(view::ViewArgs),
    /// Render the conditioning image for an external image-to-video generator (default
    /// 1024x576, what Stable Video Diffusion wants): the object at rest seen from the camera's
    /// pose, centred and close — the camera's focal length and principal point are adjusted so
    /// that the object's projected bounding box fills about 70 % of the frame.
    Prepare(prepare::PrepareArgs),
    /// Fit a stiffness field and an initial velocity to a video of the object seen from the
    /// conditioning camera (frame 0 = at rest); writes material.ply, velocity.json and plots.
    Fit(fit::FitArgs),
    /// Load a scene file and report counts, bounds, SH degree, particle spacing and volumes.
    Inspect {
        /// Scene file (TOML).
        scene: std::path::PathBuf,
    },
}

/// The GPU context the flags or environment ask for.
pub fn context(adapter: &Option<String>) -> Result<GpuContext> {
    let choice = adapter
        .as_deref()
        .map(AdapterChoice::parse)
        .unwrap_or_else(AdapterChoice::from_env);
    let ctx = GpuContext::new(&choice)?;
    eprintln!("adapter: {}", ctx.describe());
    Ok(ctx)
}

/// Whether a window can be opened (always assumed off Linux).
fn has_display() -> bool {
    !cfg!(target_os = "linux")
        || ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Bench(a)) => bench::run(&context(&cli.adapter)?, a),
        Some(Command::Simulate(a)) => simulate::run(&context(&cli.adapter)?, a),
        Some(Command::Prepare(a)) => prepare::run(&context(&cli.adapter)?, a),
        Some(Command::Fit(a)) => fit::run(&context(&cli.adapter)?, a),
        Some(Command::View(a)) => view::run(a, cli.adapter),
        Some(Command::Inspect { scene }) => {
            print!("{}", crate::scene::inspect(&scene)?);
            Ok(())
        }
        None if has_display() => view::run(
            view::ViewArgs {
                width: 1280,
                height: 720,
                ..Default::default()
            },
            cli.adapter,
        ),
        None => {
            eprintln!("no display (DISPLAY / WAYLAND_DISPLAY unset): simulating the default scene instead of opening the viewer");
            simulate::run(
                &context(&cli.adapter)?,
                simulate::SimulateArgs {
                    seconds: 2.0,
                    out: "out/simulate".into(),
                    ..Default::default()
                },
            )
        }
    }
}
