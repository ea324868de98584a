//! `physdreamer fit` end to end on a tiny video: outputs written, an interrupted fit
//! (`--stop-after`) resumes from its checkpoint and ends bit-identical to an uninterrupted
//! one, and bad inputs give errors that name what is wrong.

mod common;
use common::*;
use glam::Vec3;
use physdreamer::cli::prepare::conditioning_camera;
use physdreamer::fit::known_truth::{write_video, Truth};
use physdreamer::fit::solver_config;
use physdreamer::scene::Scene;
use physdreamer::solver::Solver;
use std::path::{Path, PathBuf};
use std::process::Command;

fn small_scene(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(data("default.toml")).unwrap();
    let splat = data("jelly/jelly.ply").display().to_string();
    let text = text
        .replace("per_cell = 2", "per_cell = 1")
        .replace("\"jelly/jelly.ply\"", &format!("{splat:?}"));
    let path = dir.join("jelly.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn fit(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_physdreamer"))
        .arg("fit")
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn fit_writes_outputs_and_resumes_bit_identically() {
    let dir = std::env::temp_dir().join(format!("physdreamer_fit_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scene_path = small_scene(&dir);
    let scene = Scene::load(&scene_path).unwrap();
    let (_, camera) = conditioning_camera(&scene, None, 64, 36).unwrap();
    let truth = Truth::new(
        &scene,
        |_| 3e4,
        |p| Vec3::new(0.5, 0.0, 0.0) * ((p.y - 0.3) / 0.25),
    );
    let mut solver = Solver::new(&gpu(), solver_config(&scene, 30.0), &scene.particles).unwrap();
    let video = dir.join("video");
    write_video(&mut solver, &scene, &truth, &camera, 2, &video).unwrap();
    let s = |p: &Path| p.display().to_string();
    let (scene_arg, video_arg) = (s(&scene_path), s(&video));
    let common_args = |out: &str| -> Vec<String> {
        [
            &scene_arg,
            "--video",
            &video_arg,
            "--width",
            "64",
            "--scan",
            "-0.5,0",
            "--velocity-iterations",
            "2",
            "--material-iterations",
            "3",
            "--out",
            out,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let a = s(&dir.join("a"));
    let b = s(&dir.join("b"));
    let args_a = common_args(&a);
    let (ok, text) = fit(&args_a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{text}");
    for f in [
        "material.ply",
        "velocity.json",
        "loss.png",
        "e_field.png",
        "summary.json",
        "checkpoint.json",
    ] {
        assert!(dir.join("a").join(f).is_file(), "missing {f}");
    }
    for f in [
        "compare/frame_0001.png",
        "compare/frame_0002.png",
        "compare/compare.gif",
    ] {
        assert!(dir.join("a").join(f).is_file(), "missing {f}");
    }
    let mut args_b = common_args(&b);
    // stopped inside the first stage's second refinement round (2 candidates, then 2 rounds of
    // 2, each 2 velocity iterations and a score; then 3 material iterations)
    args_b.extend(["--stop-after".to_string(), "16".to_string()]);
    let (ok, text) = fit(&args_b.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        ok && text.contains("stopped after iteration 16 of 21"),
        "{text}"
    );
    assert!(!dir.join("b").join("material.ply").exists());
    let args_b = common_args(&b);
    let (ok, text) = fit(&args_b.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        ok && text.contains("resuming") && text.contains("iteration 16"),
        "{text}"
    );
    let read = |d: &str, f: &str| std::fs::read(Path::new(d).join(f)).unwrap();
    assert_eq!(
        read(&a, "material.ply"),
        read(&b, "material.ply"),
        "material differs after resuming"
    );
    assert_eq!(read(&a, "velocity.json"), read(&b, "velocity.json"));
    let summary: serde_json::Value = serde_json::from_slice(&read(&a, "summary.json")).unwrap();
    assert_eq!(summary["iterations"], 21);
    // the same checkpoint with other settings is refused
    let mut other = common_args(&b);
    let k = other.len() - 3;
    other[k] = "4".into(); // --material-iterations 4
    let (ok, text) = fit(&other.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && text.contains("other settings"), "{text}");
    // bad inputs
    let missing = s(&dir.join("no_such_video"));
    let (ok, text) = fit(&[&scene_arg, "--video", &missing]);
    assert!(!ok && text.contains("no_such_video"), "{text}");
    let (ok, text) = fit(&[
        &scene_arg,
        "--video",
        &video_arg,
        "--frames",
        "5",
        "--out",
        &s(&dir.join("c")),
    ]);
    assert!(!ok && text.contains("--frames 5"), "{text}");
    let (ok, text) = fit(&[
        &scene_arg,
        "--video",
        &video_arg,
        "--scan",
        "0,x",
        "--out",
        &s(&dir.join("c")),
    ]);
    assert!(
        !ok && text.contains("--scan") && text.contains("\"x\""),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
