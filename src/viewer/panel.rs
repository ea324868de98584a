//! The egui side panel: playback, interaction and material settings, display mode, timings,
//! the E colour legend and the keyboard help.

use crate::render::image::colour_ramp;
use egui::{Color32, RichText};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    Splats,
    Mesh,
    Particles,
    EField,
}

/// Everything the panel edits.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub playing: bool,
    pub step_once: bool,
    pub reset: bool,
    pub display: Display,
    pub poke_strength: f32,
    pub poke_radius: f32,
    pub drag_stiffness: f32,
    pub e_scale: f32,
    pub poisson: f32,
    pub override_poisson: bool,
    pub damping: f32,
    pub gravity: f32,
    /// Milliseconds of simulation work per drawn frame (the rest of a frame stays for drawing).
    pub sim_ms: f32,
    /// A poke preset of the scene to apply now.
    pub preset: Option<usize>,
    pub help: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            playing: true,
            step_once: false,
            reset: false,
            display: Display::Particles,
            poke_strength: 60.0,
            poke_radius: 0.06,
            drag_stiffness: 400.0,
            e_scale: 1.0,
            poisson: 0.3,
            override_poisson: false,
            damping: 0.5,
            gravity: 9.8,
            sim_ms: 25.0,
            preset: None,
            help: false,
        }
    }
}

/// Figures shown on screen.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub scene: String,
    pub particles: usize,
    pub frame_ms: f32,
    pub sim_ms: f32,
    pub substeps: u32,
    pub sim_time: f64,
    pub realtime: f32,
    pub status: String,
}

pub const HELP: &[(&str, &str)] = &[
    ("left click on the object", "poke it (along the view ray)"),
    (
        "quick flick on the object",
        "poke it along the mouse motion",
    ),
    ("left drag on the object", "drag it with a spring"),
    ("left drag elsewhere", "orbit"),
    ("right or middle drag", "pan"),
    ("wheel", "zoom"),
    ("Space", "play / pause"),
    ("S", "one step"),
    ("R", "reset"),
    (
        "M",
        "next display mode (splats / mesh / particles / E field)",
    ),
    ("H", "this help"),
    ("drop a .toml file", "load that scene"),
    ("drop a .ply material file", "take E (and ν) from it"),
    ("Esc", "quit"),
];

/// Draws the panel; returns true when a setting that the solver must see changed.
pub fn show(
    ui: &mut egui::Ui,
    s: &mut Settings,
    stats: &Stats,
    log_e: (f32, f32),
    presets: &[String],
    has: (bool, bool),
) -> bool {
    let (has_splats, has_mesh) = has;
    let before = s.clone();
    egui::Panel::left("controls")
        .default_size(240.0)
        .show(ui, |ui| {
            ui.heading("physdreamer");
            ui.label(format!("{} — {} particles", stats.scene, stats.particles));
            ui.label(format!(
                "frame {:.1} ms, simulation {:.1} ms ({} substeps)",
                stats.frame_ms, stats.sim_ms, stats.substeps
            ));
            ui.label(format!(
                "t = {:.2} s simulated ({:.2}x real time)",
                stats.sim_time, stats.realtime
            ));
            if !stats.status.is_empty() {
                ui.label(RichText::new(&stats.status).color(Color32::LIGHT_YELLOW));
            }
            ui.separator();
            ui.horizontal(|ui| {
                if ui
                    .button(if s.playing { "pause" } else { "play" })
                    .clicked()
                {
                    s.playing = !s.playing;
                }
                if ui.button("step").clicked() {
                    s.step_once = true;
                }
                if ui.button("reset").clicked() {
                    s.reset = true;
                }
            });
            ui.horizontal(|ui| {
                ui.label("show");
                if has_splats {
                    ui.selectable_value(&mut s.display, Display::Splats, "splats");
                }
                if has_mesh {
                    ui.selectable_value(&mut s.display, Display::Mesh, "mesh");
                }
                ui.selectable_value(&mut s.display, Display::Particles, "particles");
                ui.selectable_value(&mut s.display, Display::EField, "E field");
            });
            ui.separator();
            ui.label("interaction");
            ui.add(
                egui::Slider::new(&mut s.poke_strength, 1.0..=500.0)
                    .logarithmic(true)
                    .text("poke m/s²"),
            );
            ui.add(egui::Slider::new(&mut s.poke_radius, 0.01..=0.2).text("radius m"));
            ui.add(
                egui::Slider::new(&mut s.drag_stiffness, 10.0..=5000.0)
                    .logarithmic(true)
                    .text("drag 1/s²"),
            );
            if !presets.is_empty() {
                ui.horizontal_wrapped(|ui| {
                    ui.label("scene pokes:");
                    for (i, name) in presets.iter().enumerate() {
                        if ui.button(name).clicked() {
                            s.preset = Some(i);
                        }
                    }
                });
            }
            ui.separator();
            ui.label("material and forces");
            ui.add(
                egui::Slider::new(&mut s.e_scale, 0.01..=100.0)
                    .logarithmic(true)
                    .text("E scale"),
            );
            ui.checkbox(&mut s.override_poisson, "override ν");
            ui.add_enabled(
                s.override_poisson,
                egui::Slider::new(&mut s.poisson, 0.0..=0.49).text("ν"),
            );
            ui.add(egui::Slider::new(&mut s.damping, 0.0..=20.0).text("damping 1/s"));
            ui.add(egui::Slider::new(&mut s.gravity, 0.0..=30.0).text("gravity m/s²"));
            ui.add(
                egui::Slider::new(&mut s.sim_ms, 5.0..=500.0)
                    .logarithmic(true)
                    .text("sim ms/frame"),
            );
            if s.display == Display::EField {
                ui.separator();
                legend(ui, log_e);
            }
            ui.separator();
            ui.checkbox(&mut s.help, "keyboard and mouse help (H)");
            if s.help {
                egui::Grid::new("help").striped(true).show(ui, |ui| {
                    for (k, v) in HELP {
                        ui.label(RichText::new(*k).strong());
                        ui.label(*v);
                        ui.end_row();
                    }
                });
            }
        });
    before.e_scale != s.e_scale
        || before.poisson != s.poisson
        || before.override_poisson != s.override_poisson
        || before.damping != s.damping
        || before.gravity != s.gravity
}

/// The colour ramp of `shaders/points.wgsl` with its E range.
fn legend(ui: &mut egui::Ui, log_e: (f32, f32)) {
    ui.label("Young's modulus E (Pa, log scale)");
    let (rect, _) = ui.allocate_exact_size(egui::vec2(200.0, 14.0), egui::Sense::hover());
    let n = 32;
    for k in 0..n {
        let t = (k as f32 + 0.5) / n as f32;
        let x0 = rect.left() + rect.width() * k as f32 / n as f32;
        let r = egui::Rect::from_min_max(
            egui::pos2(x0, rect.top()),
            egui::pos2(x0 + rect.width() / n as f32 + 0.5, rect.bottom()),
        );
        ui.painter().rect_filled(r, 0.0, ramp(t));
    }
    ui.horizontal(|ui| {
        ui.label(format!("{:.1e}", 10f32.powf(log_e.0)));
        ui.add_space(90.0);
        ui.label(format!("{:.1e}", 10f32.powf(log_e.1)));
    });
}

/// The shader's ramp (see [`colour_ramp`]) as an egui colour.
fn ramp(t: f32) -> Color32 {
    let [r, g, b] = colour_ramp(t);
    Color32::from_rgb(r, g, b)
}
