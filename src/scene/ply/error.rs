//! The PLY error types: every error names the file and, where it applies, the element, the
//! property, the row or line and the bad value.

use std::path::{Path, PathBuf};

/// A PLY error together with the file it came from.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct PlyError {
    /// The file that was read or written.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: Box<PlyErrorKind>,
}

impl PlyError {
    /// Attaches `path` to `kind`.
    pub fn new(path: &Path, kind: PlyErrorKind) -> Self {
        PlyError {
            path: path.to_path_buf(),
            kind: Box::new(kind),
        }
    }
}

/// Everything that can be wrong with a PLY file.
#[derive(Debug, thiserror::Error)]
pub enum PlyErrorKind {
    /// The file could not be read or written.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The first line is not `ply`.
    #[error("not a PLY file (the first line must be `ply`)")]
    NotPly,
    /// No `end_header` line was found.
    #[error("no `end_header` line within the first {limit} bytes")]
    NoEndHeader {
        /// The limit (bytes).
        limit: usize,
    },
    /// A header line is malformed.
    #[error("header line {line} `{text}`: {reason}")]
    HeaderLine {
        /// 1-based line number.
        line: usize,
        /// The line (at most 80 characters).
        text: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A required element is absent.
    #[error("no `{element}` element in the header")]
    MissingElement {
        /// Element name.
        element: String,
    },
    /// A required property is absent.
    #[error("element `{element}` has no property `{property}`")]
    MissingProperty {
        /// Element name.
        element: String,
        /// Property name.
        property: String,
    },
    /// A property has the wrong shape (list vs scalar, float vs integer).
    #[error("property `{property}` of element `{element}` is `{found}`, expected {expected}")]
    PropertyType {
        /// Element name.
        element: String,
        /// Property name.
        property: String,
        /// What the file has.
        found: String,
        /// What was expected.
        expected: String,
    },
    /// A 3DGS file with a number of `f_rest_*` properties that is no SH degree.
    #[error("element `vertex` has {found} `f_rest_*` properties; 3DGS files have 0, 9, 24 or 45 (SH degree 0-3)")]
    ShRestCount {
        /// What the file has.
        found: usize,
    },
    /// A file of fixed-size rows is not as long as its header says.
    #[error("the header describes {expected} bytes ({detail}) but the file has {actual} bytes")]
    SizeMismatch {
        /// What was expected.
        expected: u64,
        /// Actual size in bytes.
        actual: u64,
        /// Details.
        detail: String,
    },
    /// A row count that cannot fit in the rest of the file.
    #[error("element `{element}` declares {count} rows, but the {remaining} bytes left can hold at most {max}")]
    CountTooLarge {
        /// Element name.
        element: String,
        /// Row count, or the type of a list length.
        count: u64,
        /// Bytes left in the file.
        remaining: usize,
        /// Most rows those bytes can hold.
        max: u64,
    },
    /// The data ends before the header's rows do.
    #[error("file truncated: it ends in element `{element}` row {row} (property `{property}`)")]
    Truncated {
        /// Element name.
        element: String,
        /// 0-based row index.
        row: usize,
        /// Property name.
        property: String,
    },
    /// A value that is out of range or not a number of the declared type.
    #[error("element `{element}` row {row} property `{property}`: value `{value}` {reason}")]
    BadValue {
        /// Element name.
        element: String,
        /// 0-based row index.
        row: usize,
        /// Property name.
        property: String,
        /// The offending value, as text.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
    /// An ASCII row with the wrong number of values.
    #[error("line {line}: element `{element}` row {row} has {found} values, expected {expected}")]
    AsciiRow {
        /// 1-based line number.
        line: usize,
        /// Element name.
        element: String,
        /// 0-based row index.
        row: usize,
        /// What the file has.
        found: usize,
        /// What was expected.
        expected: String,
    },
    /// Data after the last element.
    #[error("unexpected data after the last element ({detail})")]
    TrailingData {
        /// Details.
        detail: String,
    },
}
