//! The test helpers, all in this folder (`tests/common/`):
//!
//! * `mod.rs` (this file, `mod common;`): helpers of the thread-layer tests: the [`serial`]
//!   lock, quiet expected panics, [`Gate`], [`eventually`], a target that leaves TLS behind.
//! * `thread_leak.rs`: CPython's `test_thread_leak` check, for tests/lock.rs, rlock.rs,
//!   condition.rs and condition_as_rlock.rs (`#[path = "common/thread_leak.rs"] mod leak;`).
//! * `semaphore_base.rs`: CPython's `BaseSemaphoreTests`, shared by tests/semaphore.rs and
//!   bounded_semaphore.rs (`#[path = "common/semaphore_base.rs"] mod base;`).
//! * `probe.rs`: where the `threadkit-probe` program (the workspace member `probe/`) is, for
//!   tests/thread_process.rs and local.rs (`#[path = "common/probe.rs"] mod probe;`).
//!
//! * `queue_rounds.rs`: `join`/`task_done` rounds on a `Queue`, for tests/queue_stress.rs and
//!   queue_ring.rs (`#[path = "common/queue_rounds.rs"] mod queue_rounds;`).
//! * `crowd.rs`: the system's thread limit and 10,000 threadkit threads at once, for
//!   tests/thread_stack.rs and many_threads.rs (`#[path = "common/crowd.rs"] mod crowd;`).
//!
//! A file is included only by the test binaries that use it, so none compiles code it ignores.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Tests that read process-wide state (hooks, counts, names) take this lock.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Panics that a test raises on purpose start with this text: [`quiet_expected_panics`] keeps
/// them off stderr. (threadkit's own threads are not std threads, so libtest does not capture
/// what they print; without this a passing run would print backtraces that look like failures.)
pub const EXPECTED: &str = "expected panic: ";

/// Installs, once per test binary, a panic hook that prints nothing for a panic whose message
/// starts with [`EXPECTED`] and hands every other panic to the previous hook.
pub fn quiet_expected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            let msg = p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str));
            if !msg.is_some_and(|m| m.starts_with(EXPECTED)) {
                previous(info);
            }
        }));
    });
}

/// A one-shot gate that threads can block on (threadkit's `Event`).
#[derive(Default)]
pub struct Gate(threadkit::Event);

impl Gate {
    pub const fn new() -> Gate {
        Gate(threadkit::Event::new())
    }
    pub fn wait(&self) {
        self.0.wait();
    }
    pub fn open(&self) {
        self.0.set();
    }
}

/// Polls `f` until it is true, up to 10 s.
pub fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    f()
}

/// Sets its flag when dropped, after a pause: a `thread_local!` destructor that is still
/// running when the thread's target has long returned.
pub struct SetWhenDropped(Arc<AtomicBool>);

impl Drop for SetWhenDropped {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 50 }));
        self.0.store(true, SeqCst);
    }
}

thread_local! {
    static DROPPED_LATE: std::cell::RefCell<Option<SetWhenDropped>> =
        const { std::cell::RefCell::new(None) };
}

/// A target that leaves a `thread_local!` value behind, and the flag its destructor sets.
pub fn leaves_tls_behind() -> (Arc<AtomicBool>, impl FnOnce() + Send + 'static) {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let target = move || DROPPED_LATE.with(|d| *d.borrow_mut() = Some(SetWhenDropped(f)));
    (flag, target)
}
