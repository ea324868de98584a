//! One frame of the viewer: scripted input, a budgeted simulation step, screenshots, drawing
//! the scene and the egui panel, and presenting.

use super::*;

impl State {
    pub(super) fn redraw(&mut self, event_loop: &ActiveEventLoop) -> Result<()> {
        let started = Instant::now();
        self.frame += 1;
        let size = self.size();
        let pokes: Vec<Vec2> = self.scripted_pokes();
        for f in pokes {
            let hit = self.poke_at(f * size)?;
            eprintln!(
                "frame {}: scripted poke at pixel {:?}: {}",
                self.frame,
                f * size,
                if hit { "hit" } else { "missed the object" }
            );
        }
        if self.settings.reset {
            self.settings.reset = false;
            self.sim.reset(&self.ctx)?;
            self.apply()?;
        }
        let sim_start = Instant::now();
        if let Some(i) = self.settings.preset.take() {
            if let Some((name, p)) = self.sim.presets.get(i).cloned() {
                self.sim.poke(p.centre, p.force, p.radius, p.duration);
                self.stats.status = format!("poke preset {name}");
            }
        }
        if self.settings.playing || self.settings.step_once {
            self.settings.step_once = false;
            let budget = self.script.fixed_substeps.unwrap_or_else(|| {
                (self.settings.sim_ms / self.ms_per_substep.max(0.01))
                    .floor()
                    .max(1.0) as u32
            });
            let st = self.sim.step(budget)?;
            let ms = sim_start.elapsed().as_secs_f32() * 1e3;
            self.ms_per_substep = 0.8 * self.ms_per_substep + 0.2 * ms / st.substeps.max(1) as f32;
            self.stats.substeps = st.substeps;
            self.stats.realtime =
                st.substeps as f32 * st.dt / self.last.elapsed().as_secs_f32().max(1e-6);
        }
        self.stats.sim_ms = sim_start.elapsed().as_secs_f32() * 1e3;
        self.last = Instant::now();
        self.stats.sim_time = self.sim.solver.time();
        self.stats.scene = self.sim.name.clone();
        self.stats.particles = self.sim.solver.len();
        self.update_mesh()?;
        self.update_splats()?;
        for (f, path) in self.opts_screenshots() {
            let aspect = size.x / size.y;
            let img = frame::screenshot(
                &self.ctx,
                self.config.format,
                self.config.width,
                self.config.height,
                |pass| self.draw(pass, aspect),
            )?;
            frame::save_png(&img, &path)?;
            eprintln!("frame {f}: screenshot {}", path.display());
        }
        self.present(size)?;
        self.stats.frame_ms = started.elapsed().as_secs_f32() * 1e3;
        if self.script.exit_after.is_some_and(|n| self.frame >= n) {
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!(
                "{} frames in {secs:.2} s: {:.1} frames/s, {} particles, {:.3} s simulated",
                self.frame,
                self.frame as f64 / secs,
                self.sim.solver.len(),
                self.sim.solver.time()
            );
            event_loop.exit();
        }
        Ok(())
    }

    pub(super) fn apply(&mut self) -> Result<()> {
        let s = &self.settings;
        let g = self
            .sim
            .config
            .gravity
            .try_normalize()
            .unwrap_or(Vec3::NEG_Y)
            * s.gravity;
        self.sim.apply_settings(
            s.e_scale,
            s.override_poisson.then_some(s.poisson),
            g,
            s.damping,
        )
    }

    pub(super) fn present(&mut self, size: Vec2) -> Result<()> {
        let tex = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                self.surface.configure(&self.ctx.device, &self.config);
                return Ok(());
            }
            _ => return Ok(()),
        };
        let view = tex.texture.create_view(&Default::default());
        let raw = self.egui_state.take_egui_input(&self.window);
        let egui_ctx = self.egui_state.egui_ctx().clone();
        let mut changed = false;
        let log_e = self.sim.log_e_range;
        let presets: Vec<String> = self.sim.presets.iter().map(|(n, _)| n.clone()).collect();
        let has = (self.splat_view.is_some(), self.mesh.is_some());
        let out = egui_ctx.run_ui(raw, |ui| {
            changed = panel::show(ui, &mut self.settings, &self.stats, log_e, &presets, has);
        });
        if changed {
            if let Err(e) = self.apply() {
                self.stats.status = format!("{e:#}");
            }
        }
        self.egui_state
            .handle_platform_output(&self.window, out.platform_output);
        let jobs = egui_ctx.tessellate(out.shapes, out.pixels_per_point);
        let screen = egui_wgpu::ScreenDescriptor {
            size_in_pixels: [self.config.width, self.config.height],
            pixels_per_point: out.pixels_per_point,
        };
        for (id, deltas) in &out.textures_delta.set {
            for delta in deltas {
                self.egui_renderer
                    .update_texture(&self.ctx.device, &self.ctx.queue, *id, delta);
            }
        }
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        let extra = self.egui_renderer.update_buffers(
            &self.ctx.device,
            &self.ctx.queue,
            &mut enc,
            &jobs,
            &screen,
        );
        frame::draw_scene(&mut enc, &view, &self.depth, |pass| {
            self.draw(pass, size.x / size.y)
        });
        {
            let pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("egui"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Load,
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            self.egui_renderer
                .render(&mut pass.forget_lifetime(), &jobs, &screen);
        }
        self.ctx
            .queue
            .submit(extra.into_iter().chain([enc.finish()]));
        self.ctx.queue.present(tex);
        for id in &out.textures_delta.free {
            self.egui_renderer.free_texture(id);
        }
        Ok(())
    }

    pub(super) fn scripted_pokes(&self) -> Vec<Vec2> {
        self.script
            .pokes
            .iter()
            .filter(|(f, _)| *f == self.frame)
            .map(|(_, p)| *p)
            .collect()
    }

    pub(super) fn opts_screenshots(&self) -> Vec<(u64, PathBuf)> {
        self.script
            .screenshots
            .iter()
            .filter(|(f, _)| *f == self.frame)
            .cloned()
            .collect()
    }
}
