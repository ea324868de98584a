//! The image loss of the fit, as PhysDreamer uses it, and its gradient with respect to the
//! rendered image.
//!
//! `L = (1 − w)·MSE + w·(1 − SSIM)`, `w` = [`ImageLoss::ssim_weight`] (default 0.1), on images
//! with values in 0..1 (the video's sRGB values / 255, see [`crate::video`]).
//!
//! * **MSE** is the mean of `(a − b)²` over pixels and the three channels; with a mask `m`
//!   (a weight in 0..1 per pixel) it is `Σ m·(a − b)² / (3·Σ m)`.
//! * **SSIM** per channel: the statistics `μ`, `σ²`, `σ_ab` are Gaussian-weighted (11×11
//!   window, σ = 1.5, normalised to sum 1, applied as two 1-D passes), the map is
//!   `(2μ_aμ_b + C1)(2σ_ab + C2) / ((μ_a² + μ_b² + C1)(σ_a² + σ_b² + C2))` with
//!   `C1 = 0.01²`, `C2 = 0.03²`, and SSIM is the mean of the map over pixels (with a mask, its
//!   mask-weighted mean) and over the channels.
//! * **PSNR** `= −10·log10(MSE)` (masked MSE with a mask); `f64::INFINITY` when MSE is 0.
//!
//! **Borders:** the filter zero-pads the images and the map covers every pixel ("same" size,
//! as in the PyTorch `ssim` of 3DGS and PhysDreamer, a convolution with padding 5). Near the
//! border the window's weights inside the image sum to less than 1, so the statistics there are
//! those of the zero-padded image; the map stays well defined (`σ² ≥ 0` still holds).
//!
//! **Gradient:** [`ImageLoss::gradient`] returns `∂L/∂a` for every pixel and channel of the
//! rendered image `a` in one backward pass: the derivative of the weighted map sum with respect
//! to the filtered statistics `μ_a`, `E[a²]`, `E[ab]` at every pixel, pulled back through the
//! filter by its transpose. The window is symmetric and the padding zero in both directions, so
//! the transpose is the same zero-padded filter. Everything runs in f64, rows in parallel with
//! rayon, each sum in a fixed order (results do not depend on the thread count).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::video::{Mask, RgbFrame};

/// Side of the SSIM window (pixels).
pub const SSIM_WINDOW: usize = 11;
/// Standard deviation of the SSIM window (pixels).
pub const SSIM_SIGMA: f64 = 1.5;
/// SSIM stabiliser of the means, `(0.01·L)²` with the value range `L = 1`.
pub const SSIM_C1: f64 = 0.01 * 0.01;
/// SSIM stabiliser of the (co)variances, `(0.03·L)²`.
pub const SSIM_C2: f64 = 0.03 * 0.03;

const RADIUS: usize = SSIM_WINDOW / 2;

/// The photometric loss: MSE mixed with 1 − SSIM.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageLoss {
    /// Weight `w` of `1 − SSIM` in 0..1; MSE gets `1 − w`.
    pub ssim_weight: f64,
}

impl Default for ImageLoss {
    fn default() -> Self {
        ImageLoss { ssim_weight: 0.1 }
    }
}

/// The loss of one image pair and its parts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossValue {
    /// `(1 − w)·mse + w·(1 − ssim)`.
    pub loss: f64,
    /// Mean squared error (mask-weighted with a mask).
    pub mse: f64,
    /// Mean SSIM (mask-weighted with a mask); 1 for identical images.
    pub ssim: f64,
    /// `−10·log10(mse)` in dB; `f64::INFINITY` for identical images.
    pub psnr: f64,
}

