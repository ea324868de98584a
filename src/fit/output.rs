//! What a fit writes (each file atomically): `material.ply` (docs/material-format.md),
//! `velocity.json` (the initial-velocity grids), `loss.png` (log₁₀ loss per iteration; the
//! stage change is a grey line), `e_field.png` (the particles seen from the fit camera,
//! coloured by log₁₀ E from purple through teal to yellow, a colour bar below), `compare/`
//! (reference | fitted frames as PNG and `compare.gif`) and `summary.json`.

use super::evaluate::Problem;
use super::{median, FitState, Stage};
use crate::field::StiffnessField;
use crate::render::image::{colour_ramp as ramp, write_atomic, GifWriter};
use crate::render::Image;
use crate::video::RgbFrame;
use anyhow::{bail, Context, Result};
use glam::Vec3;
use serde_json::json;
use std::path::Path;

fn blank(width: u32, height: u32) -> Image {
    Image {
        width,
        height,
        rgba: [255u8; 4].repeat((width * height) as usize),
    }
}

fn put(img: &mut Image, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width && (y as u32) < img.height {
        let i = 4 * (y as usize * img.width as usize + x as usize);
        img.rgba[i..i + 3].copy_from_slice(&c);
        img.rgba[i + 3] = 255;
    }
}

fn line(img: &mut Image, a: (f64, f64), b: (f64, f64), c: [u8; 3]) {
    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
    for s in 0..=steps {
        let t = s as f64 / steps as f64;
        put(
            img,
            (a.0 + (b.0 - a.0) * t).round() as i64,
            (a.1 + (b.1 - a.1) * t).round() as i64,
            c,
        );
    }
}

/// log₁₀ loss against iteration, 640 × 360.
pub fn loss_plot(state: &FitState) -> Image {
    let (w, h, m) = (640.0, 360.0, 30.0);
    let mut img = blank(w as u32, h as u32);
    let ys: Vec<f64> = state
        .history
        .iter()
        .map(|e| e.loss.max(1e-30).log10())
        .collect();
    let (lo, hi) = ys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
            (a.min(y), b.max(y))
        });
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let n = ys.len().max(2) as f64 - 1.0;
    let px = |i: f64| m + (w - 2.0 * m) * i / n;
    let py = |y: f64| h - m - (h - 2.0 * m) * (y - lo) / (hi - lo);
    line(&mut img, (m, h - m), (w - m, h - m), [0, 0, 0]);
    line(&mut img, (m, m), (m, h - m), [0, 0, 0]);
    if let Some(k) = state
        .history
        .iter()
        .position(|e| e.stage == Stage::Material)
    {
        line(
            &mut img,
            (px(k as f64), m),
            (px(k as f64), h - m),
            [170, 170, 170],
        );
    }
    for i in 1..ys.len() {
        let a = (px(i as f64 - 1.0), py(ys[i - 1]));
        line(&mut img, a, (px(i as f64), py(ys[i])), [200, 40, 40]);
    }
    img
}

/// The particles seen by the fit camera coloured by log₁₀ E, with a colour bar; returns the
/// image and the bar's (low, high) log₁₀ E.
pub fn e_field_image(problem: &Problem, log10_e: &[f64]) -> (Image, (f64, f64)) {
    let cam = &problem.camera;
    let (w, h) = (cam.width, cam.height + 24);
    let mut img = blank(w, h);
    let lo = log10_e.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = log10_e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi - lo > 1e-6 {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let pts = &problem.scene.particles.position;
    let mut order: Vec<(f32, usize)> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| (-(cam.world_to_camera * p.extend(1.0)).z, i))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (_, i) in order {
        if let Some(q) = cam.project(pts[i]) {
            let c = ramp(((log10_e[i] - lo) / (hi - lo)) as f32);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    put(&mut img, q.x as i64 + dx, q.y as i64 + dy, c);
                }
            }
        }
    }
    for x in 0..w {
        let c = ramp(x as f32 / (w - 1).max(1) as f32);
        for y in cam.height + 6..h - 4 {
            put(&mut img, x as i64, y as i64, c);
        }
    }
    (img, (lo, hi))
}

fn to_rgba(f: &RgbFrame<f32>, img: &mut Image, x0: u32) {
    for y in 0..f.height {
        for x in 0..f.width {
            let p = f
                .pixel(x, y)
                .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
            put(img, (x0 + x) as i64, y as i64, p);
        }
    }
}

