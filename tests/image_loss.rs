//! The image loss: values against a direct 2-D SSIM, the analytic gradient against finite
//! differences, masks, and errors.

mod common;

use physdreamer::loss::{psnr, ssim, ssim_window, ImageLoss, LossError, SSIM_C1, SSIM_C2};
use physdreamer::video::{Mask, RgbFrame};
use rand::Rng;

fn random_image(rng: &mut impl Rng, w: u32, h: u32) -> RgbFrame<f64> {
    RgbFrame {
        width: w,
        height: h,
        rgb: (0..w * h)
            .map(|_| std::array::from_fn(|_| rng.random_range(0.0..1.0)))
            .collect(),
    }
}

fn random_mask(rng: &mut impl Rng, w: u32, h: u32) -> Mask {
    Mask {
        width: w,
        height: h,
        weight: (0..w * h)
            .map(|i| {
                if i % 5 == 0 {
                    0.0
                } else {
                    rng.random_range(0.0..1.0)
                }
            })
            .collect(),
    }
}

/// SSIM straight from the definition: the 2-D window applied pixel by pixel, zero outside.
fn direct_ssim(a: &RgbFrame<f64>, b: &RgbFrame<f64>, mask: Option<&Mask>) -> f64 {
    let g = ssim_window();
    let (w, h) = (a.width as i64, a.height as i64);
    let mut total = 0.0;
    let mut weight = 0.0;
    for y in 0..h {
        for x in 0..w {
            let m = mask.map_or(1.0, |m| m.weight[(y * w + x) as usize] as f64);
            for c in 0..3 {
                let [mut ma, mut mb, mut aa, mut bb, mut ab] = [0.0; 5];
                for dy in -5..=5i64 {
                    for dx in -5..=5i64 {
                        let (xi, yi) = (x + dx, y + dy);
                        if xi < 0 || yi < 0 || xi >= w || yi >= h {
                            continue;
                        }
                        let k = g[(dx + 5) as usize] * g[(dy + 5) as usize];
                        let (va, vb) = (
                            a.pixel(xi as u32, yi as u32)[c],
                            b.pixel(xi as u32, yi as u32)[c],
                        );
                        ma += k * va;
                        mb += k * vb;
                        aa += k * va * va;
                        bb += k * vb * vb;
                        ab += k * va * vb;
                    }
                }
                let s = (2.0 * ma * mb + SSIM_C1) * (2.0 * (ab - ma * mb) + SSIM_C2)
                    / ((ma * ma + mb * mb + SSIM_C1) * (aa - ma * ma + bb - mb * mb + SSIM_C2));
                total += m * s / 3.0;
            }
            weight += m;
        }
    }
    total / weight
}

#[test]
fn ssim_matches_the_direct_definition() {
    let mut rng = common::rng("ssim_matches_the_direct_definition");
    for (w, h) in [(16, 12), (7, 5), (30, 3)] {
        let a = random_image(&mut rng, w, h);
        let mut b = a.clone();
        b.rgb.iter_mut().for_each(|p| {
            p.iter_mut()
                .for_each(|v| *v = (*v + rng.random_range(-0.2..0.2)).clamp(0.0, 1.0))
        });
        let mask = random_mask(&mut rng, w, h);
        for m in [None, Some(&mask)] {
            let got = ssim(&a, &b, m).unwrap();
            let want = direct_ssim(&a, &b, m);
            assert!((got - want).abs() < 1e-13, "{w}×{h}: {got} vs {want}");
        }
    }
}

