//! `BoundedSemaphore`: CPython's `BoundedSemaphoreTests` (Lib/test/lock_tests.py) and
//! threadkit's own rules (all-or-nothing release_n, no heap, size, statics).

#[path = "common/semaphore_base.rs"]
mod base;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use threadkit::{BoundedSemaphore, Error};

base::base_tests!(BoundedSemaphore);

#[test]
fn constructor() {
    let s = BoundedSemaphore::new(0);
    assert_eq!((s.value(), s.initial_value()), (0, 0));
    assert!(matches!(s.release(), Err(Error::TooManyReleases)));
    let s = BoundedSemaphore::new(threadkit::Semaphore::MAX_VALUE);
    assert_eq!(s.initial_value(), threadkit::Semaphore::MAX_VALUE);
}

#[test]
#[should_panic(expected = "MAX_VALUE")]
fn constructor_above_max_panics() {
    let _ = BoundedSemaphore::new(threadkit::Semaphore::MAX_VALUE + 1);
}

#[test]
fn release_unacquired() {
    // Cannot go past the initial value (Python: ValueError).
    let s = BoundedSemaphore::default();
    let e = s.release().unwrap_err();
    assert!(matches!(e, Error::TooManyReleases));
    assert_eq!(e.to_string(), "Semaphore released too many times");
    s.acquire();
    s.release().unwrap();
    assert!(matches!(s.release(), Err(Error::TooManyReleases)));
    assert_eq!(s.value(), 1);
}

#[test]
fn release_n_is_all_or_nothing() {
    let s = BoundedSemaphore::new(5);
    for _ in 0..3 {
        s.acquire();
    }
    assert!(matches!(s.release_n(4), Err(Error::TooManyReleases)));
    assert_eq!(s.value(), 2);
    assert!(matches!(
        s.release_n(usize::MAX),
        Err(Error::TooManyReleases)
    ));
    assert_eq!(s.value(), 2);
    s.release_n(3).unwrap();
    assert_eq!(s.value(), 5);
    s.release_n(0).unwrap();
}

#[test]
fn debug_shows_value_and_limit() {
    let s = BoundedSemaphore::new(3);
    assert_eq!(
        format!("{s:?}"),
        "BoundedSemaphore { value: 3, initial_value: 3 }"
    );
    s.acquire();
    assert_eq!(
        format!("{s:?}"),
        "BoundedSemaphore { value: 2, initial_value: 3 }"
    );
}

/// The value never passes the initial value, however releases race; successful releases
/// minus successful acquires is exactly the change of the value.
#[test]
fn stress_never_above_initial() {
    const INITIAL: usize = 4;
    let rounds = base::iters(2_000);
    let s = BoundedSemaphore::new(INITIAL);
    let acquired = AtomicUsize::new(0);
    let released = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|sc| {
        sc.spawn(|| {
            while !stop.load(SeqCst) {
                assert!(s.value() <= INITIAL);
                std::thread::yield_now();
            }
        });
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let (s, acquired, released) = (&s, &acquired, &released);
                sc.spawn(move || {
                    for i in 0..rounds {
                        if (t + i) % 4 == 0 {
                            // A rogue release: allowed only while someone holds a unit.
                            if s.release_n(1 + i % 2).is_ok() {
                                released.fetch_add(1 + i % 2, SeqCst);
                            }
                        } else if s.try_acquire() {
                            acquired.fetch_add(1, SeqCst);
                            if s.release().is_ok() {
                                released.fetch_add(1, SeqCst);
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        stop.store(true, SeqCst);
    });
    let (a, r) = (acquired.load(SeqCst), released.load(SeqCst));
    assert_eq!(INITIAL + r - a, s.value());
    assert!(s.value() <= INITIAL);
}

#[test]
fn from_a_static() {
    static S: BoundedSemaphore = BoundedSemaphore::new(2);
    std::thread::scope(|sc| {
        for _ in 0..4 {
            sc.spawn(|| {
                for _ in 0..base::iters(100) {
                    let _g = S.guard();
                    assert!(S.value() <= 1);
                }
            });
        }
    });
    assert_eq!(S.value(), 2);
    assert!(matches!(S.release(), Err(Error::TooManyReleases)));
}

#[test]
fn size() {
    assert!(size_of::<BoundedSemaphore>() <= 16);
}
