//! `physdreamer view`: a window with the live simulation, an egui panel, orbit camera, and
//! the mouse to poke and drag the object. The solver, the renderer and egui share one
//! device. Each redraw advances the simulation by one frame within a substep budget, so a
//! heavy scene runs in slow motion instead of freezing the window.

mod blit;
mod frame;
mod input;
mod mesh;
pub mod orbit;
mod panel;
mod points;
mod run_frame;
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
    /// The unattended script (frames to click, shoot, stop at).
    script: ViewerOptions,
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
            script: opts.clone(),
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
        if self.splat_view.is_none() || self.sim.splats.is_none() {
            return Ok(());
        }
        let (positions, grads) = self.sim.positions_and_grads()?;
        let (Some(view), Some(splats)) = (self.splat_view.as_mut(), self.sim.splats.as_ref())
        else {
            return Ok(());
        };
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
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.state.is_some() {
            return;
        }
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
