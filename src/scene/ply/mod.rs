//! A strict PLY core shared by the Gaussian-splat, mesh and point-mask readers.
//!
//! [`Header::parse`] reads and checks the header; [`read_elements`] decodes the columns a caller
//! asks for from every element (ASCII, binary little- or big-endian). The reader never trusts the
//! header: before anything is allocated, every element's row count is checked against the bytes
//! that are left, a file made only of fixed-size rows must have exactly the size its header
//! describes, and ASCII rows must be one per line with exactly the declared number of values.
//! Errors are [`PlyErrorKind`] values that name the element, the property, the row and the bad
//! value; the file readers wrap them in [`PlyError`] with the path.

mod body;
mod error;

use std::fmt::Write as _;

pub use body::{read_elements, read_points, Columns, Request};
pub use error::{PlyError, PlyErrorKind};

/// Longest header accepted (bytes); real 3DGS headers are about 2 KB.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Most rows one element may declare (row indices must fit a `u32`).
pub const MAX_ROWS: u64 = 1 << 31;
/// Most properties one element may declare.
pub const MAX_PROPERTIES: usize = 1024;

/// How the body of a PLY file is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlyFormat {
    /// One row per line, values as decimal text.
    Ascii,
    /// Packed binary, little-endian (what 3DGS trainers write).
    BinaryLittleEndian,
    /// Packed binary, big-endian (read only).
    BinaryBigEndian,
}

impl PlyFormat {
    fn keyword(self) -> &'static str {
        match self {
            PlyFormat::Ascii => "ascii",
            PlyFormat::BinaryLittleEndian => "binary_little_endian",
            PlyFormat::BinaryBigEndian => "binary_big_endian",
        }
    }
}

/// A PLY scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarType {
    /// `char` / `int8`.
    I8,
    /// `uchar` / `uint8`.
    U8,
    /// `short` / `int16`.
    I16,
    /// `ushort` / `uint16`.
    U16,
    /// `int` / `int32`.
    I32,
    /// `uint` / `uint32`.
    U32,
    /// `float` / `float32`.
    F32,
    /// `double` / `float64`.
    F64,
}

impl ScalarType {
    /// Parses both the classic (`uchar`) and the sized (`uint8`) spellings.
    pub fn parse(name: &str) -> Option<Self> {
        use ScalarType::*;
        Some(match name {
            "char" | "int8" => I8,
            "uchar" | "uint8" => U8,
            "short" | "int16" => I16,
            "ushort" | "uint16" => U16,
            "int" | "int32" => I32,
            "uint" | "uint32" => U32,
            "float" | "float32" => F32,
            "double" | "float64" => F64,
            _ => return None,
        })
    }

    /// The classic PLY name of the type.
    pub fn name(self) -> &'static str {
        use ScalarType::*;
        match self {
            I8 => "char",
            U8 => "uchar",
            I16 => "short",
            U16 => "ushort",
            I32 => "int",
            U32 => "uint",
            F32 => "float",
            F64 => "double",
        }
    }

    /// Size in bytes in a binary file.
    pub fn size(self) -> usize {
        use ScalarType::*;
        match self {
            I8 | U8 => 1,
            I16 | U16 => 2,
            I32 | U32 | F32 => 4,
            F64 => 8,
        }
    }

    /// True for `float` and `double`.
    pub fn is_float(self) -> bool {
        matches!(self, ScalarType::F32 | ScalarType::F64)
    }

    /// Decodes one value from the first `size()` bytes of `b` (the caller checks the length).
    fn decode(self, b: &[u8], big: bool) -> f64 {
        use ScalarType::*;
        macro_rules! rd {
            ($t:ty, $($i:literal),+) => {{
                let a = [$(b[$i]),+];
                (if big { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
            }};
        }
        match self {
            I8 => b[0] as i8 as f64,
            U8 => b[0] as f64,
            I16 => rd!(i16, 0, 1),
            U16 => rd!(u16, 0, 1),
            I32 => rd!(i32, 0, 1, 2, 3),
            U32 => rd!(u32, 0, 1, 2, 3),
            F32 => rd!(f32, 0, 1, 2, 3),
            F64 => rd!(f64, 0, 1, 2, 3, 4, 5, 6, 7),
        }
    }

    /// Parses an ASCII token as this type; `Err` holds the reason.
    fn parse_token(self, tok: &str) -> Result<f64, String> {
        use ScalarType::*;
        let (lo, hi) = match self {
            F32 => {
                return tok
                    .parse::<f32>()
                    .map(|v| v as f64)
                    .map_err(|_| "is not a float".into())
            }
            F64 => return tok.parse::<f64>().map_err(|_| "is not a double".into()),
            I8 => (i8::MIN as i64, i8::MAX as i64),
            U8 => (0, u8::MAX as i64),
            I16 => (i16::MIN as i64, i16::MAX as i64),
            U16 => (0, u16::MAX as i64),
            I32 => (i32::MIN as i64, i32::MAX as i64),
            U32 => (0, u32::MAX as i64),
        };
        match tok.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v as f64),
            Ok(_) => Err(format!("is out of range for `{}`", self.name())),
            Err(_) => Err(format!("is not an integer (`{}`)", self.name())),
        }
    }
}

