//! `Lock`: CPython's `lock_tests.py` (BaseLockTests + LockTests) ported, plus stress tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{Acquire, Error, Lock, TIMEOUT_MAX};

#[path = "common/thread_leak.rs"]
mod leak;

/// Polls `cond` until it holds (panics after a generous 10 s).
fn wait_until(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "condition never became true"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn constructor_and_debug() {
    let lock = Lock::new();
    assert!(!lock.locked());
    assert_eq!(format!("{lock:?}"), "Lock { locked: false, waiters: 0 }");
    lock.acquire();
    assert_eq!(format!("{lock:?}"), "Lock { locked: true, waiters: 0 }");
    let d = Lock::default();
    assert!(!d.locked());
}

#[test]
fn size_is_four_bytes() {
    assert_eq!(std::mem::size_of::<Lock>(), 4);
}

#[test]
fn acquire_release() {
    let lock = Lock::new();
    lock.acquire();
    assert!(lock.locked());
    lock.release().unwrap();
    assert!(!lock.locked());
}

#[test]
fn try_acquire() {
    let lock = Lock::new();
    assert!(lock.try_acquire());
    assert!(!lock.try_acquire());
    lock.release().unwrap();
}

#[test]
fn try_acquire_contended() {
    let lock = Arc::new(Lock::new());
    lock.acquire();
    let l2 = lock.clone();
    let got = thread::spawn(move || l2.try_acquire()).join().unwrap();
    assert!(!got);
    lock.release().unwrap();
}

#[test]
fn acquire_contended() {
    const N: usize = 5;
    let lock = Arc::new(Lock::new());
    let finished = Arc::new(AtomicUsize::new(0));
    lock.acquire();
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let (lock, finished) = (lock.clone(), finished.clone());
            thread::spawn(move || {
                lock.acquire();
                lock.release().unwrap();
                finished.fetch_add(1, SeqCst);
            })
        })
        .collect();
    // Every thread is blocked: they are counted as waiters and none finished.
    wait_until(|| format!("{lock:?}").contains(&format!("waiters: {N}")));
    assert_eq!(finished.load(SeqCst), 0);
    lock.release().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(finished.load(SeqCst), N);
    assert!(!lock.locked());
}

#[test]
fn with_guard_releases_even_on_panic() {
    let lock = Lock::new();
    {
        let _g = lock.guard();
        assert!(lock.locked());
    }
    assert!(!lock.locked());
    let r = std::panic::catch_unwind(|| {
        let _g = lock.guard();
        panic!("inside the with block");
    });
    assert!(r.is_err());
    assert!(
        !lock.locked(),
        "the guard released the lock during unwinding"
    );
    assert!(lock.try_acquire());
}

#[test]
fn timeout_rules() {
    let lock = Arc::new(Lock::new());
    // TIMEOUT_MAX and beyond are accepted and mean "no timeout".
    assert!(lock.acquire_timeout(TIMEOUT_MAX));
    lock.release().unwrap();
    assert!(lock.acquire_timeout(Duration::MAX));
    lock.release().unwrap();
    // Zero behaves like try_acquire.
    assert!(lock.acquire_timeout(Duration::ZERO));
    assert!(!lock.acquire_timeout(Duration::ZERO));
    // A held lock times out, and never early.
    let l2 = lock.clone();
    let (got, waited) = thread::spawn(move || {
        let t = Instant::now();
        (l2.acquire_timeout(Duration::from_millis(100)), t.elapsed())
    })
    .join()
    .unwrap();
    assert!(!got);
    assert!(
        waited >= Duration::from_millis(100),
        "returned early after {waited:?}"
    );
    assert!(waited < Duration::from_secs(10));
    // acquire_until with a past deadline is a try.
    assert!(!lock.acquire_until(Instant::now()));
    lock.release().unwrap();
    assert!(lock.acquire_until(Instant::now()));
}

#[test]
fn reacquire_blocks_until_released() {
    let lock = Arc::new(Lock::new());
    let phase = Arc::new(AtomicUsize::new(0));
    let (l2, p2) = (lock.clone(), phase.clone());
    let t = thread::spawn(move || {
        l2.acquire();
        p2.store(1, SeqCst);
        l2.acquire(); // blocks: a Lock is not reentrant
        p2.store(2, SeqCst);
    });
    wait_until(|| phase.load(SeqCst) == 1);
    wait_until(|| format!("{lock:?}").contains("waiters: 1"));
    assert_eq!(phase.load(SeqCst), 1);
    lock.release().unwrap(); // any thread may release
    t.join().unwrap();
    assert_eq!(phase.load(SeqCst), 2);
    assert!(lock.locked());
}

#[test]
fn release_from_different_thread() {
    let lock = Arc::new(Lock::new());
    lock.acquire();
    let l2 = lock.clone();
    thread::spawn(move || l2.release().unwrap()).join().unwrap();
    assert!(lock.try_acquire());
    lock.release().unwrap();
}

