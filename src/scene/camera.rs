//! Pinhole cameras: nerfstudio `transforms.json`, COLMAP text models, and look-at cameras.
//!
//! Convention (the one COLMAP and OpenCV use): the camera looks along its +z axis, +x is right
//! and +y is down in the image. A world point `p` maps to camera coordinates
//! `q = world_to_camera * p` and, when `q.z > 0`, to the pixel
//! `(fx * q.x / q.z + cx, fy * q.y / q.z + cy)`, where pixel `(0, 0)` is the top-left corner of
//! the image (the top-left pixel's centre is at `(0.5, 0.5)`). Lens distortion is ignored.
//! nerfstudio/Blender camera-to-world matrices (x right, y up, z backwards) are converted by
//! flipping their y and z axes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use glam::{Mat3, Mat4, Quat, Vec2, Vec3};
use serde_json::Value;

use super::transform::Similarity;

/// Errors of the camera readers; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The file could not be read.
    #[error("{}: I/O error: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Invalid JSON.
    #[error("{}: invalid JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A missing or bad field in `transforms.json`.
    #[error("{}: {field}: {reason}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// The field, e.g. `frames[3].fl_x`.
        field: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A malformed line in a COLMAP text file.
    #[error("{}: line {line} `{text}`: {reason}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line (at most 80 characters).
        text: String,
        /// Why it is wrong.
        reason: String,
    },
}

/// A pinhole camera: intrinsics in pixels and a world-to-camera pose (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// Focal length along x (pixels).
    pub fx: f32,
    /// Focal length along y (pixels).
    pub fy: f32,
    /// Principal point x (pixels from the left edge).
    pub cx: f32,
    /// Principal point y (pixels from the top edge).
    pub cy: f32,
    /// Image width (pixels).
    pub width: u32,
    /// Image height (pixels).
    pub height: u32,
    /// Rigid world-to-camera transform (x right, y down, z forward).
    pub world_to_camera: Mat4,
}

impl Camera {
    /// A camera at `eye` looking at `target`, `up` roughly up in the image, vertical field of
    /// view `fov_y_deg`, square pixels and the principal point at the image centre.
    pub fn look_at(
        eye: Vec3,
        target: Vec3,
        up: Vec3,
        fov_y_deg: f32,
        width: u32,
        height: u32,
    ) -> Result<Camera, String> {
        let fwd = (target - eye).normalize_or_zero();
        let right = fwd.cross(up).normalize_or_zero();
        if fwd == Vec3::ZERO || right == Vec3::ZERO || !eye.is_finite() || !target.is_finite() {
            return Err(
                "eye and target must differ and `up` must not be parallel to the view direction"
                    .into(),
            );
        }
        if !(fov_y_deg > 0.0 && fov_y_deg < 180.0) {
            return Err(format!("fov_y_deg = {fov_y_deg} must be in (0, 180)"));
        }
        if width == 0 || height == 0 {
            return Err("width and height must be positive".into());
        }
        let down = fwd.cross(right);
        let rot = Mat3::from_cols(right, down, fwd).transpose();
        let fy = 0.5 * height as f32 / (0.5 * fov_y_deg.to_radians()).tan();
        Ok(Camera {
            fx: fy,
            fy,
            cx: 0.5 * width as f32,
            cy: 0.5 * height as f32,
            width,
            height,
            world_to_camera: pose(rot, -(rot * eye)),
        })
    }

    /// Camera-to-world transform.
    pub fn camera_to_world(&self) -> Mat4 {
        self.world_to_camera.inverse()
    }

    /// Camera centre in world coordinates.
    pub fn centre(&self) -> Vec3 {
        self.camera_to_world().w_axis.truncate()
    }

    /// Pixel of world point `p`, or `None` behind the camera.
    pub fn project(&self, p: Vec3) -> Option<Vec2> {
        let q = self.world_to_camera.transform_point3(p);
        (q.z > 0.0).then(|| Vec2::new(self.fx * q.x / q.z + self.cx, self.fy * q.y / q.z + self.cy))
    }

    /// The same camera after the world is mapped by `s` (it sees the mapped scene exactly as it
    /// saw the original: translation scales with the world, intrinsics stay).
    pub fn transformed(&self, s: &Similarity) -> Camera {
        let rc = Mat3::from_mat4(self.world_to_camera);
        let tc = self.world_to_camera.w_axis.truncate();
        let rr = rc * s.rotation_matrix().transpose();
        Camera {
            world_to_camera: pose(rr, tc * s.scale - rr * s.translation),
            ..*self
        }
    }
}

fn pose(r: Mat3, t: Vec3) -> Mat4 {
    Mat4::from_cols(
        r.x_axis.extend(0.0),
        r.y_axis.extend(0.0),
        r.z_axis.extend(0.0),
        t.extend(1.0),
    )
}

