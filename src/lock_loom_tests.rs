//! Loom models of `Lock`'s crate-internal counted-waiter protocol (what `Condition` builds on):
//! a notifier counts the waiter on the lock, publishes NOTIFIED, and moves the sleeper onto the
//! lock's word; the waiter must always get the lock, whether the notifier still holds it, has
//! released it already, or the "held" lock was released by a third thread meanwhile.

use super::Lock;
use crate::wait::{self, AtomicU32};
use core::sync::atomic::Ordering::{Acquire, Release};
use loom::sync::Arc;
use loom::thread;

const WAITING: u32 = 0;
const NOTIFIED: u32 = 1;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

fn waiter(lock: Arc<Lock>, node: Arc<AtomicU32>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        while node.load(Acquire) == WAITING {
            wait::wait(&node, WAITING, None);
        }
        lock.lock_counted();
        lock.release().unwrap();
    })
}

fn notify(lock: &Lock, node: &AtomicU32) {
    lock.add_waiter();
    node.store(NOTIFIED, Release);
    // SAFETY: `node` is borrowed for the whole call.
    unsafe { lock.requeue_from(node, NOTIFIED) };
}

#[test]
fn requeued_waiter_gets_the_lock() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let node = Arc::new(AtomicU32::new(WAITING));
        let t = waiter(lock.clone(), node.clone());
        lock.acquire();
        notify(&lock, &node);
        lock.release().unwrap();
        t.join().unwrap();
        assert!(!lock.locked());
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}

/// A waiter is notified while a third thread, which does not hold the lock, runs `other` on it
/// (a `Lock` has no owner: anyone may release it). The waiter must get the lock, and the lock
/// must end free with nobody counted.
fn requeue_racing(other: fn(&Lock)) {
    model(move || {
        let lock = Arc::new(Lock::new());
        let node = Arc::new(AtomicU32::new(WAITING));
        let t = waiter(lock.clone(), node.clone());
        lock.acquire();
        let l2 = lock.clone();
        let third = thread::spawn(move || other(&l2));
        notify(&lock, &node);
        third.join().unwrap();
        t.join().unwrap();
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}

#[test]
fn requeue_racing_a_third_party_release_strands_nobody() {
    requeue_racing(|lock| lock.release().unwrap());
}

/// An unlock between `add_waiter` and the requeue sets `WAKING` and wakes nobody (the waiter
/// still sleeps on its node), and the lock is taken again before the requeue: the requeue must
/// still get the moved waiter woken, or the next unlock (seeing `WAKING`) would wake nobody.
#[test]
fn requeue_after_an_unlock_that_woke_nobody_strands_nobody() {
    requeue_racing(|lock| {
        lock.release().unwrap();
        lock.acquire();
        lock.release().unwrap();
    });
}

/// A waiter starves and asks for a hand-over; the thread that hands the lock over relocks at
/// once, as a newcomer (it may not claim the handed lock, except after the grace period,
/// which the model lets fire at any moment). Whichever way they race, both get the lock,
/// nobody is stranded, and the lock ends free with nobody counted.
#[test]
fn newcomer_racing_a_hand_over_strands_nobody() {
    model(|| {
        let lock = Arc::new(Lock::new());
        lock.acquire();
        let l2 = lock.clone();
        let w = thread::spawn(move || {
            l2.acquire();
            l2.release().unwrap();
        });
        while lock.state.load(Acquire) < super::ONE_WAITER {
            thread::yield_now();
        }
        // The waiter has starved: the next unlock hands over.
        lock.state.fetch_or(super::HANDOFF, Release);
        lock.release().unwrap();
        lock.acquire();
        lock.release().unwrap();
        w.join().unwrap();
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}
