//! Helpers shared by the thread-layer tests.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

/// Tests that read process-wide state (hooks, counts, names) take this lock.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
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
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    f()
}
