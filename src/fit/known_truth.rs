//! Known-truth videos for measuring the fit: simulate a scene with a chosen E field and
//! initial velocity, render every frame from the conditioning camera and write the frames as
//! PNG, exactly as a generated video would arrive. The fit is then scored against the truth.

use super::evaluate::rest_state;
use super::output::frame_image;
use crate::render::differentiable::render_float;
use crate::render::{RenderOptions, SplatCloud};
use crate::scene::{Camera, Scene};
use crate::solver::Solver;
use anyhow::{Context, Result};
use glam::Vec3;
use std::path::Path;

/// The truth a video was made with.
pub struct Truth {
    /// E per particle (Pa).
    pub young: Vec<f32>,
    /// Initial velocity per particle (zero for anchored ones).
    pub velocity: Vec<Vec3>,
}

impl Truth {
    /// E and v₀ from functions of the rest position.
    pub fn new(
        scene: &Scene,
        young: impl Fn(Vec3) -> f32,
        velocity: impl Fn(Vec3) -> Vec3,
    ) -> Self {
        let set = &scene.particles;
        Truth {
            young: set.position.iter().map(|&p| young(p)).collect(),
            velocity: (0..set.len())
                .map(|i| {
                    if set.anchored[i] {
                        Vec3::ZERO
                    } else {
                        velocity(set.position[i])
                    }
                })
                .collect(),
        }
    }
}

/// Simulates `frames` frames of `solver` (built on `scene`, frame_dt = 1 / fps) from the truth
/// and writes frames 0 ..= frames as `dir/frame_NNNN.png`, seen by `camera`.
pub fn write_video(
    solver: &mut Solver,
    scene: &Scene,
    truth: &Truth,
    camera: &Camera,
    frames: usize,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    solver.set_young(&truth.young)?;
    solver.set_state(&rest_state(&scene.particles, &truth.velocity))?;
    let bg = RenderOptions::default().background;
    for k in 0..=frames {
        if k > 0 {
            solver.step_frame()?;
        }
        let cloud = SplatCloud::from_scene(scene, &solver.positions()?, None)?;
        let (image, _) = render_float(&cloud, camera, bg)?;
        frame_image(&image).save_png(&dir.join(format!("frame_{k:04}.png")))?;
    }
    Ok(())
}

/// Mean |Δ log₁₀ E| over the particles that are not anchored (an anchored particle's E is
/// not observable: it never moves), and the difference of their median log₁₀ E.
pub fn score(fitted: &[f32], truth: &[f32], anchored: &[bool]) -> (f64, f64) {
    let moving = |v: &[f32]| -> Vec<f64> {
        v.iter()
            .zip(anchored)
            .filter(|(_, &a)| !a)
            .map(|(&e, _)| (e as f64).log10())
            .collect()
    };
    let (f, t) = (moving(fitted), moving(truth));
    let mean_abs =
        f.iter().zip(&t).map(|(a, b)| (a - b).abs()).sum::<f64>() / f.len().max(1) as f64;
    (mean_abs, super::median(&f) - super::median(&t))
}
