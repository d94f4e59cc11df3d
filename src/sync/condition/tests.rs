//! In-crate tests of [`Condition`] that reach its private queue (the count `notify` does not
//! return); the public behaviour is tested in `tests/condition.rs`. A part of `condition/mod.rs`,
//! included as its `tests` module.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

/// Condition's own timeout-vs-notify race: a waiter whose timeout races with a notify
/// either reports that it was notified, or is not counted by that notify. `notify` reports
/// no count, so the notifier makes the call `notify(1)` makes, on the queue, which does.
// `#[cfg(test)]` once more (the module is test-only already): `ci/house_rules.py` reads this
// file on its own, and allows `std::thread` in `#[cfg(test)]` items only.
#[cfg(test)]
fn timeout_vs_notify_never_loses_a_notification<L: ConditionLock + Sync>(cond: &Condition<L>) {
    const WAITERS: usize = 3;
    const ROUNDS: usize = if cfg!(miri) { 20 } else { 3_000 };
    let woken_true = AtomicUsize::new(0);
    let notified = AtomicUsize::new(0);
    let running = AtomicUsize::new(WAITERS);
    thread::scope(|s| {
        for w in 0..WAITERS {
            let (woken_true, running) = (&woken_true, &running);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    cond.acquire();
                    let t = Duration::from_micros(((i + w) % 7) as u64 * 20);
                    if cond.wait_timeout(t).unwrap() {
                        woken_true.fetch_add(1, SeqCst);
                    }
                    cond.release().unwrap();
                }
                running.fetch_sub(1, SeqCst);
            });
        }
        while running.load(SeqCst) > 0 {
            cond.acquire();
            assert!(cond.held());
            // `Condition::notify(1)`, with the count it does not return.
            let n = cond.queue.notify(1, Some(cond.raw()));
            notified.fetch_add(n, SeqCst);
            cond.release().unwrap();
            thread::yield_now();
        }
    });
    // Each notify that found a waiter made exactly one wait report `true`, and no wait
    // reported `true` without one.
    assert_eq!(woken_true.load(SeqCst), notified.load(SeqCst));
}

#[test]
fn timeout_vs_notify_rlock() {
    timeout_vs_notify_never_loses_a_notification(&Condition::new());
}

#[test]
fn timeout_vs_notify_lock() {
    timeout_vs_notify_never_loses_a_notification(&Condition::with_lock(Lock::new()));
}
