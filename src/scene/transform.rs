//! Similarity transforms (uniform scale, rotation, translation) and up-axis conventions.
//!
//! A scene maps its object file into the simulation domain with one [`Similarity`]:
//! `domain = scale * rotation * object + translation`.

use glam::{Mat3, Quat, Vec3};

/// `x -> scale * rotation * x + translation`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Similarity {
    /// Uniform scale factor (> 0).
    pub scale: f32,
    /// Unit rotation.
    pub rotation: Quat,
    /// Translation applied after scaling and rotating.
    pub translation: Vec3,
}

impl Default for Similarity {
    fn default() -> Self {
        Similarity::IDENTITY
    }
}

impl Similarity {
    /// The identity map.
    pub const IDENTITY: Similarity = Similarity {
        scale: 1.0,
        rotation: Quat::IDENTITY,
        translation: Vec3::ZERO,
    };

    /// Maps a point.
    pub fn apply(&self, p: Vec3) -> Vec3 {
        self.rotation * (p * self.scale) + self.translation
    }

    /// Maps a direction or offset (rotation and scale, no translation).
    pub fn apply_vector(&self, v: Vec3) -> Vec3 {
        self.rotation * (v * self.scale)
    }

    /// Maps a point back: the inverse of [`Similarity::apply`].
    pub fn invert(&self, p: Vec3) -> Vec3 {
        (self.rotation.conjugate() * (p - self.translation)) / self.scale
    }

    /// `other` applied after `self`.
    pub fn then(&self, other: &Similarity) -> Similarity {
        Similarity {
            scale: self.scale * other.scale,
            rotation: (other.rotation * self.rotation).normalize(),
            translation: other.apply(self.translation),
        }
    }

    /// The rotation as a matrix.
    pub fn rotation_matrix(&self) -> Mat3 {
        Mat3::from_quat(self.rotation)
    }
}

/// Which axis of an object file points up; the scene rotates it onto +y.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UpAxis {
    /// +x is up.
    PosX,
    /// -x is up.
    NegX,
    #[default]
    /// +y is up.
    PosY,
    /// -y is up.
    NegY,
    /// +z is up.
    PosZ,
    /// -z is up.
    NegZ,
}

impl UpAxis {
    /// Parses `x`, `-x`, `y`, `-y`, `z`, `-z` (a leading `+` is allowed).
    pub fn parse(s: &str) -> Option<UpAxis> {
        Some(match s.trim().trim_start_matches('+') {
            "x" | "X" => UpAxis::PosX,
            "-x" | "-X" => UpAxis::NegX,
            "y" | "Y" => UpAxis::PosY,
            "-y" | "-Y" => UpAxis::NegY,
            "z" | "Z" => UpAxis::PosZ,
            "-z" | "-Z" => UpAxis::NegZ,
            _ => return None,
        })
    }

    /// The proper rotation taking this axis to +y (z-up: `(x, y, z) -> (x, z, -y)`).
    pub fn to_y_up(self) -> Quat {
        use std::f32::consts::{FRAC_PI_2, PI};
        match self {
            UpAxis::PosY => Quat::IDENTITY,
            UpAxis::NegY => Quat::from_rotation_x(PI),
            UpAxis::PosZ => Quat::from_rotation_x(-FRAC_PI_2),
            UpAxis::NegZ => Quat::from_rotation_x(FRAC_PI_2),
            UpAxis::PosX => Quat::from_rotation_z(FRAC_PI_2),
            UpAxis::NegX => Quat::from_rotation_z(-FRAC_PI_2),
        }
    }
}

/// Rotation from Euler angles in degrees, applied about x, then y, then z (fixed axes).
pub fn euler_xyz_deg(deg: [f32; 3]) -> Quat {
    let [x, y, z] = deg.map(f32::to_radians);
    (Quat::from_rotation_z(z) * Quat::from_rotation_y(y) * Quat::from_rotation_x(x)).normalize()
}

/// Axis-aligned bounds of `points` (`None` when empty).
pub fn bounds(points: impl IntoIterator<Item = Vec3>) -> Option<(Vec3, Vec3)> {
    points.into_iter().fold(None, |acc, p| match acc {
        None => Some((p, p)),
        Some((lo, hi)) => Some((lo.min(p), hi.max(p))),
    })
}

/// The similarity that scales the box `[lo, hi]` uniformly to fit inside `[box_min, box_max]`
/// and centres it there; with `bottom`, it rests on the box floor (`y = box_min.y`) instead of
/// being centred vertically.
pub fn fit_into_box(lo: Vec3, hi: Vec3, box_min: Vec3, box_max: Vec3, bottom: bool) -> Similarity {
    let ext = (hi - lo).max(Vec3::splat(1e-12));
    let room = box_max - box_min;
    let scale = (room / ext).min_element();
    let centre_obj = (lo + hi) * 0.5;
    let mut target = (box_min + box_max) * 0.5;
    if bottom {
        target.y = box_min.y + 0.5 * ext.y * scale;
    }
    Similarity {
        scale,
        rotation: Quat::IDENTITY,
        translation: target - centre_obj * scale,
    }
}
