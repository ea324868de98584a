//! Material field files: per-point Young's modulus (and optionally Poisson ratio) in the
//! simulation domain, as a PLY point cloud (`docs/material-format.md`). Fitting writes them;
//! `simulate --material` and the viewer (drop the file on the window) load them, and every
//! particle takes the values of the nearest point of the file.

use crate::scene::knn::PointGrid;
use crate::scene::ply::{
    read_elements, Element, Header, PlyFormat, Property, PropertyKind, Request, ScalarType,
};
use anyhow::{bail, Context, Result};
use glam::Vec3;
use std::path::Path;

/// Points in domain coordinates with their material.
#[derive(Clone, Debug, PartialEq)]
pub struct MaterialField {
    pub points: Vec<Vec3>,
    /// Young's modulus (Pa), > 0.
    pub young: Vec<f32>,
    /// Poisson ratio in (-1, 0.5), when the file has one.
    pub poisson: Option<Vec<f32>>,
}

impl MaterialField {
    /// Reads a binary or ASCII PLY with `vertex` properties `x y z young` and optionally
    /// `poisson`; every value is checked and an error names the file, row and property.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading material file {}", path.display()))?;
        let header = Header::parse(&bytes)
            .map_err(|e| anyhow::anyhow!("material file {}: {e}", path.display()))?;
        let vertex = header
            .element("vertex")
            .with_context(|| format!("material file {}: no `vertex` element", path.display()))?;
        let has_poisson = vertex.property("poisson").is_some();
        let mut scalars: Vec<String> = ["x", "y", "z", "young"].map(String::from).to_vec();
        if has_poisson {
            scalars.push("poisson".into());
        }
        let cols = read_elements(
            &header,
            &bytes,
            &[Request {
                element: "vertex".into(),
                scalars,
                list: None,
            }],
        )
        .map_err(|e| anyhow::anyhow!("material file {}: {e}", path.display()))?
        .pop()
        .unwrap_or_default();
        if cols.count == 0 {
            bail!("material file {}: no points", path.display());
        }
        let c = &cols.scalars;
        let mut field = MaterialField {
            points: Vec::with_capacity(cols.count),
            young: c[3].clone(),
            poisson: has_poisson.then(|| c[4].clone()),
        };
        for (i, ((&x, &y), &z)) in c[0].iter().zip(&c[1]).zip(&c[2]).enumerate() {
            let p = Vec3::new(x, y, z);
            if !p.is_finite() {
                bail!(
                    "material file {}: point {i} has a non-finite position {p}",
                    path.display()
                );
            }
            field.points.push(p);
        }
        field
            .check()
            .with_context(|| format!("material file {}", path.display()))?;
        Ok(field)
    }

    fn check(&self) -> Result<()> {
        for (i, &e) in self.young.iter().enumerate() {
            if !(e.is_finite() && e > 0.0) {
                bail!("point {i}: young = {e} must be finite and > 0 Pa");
            }
        }
        for (i, &nu) in self.poisson.iter().flatten().enumerate() {
            if !(nu.is_finite() && nu > -1.0 && nu < 0.5) {
                bail!("point {i}: poisson = {nu} must be in (-1, 0.5)");
            }
        }
        Ok(())
    }

    /// Writes a binary little-endian PLY, atomically (temp file + rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        self.check()?;
        let f32p = |name: &str| Property {
            name: name.into(),
            kind: PropertyKind::Scalar(ScalarType::F32),
        };
        let mut props = vec![f32p("x"), f32p("y"), f32p("z"), f32p("young")];
        if self.poisson.is_some() {
            props.push(f32p("poisson"));
        }
        let header = Header::write(
            PlyFormat::BinaryLittleEndian,
            &["physdreamer material field: x y z in the simulation domain (m), young (Pa), poisson".into()],
            &[Element { name: "vertex".into(), count: self.points.len(), properties: props }],
        );
        let mut bytes = header.into_bytes();
        for (i, p) in self.points.iter().enumerate() {
            let mut row = vec![p.x, p.y, p.z, self.young[i]];
            if let Some(nu) = &self.poisson {
                row.push(nu[i]);
            }
            bytes.extend_from_slice(bytemuck::cast_slice(&row));
        }
        let tmp = path.with_extension("ply.tmp");
        std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("moving {} to {}", tmp.display(), path.display()))
    }

    /// The material at each of `positions`: the values of the nearest point of the file.
    pub fn sample(&self, positions: &[Vec3]) -> (Vec<f32>, Option<Vec<f32>>) {
        let grid = PointGrid::new(&self.points);
        let nearest: Vec<usize> = positions
            .iter()
            .map(|p| grid.nearest(*p).map(|(_, i)| i as usize).unwrap_or(0))
            .collect();
        let young = nearest.iter().map(|&i| self.young[i]).collect();
        let poisson = self
            .poisson
            .as_ref()
            .map(|nu| nearest.iter().map(|&i| nu[i]).collect());
        (young, poisson)
    }
}
