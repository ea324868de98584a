//! The frame files of a video folder: numbering, decoding, and the reader's errors.

use std::path::{Path, PathBuf};

use image::DynamicImage;

/// Errors of the video reader; each names the file or folder.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// A folder or file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// No PNG or JPEG files in the folder.
    #[error("{}: no PNG or JPEG frames in the folder", dir.display())]
    Empty {
        /// The folder.
        dir: PathBuf,
    },
    /// Image files without a number in their name.
    #[error("{}: no frame number in the file name of {}", dir.display(), files.join(", "))]
    NoNumber {
        /// The folder.
        dir: PathBuf,
        /// The file names.
        files: Vec<String>,
    },
    /// Two files with the same frame number.
    #[error("{} and {} are both frame {number}", first.display(), second.display())]
    Duplicate {
        /// The frame number.
        number: u64,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A gap in the numbering.
    #[error("{}: frame {missing} is missing (the sequence jumps from {} to {})", dir.display(), before.display(), after.display())]
    Gap {
        /// The folder.
        dir: PathBuf,
        /// The first missing number.
        missing: u64,
        /// The file before the gap.
        before: PathBuf,
        /// The file after the gap.
        after: PathBuf,
    },
    /// A file that is not a readable image.
    #[error("{}: cannot decode the image: {message}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// A frame or mask of the wrong size under [`SizePolicy::Reject`].
    #[error("{}: {}×{} pixels, expected {}×{} (SizePolicy::Resize resamples it)", path.display(), found.0, found.1, wanted.0, wanted.1)]
    Size {
        /// The file.
        path: PathBuf,
        /// Its size.
        found: (u32, u32),
        /// The wanted size.
        wanted: (u32, u32),
    },
    /// Masks and frames differ in number.
    #[error("{} masks in {} for {} frames in {}", masks, masks_dir.display(), frames, frames_dir.display())]
    MaskCount {
        /// The frame folder.
        frames_dir: PathBuf,
        /// The mask folder.
        masks_dir: PathBuf,
        /// Number of frames.
        frames: usize,
        /// Number of masks.
        masks: usize,
    },
    /// A frame without the mask of the same number.
    #[error("{}: no mask numbered {number} in {}", frame.display(), masks_dir.display())]
    MaskMissing {
        /// The frame.
        frame: PathBuf,
        /// Its number.
        number: u64,
        /// The mask folder.
        masks_dir: PathBuf,
    },
    /// A bad setting: fps or the wanted size.
    #[error("{field} = {value}: {reason}")]
    Setting {
        /// `fps` or `size`.
        field: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
}

/// The PNG and JPEG files of `dir` with their frame numbers, in order, checked to be
/// consecutive and unique (see the module docs). Other files are skipped with a warning.
pub fn numbered_images(dir: &Path) -> Result<Vec<(u64, PathBuf)>, VideoError> {
    let io = |source| VideoError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    let mut unnumbered = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            continue;
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg")) {
            log::warn!("ignoring {}: not a PNG or JPEG file", path.display());
            continue;
        }
        match path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(frame_number)
        {
            Some(n) => files.push((n, path)),
            None => unnumbered.push(
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
            ),
        }
    }
    if !unnumbered.is_empty() {
        unnumbered.sort();
        return Err(VideoError::NoNumber {
            dir: dir.to_path_buf(),
            files: unnumbered,
        });
    }
    if files.is_empty() {
        return Err(VideoError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    files.sort();
    for pair in files.windows(2) {
        let ((a, pa), (b, pb)) = (&pair[0], &pair[1]);
        if a == b {
            return Err(VideoError::Duplicate {
                number: *a,
                first: pa.clone(),
                second: pb.clone(),
            });
        }
        if *b != a + 1 {
            return Err(VideoError::Gap {
                dir: dir.to_path_buf(),
                missing: a + 1,
                before: pa.clone(),
                after: pb.clone(),
            });
        }
    }
    Ok(files)
}

/// The last run of ASCII digits in `stem`, if any (and if it fits a `u64`).
fn frame_number(stem: &str) -> Option<u64> {
    let end = stem.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = stem[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    stem[start..end].parse().ok()
}

pub(super) fn decode(path: &Path) -> Result<DynamicImage, VideoError> {
    let reader = image::ImageReader::open(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = reader
        .with_guessed_format()
        .map_err(|source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    reader.decode().map_err(|e| VideoError::Decode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
