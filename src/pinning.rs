//! Pinning a software adapter's worker threads, one to a CPU.
//!
//! Mesa's lavapipe runs every dispatch on worker threads named `llvmpipe-N`. On a machine with
//! few cores the kernel moves them from core to core, and while two of them share a core the
//! dispatch runs at half speed: on the 2-core development machine the same benchmark ran at
//! about 3.0e6 particle-steps/s with ~600 CPU migrations and at about 4e6 with ~60
//! (docs/benchmarks.md). [`pin_software_threads`] gives thread `llvmpipe-N` the N-th CPU this
//! process may run on. Nothing is pinned where only one CPU is available, on other operating
//! systems, or with `PHYSDREAMER_PIN_THREADS=0`.

/// Pins every `llvmpipe-N` thread of this process to one CPU; returns how many it pinned.
#[cfg(target_os = "linux")]
pub fn pin_software_threads() -> usize {
    if std::env::var("PHYSDREAMER_PIN_THREADS").is_ok_and(|v| v.trim() == "0") {
        return 0;
    }
    let allowed = allowed_cpus();
    if allowed.len() < 2 {
        return 0;
    }
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut pinned = 0;
    for task in tasks.flatten() {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<libc::pid_t>() else {
            continue;
        };
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        let Some(n) = worker_index(&name) else {
            continue;
        };
        let cpu = allowed[n % allowed.len()];
        // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes inside it, and
        // sched_setaffinity reads exactly size_of::<cpu_set_t>() bytes of it.
        let ok = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        };
        if ok {
            pinned += 1;
        } else {
            log::debug!("could not pin thread {tid} ({}) to CPU {cpu}", name.trim());
        }
    }
    pinned
}

/// Elsewhere: nothing to do.
#[cfg(not(target_os = "linux"))]
pub fn pin_software_threads() -> usize {
    0
}

/// `N` of a thread named `llvmpipe-N`.
pub fn worker_index(name: &str) -> Option<usize> {
    name.trim().strip_prefix("llvmpipe-")?.parse().ok()
}

/// The CPUs the calling thread may run on, in order.
#[cfg(target_os = "linux")]
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: as above; sched_getaffinity writes at most size_of::<cpu_set_t>() bytes.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}
