//! Triangle meshes from OBJ and PLY files; polygons are fan-triangulated.
//!
//! The OBJ reader is a small line parser rather than `tobj`: `tobj` renumbers vertices in order
//! of first use and drops unreferenced ones (the Stanford bunny would load with 34,834 of its
//! 35,947 vertices), while deformed meshes must keep the file's vertex numbering; a line parser
//! also lets every error name the line and the bad value. It reads `v` (x y z, optional w or
//! colour) and `f` records (`v`, `v/vt`, `v//vn`, `v/vt/vn`, negative = relative indices; texture
//! and normal indices are range-checked, then ignored); every other record (groups, materials,
//! lines, points) is skipped, and all groups form one mesh. PLY meshes need a `vertex` element
//! with `x y z` and a `face` element with a `vertex_indices` (or `vertex_index`) list.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use glam::{DVec3, Vec3};

use super::ply::{
    self, Element, Header, PlyError, PlyErrorKind, PlyFormat, Property, PropertyKind, Request,
    ScalarType,
};
use super::transform::Similarity;

/// Errors of the mesh readers; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// The file could not be read.
    #[error("{}: I/O error: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A malformed OBJ line.
    #[error("{}: line {line} `{text}`: {reason}", path.display())]
    ObjLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line (at most 80 characters).
        text: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A PLY error.
    #[error(transparent)]
    Ply(#[from] PlyError),
    /// The mesh parsed but is not usable.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why it is wrong.
        reason: String,
    },
    /// Neither `.obj` nor `.ply`.
    #[error("{}: unknown mesh file extension (expected .obj or .ply)", path.display())]
    Extension {
        /// The file.
        path: PathBuf,
    },
}

/// An indexed triangle mesh.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TriMesh {
    /// Vertex positions.
    pub positions: Vec<Vec3>,
    /// Triangles as vertex indices, counter-clockwise seen from outside for a closed mesh.
    pub triangles: Vec<[u32; 3]>,
}