#[test]
fn state_after_timeout() {
    let lock = Lock::new();
    lock.acquire();
    assert!(!lock.acquire_timeout(Duration::from_millis(10)));
    assert_eq!(format!("{lock:?}"), "Lock { locked: true, waiters: 0 }");
    lock.release().unwrap();
    assert!(!lock.locked());
    assert!(lock.try_acquire());
}

#[test]
fn release_unlocked_is_an_error_and_changes_nothing() {
    let lock = Lock::new();
    let err = lock.release().unwrap_err();
    assert!(matches!(err, Error::NotLocked));
    assert_eq!(err.to_string(), "release unlocked lock");
    assert!(!lock.locked());
    assert!(lock.try_acquire());
    lock.release().unwrap();
    assert!(matches!(Acquire::release(&lock), Err(Error::NotLocked)));
}

#[test]
fn works_from_a_static() {
    static LOCK: Lock = Lock::new();
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                for _ in 0..100 {
                    let _g = LOCK.guard();
                    let v = COUNT.load(SeqCst);
                    COUNT.store(v + 1, SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(COUNT.load(SeqCst), 400);
}

const STRESS_ITERS: usize = if cfg!(miri) { 30 } else { 20_000 };

#[test]
fn stress_mutual_exclusion() {
    let lock = Arc::new(Lock::new());
    let inside = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (lock, inside, total) = (lock.clone(), inside.clone(), total.clone());
            thread::spawn(move || {
                for n in 0..STRESS_ITERS {
                    match (i + n) % 3 {
                        0 => lock.acquire(),
                        1 => {
                            if !lock.try_acquire() {
                                continue;
                            }
                        }
                        _ => {
                            if !lock.acquire_timeout(Duration::from_micros(50)) {
                                continue;
                            }
                        }
                    }
                    assert!(!inside.swap(true, SeqCst), "two threads inside the lock");
                    total.fetch_add(1, SeqCst);
                    inside.store(false, SeqCst);
                    lock.release().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(total.load(SeqCst) > 0);
    assert_eq!(format!("{lock:?}"), "Lock { locked: false, waiters: 0 }");
}

/// A thread that re-takes the lock in a tight loop cannot keep a sleeper out forever: after
/// the 1 ms starvation limit the lock is handed to the sleeper.
#[test]
fn no_starvation_under_barging() {
    let lock = Arc::new(Lock::new());
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let (l2, s2, r2) = (lock.clone(), stop.clone(), rounds.clone());
    let barger = thread::spawn(move || {
        while !s2.load(SeqCst) {
            l2.acquire();
            for _ in 0..200 {
                std::hint::spin_loop();
            }
            l2.release().unwrap();
            r2.fetch_add(1, SeqCst);
        }
    });
    // Compete only once the barger is really re-taking the lock in its loop.
    wait_until(|| rounds.load(SeqCst) > 0);
    for _ in 0..if cfg!(miri) { 3 } else { 20 } {
        let t = Instant::now();
        lock.acquire();
        let waited = t.elapsed();
        lock.release().unwrap();
        assert!(waited < Duration::from_secs(5), "starved for {waited:?}");
    }
    stop.store(true, SeqCst);
    barger.join().unwrap();
}

#[test]
fn mutex_data_layer() {
    let m = Arc::new(threadkit::Mutex::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..STRESS_ITERS / 10 {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.lock(), 4 * (STRESS_ITERS / 10) as u64);
    assert!(m.try_lock_for(Duration::from_millis(1)).is_some());
    let g = m.lock();
    assert!(m.try_lock_for(Duration::from_millis(20)).is_none());
    assert!(m.is_locked());
    drop(g);
    assert!(!m.is_locked());
}

/// CPython's `test_acquire_destroy`: dropping a held lock is fine (also a heap one, and the
/// `Mutex` over it, which Miri checks for leaks).
#[test]
fn acquire_destroy() {
    {
        let lock = Lock::new();
        lock.acquire();
    } // dropped while held
    let lock = Box::new(Lock::new());
    lock.acquire();
    drop(lock);
    let m = threadkit::Mutex::new(vec![1, 2, 3]);
    std::mem::forget(m.lock());
    drop(m);
}

/// CPython's `test_thread_leak`: 15 threads that threadkit did not start use the lock
/// (contended: each sleeps on it); `active_count()` and `enumerate()` do not change.
#[test]
fn thread_leak() {
    let lock = Lock::new();
    lock.acquire();
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(if cfg!(miri) { 5 } else { 50 }));
            lock.release().unwrap();
        });
        leak::no_thread_leak(|| {
            lock.acquire();
            lock.release().unwrap();
        });
    });
    assert!(!lock.locked());
}
