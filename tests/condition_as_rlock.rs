//! CPython's `ConditionAsRLockTests` (Lib/test/test_threading.py): the whole `RLockTests` suite
//! of Lib/test/lock_tests.py (with `BaseLockTests`) run on `Condition()`, which uses an `RLock`
//! by default and exports its API. Here `Condition::new()` through its own
//! `acquire`/`release`/`guard` methods; `_is_owned()` and `_recursion_count()` (which
//! `Condition` does not export in Python either) through `lock()`.

#[path = "common/thread_leak.rs"]
mod leak;

use leak::no_thread_leak;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{Acquire, Condition, Error, TIMEOUT_MAX};

fn settle() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 5 } else { 50 }));
}

fn until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(30), "never: {what}");
        thread::yield_now();
    }
}

/// CPython's `Bunch(f, 1, wait_before_exit=True)`: runs `f` on a thread that holds `cond`
/// until `f` returns, then releases it.
fn while_held_elsewhere(cond: &Condition, f: impl FnOnce()) {
    let held = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            cond.acquire();
            held.store(true, SeqCst);
            until("the test is done", || done.load(SeqCst));
            cond.release().unwrap();
        });
        until("the other thread holds it", || held.load(SeqCst));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        done.store(true, SeqCst);
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
    });
}

/// `test_constructor`, `test_repr`, `test_locked_repr`.
#[test]
fn constructor_and_repr() {
    let c = Condition::new();
    assert!(!c.lock().locked());
    assert!(!Condition::default().lock().locked());
    let unlocked = format!("{c:?}");
    assert!(
        unlocked.starts_with("Condition { lock: RLock { locked: false"),
        "{unlocked}"
    );
    c.acquire();
    let locked = format!("{c:?}");
    assert!(
        locked.starts_with("Condition { lock: RLock { locked: true"),
        "{locked}"
    );
    c.release().unwrap();
}

/// `test_acquire_destroy`: dropping a held condition is fine.
#[test]
fn acquire_destroy() {
    {
        let c = Condition::new();
        c.acquire();
    } // dropped while held
    let c = Box::new(Condition::new());
    c.acquire();
    c.acquire();
    drop(c);
}

/// `test_acquire_release`.
#[test]
fn acquire_release() {
    let c = Condition::new();
    c.acquire();
    assert!(c.lock().locked());
    c.release().unwrap();
    assert!(!c.lock().locked());
}

/// `test_try_acquire`.
#[test]
fn try_acquire() {
    let c = Condition::new();
    assert!(c.try_acquire());
    c.release().unwrap();
    assert!(!c.lock().locked());
}

/// `test_try_acquire_contended`.
#[test]
fn try_acquire_contended() {
    let c = Condition::new();
    c.acquire();
    let got = thread::scope(|s| s.spawn(|| c.try_acquire()).join().unwrap());
    assert!(!got);
    c.release().unwrap();
}

/// `test_acquire_contended`: five threads block on `acquire()` until it is released.
#[test]
fn acquire_contended() {
    const N: usize = 5;
    let c = Condition::new();
    c.acquire();
    let started = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let seen = thread::scope(|s| {
        for _ in 0..N {
            s.spawn(|| {
                started.fetch_add(1, SeqCst);
                c.acquire();
                c.release().unwrap();
                finished.fetch_add(1, SeqCst);
            });
        }
        until("every thread started", || started.load(SeqCst) == N);
        settle(); // CPython's wait_threads_blocked
        let seen = finished.load(SeqCst);
        c.release().unwrap();
        seen
    });
    assert_eq!(
        seen, 0,
        "a thread got past acquire() while the condition was held"
    );
    assert_eq!(finished.load(SeqCst), N);
}

/// `test_with`: the guard releases, also when the block panics.
#[test]
fn with_guard() {
    let c = Condition::new();
    let free = |c: &Condition| {
        thread::scope(|s| {
            s.spawn(|| {
                c.acquire();
                c.release().unwrap();
            });
        })
    };
    {
        let _g = c.guard();
    }
    free(&c);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = c.guard();
        panic!("TypeError");
    }));
    assert!(r.is_err());
    free(&c);
    assert!(!c.lock().locked());
}

/// `test_thread_leak`.
#[test]
fn thread_leak() {
    let c = Condition::new();
    no_thread_leak(|| {
        c.acquire();
        c.release().unwrap();
    });
}

