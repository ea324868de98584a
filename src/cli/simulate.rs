//! `physdreamer simulate`: run a scene and write per-frame particle positions as PLY and, with
//! `--render`, rendered PNG frames and an animated GIF.

use super::bench::parse_vec3;
use crate::demo;
use crate::fit::output::read_velocity;
use crate::gpu::GpuContext;
use crate::material::MaterialField;
use crate::render::framing::{pick_camera, resize};
use crate::render::image::GifWriter;
use crate::render::{Image, RenderOptions, Renderer, SplatCloud};
use crate::scene::{Camera, Scene};
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
    /// Also render every frame: frame_NNNN.png beside the PLY frames and an animated GIF,
    /// anim.gif, in the output folder. Implied by --camera, --width and --height.
    #[arg(long)]
    pub render: bool,
    /// Camera to render: a camera name from the scene (default: its first camera), or a
    /// nerfstudio transforms.json / COLMAP text folder in the object's file coordinates,
    /// optionally FILE#FRAME.
    #[arg(long)]
    pub camera: Option<String>,
    /// Rendered image width in pixels (default: the camera's; with only --height, the
    /// camera's aspect ratio is kept).
    #[arg(long)]
    pub width: Option<u32>,
    /// Rendered image height in pixels (default: the camera's).
    #[arg(long)]
    pub height: Option<u32>,
    /// Material field file (docs/material-format.md, e.g. a fit's material.ply): every
    /// particle takes E (and ν, when present) of the nearest point.
    #[arg(long)]
    pub material: Option<PathBuf>,
    /// Initial velocity field (a fit's velocity.json) for the particles that are not anchored.
    #[arg(long)]
    pub velocity: Option<PathBuf>,
}

/// What `--render` needs: the renderer, the scene, the camera and the GIF being written.
struct FrameRenderer<'a> {
    renderer: Renderer,
    scene: &'a Scene,
    camera: Camera,
    gif: GifWriter,
    out: PathBuf,
}

impl FrameRenderer<'_> {
    /// Renders frame `f` of the particle `state`, writes its PNG and adds it to the GIF.
    fn frame(&mut self, f: u32, state: &[crate::solver::GpuParticle]) -> Result<()> {
        let positions: Vec<Vec3> = state.iter().map(|p| p.position()).collect();
        let grads: Vec<glam::Mat3> = state.iter().map(|p| p.deformation()).collect();
        let cloud = SplatCloud::from_scene(self.scene, &positions, Some(&grads))
            .with_context(|| format!("frame {f}"))?;
        let img: Image = self
            .renderer
            .render(&cloud, &self.camera, &RenderOptions::default())
            .with_context(|| format!("rendering frame {f}"))?;
        img.save_png(&self.out.join(format!("frame_{f:04}.png")))?;
        self.gif.add(&img)
    }
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
    let render = a.render || a.camera.is_some() || a.width.is_some() || a.height.is_some();
    let mut scene = None;
    let (set, mut cfg, presets) = match path.as_deref() {
        Some(p) if p != Path::new("builtin:jelly") => {
            let sc = Scene::load(p).with_context(|| format!("loading scene {}", p.display()))?;
            eprintln!(
                "scene {} ({}): {} particles",
                sc.name,
                p.display(),
                sc.particles.len()
            );
            let r = (sc.particles.clone(), sc.config.clone(), sc.pokes.clone());
            scene = Some(sc);
            r
        }
        _ => {
            if render {
                bail!("--render needs a scene file with Gaussian splats; the built-in jelly demo has none");
            }
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
    let mut renderer = match (&scene, render) {
        (Some(sc), true) => {
            if sc.splats.is_none() {
                bail!(
                    "--render: scene {} has no Gaussian splats to render",
                    sc.path.display()
                );
            }
            let (name, cam) = pick_camera(sc, a.camera.as_deref())?;
            let camera =
                resize(&cam, a.width, a.height).with_context(|| format!("camera {name:?}"))?;
            eprintln!(
                "rendering camera {name:?} at {}x{}",
                camera.width, camera.height
            );
            let gif_path = a.out.join("anim.gif");
            Some(FrameRenderer {
                renderer: Renderer::new(ctx)?,
                scene: sc,
                camera,
                gif: GifWriter::new(&gif_path, fps, 10)?,
                out: a.out.clone(),
            })
        }
        _ => None,
    };
    let mut set = set;
    if let Some(m) = &a.material {
        let field = MaterialField::read(m)?;
        let (young, poisson) = field.sample(&set.position);
        set.young = young;
        if let Some(nu) = poisson {
            set.poisson = nu;
        }
        eprintln!("material from {}", m.display());
    }
    if let Some(v) = &a.velocity {
        let v0 = read_velocity(v, &set.position)?;
        for ((v, a), v0) in set.velocity.iter_mut().zip(&set.anchored).zip(v0) {
            if !a {
                *v = v0;
            }
        }
        eprintln!("initial velocity from {}", v.display());
    }
    let mut solver = Solver::new(ctx, cfg, &set)?;
    solver.set_pokes(pokes);
    let frames = (a.seconds * fps).round().max(1.0) as u32;
    let bar = indicatif::ProgressBar::new(frames as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} frames  {msg}  ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut write_frame = |f: u32, solver: &Solver| -> Result<()> {
        let state = solver.state()?;
        let points: Vec<Vec3> = state.iter().map(|p| p.position()).collect();
        write_points_ply(&a.out.join(format!("frame_{f:04}.ply")), &points)?;
        if let Some(r) = renderer.as_mut() {
            r.frame(f, &state)?;
        }
        Ok(())
    };
    write_frame(0, &solver)?;
    let mut substeps = 0u64;
    for f in 1..=frames {
        let st = solver
            .step_frame()
            .with_context(|| format!("frame {f} (t = {:.3} s)", solver.time()))?;
        substeps += st.substeps as u64;
        write_frame(f, &solver)?;
        bar.set_message(format!(
            "{} substeps, max speed {:.2} m/s",
            st.substeps, st.max_speed
        ));
        bar.inc(1);
    }
    bar.finish();
    if let Some(r) = renderer {
        r.gif.finish()?;
        println!(
            "wrote {} rendered frames (frame_NNNN.png) and {}",
            frames + 1,
            a.out.join("anim.gif").display()
        );
    }
    println!(
        "wrote {} frames of {} particles to {} ({substeps} substeps)",
        frames + 1,
        set.len(),
        a.out.display()
    );
    Ok(())
}
