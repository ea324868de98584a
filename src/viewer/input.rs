//! Mouse and keyboard: picking, poking, dragging, the orbit camera, shortcuts, dropped files.

use super::*;

impl State {
    /// The particle under pixel `p`, if any.
    pub(super) fn pick(&mut self, p: Vec2) -> Result<Option<Vec3>> {
        let (o, d) = self.orbit.ray(p, self.size());
        let radius = (self.sim.particles.volume.first().copied().unwrap_or(1e-6)).cbrt() * 1.5;
        Ok(orbit::pick(self.sim.positions()?, o, d, radius).map(|(_, x)| x))
    }

    /// Where the cursor ray meets the plane through `anchor` facing the camera.
    pub(super) fn on_view_plane(&self, p: Vec2, anchor: Vec3) -> Vec3 {
        let (o, d) = self.orbit.ray(p, self.size());
        let n = (self.orbit.eye() - self.orbit.target).normalize();
        let denom = d.dot(n);
        if denom.abs() < 1e-6 {
            return anchor;
        }
        o + d * ((anchor - o).dot(n) / denom)
    }

    pub(super) fn poke_at(&mut self, p: Vec2) -> Result<bool> {
        let Some(hit) = self.pick(p)? else {
            return Ok(false);
        };
        let (_, dir) = self.orbit.ray(p, self.size());
        self.sim.poke(
            hit,
            dir * self.settings.poke_strength,
            self.settings.poke_radius,
            0.15,
        );
        self.stats.status = format!("poke at ({:.3}, {:.3}, {:.3})", hit.x, hit.y, hit.z);
        Ok(true)
    }

    pub(super) fn handle(
        &mut self,
        event: &WindowEvent,
        event_loop: &ActiveEventLoop,
    ) -> Result<()> {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => {
                self.config.width = size.width.max(1);
                self.config.height = size.height.max(1);
                self.surface.configure(&self.ctx.device, &self.config);
                self.depth = frame::depth_view(&self.ctx, self.config.width, self.config.height);
            }
            WindowEvent::DroppedFile(path) => {
                self.stats.status = match self.load_file(path) {
                    Ok(()) => format!("loaded {}", path.display()),
                    Err(e) => format!("could not load {}: {e:#}", path.display()),
                }
            }
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                match &event.logical_key {
                    Key::Named(NamedKey::Space) => self.settings.playing = !self.settings.playing,
                    Key::Named(NamedKey::Escape) => event_loop.exit(),
                    Key::Character(c) => match c.to_lowercase().as_str() {
                        "s" => self.settings.step_once = true,
                        "r" => self.settings.reset = true,
                        "h" => self.settings.help = !self.settings.help,
                        "m" => {
                            let order = [
                                Display::Splats,
                                Display::Mesh,
                                Display::Particles,
                                Display::EField,
                            ];
                            let available = |d: &Display| match d {
                                Display::Splats => self.splat_view.is_some(),
                                Display::Mesh => self.mesh.is_some(),
                                _ => true,
                            };
                            let at = order
                                .iter()
                                .position(|d| *d == self.settings.display)
                                .unwrap_or(0);
                            self.settings.display = (1..=4)
                                .map(|k| order[(at + k) % 4])
                                .find(available)
                                .unwrap_or(Display::Particles);
                        }
                        _ => {}
                    },
                    _ => {}
                }
            }
            WindowEvent::MouseWheel { delta, .. } => {
                let steps = match delta {
                    MouseScrollDelta::LineDelta(_, y) => *y,
                    MouseScrollDelta::PixelDelta(p) => p.y as f32 / 40.0,
                };
                self.orbit.zoom(steps);
            }
            WindowEvent::MouseInput { state, button, .. } => {
                let down = *state == ElementState::Pressed;
                match button {
                    MouseButton::Left if down => {
                        self.mouse.left = true;
                        self.mouse.press = self.mouse.pos;
                        self.mouse.grabbed = self.pick(self.mouse.pos)?;
                        self.mouse.dragging = false;
                        self.mouse.pressed_at = Some(Instant::now());
                    }
                    MouseButton::Left => {
                        let quick = self
                            .mouse
                            .pressed_at
                            .is_some_and(|t| t.elapsed().as_secs_f32() < 0.25);
                        if self.mouse.dragging {
                            self.sim.release()?;
                            self.stats.status = "released".into();
                            if let (true, Some(grab)) = (quick, self.mouse.grabbed) {
                                // a flick: poke along the mouse motion, on the view plane
                                let to = self.on_view_plane(self.mouse.pos, grab);
                                let dir = (to - grab).normalize_or_zero();
                                self.sim.poke(
                                    grab,
                                    dir * self.settings.poke_strength,
                                    self.settings.poke_radius,
                                    0.15,
                                );
                                self.stats.status = "flick".into();
                            }
                        } else if self.mouse.grabbed.is_some() {
                            self.poke_at(self.mouse.press)?;
                        }
                        self.mouse.left = false;
                        self.mouse.grabbed = None;
                        self.mouse.dragging = false;
                    }
                    MouseButton::Right | MouseButton::Middle => self.mouse.pan = down,
                    _ => {}
                }
            }
            WindowEvent::CursorMoved { position, .. } => {
                let p = Vec2::new(position.x as f32, position.y as f32);
                let delta = p - self.mouse.pos;
                self.mouse.pos = p;
                if self.mouse.pan {
                    self.orbit.pan(delta, self.size().y);
                } else if self.mouse.left {
                    match self.mouse.grabbed {
                        Some(grab)
                            if !self.mouse.dragging && p.distance(self.mouse.press) > 4.0 =>
                        {
                            let n = self.sim.grab(
                                grab,
                                self.settings.poke_radius,
                                self.settings.drag_stiffness,
                            )?;
                            self.mouse.dragging = true;
                            self.stats.status = format!("dragging {n} particles");
                        }
                        Some(grab) if self.mouse.dragging => {
                            let target = self.on_view_plane(p, grab);
                            self.sim.move_drag(target, self.settings.drag_stiffness);
                        }
                        Some(_) => {}
                        None => self.orbit.rotate(delta),
                    }
                } else {
                    self.hover = self.pick(p)?;
                }
            }
            WindowEvent::RedrawRequested => self.redraw(event_loop)?,
            _ => {}
        }
        Ok(())
    }
}