#[test]
fn gradient_matches_central_differences() {
    let mut rng = common::rng("gradient_matches_central_differences");
    let (w, h) = (16u32, 12u32);
    let mut worst: f64 = 0.0;
    for (case, ssim_weight) in [0.1, 1.0, 0.0, 0.5].into_iter().enumerate() {
        let loss = ImageLoss { ssim_weight };
        let a = random_image(&mut rng, w, h);
        let b = random_image(&mut rng, w, h);
        let mask = random_mask(&mut rng, w, h);
        for mask in [None, Some(&mask)] {
            let (value, grad) = loss.gradient(&a, &b, mask).unwrap();
            assert_eq!(value, loss.evaluate(&a, &b, mask).unwrap());
            // Every corner, then random pixels.
            let mut picks = vec![(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)];
            picks.extend((0..60).map(|_| (rng.random_range(0..w), rng.random_range(0..h))));
            for (x, y) in picks {
                let c = rng.random_range(0..3);
                let i = (y * w + x) as usize;
                let step = 1e-3;
                let at = |d: f64| {
                    let mut p = a.clone();
                    p.rgb[i][c] += d;
                    loss.evaluate(&p, &b, mask).unwrap().loss
                };
                // Five-point central difference: truncation error O(step⁴).
                let fd = (8.0 * (at(step) - at(-step)) - (at(2.0 * step) - at(-2.0 * step)))
                    / (12.0 * step);
                let an = grad.rgb[i][c];
                let rel = (fd - an).abs() / an.abs().max(1e-300);
                worst = worst.max(rel);
                assert!(
                    rel < 1e-6,
                    "case {case} mask {} ({x}, {y}) c{c}: analytic {an:e}, central {fd:e}, rel {rel:e}",
                    mask.is_some()
                );
            }
        }
    }
    eprintln!("largest relative error of the gradient: {worst:.2e}");
}

#[test]
fn identical_images_give_zero_loss_and_infinite_psnr() {
    let mut rng = common::rng("identical_images_give_zero_loss_and_infinite_psnr");
    let a = random_image(&mut rng, 13, 9);
    let mask = random_mask(&mut rng, 13, 9);
    for m in [None, Some(&mask)] {
        let (v, grad) = ImageLoss::default().gradient(&a, &a, m).unwrap();
        assert_eq!(v.mse, 0.0);
        assert!((v.ssim - 1.0).abs() < 1e-14, "{}", v.ssim);
        assert!(v.loss.abs() < 1e-14, "{}", v.loss);
        assert_eq!(v.psnr, f64::INFINITY);
        let largest = grad
            .rgb
            .iter()
            .flatten()
            .fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(largest < 1e-14, "{largest}");
    }
    // f32 frames work the same.
    let f: RgbFrame<f32> = RgbFrame {
        width: 2,
        height: 2,
        rgb: vec![[0.5; 3]; 4],
    };
    assert_eq!(psnr(&f, &f, None).unwrap(), f64::INFINITY);
}

#[test]
fn perturbations_move_the_scores_the_expected_way() {
    let mut rng = common::rng("perturbations_move_the_scores_the_expected_way");
    let (w, h) = (40u32, 30u32);
    // A smooth image with texture.
    let a = RgbFrame {
        width: w,
        height: h,
        rgb: (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64, (i / w) as f64);
                [
                    0.5 + 0.3 * (x / 4.0).sin(),
                    0.5 + 0.3 * (y / 3.0).cos(),
                    0.3 + 0.01 * x,
                ]
            })
            .collect(),
    };
    let noise: Vec<[f64; 3]> = (0..w * h)
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect();
    let noisy = |amp: f64| RgbFrame {
        rgb: a
            .rgb
            .iter()
            .zip(&noise)
            .map(|(p, n)| std::array::from_fn(|c| p[c] + amp * n[c]))
            .collect(),
        ..a.clone()
    };
    let mut last = (1.0, f64::INFINITY);
    for amp in [0.01, 0.03, 0.1, 0.2] {
        let v = ImageLoss::default()
            .evaluate(&noisy(amp), &a, None)
            .unwrap();
        assert!(v.ssim < last.0 && v.psnr < last.1, "amp {amp}: {v:?}");
        last = (v.ssim, v.psnr);
    }
    // A uniform shift keeps the structure: higher SSIM than noise of the same MSE.
    let shift = 0.05;
    let shifted = RgbFrame {
        rgb: a.rgb.iter().map(|p| p.map(|v| v + shift)).collect(),
        ..a.clone()
    };
    let rms_noise =
        (noise.iter().flatten().map(|n| n * n).sum::<f64>() / (3 * w * h) as f64).sqrt();
    let same_mse = noisy(shift / rms_noise);
    let (vs, vn) = (
        ImageLoss::default().evaluate(&shifted, &a, None).unwrap(),
        ImageLoss::default().evaluate(&same_mse, &a, None).unwrap(),
    );
    assert!(
        (vs.mse - vn.mse).abs() < 1e-12 && (vs.psnr - 26.0206).abs() < 1e-3,
        "{vs:?} {vn:?}"
    );
    assert!(vs.ssim > 0.99 && vs.ssim > vn.ssim + 0.1, "{vs:?} {vn:?}");
}

