//! Pinning of lavapipe's worker threads (src/pinning.rs), in a test binary of its own: no
//! other test may open a context while this one looks at the threads.

#![cfg(target_os = "linux")]

use physdreamer::gpu::{AdapterChoice, GpuContext};

/// The CPUs a thread of this process may run on (Linux: /proc/self/task/TID/status).
fn cpus_of(task: &std::path::Path) -> Vec<usize> {
    let status = std::fs::read_to_string(task.join("status")).unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim();
    list.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect::<Vec<usize>>(),
            None => vec![part.parse().unwrap()],
        })
        .collect()
}

#[test]
fn software_adapter_workers_are_pinned_one_to_a_cpu() {
    use physdreamer::pinning::{allowed_cpus, worker_index};
    let allowed = allowed_cpus();
    let ctx = match GpuContext::new(&AdapterChoice::Software) {
        Ok(ctx) => ctx,
        Err(e) => panic!("the tests need Mesa's lavapipe: {e}"),
    };
    assert_eq!(worker_index("llvmpipe-3\n"), Some(3));
    assert_eq!(worker_index("llvmpipe"), None);
    if allowed.len() < 2 || std::env::var("PHYSDREAMER_PIN_THREADS").is_ok_and(|v| v == "0") {
        eprintln!(
            "{} CPU(s) or pinning turned off: nothing to check",
            allowed.len()
        );
        return;
    }
    let mut workers = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        if let Some(n) = worker_index(&name) {
            workers += 1;
            assert_eq!(
                cpus_of(&task.path()),
                vec![allowed[n % allowed.len()]],
                "thread {} of {}",
                name.trim(),
                ctx.describe()
            );
        }
    }
    eprintln!("{workers} lavapipe worker threads, each on one of CPUs {allowed:?}");
    assert!(workers >= 2, "no lavapipe worker threads found");
}
