//! Behaviours shared by `Semaphore` and `BoundedSemaphore`: CPython's `BaseSemaphoreTests`
//! (Lib/test/lock_tests.py), plus bounded stress tests with invariants. Included by
//! tests/semaphore.rs and tests/bounded_semaphore.rs; `base_tests!(Type)` expands to the
//! `#[test]` functions.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{Acquire, BoundedSemaphore, Error, Semaphore};

/// The constructor and the two methods `Acquire` does not cover.
pub trait Sem: Acquire + Send + Sync + Default {
    fn make(value: usize) -> Self;
    fn value(&self) -> usize;
    fn release_n(&self, n: usize) -> Result<(), Error>;
}

impl Sem for Semaphore {
    fn make(value: usize) -> Self {
        Semaphore::new(value)
    }
    fn value(&self) -> usize {
        Semaphore::value(self)
    }
    fn release_n(&self, n: usize) -> Result<(), Error> {
        Semaphore::release_n(self, n)
    }
}

impl Sem for BoundedSemaphore {
    fn make(value: usize) -> Self {
        BoundedSemaphore::new(value)
    }
    fn value(&self) -> usize {
        BoundedSemaphore::value(self)
    }
    fn release_n(&self, n: usize) -> Result<(), Error> {
        BoundedSemaphore::release_n(self, n)
    }
}

/// Scales an iteration count down under Miri.
pub const fn iters(n: usize) -> usize {
    if cfg!(miri) { 3 } else { n }
}

/// Long enough for threads that announced themselves to reach their blocking call.
pub fn settle() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 5 } else { 50 }));
}

/// Polls `cond` until it holds; fails (rather than hangs) after a generous 20 s.
pub fn wait_for(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "condition never became true"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

pub fn acquire<S: Sem>() {
    let s = S::make(1);
    s.acquire();
    s.release().unwrap();
    let s = S::make(2);
    s.acquire();
    s.acquire();
    assert_eq!(s.value(), 0);
    s.release().unwrap();
    s.release().unwrap();
    assert_eq!(s.value(), 2);
}

pub fn acquire_destroy<S: Sem>() {
    let s = S::default();
    s.acquire();
    drop(s);
}

/// CPython `test_acquire_contended` (`multi == false`) and `test_multirelease` (`true`):
/// value 7, one unit taken, 10 threads acquiring twice; units released in phases are taken
/// exactly, and no more.
pub fn acquire_contended<S: Sem>(multi: bool) {
    const VALUE: usize = 7;
    let s = S::make(VALUE);
    s.acquire();
    let phase = AtomicUsize::new(0);
    let taken = [
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ];
    let total = || taken.iter().map(|t| t.load(SeqCst)).sum::<usize>();
    let release = |n: usize| {
        if multi {
            s.release_n(n).unwrap();
        } else {
            for _ in 0..n {
                s.release().unwrap();
            }
        }
    };
    thread::scope(|sc| {
        for _ in 0..10 {
            sc.spawn(|| {
                for _ in 0..2 {
                    s.acquire();
                    taken[phase.load(SeqCst)].fetch_add(1, SeqCst);
                }
            });
        }
        // Phase 0: the 6 free units go, then everyone blocks.
        wait_for(|| total() >= VALUE - 1);
        settle();
        assert_eq!(total(), VALUE - 1);
        // Phase 1.
        phase.store(1, SeqCst);
        release(VALUE);
        wait_for(|| total() >= 2 * VALUE - 1);
        settle();
        assert_eq!(taken[1].load(SeqCst), VALUE);
        // Phase 2.
        phase.store(2, SeqCst);
        release(VALUE - 1);
        wait_for(|| total() >= 3 * VALUE - 2);
        settle();
        assert_eq!(taken[2].load(SeqCst), VALUE - 1);
        // The semaphore is still locked.
        assert!(!s.try_acquire());
        // The last thread's last acquire.
        release(1);
    });
    assert_eq!(total(), 20);
    assert_eq!(s.value(), 0);
}

pub fn try_acquire<S: Sem>() {
    let s = S::make(2);
    assert!(s.try_acquire());
    assert!(s.try_acquire());
    assert!(!s.try_acquire());
    s.release().unwrap();
    assert!(s.try_acquire());
}

pub fn try_acquire_contended<S: Sem>() {
    let s = S::make(4);
    s.acquire();
    let ok = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    thread::scope(|sc| {
        for _ in 0..5 {
            sc.spawn(|| {
                for _ in 0..2 {
                    if s.try_acquire() { &ok } else { &failed }.fetch_add(1, SeqCst);
                }
            });
        }
    });
    assert_eq!((ok.load(SeqCst), failed.load(SeqCst)), (3, 7));
}

pub fn acquire_timeout<S: Sem>() {
    let s = S::make(2);
    assert!(s.acquire_timeout(Duration::from_millis(5)));
    assert!(s.acquire_timeout(Duration::from_millis(5)));
    assert!(!s.acquire_timeout(Duration::from_millis(5)));
    assert!(!s.acquire_timeout(Duration::ZERO));
    s.release().unwrap();
    assert!(s.acquire_timeout(Duration::ZERO));
    s.release().unwrap();
    assert!(s.acquire_timeout(Duration::from_millis(5)));
    // Never returns early; the state is unchanged after a timeout.
    let t = Duration::from_millis(100);
    let start = Instant::now();
    assert!(!s.acquire_timeout(t));
    assert!(start.elapsed() >= t);
    let deadline = Instant::now() + t;
    assert!(!s.acquire_until(deadline));
    assert!(Instant::now() >= deadline);
    assert_eq!(s.value(), 0);
    // A deadline in the past: a try.
    assert!(!s.acquire_until(Instant::now() - Duration::from_millis(1)));
    s.release().unwrap();
    assert!(s.acquire_until(Instant::now() - Duration::from_millis(1)));
}

/// A timeout beyond `TIMEOUT_MAX` waits without one (no panic, no overflow).
pub fn huge_timeout<S: Sem>() {
    let s = S::make(1);
    assert!(s.acquire_timeout(Duration::MAX));
    thread::scope(|sc| {
        sc.spawn(|| {
            settle();
            s.release().unwrap();
        });
        assert!(s.acquire_timeout(Duration::MAX));
    });
    s.release().unwrap();
    assert!(s.acquire_timeout(threadkit::TIMEOUT_MAX + Duration::from_secs(1)));
}

pub fn default_value<S: Sem>() {
    let s = S::default();
    assert_eq!(s.value(), 1);
    s.acquire();
    let finished = AtomicBool::new(false);
    thread::scope(|sc| {
        sc.spawn(|| {
            s.acquire();
            s.release().unwrap();
            finished.store(true, SeqCst);
        });
        settle();
        assert!(!finished.load(SeqCst));
        s.release().unwrap();
    });
    assert!(finished.load(SeqCst));
}

pub fn with<S: Sem>() {
    let s = S::make(2);
    {
        let _g = s.guard();
        assert!(s.try_acquire());
        s.release().unwrap();
        {
            let _g2 = s.guard();
            assert!(!s.try_acquire());
        }
    }
    assert!(s.try_acquire());
    s.release().unwrap();
    // A panic inside the block still releases (Python: an exception leaves `with`).
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = s.guard();
        panic!("inside with");
    }));
    assert!(r.is_err());
    assert_eq!(s.value(), 2);
}

