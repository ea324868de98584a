//! Decoding the body of a PLY file: the requested columns of every element, with every row
//! count checked against the bytes left before anything is allocated.

use std::fmt::Write as _;
use std::path::Path;

use super::{
    Element, Header, PlyError, PlyErrorKind, PlyFormat, Property, PropertyKind, ScalarType,
};

/// The columns a caller wants from one element.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Element name.
    pub element: String,
    /// Scalar properties to decode into `f32` columns, in this order.
    pub scalars: Vec<String>,
    /// A list property of non-negative integers to decode, if any.
    pub list: Option<String>,
}

/// Decoded columns of one requested element.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    /// Rows in the element.
    pub count: usize,
    /// One column per requested scalar, `count` values each.
    pub scalars: Vec<Vec<f32>>,
    /// Lengths of the requested list in each row.
    pub list_len: Vec<u32>,
    /// All list items, concatenated.
    pub list_items: Vec<u32>,
}

/// What to do with one property while decoding.
#[derive(Clone, Copy)]
enum Slot {
    Skip,
    Scalar(usize),
    List,
}

/// Decodes the requested columns of `bytes` (the whole file) according to `header`.
///
/// Every element is walked (so sizes are validated even for elements nobody asked for);
/// requested properties must exist and have the right shape.
pub fn read_elements(
    header: &Header,
    bytes: &[u8],
    requests: &[Request],
) -> Result<Vec<Columns>, PlyErrorKind> {
    // Map every request onto slots of its element.
    let mut plans: Vec<Option<(usize, Vec<Slot>)>> = vec![None; header.elements.len()];
    for (ri, req) in requests.iter().enumerate() {
        let (ei, el) = header
            .elements
            .iter()
            .enumerate()
            .find(|(_, e)| e.name == req.element)
            .ok_or_else(|| PlyErrorKind::MissingElement {
                element: req.element.clone(),
            })?;
        let mut slots = vec![Slot::Skip; el.properties.len()];
        for (ci, name) in req.scalars.iter().enumerate() {
            let (pi, p) = find_prop(el, name)?;
            if !matches!(p.kind, PropertyKind::Scalar(_)) {
                return Err(type_err(el, p, "a scalar"));
            }
            slots[pi] = Slot::Scalar(ci);
        }
        if let Some(name) = &req.list {
            let (pi, p) = find_prop(el, name)?;
            match p.kind {
                PropertyKind::List { item, .. } if !item.is_float() => slots[pi] = Slot::List,
                _ => return Err(type_err(el, p, "a list of integers")),
            }
        }
        plans[ei] = Some((ri, slots));
    }
    if header.format != PlyFormat::Ascii
        && header.elements.iter().all(|e| e.fixed_row_size().is_some())
    {
        check_fixed_size(header, bytes.len())?;
    }
    let mut out = vec![Columns::default(); requests.len()];
    let body = &bytes[header.len.min(bytes.len())..];
    let mut reader = BodyReader {
        body,
        pos: 0,
        line: header_lines(bytes, header.len),
        format: header.format,
    };
    for (ei, el) in header.elements.iter().enumerate() {
        let skip: Vec<Slot>;
        let (cols, slots) = match &plans[ei] {
            Some((ri, slots)) => (Some(&mut out[*ri]), slots),
            None => {
                skip = vec![Slot::Skip; el.properties.len()];
                (None, &skip)
            }
        };
        reader.element(
            el,
            slots,
            cols,
            requests_scalars(requests, plans[ei].as_ref()),
        )?;
    }
    reader.finish().map(|_| out)
}

fn requests_scalars(requests: &[Request], plan: Option<&(usize, Vec<Slot>)>) -> usize {
    plan.map_or(0, |(ri, _)| requests[*ri].scalars.len())
}

fn find_prop<'a>(el: &'a Element, name: &str) -> Result<(usize, &'a Property), PlyErrorKind> {
    el.property(name)
        .ok_or_else(|| PlyErrorKind::MissingProperty {
            element: el.name.clone(),
            property: name.to_string(),
        })
}

fn type_err(el: &Element, p: &Property, expected: &str) -> PlyErrorKind {
    PlyErrorKind::PropertyType {
        element: el.name.clone(),
        property: p.name.clone(),
        found: p.kind.describe(),
        expected: expected.into(),
    }
}

