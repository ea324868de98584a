//! The viewer starts in a real window under Xvfb, takes a scripted click (a poke), and a
//! screenshot after it differs from the same frame of an identical run without the click,
//! around the place that was clicked. Needs `xvfb-run` (Debian package xvfb; .ci/run
//! installs it).

use std::path::Path;
use std::process::Command;

fn run_viewer(dir: &Path, tag: &str, click: bool) -> image::RgbaImage {
    let shot = dir.join(format!("{tag}.png"));
    let mut cmd = Command::new("xvfb-run");
    cmd.args([
        "-a",
        "-s",
        "-screen 0 1024x768x24",
        env!("CARGO_BIN_EXE_physdreamer"),
        "view",
    ])
    .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/default.toml"))
    .args([
        "--width",
        "640",
        "--height",
        "400",
        "--exit-after",
        "26",
        "--substeps",
        "8",
    ])
    .arg("--screenshot")
    .arg(format!("24:{}", shot.display()));
    if click {
        cmd.args(["--click", "4:0.55,0.42"]);
    }
    let out = cmd
        .output()
        .expect("xvfb-run must be installed (Debian package xvfb)");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "viewer failed: {log}");
    if click {
        assert!(
            log.contains("scripted poke") && log.contains(": hit"),
            "the click did not hit the object: {log}"
        );
    }
    image::open(&shot)
        .unwrap_or_else(|e| panic!("screenshot {}: {e}", shot.display()))
        .to_rgba8()
}

#[test]
fn a_click_pokes_the_object_where_it_was_clicked() {
    let dir = std::env::temp_dir().join(format!("physdreamer-viewer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let quiet = run_viewer(&dir, "quiet", false);
    let quiet_again = run_viewer(&dir, "quiet_again", false);
    let poked = run_viewer(&dir, "poked", true);
    assert_eq!(quiet.dimensions(), (640, 400));
    // without input the scripted run is reproducible to the pixel
    assert!(
        quiet.as_raw() == quiet_again.as_raw(),
        "two identical runs gave different screenshots"
    );
    let (mut n, mut sx, mut sy) = (0u64, 0f64, 0f64);
    for (x, y, p) in poked.enumerate_pixels() {
        let q = quiet.get_pixel(x, y);
        if p.0.iter().zip(q.0.iter()).any(|(a, b)| a.abs_diff(*b) > 24) {
            n += 1;
            sx += x as f64;
            sy += y as f64;
        }
    }
    assert!(n > 200, "the poke changed only {n} pixels");
    let (cx, cy) = (sx / n as f64, sy / n as f64);
    let (px, py) = (0.55 * 640.0, 0.42 * 400.0);
    let dist = ((cx - px).powi(2) + (cy - py).powi(2)).sqrt();
    eprintln!("{n} pixels changed, centred at ({cx:.0}, {cy:.0}); clicked at ({px:.0}, {py:.0})");
    assert!(
        dist < 160.0,
        "the change is centred at ({cx:.0}, {cy:.0}), {dist:.0} px from the click"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