/// A property's type: one scalar, or a list with a length prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyKind {
    /// One value.
    Scalar(ScalarType),
    /// A length followed by that many items.
    List {
        /// Row count, or the type of a list length.
        count: ScalarType,
        /// Type of the list items.
        item: ScalarType,
    },
}

impl PropertyKind {
    /// The header spelling, e.g. `float` or `list uchar int`.
    pub fn describe(self) -> String {
        match self {
            PropertyKind::Scalar(t) => t.name().to_string(),
            PropertyKind::List { count, item } => format!("list {} {}", count.name(), item.name()),
        }
    }
}

/// One `property` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// Name.
    pub name: String,
    /// Type.
    pub kind: PropertyKind,
}

/// One `element` line and its properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// Name.
    pub name: String,
    /// Row count, or the type of a list length.
    pub count: usize,
    /// Properties in file order.
    pub properties: Vec<Property>,
}

impl Element {
    /// The index and definition of property `name`.
    pub fn property(&self, name: &str) -> Option<(usize, &Property)> {
        self.properties
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == name)
    }

    /// Bytes per row when every property is a scalar.
    pub fn fixed_row_size(&self) -> Option<usize> {
        self.properties.iter().try_fold(0, |acc, p| match p.kind {
            PropertyKind::Scalar(t) => Some(acc + t.size()),
            PropertyKind::List { .. } => None,
        })
    }

    /// Fewest bytes a binary row can take (lists of length 0).
    fn min_row_size(&self) -> usize {
        self.properties
            .iter()
            .map(|p| match p.kind {
                PropertyKind::Scalar(t) => t.size(),
                PropertyKind::List { count, .. } => count.size(),
            })
            .sum()
    }
}

/// A parsed PLY header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Body encoding.
    pub format: PlyFormat,
    /// Elements in file order.
    pub elements: Vec<Element>,
    /// `comment` and `obj_info` lines, without the keyword.
    pub comments: Vec<String>,
    /// Length of the header in bytes, including the `end_header` line break.
    pub len: usize,
}