/// A float frame as an 8-bit image (values clamped to 0..1, rounded).
pub fn frame_image(f: &RgbFrame<f32>) -> Image {
    let mut img = blank(f.width, f.height);
    to_rgba(f, &mut img, 0);
    img
}

/// Reference | fitted, side by side.
pub fn side_by_side(reference: &RgbFrame<f32>, fitted: &RgbFrame<f32>) -> Image {
    let mut img = blank(
        reference.width + fitted.width,
        reference.height.max(fitted.height),
    );
    to_rgba(reference, &mut img, 0);
    to_rgba(fitted, &mut img, reference.width);
    img
}

/// Writes every output of a finished fit into `out` (see the module docs).
pub fn write(
    out: &Path,
    problem: &Problem,
    state: &FitState,
    fitted: &[RgbFrame<f32>],
    final_loss: (f64, f64),
) -> Result<()> {
    let rest = &problem.scene.particles.position;
    std::fs::create_dir_all(out.join("compare"))
        .with_context(|| format!("creating {}", out.display()))?;
    let nu = &problem.scene.particles.poisson;
    state
        .field
        .to_material_field(rest, Some(nu))?
        .write(&out.join("material.ply"))?;
    let grids = json!({
        "about": "initial velocity (m/s) on three regular grids over [min, max]; node (i, j, k) is values[i + nx (j + ny k)]; applies to particles that are not anchored",
        "min": state.velocity[0].bounds().0, "max": state.velocity[0].bounds().1,
        "dims": state.velocity[0].dims(),
        "vx": state.velocity[0].values(), "vy": state.velocity[1].values(), "vz": state.velocity[2].values(),
    });
    write_atomic(
        &out.join("velocity.json"),
        serde_json::to_string_pretty(&grids)?.as_bytes(),
    )?;
    loss_plot(state).save_png(&out.join("loss.png"))?;
    let log10_e = state.field.sample(rest)?;
    let (e_img, bar) = e_field_image(problem, &log10_e);
    e_img.save_png(&out.join("e_field.png"))?;
    let gif_path = out.join("compare").join("compare.gif");
    let mut gif = GifWriter::new(&gif_path, problem.video.fps as f32, 10)?;
    for (k, f) in fitted.iter().enumerate() {
        let img = side_by_side(&problem.video.frames[k + 1], f);
        img.save_png(&out.join("compare").join(format!("frame_{:04}.png", k + 1)))?;
        gif.add(&img)?;
    }
    gif.finish()?;
    let summary = json!({
        "iterations": state.iteration,
        "frames": fitted.len(),
        "final_loss": final_loss.0,
        "final_psnr_db": final_loss.1,
        "log10_e": { "min": bar.0, "median": median(&log10_e), "max": bar.1 },
        "e_field_png_colour_bar": { "left_log10_e": bar.0, "right_log10_e": bar.1 },
        "history": state.history,
    });
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )
}

/// The initial velocity of a `velocity.json` (as [`write`] makes it) at `positions`.
pub fn read_velocity(path: &Path, positions: &[Vec3]) -> Result<Vec<Vec3>> {
    #[derive(serde::Deserialize)]
    struct Grids {
        min: [f64; 3],
        max: [f64; 3],
        dims: [usize; 3],
        vx: Vec<f64>,
        vy: Vec<f64>,
        vz: Vec<f64>,
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let g: Grids = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a velocity field (see `physdreamer fit`)",
            path.display()
        )
    })?;
    let f32v = |a: [f64; 3]| Vec3::new(a[0] as f32, a[1] as f32, a[2] as f32);
    let mut out = vec![Vec3::ZERO; positions.len()];
    for (c, values) in [&g.vx, &g.vy, &g.vz].into_iter().enumerate() {
        let mut f = StiffnessField::new(f32v(g.min), f32v(g.max), g.dims, 3.0)
            .and_then(|f| f.with_range(-30.0, 30.0))
            .with_context(|| format!("{}: grid", path.display()))?;
        if values.iter().any(|v| v.abs() > 30.0) {
            bail!("{}: a velocity above 30 m/s", path.display());
        }
        f.set_values(values)
            .with_context(|| format!("{}: {} values", path.display(), ["vx", "vy", "vz"][c]))?;
        for (o, v) in out.iter_mut().zip(f.sample(positions)?) {
            o[c] = v as f32;
        }
    }
    Ok(out)
}
