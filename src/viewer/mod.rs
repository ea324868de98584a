//! `physdreamer view`: a window with the live simulation, an egui panel, orbit camera, and
//! the mouse to poke and drag the object. The solver, the renderer and egui share one
//! device. Each redraw advances the simulation by one frame within a substep budget, so a
//! heavy scene runs in slow motion instead of freezing the window.

mod blit;
mod frame;
mod mesh;
pub mod orbit;
mod panel;
mod points;
mod sim;

use crate::gpu::{AdapterChoice, GpuContext};
use crate::scene::Scene;
use anyhow::{anyhow, Context, Result};
use blit::SplatView;
use glam::{Vec2, Vec3};
use mesh::MeshRenderer;
use orbit::Orbit;
pub use panel::Display;
use panel::{Settings, Stats};
use points::{PointRenderer, PointStyle};
use sim::Sim;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

/// How the viewer starts, and a script for unattended runs (tests, demos).
#[derive(Clone, Debug, Default)]
pub struct ViewerOptions {
    pub scene: Option<PathBuf>,
    pub adapter: Option<String>,
    pub width: u32,
    pub height: u32,
    /// Quit after this many frames.
    pub exit_after: Option<u64>,
    /// Save the 3D view as PNG at these frames.
    pub screenshots: Vec<(u64, PathBuf)>,
    /// Click (poke) at these frames at a pixel given as fractions of the window size.
    pub pokes: Vec<(u64, Vec2)>,
    /// Exactly this many substeps a frame instead of a time budget (reproducible runs).
    pub fixed_substeps: Option<u32>,
    /// A material field file to load at start.
    pub material: Option<PathBuf>,
    /// The display mode to start in (default: splats, else mesh, else particles).
    pub display: Option<Display>,
}

