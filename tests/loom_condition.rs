//! Loom models of `Condition`: no lost wake-up, FIFO, notify counts, timeout vs notify.
#![cfg(threadkit_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;
use std::time::Duration;
use threadkit::{Condition, Lock};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

/// The lock is free and nobody is counted on it.
fn quiescent(c: &Condition<Lock>) {
    let dbg = format!("{:?}", c.lock());
    assert!(
        dbg.contains("locked: false") && dbg.contains("waiters: 0"),
        "{dbg}"
    );
}

/// Acquires the condition's lock at a moment when `ready()` holds (polling, yielding between).
fn acquire_when(c: &Condition<Lock>, ready: impl Fn() -> bool) {
    loop {
        c.acquire();
        if ready() {
            return;
        }
        c.release().unwrap();
        thread::yield_now();
    }
}

#[test]
fn no_lost_wakeup() {
    model(|| {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        let flag = Arc::new(AtomicUsize::new(0));
        let (c2, f2) = (c.clone(), flag.clone());
        let t = thread::spawn(move || {
            c2.acquire();
            c2.wait_for(|| f2.load(SeqCst) == 1).unwrap();
            c2.release().unwrap();
        });
        c.acquire();
        flag.store(1, SeqCst);
        c.notify(1).unwrap();
        c.release().unwrap();
        t.join().unwrap();
        quiescent(&c);
    });
}

#[test]
fn fifo_and_notify_counts() {
    model(|| {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        // order: ids in queue order (id+1 in successive bytes); tokens: notifications granted.
        let order = Arc::new(AtomicUsize::new(0));
        let tokens = Arc::new(AtomicUsize::new(0));
        let woke = Arc::new(AtomicUsize::new(0));
        let ts: Vec<_> = (1..=2)
            .map(|id| {
                let (c, order, tokens, woke) =
                    (c.clone(), order.clone(), tokens.clone(), woke.clone());
                thread::spawn(move || {
                    c.acquire();
                    let o = order.load(SeqCst);
                    order.store(o * 16 + id, SeqCst);
                    c.wait_for(|| tokens.load(SeqCst) > 0).unwrap();
                    tokens.fetch_sub(1, SeqCst);
                    let w = woke.load(SeqCst);
                    woke.store(w * 16 + id, SeqCst);
                    c.release().unwrap();
                })
            })
            .collect();
        c.acquire();
        let queued = order.load(SeqCst);
        tokens.fetch_add(1, SeqCst);
        c.notify(1).unwrap();
        c.release().unwrap();
        // Let the notified waiter take its token before granting the second one (otherwise
        // the second waiter may barge for the lock and the order says nothing about FIFO).
        loop {
            c.acquire();
            let w = woke.load(SeqCst);
            c.release().unwrap();
            if w != 0 {
                break;
            }
            thread::yield_now();
        }
        c.acquire();
        tokens.fetch_add(1, SeqCst);
        c.notify_all().unwrap();
        c.release().unwrap();
        for t in ts {
            t.join().unwrap();
        }
        if queued >= 16 {
            // Both were queued at the first notify: the oldest was woken first.
            assert_eq!(woke.load(SeqCst) / 16, queued / 16);
        }
        quiescent(&c);
    });
}

#[test]
fn timeout_vs_notify() {
    model(|| {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        let queued = Arc::new(AtomicUsize::new(0));
        let notified = Arc::new(AtomicUsize::new(0));
        let (c2, q2, n2) = (c.clone(), queued.clone(), notified.clone());
        let t = thread::spawn(move || {
            c2.acquire();
            q2.store(1, SeqCst);
            let r = c2.wait_timeout(Duration::from_secs(1)).unwrap();
            assert!(c2.lock().locked());
            c2.release().unwrap();
            if r {
                assert_eq!(n2.load(SeqCst), 1, "Ok(true) without a notify");
            }
        });
        c.acquire();
        if queued.load(SeqCst) == 1 {
            notified.store(1, SeqCst);
            c.notify(1).unwrap();
        }
        c.release().unwrap();
        t.join().unwrap();
        // A notify spent on a waiter that then reported a timeout would leave it counted.
        quiescent(&c);
    });
}

/// `notify_all` to two sleeping waiters: the first is released at once with the token, the
/// second is chained and must be woken by the first (as soon as the lock is free, or once the
/// first holds it). Nobody may be stranded, whichever way the handoffs interleave.
#[test]
fn notify_all_token_chain_strands_nobody() {
    model(|| {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        let go = Arc::new(AtomicUsize::new(0));
        let queued = Arc::new(AtomicUsize::new(0));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (c, go, queued) = (c.clone(), go.clone(), queued.clone());
                thread::spawn(move || {
                    c.acquire();
                    queued.fetch_add(1, SeqCst);
                    c.wait_for(|| go.load(SeqCst) == 1).unwrap();
                    c.release().unwrap();
                })
            })
            .collect();
        // Both queued, so one notify_all covers both.
        acquire_when(&c, || queued.load(SeqCst) == 2);
        go.store(1, SeqCst);
        c.notify_all().unwrap();
        c.release().unwrap();
        for t in ts {
            t.join().unwrap();
        }
        quiescent(&c);
    });
}

/// A chained waiter (notified, waiting for the token) whose timeout fires: it reports the
/// notification, leaves the chain, and the token holder still ends the chain cleanly.
#[test]
fn chained_waiter_timing_out_keeps_the_chain_sound() {
    model(|| {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        let queued = Arc::new(AtomicUsize::new(0));
        let (c1, q1) = (c.clone(), queued.clone());
        let first = thread::spawn(move || {
            c1.acquire();
            q1.fetch_add(1, SeqCst);
            assert!(c1.wait().is_ok());
            c1.release().unwrap();
        });
        let (c2, q2) = (c.clone(), queued.clone());
        let second = thread::spawn(move || {
            c2.acquire();
            q2.fetch_add(1, SeqCst);
            // Either notified (directly or through the chain) or timed out before the notify
            // reached it: both fine, as long as the lock comes back and nothing is stranded.
            let _ = c2.wait_timeout(Duration::from_millis(1)).unwrap();
            c2.release().unwrap();
        });
        acquire_when(&c, || queued.load(SeqCst) == 2);
        c.notify_all().unwrap();
        c.release().unwrap();
        first.join().unwrap();
        second.join().unwrap();
        quiescent(&c);
    });
}

/// `wait_for_timeout` with a zero timeout and a false predicate waits once, with its deadline
/// already passed (CPython's `wait(0)`: release, reacquire), then looks at the predicate again.
/// A notify racing with that expired wait is reported or not counted; the result is the
/// predicate's last value; the lock ends free with nobody counted on it.
#[test]
fn zero_timeout_wait_for_vs_notify() {
    model(|| {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        let flag = Arc::new(AtomicUsize::new(0));
        let (c2, f2) = (c.clone(), flag.clone());
        let t = thread::spawn(move || {
            c2.acquire();
            let r = c2
                .wait_for_timeout(|| f2.load(SeqCst) == 1, Duration::ZERO)
                .unwrap();
            assert!(c2.lock().locked());
            assert_eq!(r, f2.load(SeqCst) == 1, "the predicate's last value");
            c2.release().unwrap();
        });
        c.acquire();
        flag.store(1, SeqCst);
        c.notify(1).unwrap();
        c.release().unwrap();
        t.join().unwrap();
        quiescent(&c);
    });
}
