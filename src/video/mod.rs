//! Video input for fitting: a folder of numbered frames (PNG or JPEG), optional foreground
//! masks, and the frame rate.
//!
//! Frames are ordered by the number in their file names: the last run of digits in the name
//! without its extension (`frame_2.png` before `frame_10.png`, `shot3_0007.jpg` is frame 7). The
//! numbers must be consecutive (any first number); a gap, a repeated number, an image file
//! without a number, an unreadable or corrupt file, or an empty folder is an error that names
//! the file or folder. Files that are not `.png`, `.jpg` or `.jpeg` are ignored with a warning.
//!
//! **Colour:** a frame keeps the file's sRGB-encoded values scaled to 0..1 (8-bit values / 255,
//! 16-bit / 65535); nothing is linearised. The splat renderer writes sRGB 8-bit images, so the
//! loss compares like with like ([`RgbFrame::from_image`] scales a rendered image the same way).
//! An alpha channel in a frame is dropped.
//!
//! **Masks:** a second folder numbered like the frames (one mask per frame, same numbers). A
//! mask with an alpha channel that is not fully opaque uses the alpha; otherwise its grey level
//! (Rec. 709 luma of the sRGB values); either way a weight in 0..1 per pixel.
//!
//! **Size:** every frame and mask must have the wanted size (by default the first frame's).
//! [`SizePolicy::Reject`] makes any other size an error naming the file and both sizes;
//! [`SizePolicy::Resize`] resamples it with a Lanczos-3 filter (results clamped to 0..1).

use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use rayon::prelude::*;

use crate::render::Image;

mod files;

use files::decode;
pub use files::{numbered_images, VideoError};

/// An RGB image, rows top to bottom, values nominally in 0..1 (sRGB-encoded, see the module
/// docs). `f32` for frames; the loss gradient comes back as `RgbFrame<f64>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RgbFrame<T> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` pixels, row-major.
    pub rgb: Vec<[T; 3]>,
}

/// A frame of the reference video.
pub type VideoFrame = RgbFrame<f32>;

impl<T: Copy> RgbFrame<T> {
    /// Pixel `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> [T; 3] {
        self.rgb[(y * self.width + x) as usize]
    }

    /// `(width, height)`.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The image with every value converted to `f64`.
    pub fn to_f64(&self) -> RgbFrame<f64>
    where
        T: Into<f64>,
    {
        RgbFrame {
            width: self.width,
            height: self.height,
            rgb: self.rgb.iter().map(|p| p.map(Into::into)).collect(),
        }
    }
}

impl VideoFrame {
    /// A rendered image on the scale of the video frames: RGB bytes / 255, alpha dropped (the
    /// renderer has already composited over the background).
    pub fn from_image(image: &Image) -> Self {
        RgbFrame {
            width: image.width,
            height: image.height,
            rgb: image
                .rgba
                .chunks_exact(4)
                .map(|p| [p[0], p[1], p[2]].map(|c| c as f32 / 255.0))
                .collect(),
        }
    }
}

/// A foreground mask: a weight in 0..1 per pixel, rows top to bottom.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mask {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` weights, row-major.
    pub weight: Vec<f32>,
}

impl Mask {
    /// `(width, height)`.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
}

/// What to do with a frame or mask whose size differs from the wanted one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SizePolicy {
    /// An error naming the file and both sizes.
    #[default]
    Reject,
    /// Resample to the wanted size (Lanczos 3).
    Resize,
}

/// Where the video comes from and how to read it.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoSource {
    /// The folder of numbered frames.
    pub frames_dir: PathBuf,
    /// The folder of numbered masks, if any.
    pub masks_dir: Option<PathBuf>,
    /// Frames per second (> 0).
    pub fps: f64,
    /// Wanted `(width, height)`; `None` takes the first frame's size.
    pub size: Option<(u32, u32)>,
    /// What to do with other sizes.
    pub policy: SizePolicy,
}

/// A loaded video: frames in order, their masks, the frame rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Video {
    /// The frames, all of one size.
    pub frames: Vec<VideoFrame>,
    /// One mask per frame, of the frames' size, when a mask folder was given.
    pub masks: Option<Vec<Mask>>,
    /// Frames per second.
    pub fps: f64,
    /// The file of each frame.
    pub paths: Vec<PathBuf>,
    /// The number of the first frame's file.
    pub first_number: u64,
}

impl Video {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when there are no frames (a loaded video always has some).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// `(width, height)` of every frame.
    pub fn size(&self) -> (u32, u32) {
        self.frames.first().map_or((0, 0), |f| f.size())
    }

    /// Time of frame `i` in seconds after the first frame.
    pub fn time(&self, i: usize) -> f64 {
        i as f64 / self.fps
    }
}

