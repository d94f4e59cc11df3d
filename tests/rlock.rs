//! `RLock`: CPython's `RLockTests` and `BaseLockTests` (Lib/test/lock_tests.py) and
//! threadkit's own rules (NotOwner leaves the state untouched, statics, size).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{Error, RLock};

#[path = "common/thread_leak.rs"]
mod leak;

const fn iters(n: usize) -> usize {
    if cfg!(miri) { 3 } else { n }
}

fn settle() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 5 } else { 50 }));
}

/// Runs `f` on a thread that holds `lock` until `f` returns, then releases it.
fn while_held_elsewhere(lock: &RLock, f: impl FnOnce()) {
    let held = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    thread::scope(|sc| {
        sc.spawn(|| {
            lock.acquire();
            held.store(true, SeqCst);
            while !done.load(SeqCst) {
                thread::yield_now();
            }
            lock.release().unwrap();
        });
        while !held.load(SeqCst) {
            thread::yield_now();
        }
        f();
        done.store(true, SeqCst);
    });
}

#[test]
fn constructor() {
    let r = RLock::new();
    assert!(!r.locked());
    assert!(!r.is_owned());
    assert_eq!(r.recursion_count(), 0);
    assert!(!RLock::default().locked());
}

#[test]
fn acquire_release() {
    let r = RLock::new();
    r.acquire();
    assert!(r.locked());
    r.release().unwrap();
    assert!(!r.locked());
}

#[test]
fn reacquire() {
    let r = RLock::new();
    r.acquire();
    r.acquire();
    r.release().unwrap();
    r.acquire();
    r.release().unwrap();
    r.release().unwrap();
    assert!(!r.locked());
}

#[test]
fn release_unacquired() {
    let r = RLock::new();
    let e = r.release().unwrap_err();
    assert!(matches!(e, Error::NotOwner));
    assert_eq!(e.to_string(), "cannot release un-acquired lock");
    r.acquire();
    r.acquire();
    r.release().unwrap();
    r.acquire();
    r.release().unwrap();
    r.release().unwrap();
    assert!(matches!(r.release(), Err(Error::NotOwner)));
    assert!(!r.locked());
}

#[test]
fn recursion_count() {
    let r = RLock::new();
    assert_eq!(r.recursion_count(), 0);
    r.acquire();
    assert_eq!(r.recursion_count(), 1);
    r.acquire();
    r.acquire();
    assert_eq!(r.recursion_count(), 3);
    r.release().unwrap();
    assert_eq!(r.recursion_count(), 2);
    r.release().unwrap();
    r.release().unwrap();
    assert_eq!(r.recursion_count(), 0);
    // Held by another thread: 0 here.
    while_held_elsewhere(&r, || {
        assert_eq!(r.recursion_count(), 0);
        assert!(r.locked());
    });
    assert_eq!(r.recursion_count(), 0);
}

#[test]
fn different_thread_cannot_release() {
    let r = RLock::new();
    while_held_elsewhere(&r, || {
        assert!(matches!(r.release(), Err(Error::NotOwner)));
        // Untouched: still held by the other thread.
        assert!(r.locked());
        assert!(!r.try_acquire());
    });
    assert!(!r.locked());
}

#[test]
fn is_owned() {
    let r = RLock::new();
    assert!(!r.is_owned());
    r.acquire();
    assert!(r.is_owned());
    r.acquire();
    assert!(r.is_owned());
    thread::scope(|sc| {
        sc.spawn(|| assert!(!r.is_owned()));
    });
    r.release().unwrap();
    assert!(r.is_owned());
    r.release().unwrap();
    assert!(!r.is_owned());
}

#[test]
fn try_acquire() {
    let r = RLock::new();
    assert!(r.try_acquire());
    assert!(r.try_acquire());
    assert_eq!(r.recursion_count(), 2);
    r.release().unwrap();
    r.release().unwrap();
}

#[test]
fn try_acquire_contended() {
    let r = RLock::new();
    r.acquire();
    thread::scope(|sc| {
        sc.spawn(|| assert!(!r.try_acquire()));
    });
    r.release().unwrap();
}

#[test]
fn acquire_contended() {
    const N: usize = 5;
    let r = RLock::new();
    r.acquire();
    let done = AtomicUsize::new(0);
    thread::scope(|sc| {
        for _ in 0..N {
            sc.spawn(|| {
                r.acquire();
                r.acquire(); // reentrant while others wait
                r.release().unwrap();
                r.release().unwrap();
                done.fetch_add(1, SeqCst);
            });
        }
        settle();
        assert_eq!(done.load(SeqCst), 0);
        r.release().unwrap();
    });
    assert_eq!(done.load(SeqCst), N);
    assert!(!r.locked());
}

#[test]
fn with_guard() {
    let r = RLock::new();
    {
        let _a = r.guard();
        let _b = r.guard();
        assert_eq!(r.recursion_count(), 2);
    }
    assert!(!r.locked());
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = r.guard();
        panic!("inside with");
    }));
    assert!(res.is_err());
    assert!(!r.locked());
}

