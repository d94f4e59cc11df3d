//! Loom models of `Semaphore` and `BoundedSemaphore`: count conservation, no lost wake-up
//! (a sleeper left asleep is a loom deadlock: the futex model never wakes by itself), timed
//! waiters, and all-or-nothing bounded releases.
//!
//! Run: `RUSTFLAGS="--cfg threadkit_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_semaphore`
#![cfg(threadkit_loom)]

use loom::sync::Arc;
use loom::thread;
use std::time::Duration;
use threadkit::{BoundedSemaphore, Error, Semaphore};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// One unit, two threads taking and giving it back: never both inside, the unit survives.
#[test]
fn conservation_and_exclusion() {
    model(|| {
        let s = Arc::new(Semaphore::new(1));
        let inside = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let t = {
            let (s, inside) = (s.clone(), inside.clone());
            thread::spawn(move || {
                s.acquire();
                assert_eq!(inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst), 0);
                inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                s.release().unwrap();
            })
        };
        s.acquire();
        assert_eq!(inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst), 0);
        inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        s.release().unwrap();
        t.join().unwrap();
        assert_eq!(s.value(), 1);
    });
}

/// A release racing with a thread going to sleep always wakes it.
#[test]
fn no_lost_wakeup() {
    model(|| {
        let s = Arc::new(Semaphore::new(0));
        let t = {
            let s = s.clone();
            thread::spawn(move || s.acquire())
        };
        s.release().unwrap();
        t.join().unwrap();
        assert_eq!(s.value(), 0);
    });
}

/// release_n(2) with two sleepers wakes both; a third party trying meanwhile may steal one
/// unit only if it then hands it back.
#[test]
fn release_n_two_sleepers() {
    model(|| {
        let s = Arc::new(Semaphore::new(0));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || s.acquire())
            })
            .collect();
        s.release_n(2).unwrap();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(s.value(), 0);
    });
}

/// Two single releases, one timed and one blocking waiter: the blocking one always gets a
/// unit, the timed one may or may not, and units are conserved.
#[test]
fn timed_and_blocking_waiters() {
    model(|| {
        let s = Arc::new(Semaphore::new(0));
        let timed = {
            let s = s.clone();
            thread::spawn(move || s.acquire_timeout(Duration::from_millis(1)))
        };
        let blocking = {
            let s = s.clone();
            thread::spawn(move || s.acquire())
        };
        s.release().unwrap();
        s.release().unwrap();
        let got = timed.join().unwrap();
        blocking.join().unwrap();
        assert_eq!(s.value(), if got { 0 } else { 1 });
    });
}

/// Bounded: a release racing with an acquire never passes the initial value, and a refused
/// release changes nothing.
#[test]
fn bounded_all_or_nothing() {
    model(|| {
        let s = Arc::new(BoundedSemaphore::new(1));
        let t = {
            let s = s.clone();
            thread::spawn(move || {
                if s.try_acquire() {
                    s.release().unwrap();
                    true
                } else {
                    false
                }
            })
        };
        let r = s.release_n(1);
        assert!(matches!(r, Err(Error::TooManyReleases)) || r.is_ok());
        let took = t.join().unwrap();
        // Our release can only have succeeded while the other thread held the unit, and then
        // its own release would have failed (unwrap above): so ours failed.
        assert!(r.is_err(), "took={took}");
        assert_eq!(s.value(), 1);
    });
}

/// `release_n(2)` with three sleepers wakes two of them with one `wake_n(2)` (the model marks
/// at most two sleepers woken); the third waits for the next release. A unit whose wake-up
/// went to nobody would leave a sleeper asleep: a loom deadlock.
#[test]
fn release_n_wakes_n_of_three() {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(1);
    b.check(|| {
        let s = Arc::new(Semaphore::new(0));
        let ts: Vec<_> = (0..3)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || s.acquire())
            })
            .collect();
        s.release_n(2).unwrap();
        s.release().unwrap();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(s.value(), 0);
    });
}
