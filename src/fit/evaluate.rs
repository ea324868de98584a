//! One evaluation of the fitting objective: simulate the clip from the current material and
//! initial velocity, render each frame of the window, compare it with the video, and carry
//! the image-loss gradient back through the renderer, the attachment and the simulation.

use crate::gpu::GpuContext;
use crate::loss::ImageLoss;
use crate::particles::ParticleSet;
use crate::render::differentiable::{
    backward as render_backward, render_float, ForwardTape, SplatBackward, SplatGradients,
};
use crate::render::{RenderOptions, SplatCloud};
use crate::scene::{Camera, Scene};
use crate::solver::adjoint::Gradients;
use crate::solver::{GpuParticle, Snapshot, Solver};
use crate::video::{RgbFrame, Video};
use anyhow::{anyhow, bail, Context, Result};
use glam::{Mat3, Vec3};
use rayon::prelude::*;

/// What one evaluation found.
pub struct Evaluation {
    /// Mean loss over the frames of the window.
    pub loss: f64,
    /// Mean PSNR (dB) over the frames of the window.
    pub psnr: f64,
    /// Gradients of the mean loss (material and initial state).
    pub grads: Gradients,
    /// The rendered frames 1 ..= window.
    pub frames: Vec<RgbFrame<f32>>,
}

/// One frame's loss (scaled by 1 / window), PSNR, image and position adjoints.
type FrameResult = (f64, f64, RgbFrame<f32>, Vec<Vec3>);

/// The particles at rest shape (C = 0, F = I) with initial velocities `velocity`; anchored
/// particles stay at rest.
pub fn rest_state(set: &ParticleSet, velocity: &[Vec3]) -> Vec<GpuParticle> {
    (0..set.len())
        .map(|i| {
            let v = if set.anchored[i] {
                Vec3::ZERO
            } else {
                velocity[i]
            };
            GpuParticle::new(set.position[i], v, Mat3::ZERO, Mat3::IDENTITY)
        })
        .collect()
}

/// Where the renderer's backward pass runs while fitting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RenderBackward {
    /// On the GPU (`shaders/splat_backward.wgsl`) when the adapter is a hardware one, on the
    /// CPU when it is a software rasteriser (lavapipe), where the CPU pass is faster.
    #[default]
    Auto,
    Gpu,
    Cpu,
}

/// What stays fixed while fitting.
pub struct Problem<'a> {
    pub scene: &'a Scene,
    pub camera: Camera,
    pub video: &'a Video,
    pub background: [f32; 3],
    /// The solver's state at time 0 (rest shape, zero velocity).
    pub start: Snapshot,
    /// The GPU backward pass of the renderer, when it is used (else the CPU pass).
    gpu_backward: Option<(GpuContext, SplatBackward)>,
}

impl<'a> Problem<'a> {
    /// The problem of fitting `scene` to `video` seen from `camera`, on the renderer's default
    /// background, starting from `solver`'s current state (the rest shape).
    pub fn new(scene: &'a Scene, camera: Camera, video: &'a Video, solver: &Solver) -> Self {
        Problem {
            scene,
            camera,
            video,
            background: RenderOptions::default().background,
            start: solver.snapshot(),
            gpu_backward: None,
        }
    }

    /// Runs the renderer's backward pass where `choice` says (the CPU pass by default), on
    /// `solver`'s GPU.
    pub fn with_render_backward(mut self, choice: RenderBackward, solver: &Solver) -> Result<Self> {
        let ctx = solver.context();
        let gpu = match choice {
            RenderBackward::Gpu => true,
            RenderBackward::Cpu => false,
            RenderBackward::Auto => ctx.info.device_type != wgpu::DeviceType::Cpu,
        };
        log::info!(
            "renderer backward pass on the {} ({})",
            if gpu { "GPU" } else { "CPU" },
            ctx.describe()
        );
        self.gpu_backward = match gpu {
            true => Some((ctx.clone(), SplatBackward::new(ctx)?)),
            false => None,
        };
        Ok(self)
    }

