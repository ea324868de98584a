//! Rendered images and their files: PNG frames and animated GIFs, written atomically
//! (a temporary file beside the target, then a rename).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};

/// An 8-bit RGBA image, rows top to bottom: RGB composited over the background, A the
/// coverage (1 - transmittance).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl Image {
    /// Pixel `(x, y)` as RGBA.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let o = ((y * self.width + x) * 4) as usize;
        [
            self.rgba[o],
            self.rgba[o + 1],
            self.rgba[o + 2],
            self.rgba[o + 3],
        ]
    }

    /// Fraction of pixels with alpha above `threshold` (0-255).
    pub fn coverage(&self, threshold: u8) -> f64 {
        let n = self
            .rgba
            .chunks_exact(4)
            .filter(|p| p[3] > threshold)
            .count();
        n as f64 / (self.width as f64 * self.height as f64).max(1.0)
    }

    /// Alpha-weighted centroid `(x, y)` in pixels, `None` for an empty image.
    pub fn alpha_centroid(&self) -> Option<(f64, f64)> {
        let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
        for (i, p) in self.rgba.chunks_exact(4).enumerate() {
            let a = p[3] as f64;
            sx += a * ((i as u32 % self.width) as f64 + 0.5);
            sy += a * ((i as u32 / self.width) as f64 + 0.5);
            sw += a;
        }
        (sw > 0.0).then(|| (sx / sw, sy / sw))
    }

    /// The RGB bytes (alpha dropped: the background is already composited).
    pub fn rgb(&self) -> Vec<u8> {
        self.rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect()
    }

    /// Writes the image as an RGB PNG, atomically.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        ensure!(
            self.rgba.len() == (self.width * self.height * 4) as usize,
            "image buffer does not match {}x{}",
            self.width,
            self.height
        );
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(
                &self.rgb(),
                self.width,
                self.height,
                image::ExtendedColorType::Rgb8,
            )
            .with_context(|| format!("encoding PNG {}", path.display()))?;
        write_atomic(path, &bytes)
    }
}

use image::ImageEncoder;

/// A temporary path beside `path` (same folder, so the rename is atomic).
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|_| f.flush())
            .with_context(|| format!("writing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("moving {} to {}", tmp.display(), path.display()))
}

/// A growable byte buffer shared with the GIF encoder (which writes its trailer on drop).
#[derive(Clone, Default)]
struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An animated GIF encoded frame by frame in memory and written atomically by
/// [`GifWriter::finish`]; it loops forever. Colours are quantised per frame (NeuQuant, `speed`
/// 1 = best .. 30 = fastest).
pub struct GifWriter {
    path: PathBuf,
    bytes: Shared,
    enc: image::codecs::gif::GifEncoder<Shared>,
    delay_ms: u32,
    frames: usize,
}

impl GifWriter {
    /// Starts `path` at `fps` frames per second.
    pub fn new(path: &Path, fps: f32, speed: i32) -> Result<Self> {
        let bytes = Shared::default();
        let mut enc =
            image::codecs::gif::GifEncoder::new_with_speed(bytes.clone(), speed.clamp(1, 30));
        enc.set_repeat(image::codecs::gif::Repeat::Infinite)
            .with_context(|| format!("encoding GIF {}", path.display()))?;
        Ok(GifWriter {
            path: path.to_path_buf(),
            bytes,
            enc,
            delay_ms: (1000.0 / fps.max(1e-3)).round().clamp(10.0, 65_000.0) as u32,
            frames: 0,
        })
    }

    /// Appends a frame (alpha is ignored: the background is already composited).
    pub fn add(&mut self, frame: &Image) -> Result<()> {
        let mut rgba = frame.rgba.clone();
        rgba.chunks_exact_mut(4).for_each(|p| p[3] = 255);
        let buf =
            image::RgbaImage::from_raw(frame.width, frame.height, rgba).with_context(|| {
                format!(
                    "frame {} of {} has a bad size",
                    self.frames,
                    self.path.display()
                )
            })?;
        let f = image::Frame::from_parts(
            buf,
            0,
            0,
            image::Delay::from_numer_denom_ms(self.delay_ms, 1),
        );
        self.enc.encode_frame(f).with_context(|| {
            format!(
                "encoding frame {} of GIF {}",
                self.frames,
                self.path.display()
            )
        })?;
        self.frames += 1;
        Ok(())
    }

    /// Number of frames added.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Ends the animation and writes the file.
    pub fn finish(self) -> Result<()> {
        let GifWriter {
            path, bytes, enc, ..
        } = self;
        drop(enc); // writes the trailer
        let data = std::mem::take(&mut *bytes.0.borrow_mut());
        write_atomic(&path, &data)
    }
}

/// Writes `frames` as an animated GIF at `fps` (see [`GifWriter`]).
pub fn write_gif(path: &Path, frames: &[Image], fps: f32, speed: i32) -> Result<()> {
    ensure!(!frames.is_empty(), "no frames for {}", path.display());
    let mut g = GifWriter::new(path, fps, speed)?;
    for f in frames {
        g.add(f)?;
    }
    g.finish()
}

/// The E-field colour ramp of `shaders/points.wgsl` (purple, teal, yellow) at `t` in 0..1,
/// as 8-bit sRGB-ish display values; the viewer's legend and the fit's E map use it.
pub fn colour_ramp(t: f32) -> [u8; 3] {
    let c = [
        [0.267, 0.005, 0.329],
        [0.128, 0.567, 0.551],
        [0.993, 0.906, 0.144],
    ];
    let t = t.clamp(0.0, 1.0);
    let (a, b, u) = if t < 0.5 {
        (c[0], c[1], t * 2.0)
    } else {
        (c[1], c[2], (t - 0.5) * 2.0)
    };
    [0, 1, 2].map(|i| ((a[i] + (b[i] - a[i]) * u) * 255.0).round() as u8)
}
