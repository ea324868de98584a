//! Video input: frame ordering, masks, sizes and clear errors for bad folders.

use std::path::{Path, PathBuf};

use image::{GrayImage, Luma, LumaA, Rgb, RgbImage};
use physdreamer::video::{numbered_images, SizePolicy, VideoError, VideoFrame, VideoSource};

/// A fresh folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("physdreamer-video-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn sub(&self, name: &str) -> PathBuf {
        let dir = self.0.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A uniform `w`×`h` frame of grey level `v`.
fn write_frame(path: &Path, w: u32, h: u32, v: u8) {
    RgbImage::from_pixel(w, h, Rgb([v, v / 2, 255 - v]))
        .save(path)
        .unwrap();
}

fn err_text(e: VideoError) -> String {
    e.to_string()
}

#[test]
fn frames_are_ordered_by_number_and_other_files_ignored() {
    let tmp = TempDir::new("order");
    for n in 1..=12u8 {
        let ext = if n == 7 { "jpg" } else { "png" };
        write_frame(&tmp.0.join(format!("frame_{n}.{ext}")), 5, 4, n * 10);
    }
    std::fs::write(tmp.0.join("notes.txt"), "not a frame").unwrap();
    tmp.sub("nested");
    let video = VideoSource::new(&tmp.0, 24.0).load().unwrap();
    assert_eq!(video.len(), 12);
    assert_eq!(video.size(), (5, 4));
    assert_eq!(video.first_number, 1);
    assert!(video.masks.is_none());
    for (i, (frame, path)) in video.frames.iter().zip(&video.paths).enumerate() {
        let n = i as u8 + 1;
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(&format!("frame_{n}.")), "{name} at {i}");
        let want = [n * 10, n * 5, 255 - n * 10].map(|v| v as f32 / 255.0);
        // JPEG is lossy: a few levels off for frame 7.
        let tol = if n == 7 { 4.0 / 255.0 } else { 1e-6 };
        for p in &frame.rgb {
            for c in 0..3 {
                assert!(
                    (p[c] - want[c]).abs() <= tol,
                    "frame {n}: {p:?} vs {want:?}"
                );
            }
        }
    }
    assert!((video.time(12) - 0.5).abs() < 1e-12);
}

#[test]
fn numbers_come_from_the_last_digits_and_may_start_anywhere() {
    let tmp = TempDir::new("digits");
    for n in [9u32, 10, 11] {
        write_frame(&tmp.0.join(format!("shot3_{n:04}.png")), 2, 2, 0);
    }
    let files = numbered_images(&tmp.0).unwrap();
    assert_eq!(
        files.iter().map(|f| f.0).collect::<Vec<_>>(),
        vec![9, 10, 11]
    );
}

#[test]
fn bad_folders_are_named() {
    let tmp = TempDir::new("bad");
    let empty = tmp.sub("empty");
    let e = err_text(VideoSource::new(&empty, 24.0).load().unwrap_err());
    assert!(e.contains("no PNG or JPEG") && e.contains("empty"), "{e}");

    let only_text = tmp.sub("only_text");
    std::fs::write(only_text.join("readme.md"), "x").unwrap();
    let e = err_text(VideoSource::new(&only_text, 24.0).load().unwrap_err());
    assert!(e.contains("no PNG or JPEG"), "{e}");

    let missing = tmp.0.join("does_not_exist");
    let e = err_text(VideoSource::new(&missing, 24.0).load().unwrap_err());
    assert!(e.contains("does_not_exist"), "{e}");

    let gap = tmp.sub("gap");
    for n in [1, 2, 4, 5] {
        write_frame(&gap.join(format!("f{n}.png")), 2, 2, 0);
    }
    let e = VideoSource::new(&gap, 24.0).load().unwrap_err();
    assert!(matches!(e, VideoError::Gap { missing: 3, .. }), "{e}");
    let e = err_text(e);
    assert!(e.contains("f2.png") && e.contains("f4.png"), "{e}");

    let unnumbered = tmp.sub("unnumbered");
    write_frame(&unnumbered.join("f1.png"), 2, 2, 0);
    write_frame(&unnumbered.join("cover.png"), 2, 2, 0);
    let e = err_text(VideoSource::new(&unnumbered, 24.0).load().unwrap_err());
    assert!(
        e.contains("cover.png") && e.contains("no frame number"),
        "{e}"
    );

    let dup = tmp.sub("dup");
    write_frame(&dup.join("f1.png"), 2, 2, 0);
    write_frame(&dup.join("f01.png"), 2, 2, 0);
    let e = err_text(VideoSource::new(&dup, 24.0).load().unwrap_err());
    assert!(e.contains("f1.png") && e.contains("f01.png"), "{e}");

    let corrupt = tmp.sub("corrupt");
    write_frame(&corrupt.join("f1.png"), 2, 2, 0);
    std::fs::write(corrupt.join("f2.png"), b"\x89PNG garbage, not an image").unwrap();
    let e = VideoSource::new(&corrupt, 24.0).load().unwrap_err();
    assert!(matches!(e, VideoError::Decode { .. }), "{e}");
    assert!(err_text(e).contains("f2.png"));

    let ok = tmp.sub("ok");
    write_frame(&ok.join("f1.png"), 2, 2, 0);
    for fps in [0.0, -1.0, f64::NAN] {
        let e = err_text(VideoSource::new(&ok, fps).load().unwrap_err());
        assert!(e.contains("fps"), "{e}");
    }
    let e = VideoSource::new(&ok, 24.0)
        .with_size(0, 4, SizePolicy::Resize)
        .load()
        .unwrap_err();
    assert!(err_text(e).contains("size"));
}

