//! `Semaphore`: CPython's `SemaphoreTests` (Lib/test/lock_tests.py) and threadkit's own rules
//! (MAX_VALUE, Overflow, no heap, size, statics).

#[path = "common/semaphore_base.rs"]
mod base;

use std::time::Duration;
use threadkit::{Acquire, Error, Semaphore};

base::base_tests!(Semaphore);

#[test]
fn stress_conservation() {
    base::stress_conservation::<Semaphore>();
}

#[test]
fn constructor() {
    assert_eq!(Semaphore::new(0).value(), 0);
    assert_eq!(
        Semaphore::new(Semaphore::MAX_VALUE).value(),
        Semaphore::MAX_VALUE
    );
    const { assert!(Semaphore::MAX_VALUE >= (1 << 31) - 1) };
}

#[test]
#[should_panic(expected = "MAX_VALUE")]
fn constructor_above_max_panics() {
    let _ = Semaphore::new(Semaphore::MAX_VALUE + 1);
}

#[test]
fn release_unacquired() {
    // Unbounded releases are allowed and increment the value.
    let s = Semaphore::new(1);
    s.release().unwrap();
    assert_eq!(s.value(), 2);
    s.acquire();
    s.acquire();
    s.release().unwrap();
    assert_eq!(s.value(), 1);
}

#[test]
fn overflow_is_an_error_and_changes_nothing() {
    let s = Semaphore::new(Semaphore::MAX_VALUE - 2);
    let e = s.release_n(3).unwrap_err();
    assert!(matches!(e, Error::Overflow));
    assert_eq!(
        e.to_string(),
        "Semaphore value would exceed Semaphore::MAX_VALUE"
    );
    assert_eq!(s.value(), Semaphore::MAX_VALUE - 2);
    s.release_n(2).unwrap();
    assert_eq!(s.value(), Semaphore::MAX_VALUE);
    assert!(matches!(s.release(), Err(Error::Overflow)));
    assert!(matches!(s.release_n(usize::MAX), Err(Error::Overflow)));
    assert_eq!(s.value(), Semaphore::MAX_VALUE);
    assert!(s.try_acquire());
    assert_eq!(s.value(), Semaphore::MAX_VALUE - 1);
    let s = Semaphore::new(0);
    assert!(matches!(s.release_n(usize::MAX), Err(Error::Overflow)));
    assert_eq!(s.value(), 0);
}

#[test]
fn release_n_wakes_exactly_enough() {
    // 5 blocked threads; release_n(3) lets exactly 3 through, release_n(10) the rest.
    let s = Semaphore::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for _ in 0..5 {
            sc.spawn(|| {
                s.acquire();
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        base::settle();
        s.release_n(3).unwrap();
        base::wait_for(|| done.load(std::sync::atomic::Ordering::SeqCst) >= 3);
        base::settle();
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(s.value(), 0);
        s.release_n(10).unwrap();
    });
    assert_eq!(s.value(), 8);
}

#[test]
fn debug_shows_value() {
    let s = Semaphore::new(3);
    assert_eq!(format!("{s:?}"), "Semaphore { value: 3 }");
    s.acquire();
    assert_eq!(format!("{s:?}"), "Semaphore { value: 2 }");
    s.release_n(2).unwrap();
    assert_eq!(format!("{s:?}"), "Semaphore { value: 4 }");
}

#[test]
fn from_a_static() {
    static S: Semaphore = Semaphore::new(2);
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
}

#[test]
fn size() {
    assert!(size_of::<Semaphore>() <= 8);
}

#[test]
fn generic_acquire_trait() {
    fn take<A: Acquire>(a: &A) -> bool {
        a.acquire_timeout(Duration::ZERO)
    }
    let s = Semaphore::new(1);
    assert!(take(&s));
    assert!(!take(&s));
    Acquire::release(&s).unwrap();
    assert_eq!(s.value(), 1);
}