/// Line number (1-based) of the first body line.
fn header_lines(bytes: &[u8], len: usize) -> usize {
    bytes[..len.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn check_fixed_size(header: &Header, actual: usize) -> Result<(), PlyErrorKind> {
    let mut expected = header.len as u64;
    let mut detail = format!("{}-byte header", header.len);
    for e in &header.elements {
        let row = e.fixed_row_size().unwrap_or(0) as u64;
        expected = expected.saturating_add((e.count as u64).saturating_mul(row));
        let _ = write!(detail, " + {} `{}` rows x {} bytes", e.count, e.name, row);
    }
    if expected != actual as u64 {
        return Err(PlyErrorKind::SizeMismatch {
            expected,
            actual: actual as u64,
            detail,
        });
    }
    Ok(())
}

/// Walks the body element by element.
struct BodyReader<'a> {
    body: &'a [u8],
    pos: usize,
    line: usize,
    format: PlyFormat,
}

impl BodyReader<'_> {
    fn element(
        &mut self,
        el: &Element,
        slots: &[Slot],
        cols: Option<&mut Columns>,
        n_scalars: usize,
    ) -> Result<(), PlyErrorKind> {
        let remaining = self.body.len() - self.pos;
        // Allocation guard: a binary row takes at least `min_row_size` bytes, an ASCII row at
        // least one byte per value plus a separator.
        let min_row = match self.format {
            PlyFormat::Ascii => 2 * el.properties.len().max(1),
            _ => el.min_row_size().max(1),
        } as u64;
        let max = remaining as u64 / min_row;
        if el.properties.is_empty() {
            // Rows without properties take no bytes (binary) or no text (ASCII).
            if let Some(c) = cols {
                c.count = el.count;
            }
            return Ok(());
        }
        if el.count as u64 > max {
            return Err(PlyErrorKind::CountTooLarge {
                element: el.name.clone(),
                count: el.count as u64,
                remaining,
                max,
            });
        }
        let mut dummy = Columns::default();
        let cols = match cols {
            Some(c) => {
                c.count = el.count;
                c.scalars = (0..n_scalars)
                    .map(|_| Vec::with_capacity(el.count))
                    .collect();
                c
            }
            None => &mut dummy,
        };
        let wants_list = slots.iter().any(|s| matches!(s, Slot::List));
        if wants_list {
            cols.list_len.reserve(el.count);
        }
        match self.format {
            PlyFormat::Ascii => self.ascii_rows(el, slots, cols),
            f => self.binary_rows(el, slots, cols, f == PlyFormat::BinaryBigEndian),
        }
    }

    fn binary_rows(
        &mut self,
        el: &Element,
        slots: &[Slot],
        cols: &mut Columns,
        big: bool,
    ) -> Result<(), PlyErrorKind> {
        let body = self.body;
        for row in 0..el.count {
            for (p, slot) in el.properties.iter().zip(slots) {
                let truncated = || PlyErrorKind::Truncated {
                    element: el.name.clone(),
                    row,
                    property: p.name.clone(),
                };
                match p.kind {
                    PropertyKind::Scalar(t) => {
                        let b = body
                            .get(self.pos..self.pos + t.size())
                            .ok_or_else(truncated)?;
                        if let Slot::Scalar(ci) = slot {
                            let v = t.decode(b, big);
                            cols.scalars[*ci].push(to_f32(v, el, row, p)?);
                        }
                        self.pos += t.size();
                    }
                    PropertyKind::List { count, item } => {
                        let b = body
                            .get(self.pos..self.pos + count.size())
                            .ok_or_else(truncated)?;
                        let n = count.decode(b, big);
                        if n < 0.0 {
                            return Err(bad_value(el, row, p, n, "is a negative list length"));
                        }
                        let n = n as usize;
                        self.pos += count.size();
                        let len = n.saturating_mul(item.size());
                        let end = self.pos.checked_add(len).ok_or_else(truncated)?;
                        let items = body.get(self.pos..end).ok_or_else(truncated)?;
                        if let Slot::List = slot {
                            cols.list_len.push(n as u32);
                            for c in items.chunks_exact(item.size()) {
                                cols.list_items
                                    .push(to_index(item.decode(c, big), el, row, p)?);
                            }
                        }
                        self.pos += len;
                    }
                }
            }
        }
        Ok(())
    }

    fn ascii_rows(
        &mut self,
        el: &Element,
        slots: &[Slot],
        cols: &mut Columns,
    ) -> Result<(), PlyErrorKind> {
        for row in 0..el.count {
            // Next non-empty line.
            let line = loop {
                if self.pos >= self.body.len() {
                    let property = el
                        .properties
                        .first()
                        .map_or(String::new(), |p| p.name.clone());
                    return Err(PlyErrorKind::Truncated {
                        element: el.name.clone(),
                        row,
                        property,
                    });
                }
                let rest = &self.body[self.pos..];
                let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                let line = &rest[..end];
                self.pos += (end + 1).min(rest.len());
                self.line += 1;
                if !line.iter().all(|b| b.is_ascii_whitespace()) {
                    break line;
                }
            };
            let text = String::from_utf8_lossy(line);
            let toks: Vec<&str> = text.split_ascii_whitespace().collect();
            let line_no = self.line - 1;
            let row_err = |expected: String| PlyErrorKind::AsciiRow {
                line: line_no,
                element: el.name.clone(),
                row,
                found: toks.len(),
                expected,
            };
            let mut t = 0usize;
            for (p, slot) in el.properties.iter().zip(slots) {
                let mut next = |ty: ScalarType| -> Result<f64, PlyErrorKind> {
                    let tok = *toks.get(t).ok_or_else(|| row_err(short(el, &p.name)))?;
                    t += 1;
                    ty.parse_token(tok)
                        .map_err(|reason| PlyErrorKind::BadValue {
                            element: el.name.clone(),
                            row,
                            property: p.name.clone(),
                            value: tok.chars().take(40).collect(),
                            reason: format!("{reason} (line {line_no})"),
                        })
                };
                match p.kind {
                    PropertyKind::Scalar(ty) => {
                        let v = next(ty)?;
                        if let Slot::Scalar(ci) = slot {
                            cols.scalars[*ci].push(to_f32(v, el, row, p)?);
                        }
                    }
                    PropertyKind::List { count, item } => {
                        let n = next(count)?;
                        if n < 0.0 {
                            return Err(bad_value(el, row, p, n, "is a negative list length"));
                        }
                        if n as usize > toks.len() {
                            return Err(row_err(format!(
                                "at least {} (list `{}` has {n} items)",
                                n as usize + 1,
                                p.name
                            )));
                        }
                        if let Slot::List = slot {
                            cols.list_len.push(n as u32);
                        }
                        for _ in 0..n as usize {
                            let v = next(item)?;
                            if let Slot::List = slot {
                                cols.list_items.push(to_index(v, el, row, p)?);
                            }
                        }
                    }
                }
            }
            if t != toks.len() {
                return Err(row_err(t.to_string()));
            }
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), PlyErrorKind> {
        let rest = &self.body[self.pos.min(self.body.len())..];
        match self.format {
            PlyFormat::Ascii => {
                if let Some(off) = rest.iter().position(|b| !b.is_ascii_whitespace()) {
                    let line = self.line + rest[..off].iter().filter(|&&b| b == b'\n').count();
                    return Err(PlyErrorKind::TrailingData {
                        detail: format!("text at line {line}"),
                    });
                }
            }
            _ => {
                if !rest.is_empty() {
                    return Err(PlyErrorKind::TrailingData {
                        detail: format!("{} extra bytes", rest.len()),
                    });
                }
            }
        }
        Ok(())
    }
}

/// "Expected" text of an ASCII row that ends before property `name`.
fn short(el: &Element, name: &str) -> String {
    if el.fixed_row_size().is_some() {
        format!("{} (the row ends before `{name}`)", el.properties.len())
    } else {
        format!("more (the row ends before `{name}`)")
    }
}

fn bad_value(el: &Element, row: usize, p: &Property, v: f64, reason: &str) -> PlyErrorKind {
    PlyErrorKind::BadValue {
        element: el.name.clone(),
        row,
        property: p.name.clone(),
        value: v.to_string(),
        reason: reason.into(),
    }
}

/// Narrows to `f32`, rejecting finite doubles that overflow it (non-finite values pass through
/// for the caller to judge).
fn to_f32(v: f64, el: &Element, row: usize, p: &Property) -> Result<f32, PlyErrorKind> {
    let f = v as f32;
    if v.is_finite() && !f.is_finite() {
        return Err(bad_value(
            el,
            row,
            p,
            v,
            "is outside the range of a 32-bit float",
        ));
    }
    Ok(f)
}

fn to_index(v: f64, el: &Element, row: usize, p: &Property) -> Result<u32, PlyErrorKind> {
    if v < 0.0 || v > u32::MAX as f64 || v.fract() != 0.0 {
        return Err(bad_value(el, row, p, v, "is not a valid index"));
    }
    Ok(v as u32)
}

/// Reads the `x y z` of every `vertex` of a PLY point cloud (other properties and elements are
/// ignored; every coordinate must be finite).
pub fn read_points(path: &Path) -> Result<Vec<glam::Vec3>, PlyError> {
    let err = |k| PlyError::new(path, k);
    let bytes = std::fs::read(path).map_err(|e| err(e.into()))?;
    let header = Header::parse(&bytes).map_err(err)?;
    let req = Request {
        element: "vertex".into(),
        scalars: vec!["x".into(), "y".into(), "z".into()],
        list: None,
    };
    let cols = read_elements(&header, &bytes, &[req])
        .map_err(err)?
        .pop()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(cols.count);
    for i in 0..cols.count {
        let p = glam::Vec3::new(cols.scalars[0][i], cols.scalars[1][i], cols.scalars[2][i]);
        if let Some(a) = (0..3).find(|&a| !p[a].is_finite()) {
            let kind = PlyErrorKind::BadValue {
                element: "vertex".into(),
                row: i,
                property: ["x", "y", "z"][a].into(),
                value: p[a].to_string(),
                reason: "is not finite".into(),
            };
            return Err(err(kind));
        }
        out.push(p);
    }
    Ok(out)
}
