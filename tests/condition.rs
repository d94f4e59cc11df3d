//! Condition: CPython's `lock_tests.ConditionTests` ported (exact notify result lists), plus
//! FIFO order, no spurious returns, RLock levels, shared locks. Threads come from
//! `std::thread::scope` (the test harness may use std).

use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{Condition, ConditionLock, Error, Lock, RLock};

#[path = "common/thread_leak.rs"]
mod leak;

/// Waits (polling under the condition's lock) until `f()` holds; panics after 30 s.
fn until<L: ConditionLock>(c: &Condition<L>, f: impl Fn() -> bool) {
    let start = Instant::now();
    loop {
        c.acquire();
        let ok = f();
        c.release().unwrap();
        if ok {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "condition never met"
        );
        thread::yield_now();
    }
}

#[test]
fn acquire_rlock_and_lock() {
    let cond = Condition::new();
    cond.acquire();
    cond.acquire();
    cond.release().unwrap();
    cond.release().unwrap();
    let lock = Lock::new();
    let cond = Condition::with_lock(&lock);
    cond.acquire();
    assert!(!lock.try_acquire());
    cond.release().unwrap();
    assert!(lock.try_acquire());
    assert!(!cond.try_acquire());
    lock.release().unwrap();
    {
        let _g = cond.guard();
        assert!(!lock.try_acquire());
    }
    assert!(format!("{cond:?}").contains("Condition"));
}

#[test]
fn unacquired_wait_and_notify() {
    let cond = Condition::new();
    assert!(matches!(cond.wait(), Err(Error::NotOwner)));
    assert!(matches!(
        cond.wait_timeout(Duration::ZERO),
        Err(Error::NotOwner)
    ));
    assert!(matches!(cond.notify(1), Err(Error::NotOwner)));
    assert!(matches!(cond.notify_all(), Err(Error::NotOwner)));
    // Held by another thread is not held by us (RLock).
    cond.acquire();
    thread::scope(|s| {
        s.spawn(|| assert!(matches!(cond.notify(1), Err(Error::NotOwner))));
    });
    cond.release().unwrap();
}

/// CPython's `_check_notify`, made exact: `ready` is appended under the lock right before
/// `wait`, so once the main thread sees `ready.len() >= k` under the lock, k waiters are queued.
fn check_notify<L: ConditionLock + Sync>(cond: &Condition<L>) {
    const N: usize = 5;
    let ready = StdMutex::new(Vec::new());
    let results1 = StdMutex::new(Vec::new());
    let results2 = StdMutex::new(Vec::new());
    let phase = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..N {
            s.spawn(|| {
                cond.acquire();
                ready.lock().unwrap().push(phase.load(SeqCst));
                let r = cond.wait().is_ok();
                let p = phase.load(SeqCst);
                cond.release().unwrap();
                results1.lock().unwrap().push((r, p));
                cond.acquire();
                ready.lock().unwrap().push(phase.load(SeqCst));
                let r = cond.wait().is_ok();
                let p = phase.load(SeqCst);
                cond.release().unwrap();
                results2.lock().unwrap().push((r, p));
            });
        }
        until(cond, || ready.lock().unwrap().len() >= N);
        ready.lock().unwrap().clear();
        assert!(results1.lock().unwrap().is_empty());
        let count1 = 3;
        cond.acquire();
        cond.notify(count1).unwrap();
        phase.store(1, SeqCst);
        cond.release().unwrap();
        let len = || results1.lock().unwrap().len() + results2.lock().unwrap().len();
        until(cond, || {
            len() >= count1 && ready.lock().unwrap().len() >= count1
        });
        assert_eq!(*results1.lock().unwrap(), vec![(true, 1); count1]);
        assert!(results2.lock().unwrap().is_empty());
        // Notify 5: the 2 still in their first wait (oldest), then 3 in their second.
        cond.acquire();
        cond.notify(5).unwrap();
        phase.store(2, SeqCst);
        cond.release().unwrap();
        until(cond, || {
            len() >= N + count1 && ready.lock().unwrap().len() >= N
        });
        let count2 = N - count1;
        let mut want1 = vec![(true, 1); count1];
        want1.extend(vec![(true, 2); count2]);
        assert_eq!(*results1.lock().unwrap(), want1);
        assert_eq!(*results2.lock().unwrap(), vec![(true, 2); count1]);
        cond.acquire();
        cond.notify_all().unwrap();
        phase.store(3, SeqCst);
        cond.release().unwrap();
        until(cond, || len() >= 2 * N);
        let mut want2 = vec![(true, 2); count1];
        want2.extend(vec![(true, 3); count2]);
        assert_eq!(*results1.lock().unwrap(), want1);
        assert_eq!(*results2.lock().unwrap(), want2);
    });
}

