//! CPython's `BaseLockTests.test_thread_leak` (Lib/test/lock_tests.py): a primitive used from
//! threads that `threading` did not start (there `_thread.start_new_thread`, here std threads)
//! must not leave `Thread` objects behind. Included by tests/lock.rs, tests/rlock.rs,
//! tests/condition.rs and tests/condition_as_rlock.rs.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

/// As in CPython: "many threads in the hope that existing threads ids won't be recycled".
pub const THREADS: usize = if cfg!(miri) { 4 } else { 15 };

/// What `threading` knows about: `active_count()` and the `(name, ident)` of `enumerate()`.
fn snapshot() -> (usize, Vec<(String, Option<u64>)>) {
    let mut threads: Vec<_> = threadkit::enumerate()
        .iter()
        .map(|t| (t.name(), t.ident()))
        .collect();
    threads.sort();
    (threadkit::active_count(), threads)
}

fn until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(30), "never: {what}");
        thread::yield_now();
    }
}

/// Runs `use_it` on [`THREADS`] std threads at once and checks that `active_count()` and
/// `enumerate()` are unchanged while they are all alive (after using the primitive) and after
/// they have exited.
pub fn no_thread_leak(use_it: impl Fn() + Sync) {
    let before = snapshot();
    let used = AtomicUsize::new(0);
    let exit = AtomicBool::new(false);
    let during = thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                use_it();
                used.fetch_add(1, SeqCst);
                until("the test lets us exit", || exit.load(SeqCst));
            });
        }
        until("every thread used the primitive", || {
            used.load(SeqCst) == THREADS
        });
        let during = snapshot();
        exit.store(true, SeqCst); // before any assertion, so a failure cannot hang the scope
        during
    });
    assert_eq!(
        during, before,
        "Thread objects appeared while the threads ran"
    );
    assert_eq!(snapshot(), before, "Thread objects were left behind");
}