impl Header {
    /// Parses the header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header, PlyErrorKind> {
        if !(bytes.starts_with(b"ply\n") || bytes.starts_with(b"ply\r\n")) {
            return Err(PlyErrorKind::NotPly);
        }
        let mut format = None;
        let mut elements: Vec<Element> = Vec::new();
        let mut comments = Vec::new();
        let mut pos = 0usize;
        let mut line_no = 0usize;
        loop {
            let rest = &bytes[pos..bytes.len().min(MAX_HEADER_BYTES)];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                return Err(PlyErrorKind::NoEndHeader {
                    limit: MAX_HEADER_BYTES,
                });
            };
            line_no += 1;
            let raw = &rest[..nl];
            pos += nl + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let text = String::from_utf8_lossy(raw).into_owned();
            let bad = |reason: &str| PlyErrorKind::HeaderLine {
                line: line_no,
                text: text.clone(),
                reason: reason.into(),
            };
            if !raw.is_ascii() {
                return Err(bad("the header must be ASCII text"));
            }
            let words: Vec<&str> = text.split_ascii_whitespace().collect();
            match words.first().copied() {
                _ if line_no == 1 => {} // the `ply` magic, checked above
                Some("format") => {
                    if format.is_some() {
                        return Err(bad("a second `format` line"));
                    }
                    if words.len() != 3 || words[2] != "1.0" {
                        return Err(bad(
                            "expected `format <ascii|binary_little_endian|binary_big_endian> 1.0`",
                        ));
                    }
                    format = Some(match words[1] {
                        "ascii" => PlyFormat::Ascii,
                        "binary_little_endian" => PlyFormat::BinaryLittleEndian,
                        "binary_big_endian" => PlyFormat::BinaryBigEndian,
                        _ => return Err(bad("unknown format")),
                    });
                }
                Some("comment") | Some("obj_info") => {
                    comments.push(text.trim_start()[words[0].len()..].trim().to_string());
                }
                Some("element") => {
                    if words.len() != 3 {
                        return Err(bad("expected `element <name> <count>`"));
                    }
                    let count: u64 = words[2]
                        .parse()
                        .map_err(|_| bad("the row count is not a non-negative integer"))?;
                    if count > MAX_ROWS {
                        return Err(bad(&format!("the row count is larger than {MAX_ROWS}")));
                    }
                    if elements.iter().any(|e| e.name == words[1]) {
                        return Err(bad("a second element with this name"));
                    }
                    elements.push(Element {
                        name: words[1].to_string(),
                        count: count as usize,
                        properties: Vec::new(),
                    });
                }
                Some("property") => {
                    let Some(el) = elements.last_mut() else {
                        return Err(bad("a property before any element"));
                    };
                    let ty = |w: &str| {
                        ScalarType::parse(w).ok_or_else(|| bad(&format!("unknown type `{w}`")))
                    };
                    let (kind, name) = match words.as_slice() {
                        ["property", "list", c, i, n] => (PropertyKind::List { count: ty(c)?, item: ty(i)? }, *n),
                        ["property", t, n] if *t != "list" => (PropertyKind::Scalar(ty(t)?), *n),
                        _ => return Err(bad("expected `property <type> <name>` or `property list <type> <type> <name>`")),
                    };
                    if let PropertyKind::List { count, .. } = kind {
                        if count.is_float() {
                            return Err(bad("a list length must have an integer type"));
                        }
                    }
                    if el.property(name).is_some() {
                        return Err(bad("a second property with this name in the element"));
                    }
                    if el.properties.len() >= MAX_PROPERTIES {
                        return Err(bad(&format!("more than {MAX_PROPERTIES} properties")));
                    }
                    el.properties.push(Property {
                        name: name.to_string(),
                        kind,
                    });
                }
                Some("end_header") if words.len() == 1 => {
                    let format =
                        format.ok_or_else(|| bad("`end_header` before any `format` line"))?;
                    return Ok(Header {
                        format,
                        elements,
                        comments,
                        len: pos,
                    });
                }
                Some(_) => return Err(bad("unknown header keyword")),
                None => return Err(bad("empty header line")),
            }
        }
    }

    /// The element called `name`.
    pub fn element(&self, name: &str) -> Option<&Element> {
        self.elements.iter().find(|e| e.name == name)
    }

    /// Writes a header for `elements`.
    pub fn write(format: PlyFormat, comments: &[String], elements: &[Element]) -> String {
        let mut s = String::from("ply\n");
        let _ = writeln!(s, "format {} 1.0", format.keyword());
        for c in comments {
            let _ = writeln!(s, "comment {}", c.replace(['\n', '\r'], " "));
        }
        for e in elements {
            let _ = writeln!(s, "element {} {}", e.name, e.count);
            for p in &e.properties {
                let _ = writeln!(s, "property {} {}", p.kind.describe(), p.name);
            }
        }
        s.push_str("end_header\n");
        s
    }
}

/// Formats an `f32` so that parsing the text gives back the same bits (shortest round-trip).
pub fn fmt_f32(v: f32) -> String {
    format!("{v}")
}