    /// Whether the renderer's backward pass runs on the GPU.
    pub fn render_backward_on_gpu(&self) -> bool {
        self.gpu_backward.is_some()
    }

    fn render_gradients(
        &self,
        cloud: &SplatCloud,
        tape: &ForwardTape,
        d_image: &RgbFrame<f64>,
    ) -> Result<SplatGradients> {
        let (cam, bg) = (&self.camera, self.background);
        match &self.gpu_backward {
            Some((ctx, pass)) => Ok(pass.run(ctx, cloud, cam, bg, tape, d_image)?.gradients),
            None => render_backward(cloud, cam, bg, tape, d_image),
        }
    }

    /// Sets the initial velocities (`velocity[p]`; anchored particles stay at rest) on top of
    /// the rest state.
    pub fn reset(&self, solver: &mut Solver, velocity: &[Vec3]) -> Result<()> {
        solver.restore(&self.start);
        solver.set_state(&rest_state(&self.scene.particles, velocity))
    }

    /// Runs the clip of `window` frames with `young` and `velocity`, and the loss of frames
    /// 1 ..= window against the video with its gradient; `want_grad` false skips the backward
    /// pass (the gradients are then empty).
    pub fn evaluate(
        &self,
        solver: &mut Solver,
        young: &[f32],
        velocity: &[Vec3],
        window: usize,
        loss: &ImageLoss,
        want_grad: bool,
    ) -> Result<Evaluation> {
        let t0 = std::time::Instant::now();
        solver.set_young(young)?;
        self.reset(solver, velocity)?;
        let clip = solver.record_clip(window).context("simulating the clip")?;
        let t_forward = t0.elapsed().as_secs_f64();
        let att = self
            .scene
            .splat_attachment
            .as_ref()
            .ok_or_else(|| anyhow!("scene {} has no Gaussians", self.scene.path.display()))?;
        let per_frame: Vec<Result<FrameResult>> = (1..=window)
            .into_par_iter()
            .map(|k| {
                let cloud = SplatCloud::from_scene(self.scene, &clip.positions[k], None)?;
                let (image, tape) = render_float(&cloud, &self.camera, self.background)?;
                let mask = self.video.masks.as_ref().map(|m| &m[k]);
                let target = &self.video.frames[k];
                let scale = 1.0 / window as f64;
                if !want_grad {
                    let v = loss.evaluate(&image, target, mask)?;
                    return Ok((v.loss * scale, v.psnr, image, Vec::new()));
                }
                let (v, mut d_image) = loss.gradient(&image, target, mask)?;
                d_image.rgb.iter_mut().flatten().for_each(|g| *g *= scale);
                let g = self.render_gradients(&cloud, &tape, &d_image)?;
                if let Some(i) = g.mean.iter().position(|v| !v.is_finite()) {
                    bail!("frame {k}: the image gradient of Gaussian {i}'s centre is NaN/inf");
                }
                let d_particles = att.position_adjoint(&g.mean).map_err(anyhow::Error::msg)?;
                Ok((v.loss * scale, v.psnr, image, d_particles))
            })
            .collect();
        let mut adjoints = vec![Vec::new()];
        let (mut total, mut psnr, mut frames) = (0.0, 0.0, Vec::with_capacity(window));
        for r in per_frame {
            let (l, p, image, d) = r?;
            total += l;
            psnr += p.min(99.0) / window as f64;
            frames.push(image);
            adjoints.push(d);
        }
        let t_images = t0.elapsed().as_secs_f64() - t_forward;
        let grads = if want_grad {
            solver.backward(&clip, &adjoints)?
        } else {
            Gradients::default()
        };
        log::debug!(
            "evaluation of {window} frames ({} substeps): simulation {t_forward:.2} s, \
             rendering and loss{} {t_images:.2} s, simulation backward {:.2} s",
            clip.substeps().iter().sum::<u32>(),
            if want_grad { " with gradients" } else { "" },
            t0.elapsed().as_secs_f64() - t_forward - t_images
        );
        Ok(Evaluation {
            loss: total,
            psnr,
            grads,
            frames,
        })
    }
}