#[test]
fn notify_exact_counts_rlock() {
    let cond = Condition::new();
    check_notify(&cond);
    check_notify(&cond); // internal state still fine
}

#[test]
fn notify_exact_counts_lock() {
    let cond = Condition::with_lock(Lock::new());
    check_notify(&cond);
    check_notify(&cond);
}

#[test]
fn timeout_returns_false_not_early() {
    let cond = Condition::new();
    let timeout = Duration::from_millis(if cfg!(miri) { 10 } else { 100 });
    thread::scope(|s| {
        for _ in 0..5 {
            s.spawn(|| {
                let _g = cond.guard();
                let t0 = Instant::now();
                assert!(!cond.wait_timeout(timeout).unwrap());
                assert!(t0.elapsed() >= timeout);
                assert!(cond.lock().is_owned());
            });
        }
    });
}

#[test]
fn wait_for_sees_state_4() {
    let cond = Condition::new();
    let state = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            let _g = cond.guard();
            cond.wait_for(|| state.load(SeqCst) == 4).unwrap();
            assert_eq!(state.load(SeqCst), 4);
        });
        for _ in 0..4 {
            thread::sleep(Duration::from_millis(10));
            let _g = cond.guard();
            state.fetch_add(1, SeqCst);
            cond.notify(1).unwrap();
        }
    });
}

#[test]
fn wait_for_timeout_returns_last_value() {
    let cond = Condition::new();
    let state = AtomicUsize::new(0);
    let timeout = Duration::from_millis(100);
    thread::scope(|s| {
        s.spawn(|| {
            let _g = cond.guard();
            let t0 = Instant::now();
            let r = cond
                .wait_for_timeout(|| state.load(SeqCst) == 4, timeout)
                .unwrap();
            assert!(!r);
            assert!(t0.elapsed() >= timeout);
        });
        for _ in 0..3 {
            thread::sleep(Duration::from_millis(10));
            let _g = cond.guard();
            state.fetch_add(1, SeqCst);
            cond.notify(1).unwrap();
        }
    });
}

#[test]
fn fifo_wake_order() {
    const W: usize = if cfg!(miri) { 3 } else { 8 };
    let cond = Condition::with_lock(Lock::new());
    let queued = StdMutex::new(Vec::new());
    let woken = StdMutex::new(Vec::new());
    thread::scope(|s| {
        for id in 0..W {
            let (cond, queued, woken) = (&cond, &queued, &woken);
            s.spawn(move || {
                let _g = cond.guard();
                queued.lock().unwrap().push(id);
                cond.wait().unwrap();
                woken.lock().unwrap().push(id); // under the lock: in wake order
            });
        }
        until(&cond, || queued.lock().unwrap().len() == W);
        for k in 1..=W {
            cond.acquire();
            cond.notify(1).unwrap();
            cond.release().unwrap();
            until(&cond, || woken.lock().unwrap().len() == k);
        }
    });
    assert_eq!(*woken.lock().unwrap(), *queued.lock().unwrap());
}

