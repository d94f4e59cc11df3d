//! Loom models of `Lock`: mutual exclusion, release by another thread, no lost wake-up,
//! timeouts and the counted-waiter protocol that `Condition` uses.
#![cfg(threadkit_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;
use std::time::Duration;
use threadkit::Lock;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn mutual_exclusion_and_no_lost_wakeup() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (lock, inside) = (lock.clone(), inside.clone());
                thread::spawn(move || {
                    lock.acquire();
                    assert_eq!(inside.fetch_add(1, SeqCst), 0);
                    inside.fetch_sub(1, SeqCst);
                    lock.release().unwrap();
                })
            })
            .collect();
        lock.acquire();
        assert_eq!(inside.load(SeqCst), 0);
        lock.release().unwrap();
        for t in threads {
            t.join().unwrap();
        }
        assert!(!lock.locked());
    });
}

#[test]
fn release_by_another_thread_wakes_the_waiter() {
    model(|| {
        let lock = Arc::new(Lock::new());
        lock.acquire();
        let l2 = lock.clone();
        let waiter = thread::spawn(move || {
            l2.acquire(); // blocks until main's helper releases
            l2.release().unwrap();
        });
        let l3 = lock.clone();
        let releaser = thread::spawn(move || l3.release().unwrap());
        releaser.join().unwrap();
        waiter.join().unwrap();
        assert!(!lock.locked());
    });
}

#[test]
fn timeout_leaves_the_lock_consistent() {
    model(|| {
        let lock = Arc::new(Lock::new());
        lock.acquire();
        let l2 = lock.clone();
        let t = thread::spawn(move || {
            if l2.acquire_timeout(Duration::from_millis(1)) {
                l2.release().unwrap();
            }
        });
        lock.release().unwrap();
        t.join().unwrap();
        // Whatever happened, the lock is free and nobody is counted.
        assert!(lock.try_acquire());
        assert_eq!(format!("{:?}", *lock), "Lock { locked: true, waiters: 0 }");
    });
}

#[test]
fn try_acquire_races() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let wins = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (lock, wins) = (lock.clone(), wins.clone());
                thread::spawn(move || {
                    if lock.try_acquire() {
                        wins.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(wins.load(SeqCst), 1);
        assert!(lock.locked());
    });
}
