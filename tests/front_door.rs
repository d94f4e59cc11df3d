//! Issue 12's smaller items: `Timer::join`/`is_alive`, `Lock: RawMutexFair` (`unlock_fair`,
//! `bump`), unwind safety of the primitives and `Condvar`'s `Debug`.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};
use threadkit::{
    Barrier, BoundedSemaphore, Condition, Condvar, Event, Lock, Mutex, MutexGuard, RLock,
    Semaphore, Thread, Timer,
};

const fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
const _: () = {
    unwind_safe::<Barrier>();
    unwind_safe::<Condition>();
    unwind_safe::<Condition<Lock>>();
    unwind_safe::<Condvar>();
    unwind_safe::<Event>();
    unwind_safe::<Lock>();
    unwind_safe::<RLock>();
    unwind_safe::<Semaphore>();
    unwind_safe::<BoundedSemaphore>();
    unwind_safe::<Thread>();
};

#[test]
fn a_barrier_with_an_action_crosses_catch_unwind() {
    let b = Barrier::with_action(1, || {});
    let r = std::panic::catch_unwind(|| b.wait().unwrap());
    assert_eq!(r.unwrap(), 0);
}

#[test]
fn condvar_debug_is_opaque() {
    assert_eq!(format!("{:?}", Condvar::new()), "Condvar { .. }");
}

#[test]
fn timer_join_and_is_alive() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let t = Timer::new(Duration::from_millis(20), move || r.store(true, SeqCst));
    assert!(!t.is_alive());
    assert!(matches!(t.join(), Err(threadkit::Error::NotStarted)));
    t.start().unwrap();
    assert!(t.is_alive());
    t.join().unwrap();
    assert!(!t.is_alive());
    assert!(ran.load(SeqCst));

    let cancelled = Timer::new(Duration::from_secs(3600), || unreachable!());
    cancelled.start().unwrap();
    cancelled.cancel();
    cancelled.join().unwrap();
    assert!(!cancelled.is_alive());
}

/// Waits until `lock` counts `n` waiters (its `Debug` shows the count).
fn wait_for_waiters(lock: &Lock, n: usize) {
    let end = Instant::now() + Duration::from_secs(10);
    while !format!("{lock:?}").contains(&format!("waiters: {n}")) {
        assert!(Instant::now() < end, "waiter never counted: {lock:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn unlock_fair_without_waiters_is_a_plain_unlock() {
    let m = Mutex::new(0);
    let g = m.lock();
    MutexGuard::unlock_fair(g);
    assert!(m.try_lock().is_some());
    let mut g = m.lock();
    MutexGuard::bump(&mut g);
    *g += 1;
    drop(g);
    assert_eq!(*m.lock(), 1);
}

#[test]
fn unlock_fair_hands_the_lock_to_the_sleeper() {
    for _ in 0..20 {
        let m = Arc::new(Mutex::new(Vec::new()));
        let g = m.lock();
        let m2 = m.clone();
        let waiter = std::thread::spawn(move || {
            m2.lock().push("waiter");
        });
        // SAFETY: the raw lock is only read (its Debug), never locked or unlocked through it.
        wait_for_waiters(unsafe { m.raw() }, 1);
        MutexGuard::unlock_fair(g);
        // Handed over: the lock stays held for the waiter, so this thread cannot barge in.
        let mut again = m.lock();
        again.push("releaser");
        drop(again);
        waiter.join().unwrap();
        assert_eq!(*m.lock(), ["waiter", "releaser"]);
    }
}

#[test]
fn bump_lets_the_waiters_go_first() {
    let m = Arc::new(Mutex::new(0usize));
    let done = Arc::new(AtomicUsize::new(0));
    let mut g = m.lock();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (m, done) = (m.clone(), done.clone());
            std::thread::spawn(move || {
                *m.lock() += 1;
                done.fetch_add(1, SeqCst);
            })
        })
        .collect();
    // SAFETY: the raw lock is only read (its Debug), never locked or unlocked through it.
    wait_for_waiters(unsafe { m.raw() }, 3);
    MutexGuard::bump(&mut g);
    // At least the waiter that claimed the hand-over ran its critical section first.
    assert!(*g >= 1, "bump did not let a waiter in");
    drop(g);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), 3);
}
