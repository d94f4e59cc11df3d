//! The guards (issue 12): `guard`, `try_guard`, `guard_timeout` and `guard_until` are inherent
//! on the five acquirable types, so this file never imports the `Acquire` trait; the trait's
//! versions are checked through a generic function that names it by path.

use std::time::{Duration, Instant};
use threadkit::{BoundedSemaphore, Condition, Lock, RLock, Semaphore};

const SHORT: Duration = Duration::from_millis(5);

#[test]
fn lock_guards_without_the_trait() {
    let lock = Lock::new();
    {
        let _g = lock.guard();
        assert!(lock.locked());
        assert!(lock.try_guard().is_none());
        assert!(lock.guard_timeout(SHORT).is_none());
        assert!(lock.guard_until(Instant::now() + SHORT).is_none());
    }
    assert!(!lock.locked());
    let g = lock.try_guard().expect("free lock");
    assert!(std::ptr::eq(g.get(), &lock));
    drop(g);
    assert!(lock.guard_timeout(SHORT).is_some());
    assert!(lock.guard_until(Instant::now()).is_some());
    assert!(!lock.locked());
}

#[test]
fn rlock_guards_nest_without_the_trait() {
    let r = RLock::new();
    let _a = r.guard();
    let _b = r.try_guard().expect("reentrant");
    let _c = r.guard_timeout(SHORT).expect("reentrant");
    let _d = r.guard_until(Instant::now()).expect("reentrant");
    assert_eq!(r.recursion_count(), 4);
}

#[test]
fn condition_guards_without_the_trait() {
    let c = Condition::with_lock(Lock::new());
    let g = c.guard();
    assert!(c.try_guard().is_none());
    assert!(c.guard_timeout(SHORT).is_none());
    assert!(!c.wait_timeout(SHORT).unwrap()); // the guard holds the lock: wait is allowed
    drop(g);
    assert!(c.guard_until(Instant::now()).is_some());
    let rc = Condition::new();
    let _g = rc.guard();
    assert!(rc.lock().is_owned());
}

#[test]
fn semaphore_guards_count_down_and_back() {
    let s = Semaphore::new(2);
    let a = s.guard();
    let b = s.try_guard().expect("one left");
    assert!(s.try_guard().is_none());
    assert!(s.guard_timeout(SHORT).is_none());
    assert!(s.guard_until(Instant::now() + SHORT).is_none());
    drop((a, b));
    assert_eq!(s.value(), 2);

    let bs = BoundedSemaphore::new(1);
    let g = bs.guard_timeout(SHORT).expect("free");
    assert!(bs.try_guard().is_none());
    drop(g);
    assert!(bs.guard_until(Instant::now()).is_some());
    assert_eq!(bs.value(), 1);
}

fn generic_try<A: threadkit::Acquire>(a: &A) -> (bool, bool, bool) {
    let first = threadkit::Acquire::try_guard(a);
    let second = threadkit::Acquire::guard_timeout(a, SHORT);
    let third = threadkit::Acquire::guard_until(a, Instant::now());
    (first.is_some(), second.is_some(), third.is_some())
}

#[test]
fn the_trait_has_the_same_guards() {
    assert_eq!(generic_try(&Lock::new()), (true, false, false));
    assert_eq!(generic_try(&RLock::new()), (true, true, true));
    assert_eq!(generic_try(&Semaphore::new(2)), (true, true, false));
    assert_eq!(generic_try(&BoundedSemaphore::new(1)), (true, false, false));
    assert_eq!(
        generic_try(&Condition::with_lock(Lock::new())),
        (true, false, false)
    );
}
