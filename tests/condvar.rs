//! Condvar (the data layer): wait/notify with `Mutex<T>`, exact notify counts, timeouts that
//! never lose a notification, the seed's bounded producer/consumer, and the two-mutex panic.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{Condvar, Mutex};

fn until(f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "condition never met"
        );
        thread::yield_now();
    }
}

#[test]
fn notify_without_waiters() {
    let cv = Condvar::new();
    assert!(!cv.notify_one());
    assert_eq!(cv.notify_all(), 0);
    assert!(format!("{cv:?}").contains("Condvar"));
}

#[test]
fn wait_timeout_times_out_not_early() {
    let m = Mutex::new(0);
    let cv = Condvar::new();
    let mut g = m.lock();
    let t = Duration::from_millis(50);
    let t0 = Instant::now();
    assert!(!cv.wait_timeout(&mut g, t));
    assert!(t0.elapsed() >= t);
    *g += 1; // the guard holds the lock again
    drop(g);
    assert!(m.try_lock().is_some());
}

#[test]
fn notify_counts_exact() {
    const W: usize = 4;
    let m = Mutex::new(0usize); // number of queued waiters
    let cv = Condvar::new();
    let left = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..W {
            s.spawn(|| {
                let mut g = m.lock();
                *g += 1;
                cv.wait(&mut g);
                left.fetch_add(1, SeqCst);
            });
        }
        until(|| *m.lock() == W);
        // notify_* without holding the mutex (allowed, as with std).
        assert!(cv.notify_one());
        until(|| left.load(SeqCst) == 1);
        assert_eq!(cv.notify_all(), W - 1);
        until(|| left.load(SeqCst) == W);
        assert_eq!(cv.notify_all(), 0);
    });
}

#[test]
fn timeout_vs_notify_never_loses_a_notification() {
    const WAITERS: usize = 3;
    const ROUNDS: usize = if cfg!(miri) { 20 } else { 5_000 };
    let m = Mutex::new(());
    let cv = Condvar::new();
    let woken_true = AtomicUsize::new(0);
    let notified = AtomicUsize::new(0);
    let running = AtomicUsize::new(WAITERS);
    thread::scope(|s| {
        for w in 0..WAITERS {
            let (m, cv, woken_true, running) = (&m, &cv, &woken_true, &running);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let mut g = m.lock();
                    let t = Duration::from_micros(((i + w) % 7) as u64 * 20);
                    if cv.wait_timeout(&mut g, t) {
                        woken_true.fetch_add(1, SeqCst);
                    }
                }
                running.fetch_sub(1, SeqCst);
            });
        }
        while running.load(SeqCst) > 0 {
            if cv.notify_one() {
                notified.fetch_add(1, SeqCst);
            }
            thread::yield_now();
        }
    });
    // Each notify that found a waiter made exactly one wait report `true`, and no wait
    // reported `true` without one.
    assert_eq!(woken_true.load(SeqCst), notified.load(SeqCst));
}

#[test]
fn bounded_producer_consumer() {
    const CAP: usize = 4;
    const ITEMS: usize = if cfg!(miri) { 30 } else { 20_000 };
    let q = Mutex::new(VecDeque::new());
    let not_empty = Condvar::new();
    let not_full = Condvar::new();
    let sum = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for i in 0..ITEMS {
                    let mut g = q.lock();
                    not_full.wait_while(&mut g, |q| q.len() == CAP);
                    g.push_back(i);
                    drop(g);
                    not_empty.notify_one();
                }
            });
        }
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..ITEMS {
                    let mut g = q.lock();
                    not_empty.wait_while(&mut g, |q| q.is_empty());
                    let v = g.pop_front().unwrap();
                    drop(g);
                    not_full.notify_one();
                    sum.fetch_add(v, SeqCst);
                }
            });
        }
    });
    assert_eq!(sum.load(SeqCst), 2 * ITEMS * (ITEMS - 1) / 2);
    assert!(q.lock().is_empty());
}

#[test]
fn two_mutexes_at_once_panics() {
    let m1 = Mutex::new(());
    let m2 = Mutex::new(());
    let cv = Condvar::new();
    let queued = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            let mut g = m1.lock();
            queued.store(1, SeqCst);
            cv.wait(&mut g);
        });
        // Wait until the first waiter is linked (it holds m1 until it is).
        until(|| queued.load(SeqCst) == 1 && m1.try_lock().is_some());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut g = m2.lock();
            cv.wait(&mut g);
        }));
        let msg = r.expect_err("waiting with a second mutex must panic");
        let msg = msg.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(msg.contains("two different mutexes"), "{msg}");
        assert!(
            m2.try_lock().is_some(),
            "the guard was dropped, m2 unlocked"
        );
        assert!(cv.notify_one());
    });
    // Once nobody waits, the condvar may be used with the other mutex.
    let mut g = m2.lock();
    assert!(!cv.wait_timeout(&mut g, Duration::from_millis(1)));
}

/// A `Condvar` and its `Mutex` in `static`s (both `const fn new`): waiters queue on the
/// statics and are woken by count, and both are reusable afterwards.
#[test]
fn condvar_in_a_static() {
    static STATE: Mutex<(usize, usize)> = Mutex::new((0, 0)); // (waiting, released)
    static CV: Condvar = Condvar::new();
    const W: usize = 3;
    thread::scope(|s| {
        for _ in 0..W {
            s.spawn(|| {
                let mut g = STATE.lock();
                g.0 += 1;
                let round = g.1;
                CV.wait_while(&mut g, |st| st.1 == round);
            });
        }
        until(|| STATE.lock().0 == W);
        STATE.lock().1 += 1;
        // Every waiter is linked (each counted itself before waiting, under the mutex).
        assert_eq!(CV.notify_all(), W);
    });
    assert_eq!(*STATE.lock(), (W, 1));
    assert!(!CV.notify_one());
    let mut g = STATE.lock();
    assert!(!CV.wait_timeout(&mut g, Duration::from_millis(1)));
}

/// The layout of `waitqueue/mod.rs`: a pointer and a word, and a `Condition`'s 4-byte `Lock`
/// packed into the pointer's slot (16 bytes on 64-bit targets, 8 and 12 on 32-bit ones).
#[test]
fn sizes() {
    use std::mem::size_of;
    use threadkit::{Condition, Lock, RLock};
    let ptr = size_of::<usize>();
    assert_eq!(size_of::<Condvar>(), 2 * ptr);
    assert_eq!(size_of::<Condition<Lock>>(), ptr + 8);
    assert!(size_of::<Condition<RLock>>() <= size_of::<RLock>() + 2 * ptr);
    if ptr == 8 {
        assert_eq!(
            (size_of::<Condvar>(), size_of::<Condition<Lock>>()),
            (16, 16)
        );
        assert_eq!(size_of::<Condition<RLock>>(), 32);
    }
}