#[test]
fn no_spurious_return_stress() {
    const ITERS: usize = if cfg!(miri) { 20 } else { 100_000 };
    let cond = Condition::with_lock(Lock::new());
    let waiting = AtomicBool::new(false);
    let notifies = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ITERS {
                let _g = cond.guard();
                waiting.store(true, SeqCst);
                // A short timeout now and then, to mix timeouts into the race.
                let notified = if i % 16 == 0 {
                    cond.wait_timeout(Duration::from_micros(50)).unwrap()
                } else {
                    cond.wait().unwrap();
                    true
                };
                waiting.store(false, SeqCst);
                if notified {
                    // Every notified return has a notify of its own behind it.
                    assert_eq!(notifies.swap(0, SeqCst), 1, "spurious or doubled return");
                } else {
                    // A notify that raced with this timeout may have found the queue empty
                    // (this waiter had withdrawn, and `waiting` stays true until it has the lock
                    // again): that notify reached nobody, so the next wait needs a new one.
                    // (That a notify is never spent on a waiter that then reports a timeout is
                    // checked where the count is visible: tests/condvar.rs and the loom model.)
                    notifies.store(0, SeqCst);
                }
            }
            done.store(true, SeqCst);
        });
        while !done.load(SeqCst) {
            let g = cond.guard();
            if waiting.load(SeqCst) && notifies.load(SeqCst) == 0 {
                notifies.store(1, SeqCst);
                cond.notify(1).unwrap();
            } else {
                drop(g);
                thread::yield_now();
            }
        }
    });
}

#[test]
fn rlock_recursion_restored() {
    let cond = Condition::new();
    cond.acquire();
    cond.acquire();
    cond.acquire();
    assert_eq!(cond.lock().recursion_count(), 3);
    thread::scope(|s| {
        s.spawn(|| {
            // The waiter released the RLock fully: another thread can take it.
            cond.acquire();
            cond.notify(1).unwrap();
            cond.release().unwrap();
        });
        assert!(cond.wait_timeout(Duration::from_secs(60)).unwrap());
    });
    assert_eq!(cond.lock().recursion_count(), 3);
    assert!(!cond.wait_timeout(Duration::from_millis(1)).unwrap());
    assert_eq!(cond.lock().recursion_count(), 3);
    for _ in 0..3 {
        cond.release().unwrap();
    }
    assert!(!cond.lock().locked());
}

#[test]
fn several_conditions_share_one_lock() {
    let lock = Arc::new(RLock::new());
    let a = Condition::with_lock(Arc::clone(&lock));
    let b = Condition::with_lock(Arc::clone(&lock));
    let woke = StdMutex::new(Vec::new());
    let queued = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            let _g = a.guard();
            queued.fetch_add(1, SeqCst);
            a.wait().unwrap();
            woke.lock().unwrap().push('a');
        });
        s.spawn(|| {
            let _g = b.guard();
            queued.fetch_add(1, SeqCst);
            b.wait().unwrap();
            woke.lock().unwrap().push('b');
        });
        until(&a, || queued.load(SeqCst) == 2);
        b.acquire();
        b.notify_all().unwrap();
        b.release().unwrap();
        until(&a, || woke.lock().unwrap().len() == 1);
        assert_eq!(*woke.lock().unwrap(), ['b']);
        a.acquire();
        a.notify(1).unwrap();
        a.release().unwrap();
    });
    assert_eq!(*woke.lock().unwrap(), ['b', 'a']);
}

#[test]
fn notify_zero_is_noop_and_static_condition() {
    static COND: Condition = Condition::new();
    let _g = COND.guard();
    COND.notify(0).unwrap();
    assert!(!COND.wait_timeout(Duration::ZERO).unwrap());
    let lock = Lock::new();
    let c = Condition::with_lock(&lock);
    c.acquire();
    assert!(!c.wait_until(Instant::now()).unwrap());
    assert!(lock.locked());
    c.release().unwrap();
}