#[test]
fn size_mismatch_is_rejected_or_resized() {
    let tmp = TempDir::new("size");
    write_frame(&tmp.0.join("f1.png"), 8, 6, 100);
    write_frame(&tmp.0.join("f2.png"), 16, 12, 100);
    write_frame(&tmp.0.join("f3.png"), 8, 6, 100);

    let e = VideoSource::new(&tmp.0, 24.0).load().unwrap_err();
    let text = err_text(e);
    assert!(
        text.contains("f2.png") && text.contains("16×12") && text.contains("8×6"),
        "{text}"
    );

    let video = VideoSource::new(&tmp.0, 24.0)
        .with_size(8, 6, SizePolicy::Resize)
        .load()
        .unwrap();
    let want = [100.0, 50.0, 155.0].map(|v: f32| v / 255.0);
    for frame in &video.frames {
        assert_eq!(frame.size(), (8, 6));
        for p in &frame.rgb {
            for c in 0..3 {
                assert!((p[c] - want[c]).abs() < 1e-5, "{p:?}");
            }
        }
    }
    // A wanted size none of the frames has: Reject names the first file.
    let e = VideoSource::new(&tmp.0, 24.0)
        .with_size(5, 5, SizePolicy::Reject)
        .load()
        .unwrap_err();
    assert!(err_text(e).contains("f1.png"));
    let up = VideoSource::new(&tmp.0, 24.0)
        .with_size(11, 7, SizePolicy::Resize)
        .load()
        .unwrap();
    assert!(up
        .frames
        .iter()
        .all(|f| f.size() == (11, 7) && f.rgb.len() == 77));
}

#[test]
fn masks_follow_the_frames() {
    let tmp = TempDir::new("masks");
    let frames = tmp.sub("frames");
    for n in 0..3 {
        write_frame(&frames.join(format!("frame_{n:03}.png")), 4, 2, 10);
    }
    // Grey masks: left half foreground.
    let grey = tmp.sub("grey");
    for n in 0..3 {
        GrayImage::from_fn(4, 2, |x, _| Luma([if x < 2 { 255 } else { 0 }]))
            .save(grey.join(format!("mask_{n}.png")))
            .unwrap();
    }
    let video = VideoSource::new(&frames, 10.0)
        .with_masks(&grey)
        .load()
        .unwrap();
    let masks = video.masks.unwrap();
    assert_eq!(masks.len(), 3);
    assert_eq!(
        masks[2].weight,
        vec![1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    );

    // Alpha masks: white everywhere, alpha carries the mask.
    let alpha = tmp.sub("alpha");
    for n in 0..3 {
        image::ImageBuffer::from_fn(4, 2, |_, y| LumaA([255u8, if y == 0 { 51 } else { 255 }]))
            .save(alpha.join(format!("m{n}.png")))
            .unwrap();
    }
    let video = VideoSource::new(&frames, 10.0)
        .with_masks(&alpha)
        .load()
        .unwrap();
    let w = &video.masks.unwrap()[0].weight;
    assert!(w[..4].iter().all(|&v| (v - 0.2).abs() < 1e-6), "{w:?}");
    assert!(w[4..].iter().all(|&v| v == 1.0), "{w:?}");

    // Two masks for three frames.
    let short = tmp.sub("short");
    for n in 0..2 {
        GrayImage::new(4, 2)
            .save(short.join(format!("m{n}.png")))
            .unwrap();
    }
    let e = VideoSource::new(&frames, 10.0)
        .with_masks(&short)
        .load()
        .unwrap_err();
    assert!(
        matches!(
            e,
            VideoError::MaskCount {
                frames: 3,
                masks: 2,
                ..
            }
        ),
        "{e}"
    );

    // Three masks, numbered 1..=3 instead of 0..=2.
    let shifted = tmp.sub("shifted");
    for n in 1..4 {
        GrayImage::new(4, 2)
            .save(shifted.join(format!("m{n}.png")))
            .unwrap();
    }
    let e = err_text(
        VideoSource::new(&frames, 10.0)
            .with_masks(&shifted)
            .load()
            .unwrap_err(),
    );
    assert!(
        e.contains("frame_000.png") && e.contains("no mask numbered 0"),
        "{e}"
    );

    // A mask of the wrong size.
    let big = tmp.sub("big");
    for n in 0..3 {
        GrayImage::new(if n == 1 { 8 } else { 4 }, 2)
            .save(big.join(format!("m{n}.png")))
            .unwrap();
    }
    let e = err_text(
        VideoSource::new(&frames, 10.0)
            .with_masks(&big)
            .load()
            .unwrap_err(),
    );
    assert!(e.contains("m1.png") && e.contains("8×2"), "{e}");
}

#[test]
fn rendered_images_use_the_frame_scale() {
    let image = physdreamer::render::Image {
        width: 2,
        height: 1,
        rgba: vec![255, 0, 51, 255, 0, 102, 255, 0],
    };
    let frame = VideoFrame::from_image(&image);
    assert_eq!(frame.rgb, vec![[1.0, 0.0, 0.2], [0.0, 0.4, 1.0]]);
    assert_eq!(frame.to_f64().pixel(1, 0), [0.0, 0.4f32 as f64, 1.0]);
}