/// Bad inputs to the loss.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LossError {
    /// The two images differ in size.
    #[error("the rendered image is {}×{} but the target is {}×{}", rendered.0, rendered.1, target.0, target.1)]
    Size {
        /// `(width, height)` of the rendered image.
        rendered: (u32, u32),
        /// `(width, height)` of the target.
        target: (u32, u32),
    },
    /// An image without pixels, or whose pixel count is not `width·height`.
    #[error("the {image} image is {width}×{height} with {pixels} pixels")]
    Shape {
        /// `rendered`, `target` or `mask`.
        image: &'static str,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// Its number of pixels (or weights).
        pixels: usize,
    },
    /// The mask differs in size from the images.
    #[error("the mask is {}×{} but the images are {}×{}", mask.0, mask.1, image.0, image.1)]
    MaskSize {
        /// `(width, height)` of the mask.
        mask: (u32, u32),
        /// `(width, height)` of the images.
        image: (u32, u32),
    },
    /// A non-finite pixel value, or a mask weight outside 0..1.
    #[error("{image} pixel ({x}, {y}) channel {channel} = {value}: {reason}")]
    Value {
        /// `rendered`, `target` or `mask`.
        image: &'static str,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
        /// Channel (0 for the mask).
        channel: usize,
        /// The value.
        value: f64,
        /// What it must be.
        reason: &'static str,
    },
    /// A mask whose weights are all zero.
    #[error("the mask has no weight (every pixel is 0)")]
    EmptyMask,
    /// `ssim_weight` outside 0..1.
    #[error("ssim_weight = {0}: must be in [0, 1]")]
    Weight(f64),
}