pub fn release_zero_is_noop<S: Sem>() {
    let s = S::make(1);
    s.release_n(0).unwrap();
    assert_eq!(s.value(), 1);
}

/// Never more than `VALUE` holders at once; every unit comes back.
pub fn stress_holders<S: Sem>() {
    const VALUE: usize = 3;
    let rounds = iters(2_000);
    let s = S::make(VALUE);
    let inside = AtomicUsize::new(0);
    let max = AtomicUsize::new(0);
    thread::scope(|sc| {
        for t in 0..6 {
            let (s, inside, max) = (&s, &inside, &max);
            sc.spawn(move || {
                for i in 0..rounds {
                    let got = match (t + i) % 3 {
                        0 => {
                            s.acquire();
                            true
                        }
                        1 => s.try_acquire(),
                        _ => s.acquire_timeout(Duration::from_micros(50)),
                    };
                    if got {
                        let n = inside.fetch_add(1, SeqCst) + 1;
                        max.fetch_max(n, SeqCst);
                        assert!(n <= VALUE, "{n} holders of a semaphore of {VALUE}");
                        inside.fetch_sub(1, SeqCst);
                        s.release().unwrap();
                    }
                }
            });
        }
    });
    assert!(max.load(SeqCst) <= VALUE);
    assert_eq!(s.value(), VALUE);
}

/// Units are conserved and no wake-up is lost: consumers (blocking and timed) take exactly
/// what producers release, in batches of 1..=3.
pub fn stress_conservation<S: Sem>() {
    let per_consumer = iters(3_000);
    let consumers = 4;
    let s = S::make(0);
    let produced = AtomicUsize::new(0);
    let total = consumers * per_consumer;
    thread::scope(|sc| {
        for c in 0..consumers {
            let s = &s;
            sc.spawn(move || {
                for i in 0..per_consumer {
                    if (c + i) % 2 == 0 {
                        s.acquire();
                    } else {
                        while !s.acquire_timeout(Duration::from_micros(100)) {}
                    }
                }
            });
        }
        sc.spawn(|| {
            let mut n = 0;
            while n < total {
                let k = (1 + n % 3).min(total - n);
                s.release_n(k).unwrap();
                n += k;
                produced.store(n, SeqCst);
            }
        });
    });
    assert_eq!(produced.load(SeqCst), total);
    assert_eq!(s.value(), 0);
}

macro_rules! base_tests {
    ($ty:ty) => {
        #[test]
        fn acquire() {
            base::acquire::<$ty>();
        }
        #[test]
        fn acquire_destroy() {
            base::acquire_destroy::<$ty>();
        }
        #[test]
        fn acquire_contended() {
            base::acquire_contended::<$ty>(false);
        }
        #[test]
        fn multirelease() {
            base::acquire_contended::<$ty>(true);
        }
        #[test]
        fn try_acquire() {
            base::try_acquire::<$ty>();
        }
        #[test]
        fn try_acquire_contended() {
            base::try_acquire_contended::<$ty>();
        }
        #[test]
        fn acquire_timeout() {
            base::acquire_timeout::<$ty>();
        }
        #[test]
        fn huge_timeout() {
            base::huge_timeout::<$ty>();
        }
        #[test]
        fn default_value() {
            base::default_value::<$ty>();
        }
        #[test]
        fn with() {
            base::with::<$ty>();
        }
        #[test]
        fn release_zero_is_noop() {
            base::release_zero_is_noop::<$ty>();
        }
        #[test]
        fn stress_holders() {
            base::stress_holders::<$ty>();
        }
    };
}
pub(crate) use base_tests;