impl TriMesh {
    /// Reads an `.obj` or `.ply` mesh (chosen by extension, case-insensitive).
    pub fn read(path: &Path) -> Result<TriMesh, MeshError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("obj") => Self::read_obj(path),
            Some("ply") => Self::read_ply(path),
            _ => Err(MeshError::Extension { path: path.into() }),
        }
    }

    /// Reads a Wavefront OBJ file.
    pub fn read_obj(path: &Path) -> Result<TriMesh, MeshError> {
        let bytes = std::fs::read(path).map_err(|source| MeshError::Io {
            path: path.into(),
            source,
        })?;
        Self::from_obj_bytes(&bytes, path)
    }

    /// Parses OBJ text; `path` is only used in error messages.
    pub fn from_obj_bytes(bytes: &[u8], path: &Path) -> Result<TriMesh, MeshError> {
        let text = std::str::from_utf8(bytes).map_err(|e| MeshError::Invalid {
            path: path.into(),
            reason: format!("not UTF-8 text ({e})"),
        })?;
        let mesh = parse_obj(text).map_err(|(line, text, reason)| MeshError::ObjLine {
            path: path.into(),
            line,
            text,
            reason,
        })?;
        mesh.check(path)?;
        Ok(mesh)
    }

    /// Reads a PLY mesh.
    pub fn read_ply(path: &Path) -> Result<TriMesh, MeshError> {
        let bytes = std::fs::read(path).map_err(|source| MeshError::Io {
            path: path.into(),
            source,
        })?;
        let mesh = Self::from_ply_bytes(&bytes).map_err(|k| PlyError::new(path, k))?;
        mesh.check(path)?;
        Ok(mesh)
    }

    /// Parses PLY bytes (binary or ASCII); polygons are fan-triangulated.
    pub fn from_ply_bytes(bytes: &[u8]) -> Result<TriMesh, PlyErrorKind> {
        let header = Header::parse(bytes)?;
        let face = header
            .element("face")
            .ok_or_else(|| PlyErrorKind::MissingElement {
                element: "face".into(),
            })?;
        let list = ["vertex_indices", "vertex_index"]
            .into_iter()
            .find(|n| face.property(n).is_some())
            .unwrap_or("vertex_indices");
        let reqs = [
            Request {
                element: "vertex".into(),
                scalars: vec!["x".into(), "y".into(), "z".into()],
                list: None,
            },
            Request {
                element: "face".into(),
                scalars: vec![],
                list: Some(list.into()),
            },
        ];
        let cols = ply::read_elements(&header, bytes, &reqs)?;
        let (v, f) = (&cols[0], &cols[1]);
        let mut positions = Vec::with_capacity(v.count);
        for i in 0..v.count {
            let p = Vec3::new(v.scalars[0][i], v.scalars[1][i], v.scalars[2][i]);
            if let Some(axis) = (0..3).find(|&a| !p[a].is_finite()) {
                return Err(bad(
                    "vertex",
                    i,
                    ["x", "y", "z"][axis],
                    p[axis].to_string(),
                    "is not finite",
                ));
            }
            positions.push(p);
        }
        let mut triangles = Vec::with_capacity(f.count);
        let mut at = 0usize;
        for (row, &len) in f.list_len.iter().enumerate() {
            let idx = &f.list_items[at..at + len as usize];
            at += len as usize;
            if idx.len() < 3 {
                return Err(bad(
                    "face",
                    row,
                    list,
                    format!("{} indices", idx.len()),
                    "is not a polygon (needs at least 3)",
                ));
            }
            if let Some(&i) = idx.iter().find(|&&i| i as usize >= positions.len()) {
                return Err(bad(
                    "face",
                    row,
                    list,
                    i.to_string(),
                    &format!("is out of range ({} vertices)", positions.len()),
                ));
            }
            for k in 1..idx.len() - 1 {
                triangles.push([idx[0], idx[k], idx[k + 1]]);
            }
        }
        Ok(TriMesh {
            positions,
            triangles,
        })
    }

    /// Encodes the mesh as PLY (`vertex` x,y,z floats, `face` `list uchar int vertex_indices`).
    pub fn to_ply_bytes(&self, format: PlyFormat) -> Vec<u8> {
        let format = if format == PlyFormat::Ascii {
            PlyFormat::Ascii
        } else {
            PlyFormat::BinaryLittleEndian
        };
        let scalar = |n: &str| Property {
            name: n.into(),
            kind: PropertyKind::Scalar(ScalarType::F32),
        };
        let elements = [
            Element {
                name: "vertex".into(),
                count: self.positions.len(),
                properties: vec![scalar("x"), scalar("y"), scalar("z")],
            },
            Element {
                name: "face".into(),
                count: self.triangles.len(),
                properties: vec![Property {
                    name: "vertex_indices".into(),
                    kind: PropertyKind::List {
                        count: ScalarType::U8,
                        item: ScalarType::I32,
                    },
                }],
            },
        ];
        let mut out = Header::write(format, &[], &elements).into_bytes();
        if format == PlyFormat::Ascii {
            for p in &self.positions {
                out.extend(
                    format!(
                        "{} {} {}\n",
                        ply::fmt_f32(p.x),
                        ply::fmt_f32(p.y),
                        ply::fmt_f32(p.z)
                    )
                    .bytes(),
                );
            }
            for t in &self.triangles {
                out.extend(format!("3 {} {} {}\n", t[0], t[1], t[2]).bytes());
            }
        } else {
            for p in &self.positions {
                for v in [p.x, p.y, p.z] {
                    out.extend(v.to_le_bytes());
                }
            }
            for t in &self.triangles {
                out.push(3);
                for &i in t {
                    out.extend((i as i32).to_le_bytes());
                }
            }
        }
        out
    }

    /// Checks indices, finiteness and that there is at least one triangle.
    pub fn check(&self, path: &Path) -> Result<(), MeshError> {
        let invalid = |reason: String| MeshError::Invalid {
            path: path.into(),
            reason,
        };
        if self.triangles.is_empty() {
            return Err(invalid("the mesh has no triangles".into()));
        }
        if let Some(i) = self.positions.iter().position(|p| !p.is_finite()) {
            return Err(invalid(format!(
                "vertex {i} has a non-finite coordinate {:?}",
                self.positions[i]
            )));
        }
        let n = self.positions.len();
        if let Some((t, tri)) = self
            .triangles
            .iter()
            .enumerate()
            .find(|(_, t)| t.iter().any(|&i| i as usize >= n))
        {
            return Err(invalid(format!(
                "triangle {t} {tri:?} refers past the last of {n} vertices"
            )));
        }
        Ok(())
    }

    /// Axis-aligned bounds of the vertices.
    pub fn bounds(&self) -> Option<(Vec3, Vec3)> {
        super::transform::bounds(self.positions.iter().copied())
    }

    /// Enclosed volume by the divergence theorem (positive for outward-facing triangles; only
    /// meaningful for a closed mesh).
    pub fn signed_volume(&self) -> f64 {
        self.triangles
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|i| self.vertex(i));
                a.dot(b.cross(c)) / 6.0
            })
            .sum()
    }

    /// Number of edges used by exactly one triangle (0 for a closed mesh).
    pub fn boundary_edges(&self) -> usize {
        let mut count: HashMap<(u32, u32), u32> = HashMap::new();
        for t in &self.triangles {
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                *count.entry((a.min(b), a.max(b))).or_default() += 1;
            }
        }
        count.values().filter(|&&c| c == 1).count()
    }

    /// Vertex `i` in double precision (the origin for an index past the end).
    fn vertex(&self, i: u32) -> DVec3 {
        self.positions
            .get(i as usize)
            .map_or(DVec3::ZERO, |p| p.as_dvec3())
    }

    /// Total surface area.
    pub fn area(&self) -> f64 {
        self.triangles
            .iter()
            .map(|t| {
                let [a, b, c]: [DVec3; 3] = t.map(|i| self.vertex(i));
                0.5 * (b - a).cross(c - a).length()
            })
            .sum()
    }

    /// Applies a similarity to every vertex.
    pub fn transform(&mut self, s: &Similarity) {
        for p in &mut self.positions {
            *p = s.apply(*p);
        }
    }
}

