//! Input checks: every bad value ends in an error that names the field, the particle and the
//! value, before anything reaches the GPU.

use super::config::{lame, SolverConfig, TimeStep, Wall};
use super::stage::texel_rows;
use crate::particles::ParticleSet;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum SolverError {
    #[error("the particle set is empty: nothing to simulate")]
    NoParticles,
    #[error("particle field `{field}` has {got} entries, expected {expected}")]
    Length {
        field: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("particle {index}: {field} = {value} is invalid: {why}")]
    Particle {
        index: usize,
        field: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("particle index {index} is out of range (there are {count} particles)")]
    ParticleIndex { index: u32, count: u32 },
    #[error("solver setting `{field}` = {value} is invalid: {why}")]
    Config {
        field: &'static str,
        value: String,
        why: String,
    },
    #[error("simulation blew up at substep {step}: particle {particle} {what}")]
    BlowUp {
        step: u32,
        particle: u32,
        what: &'static str,
    },
}

fn bad(
    index: usize,
    field: &'static str,
    value: impl std::fmt::Debug,
    why: &'static str,
) -> SolverError {
    SolverError::Particle {
        index,
        field,
        value: format!("{value:?}"),
        why,
    }
}

fn cfg_err(
    field: &'static str,
    value: impl std::fmt::Debug,
    why: impl Into<String>,
) -> SolverError {
    SolverError::Config {
        field,
        value: format!("{value:?}"),
        why: why.into(),
    }
}

pub fn check_young(i: usize, e: f32) -> Result<(), SolverError> {
    if !(e.is_finite() && e > 0.0) {
        return Err(bad(
            i,
            "young",
            e,
            "Young's modulus must be finite and > 0 Pa",
        ));
    }
    Ok(())
}

pub fn check_poisson(i: usize, nu: f32) -> Result<(), SolverError> {
    if !(nu.is_finite() && nu > -1.0 && nu < 0.5) {
        return Err(bad(
            i,
            "poisson",
            nu,
            "Poisson's ratio must be in (-1, 0.5)",
        ));
    }
    Ok(())
}

