//! Helpers shared by the thread-layer tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Tests that read process-wide state (hooks, counts, names) take this lock.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A one-shot gate that threads can block on (a futex word, via the atomic-wait crate).
#[derive(Default)]
pub struct Gate(AtomicU32);

impl Gate {
    pub const fn new() -> Gate {
        Gate(AtomicU32::new(0))
    }
    pub fn wait(&self) {
        while self.0.load(Ordering::Acquire) == 0 {
            atomic_wait::wait(&self.0, 0);
        }
    }
    pub fn open(&self) {
        self.0.store(1, Ordering::Release);
        atomic_wait::wake_all(&self.0);
    }
}

/// Polls `f` until it is true, up to 10 s.
pub fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    f()
}
