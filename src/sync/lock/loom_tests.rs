//! Loom models of `Lock`'s crate-internal counted-waiter protocol (what `Condition` builds on):
//! a notifier counts the waiter on the lock, publishes NOTIFIED, and moves the sleeper onto the
//! lock's word; the waiter must always get the lock, whether the notifier still holds it, has
//! released it already, or the "held" lock was released by a third thread meanwhile.

use super::Lock;
use crate::rt::{self as wait, AtomicU32};
use core::sync::atomic::Ordering::{Acquire, Release, SeqCst};
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
/// once, as a newcomer: if the lock was really handed over (the waiter was still counted; a
/// woken waiter may also have left the count to spin), the newcomer must not take it back.
/// Whichever way they race, nobody is stranded and the lock ends free with nobody counted.
#[test]
fn newcomer_racing_a_hand_over_gets_in_after_the_waiter() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let order = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        lock.acquire();
        let (l2, o2) = (lock.clone(), order.clone());
        let w = thread::spawn(move || {
            l2.acquire();
            // 1: the waiter was first.
            let _ = o2.compare_exchange(0, 1, SeqCst, SeqCst);
            l2.release().unwrap();
        });
        while lock.state.load(Acquire) < super::ONE_WAITER {
            thread::yield_now();
        }
        // The waiter has starved: the next unlock hands over.
        lock.state.fetch_or(super::HANDOFF, Release);
        lock.release().unwrap();
        let handed = lock.state.load(SeqCst) & super::HANDED != 0;
        lock.acquire();
        // 2: the newcomer was first.
        let _ = order.compare_exchange(0, 2, SeqCst, SeqCst);
        lock.release().unwrap();
        w.join().unwrap();
        if handed {
            assert_eq!(order.load(SeqCst), 1, "the newcomer took the handed lock");
        }
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}

/// A third thread arrives at any moment around a hand-over (before it: counted; during it:
/// a newcomer sleeping uncounted, maybe before the hand-over's wake-up goes out). Nobody is
/// stranded: the hand-over's wake-up cannot be spent on the newcomer alone.
#[test]
fn third_thread_arriving_around_a_hand_over_strands_nobody() {
    model(|| {
        let lock = Arc::new(Lock::new());
        lock.acquire();
        let l2 = lock.clone();
        let w = thread::spawn(move || {
            l2.acquire();
            l2.release().unwrap();
        });
        let l3 = lock.clone();
        let n = thread::spawn(move || {
            l3.acquire();
            l3.release().unwrap();
        });
        while lock.state.load(Acquire) < super::ONE_WAITER {
            thread::yield_now();
        }
        lock.state.fetch_or(super::HANDOFF, Release);
        lock.release().unwrap();
        w.join().unwrap();
        n.join().unwrap();
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}