/// `notify_all` to more waiters than the notify window (at most 16 released at once, the rest
/// chained behind them), round after round: every waiter leaves `wait` notified once per
/// round, nobody is left behind, and afterwards a single `notify(1)` still releases exactly
/// one waiter (every token came back).
#[test]
fn notify_all_to_more_waiters_than_the_window() {
    const WAITERS: usize = if cfg!(miri) { 5 } else { 40 };
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 30 };
    let lock = Lock::new();
    let cond = Condition::with_lock(&lock);
    // (round published by the notifier, waiters that have seen it, waiting now)
    let round = AtomicUsize::new(0);
    let seen = AtomicUsize::new(0);
    let waiting = AtomicUsize::new(0);
    let last_woken = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..WAITERS {
            s.spawn(|| {
                cond.acquire();
                let mut mine = 0;
                while mine <= ROUNDS {
                    waiting.fetch_add(1, SeqCst);
                    cond.wait().unwrap();
                    waiting.fetch_sub(1, SeqCst);
                    let r = round.load(SeqCst);
                    // Never returned without a notify: each return sees a new round.
                    assert_eq!(r, mine + 1, "a wait returned without its round's notify");
                    mine = r;
                    seen.fetch_add(1, SeqCst);
                    if r == ROUNDS + 1 {
                        last_woken.fetch_add(1, SeqCst);
                        break;
                    }
                }
                cond.release().unwrap();
            });
        }
        for r in 1..=ROUNDS {
            until(&cond, || waiting.load(SeqCst) == WAITERS);
            cond.acquire();
            round.store(r, SeqCst);
            cond.notify_all().unwrap();
            cond.release().unwrap();
            until(&cond, || seen.load(SeqCst) == r * WAITERS);
        }
        // Every token is back: one notify(1) releases exactly one waiter.
        until(&cond, || waiting.load(SeqCst) == WAITERS);
        cond.acquire();
        round.store(ROUNDS + 1, SeqCst);
        cond.notify(1).unwrap();
        cond.release().unwrap();
        until(&cond, || last_woken.load(SeqCst) == 1);
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
        assert_eq!(
            last_woken.load(SeqCst),
            1,
            "notify(1) released more than one"
        );
        cond.acquire();
        cond.notify_all().unwrap();
        cond.release().unwrap();
    });
    assert!(!lock.locked());
}

/// CPython's `wait_for(predicate, 0)` with a false predicate calls `wait(0)` once, which
/// releases the lock and takes it again, then checks the predicate a second time.
fn zero_timeout_wait_for_waits_once<L: ConditionLock>(cond: &Condition<L>) {
    let calls = AtomicUsize::new(0);
    cond.acquire();
    for timeout in [Duration::ZERO, Duration::from_nanos(1)] {
        calls.store(0, SeqCst);
        let r = cond.wait_for_timeout(|| calls.fetch_add(1, SeqCst) > 5, timeout);
        assert!(!r.unwrap());
        assert_eq!(calls.load(SeqCst), 2, "predicate, wait(0), predicate");
    }
    // A true predicate needs no wait, and so no lock (as in CPython).
    cond.release().unwrap();
    assert!(cond.wait_for_timeout(|| true, Duration::ZERO).unwrap());
    assert!(matches!(
        cond.wait_for_timeout(|| false, Duration::ZERO),
        Err(Error::NotOwner)
    ));
}

#[test]
fn zero_timeout_wait_for_waits_once_rlock() {
    zero_timeout_wait_for_waits_once(&Condition::new());
}

#[test]
fn zero_timeout_wait_for_waits_once_lock() {
    zero_timeout_wait_for_waits_once(&Condition::with_lock(Lock::new()));
}

/// A loop of zero-timeout `wait_for`s (polling) releases the lock each time round, so a
/// thread waiting for the lock gets in and makes the predicate true. Without the release the
/// loop would hold the lock for ever.
fn polling_wait_for_lets_others_in<L: ConditionLock + Sync>(cond: &Condition<L>) {
    let flag = AtomicBool::new(false);
    thread::scope(|s| {
        let _g = cond.guard();
        s.spawn(|| {
            cond.acquire();
            flag.store(true, SeqCst);
            cond.release().unwrap();
        });
        let start = Instant::now();
        while !cond
            .wait_for_timeout(|| flag.load(SeqCst), Duration::ZERO)
            .unwrap()
        {
            // (A failure unwinds through `_g`, which frees the other thread.)
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the polling loop never let the other thread in"
            );
        }
    });
}

#[test]
fn polling_wait_for_lets_others_in_rlock() {
    polling_wait_for_lets_others_in(&Condition::new());
}

#[test]
fn polling_wait_for_lets_others_in_lock() {
    polling_wait_for_lets_others_in(&Condition::with_lock(Lock::new()));
}
