//! Many threads at once: the system's thread limit and [`crowd`], which starts thousands of
//! threadkit threads with small stacks (tests/thread_stack.rs and many_threads.rs;
//! `#[path = "common/crowd.rs"] mod crowd;`).

use threadkit::Thread;

/// The stack each thread of a crowd gets: enough for the tests' waits, small enough that
/// 10,000 of them take 640 MiB of address space and touch a few pages each.
const CROWD_STACK: usize = 64 * 1024;

/// The documented thread limits of this Linux system; `None` elsewhere (macOS allows about
/// 2,000 threads per process; Windows and Wine have no cheap query).
#[cfg(target_os = "linux")]
fn thread_limit() -> Option<u64> {
    let read = |p: &str| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok();
    let mut limit = read("/proc/sys/kernel/threads-max")?;
    if let Some(p) = read("/sys/fs/cgroup/pids.max") {
        limit = limit.min(p);
    }
    {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `r` is a valid out-pointer for getrlimit.
        if unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut r) } == 0
            && r.rlim_cur != libc::RLIM_INFINITY
        {
            #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
            let cur = r.rlim_cur as u64;
            limit = limit.min(cur);
        }
    }
    Some(limit)
}

#[cfg(not(target_os = "linux"))]
fn thread_limit() -> Option<u64> {
    None
}

/// Whether this system documents room for `n` more threads (with a margin for the test
/// harness and the rest of the machine); prints why not.
pub fn room_for(n: usize) -> bool {
    match thread_limit() {
        Some(l) if l >= (n + 500) as u64 => true,
        other => {
            eprintln!("skipped: the system allows {other:?} threads, below {n} + margin");
            false
        }
    }
}

/// Starts `n` threads running `body(i)` for `i` in `0..n`, each with a [`CROWD_STACK`] stack.
/// If the OS refuses one, calls `unblock` (which must let every started thread finish), joins
/// those and returns `None` (printing why): the caller skips the rest of its test.
pub fn crowd<F>(n: usize, unblock: impl FnOnce(), body: F) -> Option<Vec<Thread>>
where
    F: Fn(usize) + Send + Sync + Clone + 'static,
{
    let mut ts = Vec::with_capacity(n);
    for i in 0..n {
        let body = body.clone();
        let t = Thread::new(move || body(i)).with_stack_size(CROWD_STACK);
        if let Err(e) = t.start() {
            unblock();
            join_all(&ts);
            eprintln!("skipped: the OS refused thread {i} of {n}: {e}");
            return None;
        }
        ts.push(t);
    }
    Some(ts)
}

/// Joins every thread of a crowd.
pub fn join_all(ts: &[Thread]) {
    for t in ts {
        t.join().unwrap();
    }
    assert!(ts.iter().all(|t| !t.is_alive()));
}