/// The normalised 1-D Gaussian window.
pub fn ssim_window() -> [f64; SSIM_WINDOW] {
    let mut g: [f64; SSIM_WINDOW] = std::array::from_fn(|i| {
        let d = i as f64 - RADIUS as f64;
        (-d * d / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp()
    });
    let sum: f64 = g.iter().sum();
    g.iter_mut().for_each(|v| *v /= sum);
    g
}

impl ImageLoss {
    /// The loss of `rendered` against `target`, optionally mask-weighted.
    pub fn evaluate<A, B>(
        &self,
        rendered: &RgbFrame<A>,
        target: &RgbFrame<B>,
        mask: Option<&Mask>,
    ) -> Result<LossValue, LossError>
    where
        A: Copy + Into<f64>,
        B: Copy + Into<f64>,
    {
        self.run(rendered, target, mask, false).map(|(v, _)| v)
    }

    /// The loss and `∂L/∂rendered` for every pixel and channel.
    pub fn gradient<A, B>(
        &self,
        rendered: &RgbFrame<A>,
        target: &RgbFrame<B>,
        mask: Option<&Mask>,
    ) -> Result<(LossValue, RgbFrame<f64>), LossError>
    where
        A: Copy + Into<f64>,
        B: Copy + Into<f64>,
    {
        let (value, grad) = self.run(rendered, target, mask, true)?;
        let grad = grad.expect("the gradient was requested");
        Ok((value, grad))
    }

    fn run<A, B>(
        &self,
        rendered: &RgbFrame<A>,
        target: &RgbFrame<B>,
        mask: Option<&Mask>,
        want_grad: bool,
    ) -> Result<(LossValue, Option<RgbFrame<f64>>), LossError>
    where
        A: Copy + Into<f64>,
        B: Copy + Into<f64>,
    {
        let w = self.ssim_weight;
        if !(0.0..=1.0).contains(&w) {
            return Err(LossError::Weight(w));
        }
        let p = Prepared::new(rendered, target, mask)?;
        let n = p.width * p.height;
        let omega = |i: usize| p.weight.as_ref().map_or(1.0 / n as f64, |m| m[i]);
        let g = ssim_window();
        let (mut mse, mut ssim) = (0.0, 0.0);
        let mut grad = want_grad.then(|| vec![[0.0f64; 3]; n]);
        for c in 0..3 {
            let (a, b) = (&p.a[c], &p.b[c]);
            mse += (0..n)
                .map(|i| omega(i) * (a[i] - b[i]).powi(2))
                .sum::<f64>()
                / 3.0;
            let (s, ds) = ssim_channel(a, b, p.width, p.height, p.weight.as_deref(), &g, want_grad);
            ssim += s / 3.0;
            if let (Some(grad), Some(ds)) = (grad.as_mut(), ds) {
                grad.par_iter_mut().enumerate().for_each(|(i, out)| {
                    let dmse = 2.0 * omega(i) * (a[i] - b[i]) / 3.0;
                    out[c] = (1.0 - w) * dmse - w * ds[i] / 3.0;
                });
            }
        }
        let value = LossValue {
            loss: (1.0 - w) * mse + w * (1.0 - ssim),
            mse,
            ssim,
            psnr: if mse > 0.0 {
                -10.0 * mse.log10()
            } else {
                f64::INFINITY
            },
        };
        let grad = grad.map(|rgb| RgbFrame {
            width: rendered.width,
            height: rendered.height,
            rgb,
        });
        Ok((value, grad))
    }
}

/// Mean SSIM of two images (mask-weighted with a mask).
pub fn ssim<A, B>(a: &RgbFrame<A>, b: &RgbFrame<B>, mask: Option<&Mask>) -> Result<f64, LossError>
where
    A: Copy + Into<f64>,
    B: Copy + Into<f64>,
{
    ImageLoss::default().evaluate(a, b, mask).map(|v| v.ssim)
}

/// PSNR of two images in dB (masked MSE with a mask); `f64::INFINITY` when they are equal.
pub fn psnr<A, B>(a: &RgbFrame<A>, b: &RgbFrame<B>, mask: Option<&Mask>) -> Result<f64, LossError>
where
    A: Copy + Into<f64>,
    B: Copy + Into<f64>,
{
    ImageLoss::default().evaluate(a, b, mask).map(|v| v.psnr)
}

/// Both images as f64 planes (one per channel), checked, and the mask as weights summing to 1.
struct Prepared {
    width: usize,
    height: usize,
    a: [Vec<f64>; 3],
    b: [Vec<f64>; 3],
    weight: Option<Vec<f64>>,
}

impl Prepared {
    fn new<A, B>(
        rendered: &RgbFrame<A>,
        target: &RgbFrame<B>,
        mask: Option<&Mask>,
    ) -> Result<Self, LossError>
    where
        A: Copy + Into<f64>,
        B: Copy + Into<f64>,
    {
        let size = rendered.size();
        if target.size() != size {
            return Err(LossError::Size {
                rendered: size,
                target: target.size(),
            });
        }
        let (w, h) = (size.0 as usize, size.1 as usize);
        let shape = |image, pixels: usize| {
            if w * h == 0 || pixels != w * h {
                Err(LossError::Shape {
                    image,
                    width: size.0,
                    height: size.1,
                    pixels,
                })
            } else {
                Ok(())
            }
        };
        shape("rendered", rendered.rgb.len())?;
        shape("target", target.rgb.len())?;
        let a = planes("rendered", &rendered.rgb, size.0)?;
        let b = planes("target", &target.rgb, size.0)?;
        let weight = match mask {
            None => None,
            Some(m) => {
                if m.size() != size {
                    return Err(LossError::MaskSize {
                        mask: m.size(),
                        image: size,
                    });
                }
                shape("mask", m.weight.len())?;
                let mut weight = Vec::with_capacity(w * h);
                for (i, &v) in m.weight.iter().enumerate() {
                    if !(0.0..=1.0).contains(&v) {
                        return Err(LossError::Value {
                            image: "mask",
                            x: (i % w) as u32,
                            y: (i / w) as u32,
                            channel: 0,
                            value: v as f64,
                            reason: "a mask weight must be in [0, 1]",
                        });
                    }
                    weight.push(v as f64);
                }
                let total: f64 = weight.iter().sum();
                if total <= 0.0 {
                    return Err(LossError::EmptyMask);
                }
                weight.iter_mut().for_each(|v| *v /= total);
                Some(weight)
            }
        };
        Ok(Prepared {
            width: w,
            height: h,
            a,
            b,
            weight,
        })
    }
}

fn planes<T: Copy + Into<f64>>(
    image: &'static str,
    rgb: &[[T; 3]],
    width: u32,
) -> Result<[Vec<f64>; 3], LossError> {
    let mut out: [Vec<f64>; 3] = Default::default();
    for (c, plane) in out.iter_mut().enumerate() {
        *plane = rgb.iter().map(|p| p[c].into()).collect();
        if let Some(i) = plane.iter().position(|v| !v.is_finite()) {
            return Err(LossError::Value {
                image,
                x: i as u32 % width,
                y: i as u32 / width,
                channel: c,
                value: plane[i],
                reason: "must be finite",
            });
        }
    }
    Ok(out)
}

/// The zero-padded, same-size Gaussian filter of a `w`×`h` plane: rows, then columns. Its own
/// transpose (the window is symmetric).
fn blur(src: &[f64], w: usize, h: usize, g: &[f64; SSIM_WINDOW]) -> Vec<f64> {
    let mut rows = vec![0.0; w * h];
    rows.par_chunks_mut(w)
        .zip(src.par_chunks(w))
        .for_each(|(out, row)| {
            for (x, o) in out.iter_mut().enumerate() {
                let lo = x.saturating_sub(RADIUS);
                let hi = (x + RADIUS).min(w - 1);
                *o = (lo..=hi).map(|xi| g[xi + RADIUS - x] * row[xi]).sum();
            }
        });
    let mut out = vec![0.0; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(y, out)| {
        let lo = y.saturating_sub(RADIUS);
        let hi = (y + RADIUS).min(h - 1);
        for yi in lo..=hi {
            let k = g[yi + RADIUS - y];
            for (o, v) in out.iter_mut().zip(&rows[yi * w..(yi + 1) * w]) {
                *o += k * v;
            }
        }
    });
    out
}

/// `Σ_p ω_p·S(p)` for one channel (`ω = weight`, or `1/(w·h)` without a mask) and, when
/// wanted, its derivative with respect to every value of `a`.
fn ssim_channel(
    a: &[f64],
    b: &[f64],
    w: usize,
    h: usize,
    weight: Option<&[f64]>,
    g: &[f64; SSIM_WINDOW],
    want_grad: bool,
) -> (f64, Option<Vec<f64>>) {
    let n = w * h;
    let product = |f: fn(f64, f64) -> f64| -> Vec<f64> {
        a.par_iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    };
    let mu_a = blur(a, w, h, g);
    let mu_b = blur(b, w, h, g);
    let e_aa = blur(&product(|x, _| x * x), w, h, g);
    let e_bb = blur(&product(|_, y| y * y), w, h, g);
    let e_ab = blur(&product(|x, y| x * y), w, h, g);
    // Per pixel: ω·S and, for the gradient, ω·∂S/∂μ_a, ω·∂S/∂E[a²], ω·∂S/∂E[ab].
    let per_pixel: Vec<[f64; 4]> = (0..n)
        .into_par_iter()
        .map(|i| {
            let omega = weight.map_or(1.0 / n as f64, |m| m[i]);
            let (ma, mb) = (mu_a[i], mu_b[i]);
            let a1 = 2.0 * ma * mb + SSIM_C1;
            let a2 = 2.0 * (e_ab[i] - ma * mb) + SSIM_C2;
            let b1 = ma * ma + mb * mb + SSIM_C1;
            let b2 = (e_aa[i] - ma * ma) + (e_bb[i] - mb * mb) + SSIM_C2;
            let s = a1 * a2 / (b1 * b2);
            let d_mu = 2.0 * mb * (a2 - a1) / (b1 * b2) + 2.0 * ma * s * (1.0 / b2 - 1.0 / b1);
            let d_aa = -s / b2;
            let d_ab = 2.0 * a1 / (b1 * b2);
            [omega * s, omega * d_mu, omega * d_aa, omega * d_ab]
        })
        .collect();
    let total = per_pixel
        .par_chunks(w)
        .map(|row| row.iter().map(|v| v[0]).sum::<f64>())
        .collect::<Vec<_>>()
        .iter()
        .sum();
    if !want_grad {
        return (total, None);
    }
    let pull = |k: usize| blur(&per_pixel.iter().map(|v| v[k]).collect::<Vec<_>>(), w, h, g);
    let (t_mu, t_aa, t_ab) = (pull(1), pull(2), pull(3));
    let grad = (0..n)
        .into_par_iter()
        .map(|i| t_mu[i] + 2.0 * a[i] * t_aa[i] + b[i] * t_ab[i])
        .collect();
    (total, Some(grad))
}