impl VideoSource {
    /// Frames from `frames_dir` at `fps`, no masks, sized like the first frame, other sizes
    /// rejected.
    pub fn new(frames_dir: impl Into<PathBuf>, fps: f64) -> Self {
        VideoSource {
            frames_dir: frames_dir.into(),
            masks_dir: None,
            fps,
            size: None,
            policy: SizePolicy::Reject,
        }
    }

    /// With masks from `dir`.
    pub fn with_masks(mut self, dir: impl Into<PathBuf>) -> Self {
        self.masks_dir = Some(dir.into());
        self
    }

    /// With a wanted size and what to do with other sizes.
    pub fn with_size(mut self, width: u32, height: u32, policy: SizePolicy) -> Self {
        self.size = Some((width, height));
        self.policy = policy;
        self
    }

    /// Reads, checks and converts every frame (and mask), decoding in parallel.
    pub fn load(&self) -> Result<Video, VideoError> {
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(VideoError::Setting {
                field: "fps",
                value: self.fps.to_string(),
                reason: "must be finite and > 0",
            });
        }
        if let Some((w, h)) = self.size {
            if w == 0 || h == 0 {
                return Err(VideoError::Setting {
                    field: "size",
                    value: format!("{w}×{h}"),
                    reason: "width and height must be > 0",
                });
            }
        }
        let files = numbered_images(&self.frames_dir)?;
        let first = decode(&files[0].1)?;
        let wanted = self.size.unwrap_or((first.width(), first.height()));
        let convert = |i: usize, path: &Path| -> Result<VideoFrame, VideoError> {
            let img = if i == 0 { first.clone() } else { decode(path)? };
            let img = self.fit_size(path, img.to_rgb32f(), wanted)?;
            Ok(RgbFrame {
                width: wanted.0,
                height: wanted.1,
                rgb: img.pixels().map(|p| p.0).collect(),
            })
        };
        let frames = files
            .par_iter()
            .enumerate()
            .map(|(i, (_, path))| convert(i, path))
            .collect::<Result<Vec<_>, _>>()?;
        let masks = match &self.masks_dir {
            Some(dir) => Some(self.load_masks(dir, &files, wanted)?),
            None => None,
        };
        Ok(Video {
            frames,
            masks,
            fps: self.fps,
            first_number: files[0].0,
            paths: files.into_iter().map(|(_, p)| p).collect(),
        })
    }

    fn load_masks(
        &self,
        dir: &Path,
        frames: &[(u64, PathBuf)],
        wanted: (u32, u32),
    ) -> Result<Vec<Mask>, VideoError> {
        let masks = numbered_images(dir)?;
        if masks.len() != frames.len() {
            return Err(VideoError::MaskCount {
                frames_dir: self.frames_dir.clone(),
                masks_dir: dir.to_path_buf(),
                frames: frames.len(),
                masks: masks.len(),
            });
        }
        frames
            .par_iter()
            .zip(&masks)
            .map(|((number, frame), (mask_number, path))| {
                if number != mask_number {
                    return Err(VideoError::MaskMissing {
                        frame: frame.clone(),
                        number: *number,
                        masks_dir: dir.to_path_buf(),
                    });
                }
                let img = decode(path)?;
                let use_alpha = img.color().has_alpha()
                    && img.to_luma_alpha32f().pixels().any(|p| p.0[1] < 1.0);
                let grey = if use_alpha {
                    let la = img.to_luma_alpha32f();
                    image::ImageBuffer::from_fn(la.width(), la.height(), |x, y| {
                        image::Luma([la.get_pixel(x, y).0[1]])
                    })
                } else {
                    img.to_luma32f()
                };
                let grey = self.fit_size(path, grey, wanted)?;
                Ok(Mask {
                    width: wanted.0,
                    height: wanted.1,
                    weight: grey.pixels().map(|p| p.0[0]).collect(),
                })
            })
            .collect()
    }

    /// `img` at the wanted size, per the policy; resampled values are clamped to 0..1.
    fn fit_size<P>(
        &self,
        path: &Path,
        img: image::ImageBuffer<P, Vec<f32>>,
        wanted: (u32, u32),
    ) -> Result<image::ImageBuffer<P, Vec<f32>>, VideoError>
    where
        P: image::Pixel<Subpixel = f32> + 'static,
    {
        let found = img.dimensions();
        if found == wanted {
            return Ok(img);
        }
        match self.policy {
            SizePolicy::Reject => Err(VideoError::Size {
                path: path.to_path_buf(),
                found,
                wanted,
            }),
            SizePolicy::Resize => {
                log::debug!(
                    "{}: resizing {}×{} to {}×{}",
                    path.display(),
                    found.0,
                    found.1,
                    wanted.0,
                    wanted.1
                );
                let mut out = imageops::resize(&img, wanted.0, wanted.1, FilterType::Lanczos3);
                out.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
                Ok(out)
            }
        }
    }
}
