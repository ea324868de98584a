//! Camera helpers for rendering: resizing an image and framing an object.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use glam::Vec3;

use crate::scene::camera::{load_colmap_text, load_transforms_json};
use crate::scene::{Camera, Scene};

/// `camera` rendering a `width` x `height` image: the vertical field of view is kept (focal
/// lengths scale with the height, keeping the pixel aspect), the principal point keeps its
/// relative position. A missing size keeps the camera's aspect ratio.
pub fn resize(camera: &Camera, width: Option<u32>, height: Option<u32>) -> Result<Camera> {
    let (w0, h0) = (camera.width as f32, camera.height as f32);
    let (w, h) = match (width, height) {
        (None, None) => return Ok(*camera),
        (Some(w), Some(h)) => (w, h),
        (Some(w), None) => (w, ((w as f32 * h0 / w0).round() as u32).max(1)),
        (None, Some(h)) => (((h as f32 * w0 / h0).round() as u32).max(1), h),
    };
    if w == 0 || h == 0 {
        bail!("image size {w}x{h}: width and height must be positive");
    }
    let s = h as f32 / h0;
    Ok(Camera {
        fx: camera.fx * s,
        fy: camera.fy * s,
        cx: camera.cx / w0 * w as f32,
        cy: camera.cy / h0 * h as f32,
        width: w,
        height: h,
        ..*camera
    })
}

/// `camera` (same pose) rendering `width` x `height` with square pixels, focal length and
/// principal point chosen so that the projected bounding box of `points` is centred and fills
/// `fill` (e.g. 0.7) of the frame along its tighter dimension. Points behind the camera are
/// ignored; the extreme 0.5 % on each side are dropped so that stray floaters do not count.
pub fn frame_points(
    camera: &Camera,
    points: &[Vec3],
    width: u32,
    height: u32,
    fill: f32,
) -> Result<Camera> {
    if width == 0 || height == 0 {
        bail!("image size {width}x{height}: width and height must be positive");
    }
    let (mut us, mut vs): (Vec<f32>, Vec<f32>) = points
        .iter()
        .filter_map(|&p| {
            let q = camera.world_to_camera.transform_point3(p);
            (q.z > 1e-4).then(|| (q.x / q.z, q.y / q.z))
        })
        .unzip();
    if us.is_empty() {
        bail!("the object is entirely behind the camera");
    }
    us.sort_by(f32::total_cmp);
    vs.sort_by(f32::total_cmp);
    let cut = us.len() / 200;
    let (u0, u1) = (us[cut], us[us.len() - 1 - cut]);
    let (v0, v1) = (vs[cut], vs[vs.len() - 1 - cut]);
    let du = (u1 - u0).max(1e-6);
    let dv = (v1 - v0).max(1e-6);
    let f = (fill * width as f32 / du).min(fill * height as f32 / dv);
    Ok(Camera {
        fx: f,
        fy: f,
        cx: 0.5 * width as f32 - f * 0.5 * (u0 + u1),
        cy: 0.5 * height as f32 - f * 0.5 * (v0 + v1),
        width,
        height,
        ..*camera
    })
}

/// The camera `spec` names for `scene`: one of the scene's camera names (default: its first
/// camera), or a camera file in the object's file coordinates — a nerfstudio
/// `transforms.json` or a COLMAP text model folder — optionally followed by `#FRAME` to pick a
/// frame by name (default: the file's first). Errors name the camera or file and list what
/// exists.
pub fn pick_camera(scene: &Scene, spec: Option<&str>) -> Result<(String, Camera)> {
    let names = || {
        let v: Vec<&str> = scene.cameras.iter().map(|(n, _)| n.as_str()).collect();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let Some(spec) = spec else {
        return scene.cameras.first().cloned().ok_or_else(|| {
            anyhow!(
                "scene {} has no [[camera]]; add one or pass --camera with a camera file",
                scene.path.display()
            )
        });
    };
    if let Some(c) = scene.camera(spec) {
        return Ok((spec.to_string(), *c));
    }
    let (file, frame) = match spec.rsplit_once('#') {
        Some((f, n)) => (f, Some(n)),
        None => (spec, None),
    };
    let path = Path::new(file);
    let looks_like_file = path.exists() || file.ends_with(".json") || file.contains('/');
    if !looks_like_file {
        bail!(
            "camera {spec:?}: scene {} has no such camera (cameras: {}), and no file {spec:?} exists",
            scene.path.display(),
            names()
        );
    }
    let loaded = if path.is_dir() {
        load_colmap_text(path)
    } else {
        load_transforms_json(path)
    }
    .with_context(|| format!("camera file {}", path.display()))?;
    let picked = match frame {
        None => loaded.into_iter().next(),
        Some(n) => loaded.into_iter().find(|(name, _)| name == n),
    };
    let (name, cam) = picked.ok_or_else(|| match frame {
        Some(n) => anyhow!("camera file {} has no frame named {n:?}", path.display()),
        None => anyhow!("camera file {} holds no cameras", path.display()),
    })?;
    Ok((name, cam.transformed(&scene.transform)))
}
