//! Loom models of `Event`: no lost wake-up, `set(); clear()` still releases a sleeper with
//! `true` (CPython's rule), several waiters, timed waiters, and the happens-before from `set()`
//! to a waiter's return (checked by loom's causality tracking on an `UnsafeCell`).
//!
//! Run: `RUSTFLAGS="--cfg threadkit_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_event`
#![cfg(threadkit_loom)]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;
use threadkit::Event;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn no_lost_wakeup() {
    model(|| {
        let e = Arc::new(Event::new());
        let w = {
            let e = e.clone();
            thread::spawn(move || e.wait())
        };
        e.set();
        w.join().unwrap();
        assert!(e.is_set());
    });
}

/// The waiter has announced it sleeps; `set(); clear()` must release it with `true`. A waiter
/// that went back to sleep would be a loom deadlock.
#[test]
fn set_then_clear_releases_sleeper() {
    model(|| {
        let e = Arc::new(Event::new());
        let w = {
            let e = e.clone();
            thread::spawn(move || e.wait_timeout(threadkit::TIMEOUT_MAX + Duration::from_secs(1)))
        };
        while !e.loom_has_sleepers() {
            thread::yield_now();
        }
        e.set();
        e.clear();
        assert!(w.join().unwrap());
        assert!(!e.is_set());
    });
}

#[test]
fn two_waiters_one_set() {
    model(|| {
        let e = Arc::new(Event::new());
        let ws: Vec<_> = (0..2)
            .map(|_| {
                let e = e.clone();
                thread::spawn(move || e.wait())
            })
            .collect();
        e.set();
        for w in ws {
            w.join().unwrap();
        }
    });
}

/// A timed waiter may time out, a blocking one must be released; a clear() racing with both.
#[test]
fn timed_and_blocking_with_clear() {
    model(|| {
        let e = Arc::new(Event::new());
        let timed = {
            let e = e.clone();
            thread::spawn(move || e.wait_timeout(Duration::from_millis(1)))
        };
        let blocking = {
            let e = e.clone();
            thread::spawn(move || e.wait())
        };
        e.set();
        let _ = timed.join().unwrap();
        blocking.join().unwrap();
        e.clear();
        assert!(!e.is_set());
    });
}

/// What the setter wrote before `set()` is visible to a waiter that returned `true`, also when
/// a `clear()` came in between (loom checks the access to the cell for causality).
#[test]
fn set_publishes_writes() {
    struct Shared {
        e: Event,
        data: UnsafeCell<u32>,
    }
    // SAFETY: `data` is written before `set()` and read only after a `true` wait (the model
    // checks exactly this).
    unsafe impl Sync for Shared {}
    model(|| {
        let sh = Arc::new(Shared {
            e: Event::new(),
            data: UnsafeCell::new(0),
        });
        let setter = {
            let sh = sh.clone();
            thread::spawn(move || {
                // SAFETY: nobody reads before the set() below.
                sh.data.with_mut(|p| unsafe { *p = 42 });
                sh.e.set();
                sh.e.clear();
            })
        };
        if sh.e.wait_timeout(Duration::from_millis(1)) {
            // SAFETY: the write happened before set(), which happened before this true return.
            assert_eq!(sh.data.with(|p| unsafe { *p }), 42);
        }
        setter.join().unwrap();
    });
}