fn bad(element: &str, row: usize, property: &str, value: String, reason: &str) -> PlyErrorKind {
    PlyErrorKind::BadValue {
        element: element.into(),
        row,
        property: property.into(),
        value,
        reason: reason.into(),
    }
}

/// Parses OBJ text line by line: numbers parse and are finite, faces have 3+ vertices, every
/// index (absolute or relative) points at an existing `v`/`vt`/`vn`. Errors are (line, text,
/// reason).
fn parse_obj(text: &str) -> Result<TriMesh, (usize, String, String)> {
    let mut totals = [0usize; 3];
    for line in text.lines() {
        match line.split_whitespace().next() {
            Some("v") => totals[0] += 1,
            Some("vt") => totals[1] += 1,
            Some("vn") => totals[2] += 1,
            _ => {}
        }
    }
    let mut mesh = TriMesh {
        positions: Vec::with_capacity(totals[0]),
        triangles: Vec::new(),
    };
    let mut seen = [0usize; 3];
    let mut face: Vec<u32> = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        let err = |reason: String| {
            (
                no + 1,
                raw.trim().chars().take(80).collect::<String>(),
                reason,
            )
        };
        let numbers = |min: usize, max: usize| -> Result<Vec<f32>, (usize, String, String)> {
            let vals = &words[1..];
            if vals.len() < min || vals.len() > max {
                return Err(err(format!(
                    "expected {min} to {max} numbers, found {}",
                    vals.len()
                )));
            }
            vals.iter()
                .map(|w| match w.parse::<f32>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    Ok(_) => Err(err(format!("value `{w}` is not finite"))),
                    Err(_) => Err(err(format!("value `{w}` is not a number"))),
                })
                .collect()
        };
        match words.first().copied() {
            Some("v") => {
                let v = numbers(3, 7)?;
                mesh.positions.push(Vec3::new(v[0], v[1], v[2]));
                seen[0] += 1;
            }
            Some("vt") => {
                numbers(1, 3)?;
                seen[1] += 1;
            }
            Some("vn") => {
                numbers(3, 3)?;
                seen[2] += 1;
            }
            Some("f") => {
                if words.len() < 4 {
                    return Err(err(format!(
                        "a face needs at least 3 vertices, found {}",
                        words.len() - 1
                    )));
                }
                face.clear();
                for w in &words[1..] {
                    let parts: Vec<&str> = w.split('/').collect();
                    if parts.len() > 3 || parts[0].is_empty() {
                        return Err(err(format!("malformed vertex reference `{w}`")));
                    }
                    for (k, part) in parts.iter().enumerate().filter(|(_, p)| !p.is_empty()) {
                        let what = ["vertex", "texture coordinate", "normal"][k];
                        let i: i64 = part
                            .parse()
                            .map_err(|_| err(format!("{what} index `{part}` is not an integer")))?;
                        // Positive: 1-based into the whole file; negative: relative to the records so far.
                        let resolved = if i > 0 && i as u64 <= totals[k] as u64 {
                            Some(i as usize - 1)
                        } else if i < 0 && i.unsigned_abs() <= seen[k] as u64 {
                            Some(seen[k] - i.unsigned_abs() as usize)
                        } else {
                            None
                        };
                        let Some(idx) = resolved else {
                            return Err(err(format!(
                                "{what} index {i} is out of range ({} defined)",
                                if i > 0 { totals[k] } else { seen[k] }
                            )));
                        };
                        if k == 0 {
                            face.push(idx as u32);
                        }
                    }
                }
                for j in 1..face.len() - 1 {
                    mesh.triangles.push([face[0], face[j], face[j + 1]]);
                }
            }
            _ => {}
        }
    }
    if totals[0] == 0 {
        return Err((0, String::new(), "no `v` (vertex) lines".into()));
    }
    Ok(mesh)
}
