//! `physdreamer prepare`: the conditioning image for an external image-to-video generator.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::gpu::GpuContext;
use crate::render::framing::{frame_points, pick_camera};
use crate::render::{RenderOptions, Renderer, SplatCloud};
use crate::scene::{Camera, Scene};

/// Fraction of the frame the object's projected bounding box fills.
pub const FILL: f32 = 0.7;

#[derive(Args, Debug)]
pub struct PrepareArgs {
    /// Scene file (TOML).
    pub scene: PathBuf,
    /// Camera whose pose is used: a camera name from the scene (default: its first camera),
    /// or a transforms.json / COLMAP text folder (object file coordinates), optionally
    /// FILE#FRAME.
    #[arg(long)]
    pub camera: Option<String>,
    /// Output PNG (default: out/prepare/SCENE_CAMERA.png).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Image width (default 1024, what Stable Video Diffusion wants).
    #[arg(long, default_value_t = 1024)]
    pub width: u32,
    /// Image height (default 576).
    #[arg(long, default_value_t = 576)]
    pub height: u32,
}

/// The camera of the conditioning image (and so of a video generated from it): the pose of
/// camera `spec`, with focal length and principal point replaced (square pixels) so that the
/// projected bounding box of the Gaussians (opacity ≥ 0.1) fills about 70 % of a `width` ×
/// `height` frame along its tighter dimension.
pub fn conditioning_camera(
    scene: &Scene,
    spec: Option<&str>,
    width: u32,
    height: u32,
) -> Result<(String, Camera)> {
    let Some(splats) = &scene.splats else {
        bail!(
            "scene {} has no Gaussian splats to render",
            scene.path.display()
        );
    };
    let (name, cam) = pick_camera(scene, spec)?;
    // Centres of the Gaussians that matter (nearly transparent ones are ignored).
    let mut pts: Vec<glam::Vec3> = (0..splats.len())
        .filter(|&i| splats.alpha(i) >= 0.1)
        .map(|i| splats.position[i])
        .collect();
    if pts.is_empty() {
        pts = splats.position.clone();
    }
    let camera = frame_points(&cam, &pts, width, height, FILL)
        .with_context(|| format!("framing the object for camera {name:?}"))?;
    Ok((name, camera))
}

/// Renders the scene's object at rest from the camera's pose, centred and close: the focal
/// length and principal point are replaced (square pixels) so that the projected bounding box
/// of the Gaussians fills about 70 % of the frame along its tighter dimension.
pub fn run(ctx: &GpuContext, a: PrepareArgs) -> Result<()> {
    let scene =
        Scene::load(&a.scene).with_context(|| format!("loading scene {}", a.scene.display()))?;
    let (name, camera) = conditioning_camera(&scene, a.camera.as_deref(), a.width, a.height)?;
    let splats = scene
        .splats
        .as_ref()
        .expect("checked by conditioning_camera");
    let cloud = SplatCloud::new(splats, None)?;
    let img = Renderer::new(ctx)?.render(&cloud, &camera, &RenderOptions::default())?;
    let out = a.out.clone().unwrap_or_else(|| {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        PathBuf::from(format!("out/prepare/{}_{safe}.png", scene.name))
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    img.save_png(&out)?;
    println!(
        "wrote {} ({}x{}, camera {name:?} with fx = fy = {:.1}, cx = {:.1}, cy = {:.1})",
        out.display(),
        camera.width,
        camera.height,
        camera.fx,
        camera.cx,
        camera.cy
    );
    Ok(())
}