/// Loads every frame of a nerfstudio/instant-ngp/Blender `transforms.json`, named by its
/// `file_path`. Intrinsics (`fl_x`, `fl_y`, `cx`, `cy`, `w`, `h`, or `camera_angle_x`) may be
/// global or per frame.
pub fn load_transforms_json(path: &Path) -> Result<Vec<(String, Camera)>, CameraError> {
    let text = std::fs::read_to_string(path).map_err(|source| CameraError::Io {
        path: path.into(),
        source,
    })?;
    let root: Value = serde_json::from_str(&text).map_err(|e| CameraError::Json {
        path: path.into(),
        message: e.to_string(),
    })?;
    let field = |field: String, reason: &str| CameraError::Field {
        path: path.into(),
        field,
        reason: reason.into(),
    };
    let frames = root
        .get("frames")
        .and_then(Value::as_array)
        .ok_or_else(|| field("frames".into(), "missing or not an array"))?;
    let mut out = Vec::with_capacity(frames.len());
    for (i, fr) in frames.iter().enumerate() {
        let at = |k: &str| format!("frames[{i}].{k}");
        let num = |k: &str| -> Result<Option<f64>, CameraError> {
            match fr.get(k).or_else(|| root.get(k)) {
                None => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(x) if x.is_finite() => Ok(Some(x)),
                    _ => Err(field(at(k), "is not a finite number")),
                },
            }
        };
        let (w, h) = (num("w")?, num("h")?);
        let w = w.ok_or_else(|| field(at("w"), "missing (image width)"))?;
        let h = h.ok_or_else(|| field(at("h"), "missing (image height)"))?;
        if !(w >= 1.0 && h >= 1.0 && w <= 1e6 && h <= 1e6) {
            return Err(field(
                at("w"),
                "image size must be between 1 and 1e6 pixels",
            ));
        }
        let fx = match (num("fl_x")?, num("camera_angle_x")?) {
            (Some(f), _) => f,
            (None, Some(a)) if a > 0.0 && a < std::f64::consts::PI => 0.5 * w / (0.5 * a).tan(),
            (None, Some(_)) => return Err(field(at("camera_angle_x"), "must be in (0, pi)")),
            (None, None) => return Err(field(at("fl_x"), "missing (or camera_angle_x)")),
        };
        let fy = match (num("fl_y")?, num("camera_angle_y")?) {
            (Some(f), _) => f,
            (None, Some(a)) if a > 0.0 && a < std::f64::consts::PI => 0.5 * h / (0.5 * a).tan(),
            _ => fx,
        };
        if !(fx > 0.0 && fy > 0.0) {
            return Err(field(at("fl_x"), "focal lengths must be positive"));
        }
        let cx = num("cx")?.unwrap_or(0.5 * w);
        let cy = num("cy")?.unwrap_or(0.5 * h);
        let m = fr
            .get("transform_matrix")
            .ok_or_else(|| field(at("transform_matrix"), "missing"))?;
        let rows: Vec<Vec<f64>> = m
            .as_array()
            .filter(|r| r.len() == 4 || r.len() == 3)
            .and_then(|r| {
                r.iter()
                    .map(|row| {
                        row.as_array()
                            .filter(|c| c.len() == 4)?
                            .iter()
                            .map(Value::as_f64)
                            .collect()
                    })
                    .collect()
            })
            .ok_or_else(|| {
                field(
                    at("transform_matrix"),
                    "must be a 4x4 (or 3x4) array of numbers",
                )
            })?;
        let col = |c: usize| Vec3::new(rows[0][c] as f32, rows[1][c] as f32, rows[2][c] as f32);
        // OpenGL (x right, y up, z back) -> OpenCV (x right, y down, z forward).
        let rot = Mat3::from_cols(col(0), -col(1), -col(2));
        let centre = col(3);
        if !is_rotation(rot) || !centre.is_finite() {
            return Err(field(
                at("transform_matrix"),
                "is not a rigid (rotation + translation) transform",
            ));
        }
        let name = fr
            .get("file_path")
            .and_then(Value::as_str)
            .map_or_else(|| format!("frame_{i}"), str::to_string);
        let w2c_rot = rot.transpose();
        let cam = Camera {
            fx: fx as f32,
            fy: fy as f32,
            cx: cx as f32,
            cy: cy as f32,
            width: w.round() as u32,
            height: h.round() as u32,
            world_to_camera: pose(w2c_rot, -(w2c_rot * centre)),
        };
        out.push((name, cam));
    }
    Ok(out)
}