#[test]
fn masks_weight_pixels() {
    let mut rng = common::rng("masks_weight_pixels");
    let (w, h) = (40u32, 30u32);
    let a = random_image(&mut rng, w, h);
    let b = random_image(&mut rng, w, h);
    let loss = ImageLoss::default();
    let ones = Mask {
        width: w,
        height: h,
        weight: vec![1.0; (w * h) as usize],
    };
    let plain = loss.evaluate(&a, &b, None).unwrap();
    let all = loss.evaluate(&a, &b, Some(&ones)).unwrap();
    assert!((plain.loss - all.loss).abs() < 1e-15 && (plain.ssim - all.ssim).abs() < 1e-15);

    // Left part foreground: pixels more than a window radius to the right do not count.
    let left = Mask {
        weight: (0..w * h)
            .map(|i| if i % w < 15 { 1.0 } else { 0.0 })
            .collect(),
        ..ones.clone()
    };
    let masked = loss.evaluate(&a, &b, Some(&left)).unwrap();
    let mut direct = 0.0;
    for (i, (p, q)) in a.rgb.iter().zip(&b.rgb).enumerate() {
        if i as u32 % w < 15 {
            direct += (0..3).map(|c| (p[c] - q[c]).powi(2)).sum::<f64>();
        }
    }
    direct /= 3.0 * 15.0 * h as f64;
    assert!(
        (masked.mse - direct).abs() < 1e-14,
        "{} vs {direct}",
        masked.mse
    );
    let mut far = a.clone();
    for (i, p) in far.rgb.iter_mut().enumerate() {
        if i as u32 % w >= 20 {
            *p = [0.0; 3];
        }
    }
    assert_eq!(loss.evaluate(&far, &b, Some(&left)).unwrap(), masked);
    let (_, grad) = loss.gradient(&a, &b, Some(&left)).unwrap();
    assert!(grad
        .rgb
        .iter()
        .enumerate()
        .all(|(i, g)| i as u32 % w < 20 || *g == [0.0; 3]));
    // A mask weight of 0.5 everywhere is the same as no mask.
    let half = Mask {
        weight: vec![0.5; (w * h) as usize],
        ..ones
    };
    let v = loss.evaluate(&a, &b, Some(&half)).unwrap();
    assert!((v.loss - plain.loss).abs() < 1e-15);
}

#[test]
fn bad_inputs_are_errors() {
    let mut rng = common::rng("bad_inputs_are_errors");
    let a = random_image(&mut rng, 8, 6);
    let b = random_image(&mut rng, 6, 8);
    let loss = ImageLoss::default();
    let e = loss.evaluate(&a, &b, None).unwrap_err();
    assert_eq!(
        e,
        LossError::Size {
            rendered: (8, 6),
            target: (6, 8)
        }
    );
    assert!(e.to_string().contains("8×6") && e.to_string().contains("6×8"));
    let mask = Mask {
        width: 8,
        height: 5,
        weight: vec![1.0; 40],
    };
    assert!(matches!(
        loss.gradient(&a, &a, Some(&mask)),
        Err(LossError::MaskSize { .. })
    ));
    let empty = Mask {
        width: 8,
        height: 6,
        weight: vec![0.0; 48],
    };
    assert_eq!(
        loss.evaluate(&a, &a, Some(&empty)).unwrap_err(),
        LossError::EmptyMask
    );
    let mut over = Mask {
        weight: vec![1.0; 48],
        ..empty
    };
    over.weight[9] = 1.5;
    let e = loss.evaluate(&a, &a, Some(&over)).unwrap_err().to_string();
    assert!(e.contains("(1, 1)") && e.contains("1.5"), "{e}");
    let mut nan = a.clone();
    nan.rgb[10][2] = f64::NAN;
    let e = loss.gradient(&nan, &a, None).unwrap_err().to_string();
    assert!(e.contains("rendered pixel (2, 1) channel 2"), "{e}");
    let short = RgbFrame {
        rgb: a.rgb[..47].to_vec(),
        ..a.clone()
    };
    assert!(matches!(
        loss.evaluate(&short, &a, None),
        Err(LossError::Shape { pixels: 47, .. })
    ));
    let none: RgbFrame<f64> = RgbFrame::default();
    assert!(loss.evaluate(&none, &none, None).is_err());
    for w in [-0.1, 1.5, f64::NAN] {
        assert!(matches!(
            ImageLoss { ssim_weight: w }.evaluate(&a, &a, None),
            Err(LossError::Weight(_))
        ));
    }
}
