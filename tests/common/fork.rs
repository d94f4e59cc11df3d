//! The fork harness of `tests/fork.rs`: fork into a child that must pass, parent threads kept
//! busy in a primitive's slow paths, many forks in a row, threads in the child.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

/// Forks per test.
pub const FORKS: usize = 16;
/// A hung child is killed after this many seconds (the test then fails).
pub const CHILD_ALARM: u32 = 20;

/// Forks; the child runs `child` and exits 0 only if it returns normally (a panic or a failed
/// assertion exits 1, a hang is ended by `SIGALRM`). Returns how the child ended.
pub fn run_in_child(child: &dyn Fn()) -> Result<(), String> {
    // SAFETY: fork has no preconditions; the child runs only `child` and then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: alarm and _exit have no preconditions.
        unsafe { libc::alarm(CHILD_ALARM) };
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).is_ok();
        // SAFETY: as above; `_exit` skips the parent's atexit handlers and stdio buffers.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid: {}", std::io::Error::last_os_error());
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if libc::WIFSIGNALED(status) {
        Err(format!("child killed by signal {}", libc::WTERMSIG(status)))
    } else {
        Err(format!("child exited with {}", libc::WEXITSTATUS(status)))
    }
}

/// Parent threads that run `work` in a loop until dropped.
pub struct Busy {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Busy {
    pub fn start(n: usize, work: impl Fn(usize) + Send + Sync + 'static) -> Busy {
        let stop = Arc::new(AtomicBool::new(false));
        let work = Arc::new(work);
        let threads = (0..n)
            .map(|i| {
                let (stop, work) = (stop.clone(), work.clone());
                std::thread::spawn(move || {
                    while !stop.load(SeqCst) {
                        work(i);
                    }
                })
            })
            .collect();
        Busy { stop, threads }
    }

    /// Stops the loops; `unblock` is called until every thread has finished (to release
    /// threads blocked in the primitive).
    pub fn stop(self, unblock: impl Fn()) {
        self.stop.store(true, SeqCst);
        while self.threads.iter().any(|t| !t.is_finished()) {
            unblock();
            std::thread::sleep(Duration::from_millis(1));
        }
        for t in self.threads {
            t.join().unwrap();
        }
    }
}

/// Forks [`FORKS`] times, `before_each` running just before each fork (on the forking thread),
/// `after_each` just after it in the parent, and `child` in each child. Panics with every
/// failed child's story.
pub fn fork_many(before_each: impl Fn(), after_each: impl Fn(), child: impl Fn()) {
    let mut failures = Vec::new();
    for i in 0..FORKS {
        std::thread::sleep(Duration::from_micros(200 + 150 * i as u64));
        before_each();
        let r = run_in_child(&child);
        after_each();
        if let Err(e) = r {
            failures.push(format!("fork {i}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// In a child: `n` new threadkit threads run `f(i)`; all must finish.
pub fn child_threads(n: usize, f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let f = f.clone();
            threadkit::spawn(move || f(i))
        })
        .collect();
    for h in handles {
        h.join().expect("a child thread panicked");
    }
}
