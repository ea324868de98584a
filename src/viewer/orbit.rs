//! The viewer's orbit camera: yaw and pitch about a target, distance, vertical field of view.

use glam::{Mat4, Vec2, Vec3};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Orbit {
    pub target: Vec3,
    pub yaw: f32,
    pub pitch: f32,
    pub distance: f32,
    pub fov_y: f32,
}

impl Default for Orbit {
    fn default() -> Self {
        Orbit {
            target: Vec3::new(0.5, 0.35, 0.5),
            yaw: 0.6,
            pitch: 0.35,
            distance: 1.4,
            fov_y: 40f32.to_radians(),
        }
    }
}

impl Orbit {
    /// Looks at the centre of the box `lo..hi` from a distance that frames it.
    pub fn framing(lo: Vec3, hi: Vec3) -> Self {
        let radius = ((hi - lo).length() * 0.5).max(1e-3);
        let o = Orbit::default();
        Orbit {
            target: (lo + hi) * 0.5,
            distance: radius / (o.fov_y * 0.5).tan() * 1.1,
            ..o
        }
    }

    pub fn eye(&self) -> Vec3 {
        let dir = Vec3::new(
            self.pitch.cos() * self.yaw.sin(),
            self.pitch.sin(),
            self.pitch.cos() * self.yaw.cos(),
        );
        self.target + dir * self.distance
    }

    pub fn view(&self) -> Mat4 {
        Mat4::look_at_rh(self.eye(), self.target, Vec3::Y)
    }

    pub fn proj(&self, aspect: f32) -> Mat4 {
        Mat4::perspective_rh(
            self.fov_y,
            aspect.max(1e-3),
            self.distance * 0.01,
            self.distance * 10.0,
        )
    }

    /// Camera right and up in world space.
    pub fn basis(&self) -> (Vec3, Vec3) {
        let v = self.view();
        (
            Vec3::new(v.x_axis.x, v.y_axis.x, v.z_axis.x),
            Vec3::new(v.x_axis.y, v.y_axis.y, v.z_axis.y),
        )
    }

    /// The world-space ray (origin, unit direction) through pixel `p` of a `size` viewport.
    pub fn ray(&self, p: Vec2, size: Vec2) -> (Vec3, Vec3) {
        let ndc = Vec2::new(2.0 * p.x / size.x - 1.0, 1.0 - 2.0 * p.y / size.y);
        let inv = (self.proj(size.x / size.y) * self.view()).inverse();
        let near = inv.project_point3(ndc.extend(0.0));
        let far = inv.project_point3(ndc.extend(1.0));
        (near, (far - near).normalize())
    }

    pub fn rotate(&mut self, delta: Vec2) {
        self.yaw -= delta.x * 0.008;
        self.pitch = (self.pitch + delta.y * 0.008).clamp(-1.5, 1.5);
    }

    pub fn pan(&mut self, delta: Vec2, height: f32) {
        let (right, up) = self.basis();
        let scale = 2.0 * self.distance * (self.fov_y * 0.5).tan() / height.max(1.0);
        self.target += (-delta.x * right + delta.y * up) * scale;
    }

    pub fn zoom(&mut self, steps: f32) {
        self.distance = (self.distance * 0.9f32.powf(steps)).clamp(0.05, 20.0);
    }
}

/// The particle closest to the ray's origin among those within `radius` of the ray.
pub fn pick(positions: &[Vec3], origin: Vec3, dir: Vec3, radius: f32) -> Option<(usize, Vec3)> {
    let mut best: Option<(usize, f32)> = None;
    for (i, p) in positions.iter().enumerate() {
        let t = (*p - origin).dot(dir);
        if t <= 0.0 {
            continue;
        }
        let d2 = (*p - origin - dir * t).length_squared();
        if d2 <= radius * radius && best.is_none_or(|(_, bt)| t < bt) {
            best = Some((i, t));
        }
    }
    best.map(|(i, _)| (i, positions[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ray_through_the_centre_hits_the_target_and_picks_the_nearest() {
        let o = Orbit {
            yaw: 0.7,
            pitch: 0.3,
            ..Orbit::default()
        };
        let size = Vec2::new(800.0, 600.0);
        let (origin, dir) = o.ray(size * 0.5, size);
        let to_target = (o.target - origin).normalize();
        assert!(
            dir.dot(to_target) > 0.99999,
            "centre ray misses the target: {dir} vs {to_target}"
        );
        // two particles on the ray: the nearer one is picked; one off the ray is ignored
        let near = o.target + (o.eye() - o.target) * 0.25;
        let pts = [o.target, near, o.target + Vec3::new(0.3, 0.0, 0.0)];
        assert_eq!(pick(&pts, origin, dir, 0.01).map(|(i, _)| i), Some(1));
        assert_eq!(pick(&pts[2..], origin, dir, 0.01), None);
        // a pixel to the right of the centre looks to the camera's right
        let (_, d2) = o.ray(Vec2::new(700.0, 300.0), size);
        assert!(d2.dot(o.basis().0) > 0.0);
    }

    #[test]
    fn orbit_pan_and_zoom_stay_in_range() {
        let mut o = Orbit::default();
        o.rotate(Vec2::new(0.0, 1e6));
        assert!(o.pitch <= 1.5);
        o.zoom(1e4);
        assert!(o.distance >= 0.05);
        let t = o.target;
        o.pan(Vec2::new(10.0, 0.0), 600.0);
        assert!(
            (o.target - t).dot(o.basis().0) < 0.0,
            "dragging right moves the scene right"
        );
    }
}