#[test]
fn timeout_and_state_after_timeout() {
    let r = RLock::new();
    // The owner never waits, whatever the timeout.
    assert!(r.acquire_timeout(Duration::ZERO));
    assert!(r.acquire_until(Instant::now() - Duration::from_millis(1)));
    r.release().unwrap();
    r.release().unwrap();
    let t = Duration::from_millis(if cfg!(miri) { 10 } else { 100 });
    while_held_elsewhere(&r, || {
        assert!(!r.acquire_timeout(Duration::ZERO));
        let start = Instant::now();
        assert!(!r.acquire_timeout(t));
        assert!(start.elapsed() >= t, "returned early");
        let deadline = Instant::now() + t;
        assert!(!r.acquire_until(deadline));
        assert!(Instant::now() >= deadline, "returned early");
        // State after a timeout: not ours, still held by the other thread.
        assert!(!r.is_owned());
        assert_eq!(r.recursion_count(), 0);
        assert!(matches!(r.release(), Err(Error::NotOwner)));
    });
    assert!(r.acquire_timeout(Duration::MAX));
    assert!(r.acquire_timeout(threadkit::TIMEOUT_MAX + Duration::from_secs(1)));
    assert_eq!(r.recursion_count(), 2);
}

/// Mutual exclusion with nesting: a plain (non-atomic) counter under the lock, checked by Miri
/// for data races, and an "inside" flag no two threads hold.
#[test]
fn stress_mutual_exclusion() {
    struct Counter(UnsafeCell<usize>);
    // SAFETY: only touched while holding the RLock (the test's subject).
    unsafe impl Sync for Counter {}
    impl Counter {
        fn ptr(&self) -> *mut usize {
            self.0.get()
        }
    }
    const THREADS: usize = 4;
    let rounds = iters(3_000);
    let r = RLock::new();
    let counter = Counter(UnsafeCell::new(0));
    let inside = AtomicBool::new(false);
    thread::scope(|sc| {
        for t in 0..THREADS {
            let (r, counter, inside) = (&r, &counter, &inside);
            sc.spawn(move || {
                for i in 0..rounds {
                    let got = match (t + i) % 3 {
                        0 => {
                            r.acquire();
                            true
                        }
                        1 => r.try_acquire(),
                        _ => r.acquire_timeout(Duration::from_micros(20)),
                    };
                    if !got {
                        continue;
                    }
                    assert!(!inside.swap(true, SeqCst), "two owners at once");
                    r.acquire();
                    assert_eq!(r.recursion_count(), 2);
                    // SAFETY: we hold the RLock, which excludes every other access.
                    unsafe { *counter.ptr() += 1 };
                    r.release().unwrap();
                    inside.store(false, SeqCst);
                    r.release().unwrap();
                }
            });
        }
    });
    assert!(!r.locked());
    // SAFETY: every thread has finished.
    assert!(unsafe { *counter.ptr() } >= rounds * THREADS / 3);
}

#[test]
fn from_a_static() {
    static R: RLock = RLock::new();
    static N: AtomicUsize = AtomicUsize::new(0);
    thread::scope(|sc| {
        for _ in 0..4 {
            sc.spawn(|| {
                for _ in 0..iters(100) {
                    let _a = R.guard();
                    let _b = R.guard();
                    N.fetch_add(1, SeqCst);
                }
            });
        }
    });
    assert_eq!(N.load(SeqCst), 4 * iters(100));
    assert!(!R.locked());
}

#[test]
fn debug_never_blocks() {
    let r = RLock::new();
    assert_eq!(
        format!("{r:?}"),
        "RLock { locked: false, owner: None, count: 0 }"
    );
    r.acquire();
    r.acquire();
    let s = format!("{r:?}");
    assert!(s.starts_with("RLock { locked: true, owner: Some("), "{s}");
    assert!(s.ends_with("count: 2 }"), "{s}");
    while_held_elsewhere(&RLock::new(), || {});
}

#[test]
fn size() {
    assert!(size_of::<RLock>() <= 16);
}

/// CPython's `test_acquire_destroy`: dropping a held lock (held recursively, too) is fine.
#[test]
fn acquire_destroy() {
    {
        let r = RLock::new();
        r.acquire();
    } // dropped while held
    let r = Box::new(RLock::new());
    r.acquire();
    r.acquire();
    drop(r);
}

/// CPython's `test_thread_leak`: 15 threads that threadkit did not start use the lock
/// (contended: each sleeps on it, and reenters it); `active_count()` and `enumerate()` do not
/// change.
#[test]
fn thread_leak() {
    let r = RLock::new();
    let held = AtomicBool::new(false);
    let release = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            r.acquire();
            held.store(true, SeqCst);
            while !release.load(SeqCst) {
                thread::yield_now();
            }
            r.release().unwrap();
        });
        while !held.load(SeqCst) {
            thread::yield_now();
        }
        s.spawn(|| {
            settle();
            release.store(true, SeqCst);
        });
        leak::no_thread_leak(|| {
            r.acquire();
            r.acquire();
            assert!(r.is_owned());
            r.release().unwrap();
            r.release().unwrap();
        });
    });
    assert!(!r.locked());
}