/// Checks the configuration against the device limits and every particle.
pub fn check(
    cfg: &SolverConfig,
    set: &ParticleSet,
    limits: &wgpu::Limits,
) -> Result<(), SolverError> {
    let res = cfg.grid_res;
    if !(16..=512).contains(&res) || !res.is_multiple_of(8) {
        return Err(cfg_err(
            "grid_res",
            res,
            "must be a multiple of 8 between 16 and 512",
        ));
    }
    let grid_bytes = (res as u64).pow(3) * super::layout::GRID_MOMENTUM_BYTES;
    if grid_bytes > limits.max_storage_buffer_binding_size || grid_bytes > limits.max_buffer_size {
        return Err(cfg_err(
            "grid_res",
            res,
            format!("the grid needs {grid_bytes} bytes, more than this adapter allows"),
        ));
    }
    let max_rows = limits.max_texture_dimension_2d as u64;
    if texel_rows((res as u64).pow(3)) > max_rows {
        return Err(cfg_err(
            "grid_res",
            res,
            format!(
                "the grid's velocity texels need more than the adapter's {max_rows} texture rows"
            ),
        ));
    }
    if !(cfg.frame_dt.is_finite() && cfg.frame_dt > 0.0) {
        return Err(cfg_err(
            "frame_dt",
            cfg.frame_dt,
            "must be finite and > 0 s",
        ));
    }
    if !(cfg.damping.is_finite() && cfg.damping >= 0.0) {
        return Err(cfg_err(
            "damping",
            cfg.damping,
            "must be finite and >= 0 per second",
        ));
    }
    if !cfg.gravity.is_finite() {
        return Err(cfg_err("gravity", cfg.gravity, "must be finite"));
    }
    if cfg.wall != Wall::None && (cfg.wall_cells == 0 || cfg.wall_cells * 2 >= res) {
        return Err(cfg_err(
            "wall_cells",
            cfg.wall_cells,
            "must be >= 1 and leave room inside the grid",
        ));
    }
    if let Some(g) = cfg.ground {
        if !g.height.is_finite() {
            return Err(cfg_err("ground.height", g.height, "must be finite"));
        }
    }
    match cfg.time_step {
        TimeStep::Fixed(dt) if !(dt.is_finite() && dt > 0.0) => {
            return Err(cfg_err("dt", dt, "must be finite and > 0 s"))
        }
        TimeStep::Adaptive { cfl, .. } if !(cfl > 0.0 && cfl <= 1.0) => {
            return Err(cfg_err("cfl", cfl, "must be in (0, 1]"))
        }
        TimeStep::Adaptive {
            max_substeps: 0, ..
        } => return Err(cfg_err("max_substeps", 0, "must be >= 1")),
        _ => {}
    }
    let n = set.position.len();
    if n == 0 {
        return Err(SolverError::NoParticles);
    }
    if n as u64 * 128 > limits.max_storage_buffer_binding_size {
        return Err(cfg_err(
            "particle count",
            n,
            "more particles than one storage buffer of this adapter holds",
        ));
    }
    if texel_rows(8 * n as u64) > max_rows {
        return Err(cfg_err(
            "particle count",
            n,
            format!(
                "the particle state texels (8 a particle) need more than the adapter's \
                 {max_rows} texture rows"
            ),
        ));
    }
    for (field, len) in [
        ("velocity", set.velocity.len()),
        ("volume", set.volume.len()),
        ("density", set.density.len()),
        ("young", set.young.len()),
        ("poisson", set.poisson.len()),
        ("anchored", set.anchored.len()),
    ] {
        if len != n {
            return Err(SolverError::Length {
                field,
                expected: n,
                got: len,
            });
        }
    }
    let (lo, hi) = (0.5 / res as f32, (res as f32 - 1.5) / res as f32);
    for i in 0..n {
        let x = set.position[i];
        if !x.is_finite() {
            return Err(bad(i, "position", x, "must be finite"));
        }
        if x.min_element() < lo || x.max_element() >= hi {
            return Err(SolverError::Particle {
                index: i,
                field: "position",
                value: format!("{x:?}"),
                why: "outside the simulation domain (the unit cube less half a cell on the low sides and 1.5 cells on the high sides)",
            });
        }
        if !set.velocity[i].is_finite() {
            return Err(bad(i, "velocity", set.velocity[i], "must be finite"));
        }
        if !(set.volume[i].is_finite() && set.volume[i] > 0.0) {
            return Err(bad(
                i,
                "volume",
                set.volume[i],
                "must be finite and > 0 m^3",
            ));
        }
        if !(set.density[i].is_finite() && set.density[i] > 0.0) {
            return Err(bad(
                i,
                "density",
                set.density[i],
                "must be finite and > 0 kg/m^3",
            ));
        }
        check_young(i, set.young[i])?;
        check_poisson(i, set.poisson[i])?;
    }
    Ok(())
}

/// Largest P-wave speed sqrt((lambda + 2 mu) / rho) over the particles that move (anchored
/// ones never do, so their stiffness does not limit the substep) (m/s).
pub fn max_wave_speed(young: &[f32], poisson: &[f32], density: &[f32], anchored: &[bool]) -> f32 {
    young
        .iter()
        .zip(poisson)
        .zip(density)
        .zip(anchored)
        .filter(|(_, &a)| !a)
        .map(|(((&e, &nu), &rho), _)| {
            let (mu, lambda) = lame(e as f64, nu as f64);
            ((lambda + 2.0 * mu) / rho as f64).sqrt() as f32
        })
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec3;

    #[test]
    fn texel_tables_must_fit_the_adapters_texture_rows() {
        let cfg = SolverConfig {
            grid_res: 64,
            ..Default::default()
        };
        let set = ParticleSet::block(Vec3::splat(0.4), [16, 16, 16], 0.01, 1000.0, 1e5, 0.3);
        let mut limits = wgpu::Limits::default();
        assert!(check(&cfg, &set, &limits).is_ok());
        // 64^3 nodes = 64 rows of grid velocities; 4,096 particles = 4 rows of records
        limits.max_texture_dimension_2d = 63;
        let err = check(&cfg, &set, &limits).unwrap_err().to_string();
        assert!(
            err.contains("grid_res") && err.contains("63 texture rows"),
            "{err}"
        );
        limits.max_texture_dimension_2d = 64;
        assert!(check(&cfg, &set, &limits).is_ok());
        let big = ParticleSet::block(Vec3::splat(0.3), [20, 20, 20], 0.01, 1000.0, 1e5, 0.3);
        limits.max_texture_dimension_2d = 15; // 8,000 particles need 16 rows of state texels
        let err = check(
            &SolverConfig {
                grid_res: 16,
                ..cfg
            },
            &big,
            &limits,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("particle count") && err.contains("15 texture rows"),
            "{err}"
        );
    }
}