/// `test_timeout` (a `Duration` cannot be negative, and a timeout above `TIMEOUT_MAX` waits
/// without one instead of raising `OverflowError`: see docs/python-compat.md).
#[test]
fn timeout() {
    let c = Condition::new();
    assert!(c.acquire_timeout(TIMEOUT_MAX));
    c.release().unwrap();
    assert!(c.acquire_timeout(TIMEOUT_MAX + Duration::from_secs(1)));
    c.release().unwrap();
    let t1 = Instant::now();
    assert!(c.acquire_timeout(Duration::from_secs(5)));
    assert!(
        t1.elapsed() < Duration::from_secs(5),
        "waited for a free lock"
    );
    c.release().unwrap();
    let t = Duration::from_millis(if cfg!(miri) { 10 } else { 500 });
    while_held_elsewhere(&c, || {
        let start = Instant::now();
        assert!(!c.acquire_timeout(t));
        assert!(start.elapsed() >= t, "returned early");
        let deadline = Instant::now() + t / 10;
        assert!(!c.acquire_until(deadline));
        assert!(Instant::now() >= deadline, "returned early");
        // State after a timeout: still the other thread's.
        assert!(!c.lock().is_owned());
    });
}

/// `test_reacquire` (RLockTests).
#[test]
fn reacquire() {
    let c = Condition::new();
    c.acquire();
    c.acquire();
    c.release().unwrap();
    c.acquire();
    c.release().unwrap();
    c.release().unwrap();
    assert!(!c.lock().locked());
}

/// `test_release_unacquired`: `RuntimeError` is `Err(NotOwner)`, through `Condition::release`.
#[test]
fn release_unacquired() {
    let c = Condition::new();
    assert!(matches!(c.release(), Err(Error::NotOwner)));
    c.acquire();
    c.acquire();
    c.release().unwrap();
    c.acquire();
    c.release().unwrap();
    c.release().unwrap();
    assert!(matches!(c.release(), Err(Error::NotOwner)));
    assert!(matches!(Acquire::release(&c), Err(Error::NotOwner)));
    assert!(!c.lock().locked());
}

/// `test_release_save_unacquired`: `_release_save` is what `wait` calls first; here `wait`
/// itself refuses, with nothing changed.
#[test]
fn release_save_unacquired() {
    let c = Condition::new();
    assert!(matches!(
        c.wait_timeout(Duration::ZERO),
        Err(Error::NotOwner)
    ));
    c.acquire();
    c.acquire();
    c.release().unwrap();
    c.acquire();
    c.release().unwrap();
    c.release().unwrap();
    assert!(matches!(
        c.wait_timeout(Duration::ZERO),
        Err(Error::NotOwner)
    ));
    assert!(matches!(c.wait(), Err(Error::NotOwner)));
    assert!(!c.lock().locked());
}

/// `test_recursion_count` (skipped by CPython, whose `Condition` does not export it; here it is
/// the lock's, through `lock()`).
#[test]
fn recursion_count() {
    let c = Condition::new();
    assert_eq!(c.lock().recursion_count(), 0);
    c.acquire();
    assert_eq!(c.lock().recursion_count(), 1);
    c.acquire();
    c.acquire();
    assert_eq!(c.lock().recursion_count(), 3);
    c.release().unwrap();
    assert_eq!(c.lock().recursion_count(), 2);
    c.release().unwrap();
    c.release().unwrap();
    assert_eq!(c.lock().recursion_count(), 0);
    while_held_elsewhere(&c, || assert_eq!(c.lock().recursion_count(), 0));
    assert_eq!(c.lock().recursion_count(), 0);
}

/// `test_different_thread`: cannot release from a different thread; nothing changes.
#[test]
fn different_thread() {
    let c = Condition::new();
    while_held_elsewhere(&c, || {
        assert!(matches!(c.release(), Err(Error::NotOwner)));
        assert!(c.lock().locked());
        assert!(!c.try_acquire());
    });
    assert!(!c.lock().locked());
}

/// `test__is_owned`.
#[test]
fn is_owned() {
    let c = Condition::new();
    assert!(!c.lock().is_owned());
    c.acquire();
    assert!(c.lock().is_owned());
    c.acquire();
    assert!(c.lock().is_owned());
    let other = thread::scope(|s| s.spawn(|| c.lock().is_owned()).join().unwrap());
    assert!(!other);
    c.release().unwrap();
    assert!(c.lock().is_owned());
    c.release().unwrap();
    assert!(!c.lock().is_owned());
}