fn is_rotation(r: Mat3) -> bool {
    r.is_finite()
        && (r.transpose() * r - Mat3::IDENTITY)
            .to_cols_array()
            .iter()
            .all(|v| v.abs() < 1e-3)
        && (r.determinant() - 1.0).abs() < 1e-3
}

/// Loads a COLMAP text model (`cameras.txt` and `images.txt` in `dir`); cameras are named by
/// the image `NAME`. Pinhole and radial models are accepted (distortion is ignored).
pub fn load_colmap_text(dir: &Path) -> Result<Vec<(String, Camera)>, CameraError> {
    let cam_path = dir.join("cameras.txt");
    let img_path = dir.join("images.txt");
    if !cam_path.exists() && dir.join("cameras.bin").exists() {
        return Err(CameraError::Io {
            path: cam_path,
            source: std::io::Error::other("only a binary COLMAP model is there; convert it with `colmap model_converter --output_type TXT`"),
        });
    }
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|source| CameraError::Io {
            path: p.into(),
            source,
        })
    };
    let cams_text = read(&cam_path)?;
    let mut intrinsics: HashMap<u64, (f32, f32, f32, f32, u32, u32)> = HashMap::new();
    for (no, line) in cams_text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let err = |reason: String| CameraError::Line {
            path: cam_path.clone(),
            line: no + 1,
            text: t.chars().take(80).collect(),
            reason,
        };
        let w: Vec<&str> = t.split_whitespace().collect();
        if w.len() < 4 {
            return Err(err(
                "expected `CAMERA_ID MODEL WIDTH HEIGHT PARAMS...`".into()
            ));
        }
        let id: u64 = w[0]
            .parse()
            .map_err(|_| err(format!("camera id `{}` is not an integer", w[0])))?;
        let dim = |s: &str| {
            s.parse::<u32>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| err(format!("image size `{s}` is not a positive integer")))
        };
        let (width, height) = (dim(w[2])?, dim(w[3])?);
        let p: Vec<f32> = w[4..]
            .iter()
            .map(|s| s.parse::<f32>().ok().filter(|v| v.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| err("a parameter is not a finite number".into()))?;
        let (n, fx, fy, cx, cy) = match w[1] {
            "SIMPLE_PINHOLE" => (3, 0, 0, 1, 2),
            "PINHOLE" => (4, 0, 1, 2, 3),
            "SIMPLE_RADIAL" => (4, 0, 0, 1, 2),
            "RADIAL" => (5, 0, 0, 1, 2),
            "OPENCV" => (8, 0, 1, 2, 3),
            "FULL_OPENCV" => (12, 0, 1, 2, 3),
            m => {
                return Err(err(format!(
                    "camera model `{m}` is not supported (use a pinhole or radial model)"
                )))
            }
        };
        if p.len() != n {
            return Err(err(format!(
                "model {} takes {n} parameters, found {}",
                w[1],
                p.len()
            )));
        }
        if !(p[fx] > 0.0 && p[fy] > 0.0) {
            return Err(err("focal lengths must be positive".into()));
        }
        intrinsics.insert(id, (p[fx], p[fy], p[cx], p[cy], width, height));
    }
    let imgs_text = read(&img_path)?;
    let mut out = Vec::new();
    let mut lines = imgs_text.lines().enumerate();
    while let Some((no, line)) = lines.next() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let err = |reason: String| CameraError::Line {
            path: img_path.clone(),
            line: no + 1,
            text: t.chars().take(80).collect(),
            reason,
        };
        let w: Vec<&str> = t.split_whitespace().collect();
        if w.len() < 10 {
            return Err(err(
                "expected `IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`".into(),
            ));
        }
        let v: Vec<f32> = w[1..8]
            .iter()
            .map(|s| s.parse::<f32>().ok().filter(|v| v.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| err("a pose value is not a finite number".into()))?;
        let q = Quat::from_xyzw(v[1], v[2], v[3], v[0]);
        if q.length() < 1e-6 {
            return Err(err("the rotation quaternion is zero".into()));
        }
        let cam_id: u64 = w[8]
            .parse()
            .map_err(|_| err(format!("camera id `{}` is not an integer", w[8])))?;
        let &(fx, fy, cx, cy, width, height) = intrinsics
            .get(&cam_id)
            .ok_or_else(|| err(format!("camera id {cam_id} is not in cameras.txt")))?;
        let rot = Mat3::from_quat(q.normalize());
        let cam = Camera {
            fx,
            fy,
            cx,
            cy,
            width,
            height,
            world_to_camera: pose(rot, Vec3::new(v[4], v[5], v[6])),
        };
        out.push((w[9..].join(" "), cam));
        lines.next(); // the POINTS2D line, possibly empty
    }
    Ok(out)
}
