//! `physdreamer simulate --render` and `physdreamer prepare` through the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_physdreamer"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// A fresh empty folder under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("running physdreamer");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn simulate_render_writes_png_frames_and_gif() {
    let out = scratch("simulate_render");
    let (ok, text) = run(bin()
        .arg("simulate")
        .arg(data("default.toml"))
        .args([
            "--seconds",
            "0.2",
            "--render",
            "--width",
            "64",
            "--height",
            "48",
            "--out",
        ])
        .arg(&out));
    assert!(ok, "simulate --render failed:\n{text}");
    // 0.2 s at 30 fps: frames 0..=6, each a PLY and a 64x48 PNG beside it.
    for f in 0..=6 {
        let png = out.join(format!("frame_{f:04}.png"));
        assert!(
            out.join(format!("frame_{f:04}.ply")).is_file(),
            "frame {f} PLY missing"
        );
        let img = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert_eq!((img.width(), img.height()), (64, 48), "{}", png.display());
        // Something was drawn: not every pixel is the white background.
        let rgb = img.to_rgb8();
        assert!(
            rgb.pixels().any(|p| p.0 != [255, 255, 255]),
            "{} is blank",
            png.display()
        );
    }
    assert!(!out.join("frame_0007.png").exists());
    // The GIF has all frames at that size; no temporary files are left.
    let file = std::io::BufReader::new(std::fs::File::open(out.join("anim.gif")).unwrap());
    let dec = image::codecs::gif::GifDecoder::new(file).unwrap();
    let frames = image::AnimationDecoder::into_frames(dec)
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 7);
    assert_eq!(frames[0].buffer().dimensions(), (64, 48));
    let tmp = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(tmp, 0, "temporary files left in {}", out.display());
}

#[test]
fn bad_cameras_give_errors_naming_them() {
    let out = scratch("bad_cameras");
    // An unknown camera name (--camera implies --render): the name and the scene's cameras.
    let (ok, text) = run(bin()
        .arg("simulate")
        .arg(data("default.toml"))
        .args(["--seconds", "0.05", "--camera", "no_such_cam", "--out"])
        .arg(&out));
    assert!(!ok);
    assert!(
        text.contains("no_such_cam") && text.contains("front") && text.contains("top"),
        "{text}"
    );
    // A camera file that does not exist: the error names the file.
    let (ok, text) = run(bin()
        .arg("prepare")
        .arg(data("donut.toml"))
        .args(["--camera", "missing/cams.json", "--out"])
        .arg(out.join("x.png")));
    assert!(!ok);
    assert!(text.contains("missing/cams.json"), "{text}");
    // A camera file that is not JSON.
    let bad = out.join("bad.json");
    std::fs::write(&bad, "not json").unwrap();
    let (ok, text) = run(bin()
        .arg("prepare")
        .arg(data("donut.toml"))
        .arg("--camera")
        .arg(&bad)
        .arg("--out")
        .arg(out.join("x.png")));
    assert!(!ok);
    assert!(text.contains("bad.json"), "{text}");
    assert!(!out.join("x.png").exists());
    // The built-in demo has nothing to render.
    let (ok, text) = run(bin()
        .args(["simulate", "builtin:jelly", "--render", "--out"])
        .arg(&out));
    assert!(!ok && text.contains("--render"), "{text}");
}

#[test]
fn prepare_frames_the_object() {
    let out = scratch("prepare");
    let png = out.join("cond.png");
    let (ok, text) = run(bin()
        .arg("prepare")
        .arg(data("donut.toml"))
        .args([
            "--camera", "front", "--width", "256", "--height", "144", "--out",
        ])
        .arg(&png));
    assert!(ok, "prepare failed:\n{text}");
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (256, 144));
    // The object's bounding box (non-white pixels) is centred and fills about 70 %.
    let (mut x0, mut x1, mut y0, mut y1) = (u32::MAX, 0, u32::MAX, 0);
    for (x, y, p) in img.enumerate_pixels() {
        if p.0.iter().any(|&c| c < 235) {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
    }
    let (fw, fh) = ((x1 - x0 + 1) as f32 / 256.0, (y1 - y0 + 1) as f32 / 144.0);
    eprintln!("box x {x0}..{x1}, y {y0}..{y1}: fills {fw:.2} x {fh:.2}");
    assert!(fw.max(fh) > 0.6 && fw.max(fh) < 0.8, "fills {fw} x {fh}");
    let (mx, my) = ((x0 + x1) as f32 / 2.0, (y0 + y1) as f32 / 2.0);
    assert!(
        (mx - 128.0).abs() < 12.0 && (my - 72.0).abs() < 10.0,
        "box centre ({mx}, {my})"
    );
}