pub fn run(opts: ViewerOptions) -> Result<()> {
    let event_loop = EventLoop::new().context(
        "opening a window needs a display (X11 or Wayland); for headless use, run under xvfb-run",
    )?;
    let mut app = App {
        opts,
        state: None,
        error: None,
    };
    event_loop
        .run_app(&mut app)
        .context("running the window's event loop")?;
    match app.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

struct App {
    opts: ViewerOptions,
    state: Option<State>,
    error: Option<anyhow::Error>,
}

#[derive(Default)]
struct Mouse {
    pos: Vec2,
    left: bool,
    pan: bool,
    press: Vec2,
    /// The particle hit when the left button went down, and whether a drag started.
    grabbed: Option<Vec3>,
    dragging: bool,
    pressed_at: Option<Instant>,
}

struct State {
    window: Arc<Window>,
    ctx: GpuContext,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    depth: wgpu::TextureView,
    points: PointRenderer,
    mesh: Option<MeshRenderer>,
    splat_view: Option<SplatView>,
    egui_state: egui_winit::State,
    egui_renderer: egui_wgpu::Renderer,
    orbit: Orbit,
    sim: Sim,
    settings: Settings,
    stats: Stats,
    mouse: Mouse,
    hover: Option<Vec3>,
    frame: u64,
    last: Instant,
    /// Smoothed cost of one substep (ms), to fit the work into the frame budget.
    ms_per_substep: f32,
    started: Instant,
}

fn load_sim(ctx: &GpuContext, path: Option<&std::path::Path>) -> Result<Sim> {
    match path {
        Some(p) => Sim::from_scene(
            ctx,
            Scene::load(p).with_context(|| format!("loading scene {}", p.display()))?,
        ),
        None => {
            let (set, cfg, pokes) = crate::demo::jelly_on_pedestal();
            Sim::new(
                ctx,
                "built-in jelly".into(),
                set,
                cfg,
                pokes.into_iter().map(|p| ("poke".to_string(), p)).collect(),
            )
        }
    }
}

impl State {
    fn new(event_loop: &ActiveEventLoop, opts: &ViewerOptions) -> Result<Self> {
        let attrs = Window::default_attributes()
            .with_title("physdreamer")
            .with_inner_size(winit::dpi::PhysicalSize::new(
                opts.width.max(320),
                opts.height.max(240),
            ));
        let window = Arc::new(
            event_loop
                .create_window(attrs)
                .context("creating the window")?,
        );
        let choice = opts
            .adapter
            .as_deref()
            .map(AdapterChoice::parse)
            .unwrap_or_else(AdapterChoice::from_env);
        let ctx = GpuContext::new(&choice)?;
        eprintln!("adapter: {}", ctx.describe());
        let surface = ctx
            .instance
            .create_surface(window.clone())
            .context("creating the window surface")?;
        let caps = surface.get_capabilities(&ctx.adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| !f.is_srgb())
            .or(caps.formats.first().copied())
            .ok_or_else(|| {
                anyhow!(
                    "the adapter {} cannot present to this window",
                    ctx.describe()
                )
            })?;
        let size = window.inner_size();
        let mut config = surface
            .get_default_config(&ctx.adapter, size.width.max(1), size.height.max(1))
            .ok_or_else(|| {
                anyhow!(
                    "the adapter {} cannot present to this window",
                    ctx.describe()
                )
            })?;
        config.format = format;
        config.present_mode = wgpu::PresentMode::AutoVsync;
        surface.configure(&ctx.device, &config);
        let depth = frame::depth_view(&ctx, config.width, config.height);
        let points = PointRenderer::new(&ctx, format);
        let egui_ctx = egui::Context::default();
        let egui_state = egui_winit::State::new(
            egui_ctx,
            egui::ViewportId::ROOT,
            &window,
            Some(window.scale_factor() as f32),
            None,
            None,
        );
        let egui_renderer =
            egui_wgpu::Renderer::new(&ctx.device, format, egui_wgpu::RendererOptions::default());
        let path = opts
            .scene
            .clone()
            .or_else(crate::cli::simulate::default_scene);
        let sim = load_sim(&ctx, path.as_deref())?;
        let orbit = Orbit::framing(sim.bounds.0, sim.bounds.1);
        let mut s = State {
            window,
            ctx,
            surface,
            config,
            depth,
            points,
            mesh: None,
            splat_view: None,
            egui_state,
            egui_renderer,
            orbit,
            sim,
            settings: Settings::default(),
            stats: Stats::default(),
            mouse: Mouse::default(),
            hover: None,
            frame: 0,
            last: Instant::now(),
            ms_per_substep: 5.0,
            started: Instant::now(),
        };
        s.on_new_scene()?;
        if let Some(m) = &opts.material {
            s.load_file(m)?;
        }
        if let Some(d) = opts.display {
            let available = match d {
                Display::Splats => s.splat_view.is_some(),
                Display::Mesh => s.mesh.is_some(),
                _ => true,
            };
            if !available {
                anyhow::bail!("the scene has nothing to show in the {d:?} view");
            }
            s.settings.display = d;
        }
        s.settings.damping = s.sim.config.damping;
        s.settings.gravity = s.sim.config.gravity.length();
        Ok(s)
    }

    /// A scene file (`.toml`) replaces the scene; a material field (`.ply`) sets E and ν.
    fn load_file(&mut self, path: &std::path::Path) -> Result<()> {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ply"))
        {
            let field = crate::material::MaterialField::read(path)?;
            self.sim.load_material(&field);
            self.apply()?;
            self.settings.display = Display::EField;
        } else {
            self.sim = Sim::from_scene(&self.ctx, Scene::load(path)?)?;
            self.orbit = Orbit::framing(self.sim.bounds.0, self.sim.bounds.1);
            self.on_new_scene()?;
        }
        Ok(())
    }

    /// Renderers and display mode for the scene just loaded.
    fn on_new_scene(&mut self) -> Result<()> {
        self.mesh = self
            .sim
            .mesh
            .as_ref()
            .map(|(m, _)| MeshRenderer::new(&self.ctx, self.config.format, m));
        self.splat_view = match self.sim.splats {
            Some(_) => Some(SplatView::new(&self.ctx, self.config.format)?),
            None => None,
        };
        self.settings.display = if self.splat_view.is_some() {
            Display::Splats
        } else if self.mesh.is_some() {
            Display::Mesh
        } else {
            Display::Particles
        };
        Ok(())
    }

    /// Renders the moved Gaussians from the orbit camera when the splat view is on show.
    fn update_splats(&mut self) -> Result<()> {
        if self.settings.display != Display::Splats {
            return Ok(());
        }
        let (Some(view), Some(splats)) = (self.splat_view.as_mut(), self.sim.splats.as_ref())
        else {
            return Ok(());
        };
        let state = self.sim.solver.state()?;
        let positions: Vec<Vec3> = state.iter().map(|p| p.position()).collect();
        let grads: Vec<glam::Mat3> = state.iter().map(|p| p.deformation()).collect();
        let b = frame::BACKGROUND;
        view.update(
            &self.ctx,
            splats,
            &positions,
            &grads,
            (
                self.orbit.eye(),
                self.orbit.target,
                self.orbit.fov_y.to_degrees(),
            ),
            (self.config.width, self.config.height),
            [b.r as f32, b.g as f32, b.b as f32],
        )
    }

    /// Brings the deformed mesh up to date when it is on show.
    fn update_mesh(&mut self) -> Result<()> {
        if self.settings.display != Display::Mesh {
            return Ok(());
        }
        if let (Some(r), Some(v)) = (&self.mesh, self.sim.deformed_mesh()?) {
            if let Some((m, _)) = &self.sim.mesh {
                r.update(&self.ctx, &v, &m.triangles);
            }
        }
        Ok(())
    }

    /// Draws the current display mode into `pass`.
    fn draw(&self, pass: &mut wgpu::RenderPass, aspect: f32) {
        let style = self.style(aspect);
        match (&self.settings.display, &self.mesh) {
            (Display::Splats, _) if self.splat_view.is_some() => {
                if let Some(v) = &self.splat_view {
                    v.draw(pass);
                }
            }
            (Display::Mesh, Some(m)) => {
                let light = self.orbit.eye() - self.orbit.target + Vec3::new(0.0, 0.5, 0.0);
                m.draw(&self.ctx, pass, style.view_proj, light);
            }
            _ => self.points.draw(&self.ctx, pass, &self.sim.solver, &style),
        }
    }

    fn size(&self) -> Vec2 {
        Vec2::new(self.config.width as f32, self.config.height as f32)
    }

    fn style(&self, aspect: f32) -> PointStyle {
        let (right, up) = self.orbit.basis();
        let spacing = (self.sim.particles.volume.first().copied().unwrap_or(1e-6)).cbrt();
        PointStyle {
            view_proj: self.orbit.proj(aspect) * self.orbit.view(),
            right,
            up,
            radius: spacing * 0.55,
            e_field: self.settings.display == Display::EField,
            log_e_range: self.sim.log_e_range,
            highlight: match (self.mouse.grabbed, self.hover) {
                (Some(p), _) | (None, Some(p)) => (p, self.settings.poke_radius),
                _ => (Vec3::ZERO, 0.0),
            },
        }
    }

    /// The particle under pixel `p`, if any.
    fn pick(&mut self, p: Vec2) -> Result<Option<Vec3>> {
        let (o, d) = self.orbit.ray(p, self.size());
        let radius = (self.sim.particles.volume.first().copied().unwrap_or(1e-6)).cbrt() * 1.5;
        Ok(orbit::pick(self.sim.positions()?, o, d, radius).map(|(_, x)| x))
    }

    /// Where the cursor ray meets the plane through `anchor` facing the camera.
    fn on_view_plane(&self, p: Vec2, anchor: Vec3) -> Vec3 {
        let (o, d) = self.orbit.ray(p, self.size());
        let n = (self.orbit.eye() - self.orbit.target).normalize();
        let denom = d.dot(n);
        if denom.abs() < 1e-6 {
            return anchor;
        }
        o + d * ((anchor - o).dot(n) / denom)
    }

    fn poke_at(&mut self, p: Vec2) -> Result<bool> {
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

    fn handle(&mut self, event: &WindowEvent, event_loop: &ActiveEventLoop) -> Result<()> {
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

    fn redraw(&mut self, event_loop: &ActiveEventLoop) -> Result<()> {
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
            let budget = SCRIPT
                .with(|s| s.borrow().fixed_substeps)
                .unwrap_or_else(|| {
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
        if SCRIPT.with(|s| s.borrow().exit_after.is_some_and(|n| self.frame >= n)) {
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

    fn apply(&mut self) -> Result<()> {
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

    fn present(&mut self, size: Vec2) -> Result<()> {
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

    fn scripted_pokes(&self) -> Vec<Vec2> {
        SCRIPT.with(|s| {
            s.borrow()
                .pokes
                .iter()
                .filter(|(f, _)| *f == self.frame)
                .map(|(_, p)| *p)
                .collect()
        })
    }

    fn opts_screenshots(&self) -> Vec<(u64, PathBuf)> {
        SCRIPT.with(|s| {
            s.borrow()
                .screenshots
                .iter()
                .filter(|(f, _)| *f == self.frame)
                .cloned()
                .collect()
        })
    }
}

thread_local! {
    /// The unattended script of the running viewer (set once at start).
    static SCRIPT: std::cell::RefCell<ViewerOptions> = std::cell::RefCell::new(ViewerOptions::default());
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.state.is_some() {
            return;
        }
        SCRIPT.with(|s| *s.borrow_mut() = self.opts.clone());
        match State::new(event_loop, &self.opts) {
            Ok(s) => {
                s.window.request_redraw();
                self.state = Some(s);
            }
            Err(e) => {
                self.error = Some(e);
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let consumed = state
            .egui_state
            .on_window_event(&state.window, &event)
            .consumed;
        if consumed
            && !matches!(
                event,
                WindowEvent::RedrawRequested
                    | WindowEvent::Resized(_)
                    | WindowEvent::CloseRequested
            )
        {
            return;
        }
        if let Err(e) = state.handle(&event, event_loop) {
            self.error = Some(e);
            event_loop.exit();
        }
    }

    fn about_to_wait(&mut self, _event_loop: &ActiveEventLoop) {
        if let Some(s) = &self.state {
            s.window.request_redraw();
        }
    }
}
