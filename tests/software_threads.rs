//! The size of the software driver's thread pool (`LP_NUM_THREADS`, set by the binary unless
//! the user did): the rule, and that the results do not depend on it.

use physdreamer::gpu::{size_software_threads, SOFTWARE_THREADS_MAX, SOFTWARE_THREADS_PER_CORE};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The particle frames `physdreamer simulate builtin:jelly` writes with `threads` driver
/// threads, by file name.
fn frames(threads: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("threads-{threads}"));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_physdreamer"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LP_NUM_THREADS", threads)
        .args(["simulate", "builtin:jelly", "--seconds", "0.1", "--out"])
        .arg(&dir)
        .output()
        .expect("running physdreamer");
    assert!(
        out.status.success(),
        "simulate with LP_NUM_THREADS={threads} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn results_do_not_depend_on_the_driver_thread_count() {
    let one = frames("1");
    let seven = frames("7");
    assert!(one.len() >= 3, "expected a few frames, got {}", one.len());
    assert_eq!(
        one.iter().map(|f| &f.0).collect::<Vec<_>>(),
        seven.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in one.iter().zip(&seven) {
        assert!(a == b, "{name} differs between 1 and 7 driver threads");
    }
    // The first and last frames differ: the jelly moved, so equal files mean equal runs.
    assert!(one[0].1 != one[one.len() - 1].1);
}

#[test]
fn thread_count_rule_keeps_a_user_setting() {
    std::env::remove_var("LP_NUM_THREADS");
    let cores = std::thread::available_parallelism().unwrap().get();
    let want = (SOFTWARE_THREADS_PER_CORE * cores)
        .min(SOFTWARE_THREADS_MAX)
        .to_string();
    assert_eq!(size_software_threads(), want);
    assert_eq!(std::env::var("LP_NUM_THREADS").unwrap(), want);
    std::env::set_var("LP_NUM_THREADS", "3");
    assert_eq!(size_software_threads(), "3");
    assert_eq!(std::env::var("LP_NUM_THREADS").unwrap(), "3");
}
