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

/// Waits until a waiter is counted on `lock`, then makes it ask for a hand-over, as after it
/// starved for `STARVATION_LIMIT`: the next unlock hands the lock over.
fn starving_waiter_counted(lock: &Lock) {
    while lock.state.load(Acquire) < super::ONE_WAITER {
        thread::yield_now();
    }
    lock.state.fetch_or(super::HANDOFF, Release);
}

fn notify(lock: &Lock, node: &AtomicU32) {
    assert!(lock.add_waiter());
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
        // The waiter has starved: the next unlock hands over.
        starving_waiter_counted(&lock);
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
        starving_waiter_counted(&lock);
        lock.release().unwrap();
        w.join().unwrap();
        n.join().unwrap();
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}

/// Issue 10, bug 1: a release by another thread while a hand-over is pending. M holds the lock,
/// W is counted and starving (HANDOFF), M's unlock hands the lock over, and a third thread C
/// releases the lock at any moment around that (before the hand-over, between it and W's
/// claim, or after W holds it). Every path must keep "successful acquires - successful
/// releases" at 1 while the lock is held and 0 while it is free: a release of the handed lock
/// releases W's hold (W's acquire still returns), never frees the word for W to take again.
#[test]
fn a_release_during_a_hand_over_is_matched_by_exactly_one_acquire() {
    use loom::sync::atomic::AtomicIsize;
    model(|| {
        let lock = Arc::new(Lock::new());
        // acquires - releases, counted as they succeed
        let balance = Arc::new(AtomicIsize::new(0));
        lock.acquire();
        balance.fetch_add(1, SeqCst);
        let (l2, b2) = (lock.clone(), balance.clone());
        let w = thread::spawn(move || {
            l2.acquire();
            b2.fetch_add(1, SeqCst);
            if l2.release().is_ok() {
                b2.fetch_sub(1, SeqCst);
            }
        });
        starving_waiter_counted(&lock);
        let (l3, b3) = (lock.clone(), balance.clone());
        let c = thread::spawn(move || {
            if l3.release().is_ok() {
                b3.fetch_sub(1, SeqCst);
            }
        });
        if lock.release().is_ok() {
            balance.fetch_sub(1, SeqCst);
        }
        c.join().unwrap();
        w.join().unwrap();
        let held = lock.locked();
        assert_eq!(balance.load(SeqCst), isize::from(held), "{:?}", *lock);
        if held {
            lock.release().unwrap();
        }
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}

/// A Condition notifier counts a waiter on the lock around a hand-over to another counted
/// waiter (`add_waiter` refuses while the lock is handed over: a late waiter must not compete
/// for a hold that belongs to the waiters counted before it; refused, it acquires as a
/// newcomer). Whichever way they race, nobody is stranded and nothing stays counted.
#[test]
fn no_waiter_is_counted_during_a_hand_over() {
    model(|| {
        let lock = Arc::new(Lock::new());
        lock.acquire();
        let l2 = lock.clone();
        let w = thread::spawn(move || {
            l2.acquire();
            l2.release().unwrap();
        });
        starving_waiter_counted(&lock);
        lock.release().unwrap();
        let counted = lock.add_waiter();
        if counted {
            lock.lock_counted();
        } else {
            lock.acquire();
        }
        lock.release().unwrap();
        w.join().unwrap();
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}

/// The fair unlock (`RawMutexFair::unlock_fair`): the holder unlocks fairly while another
/// thread may be counted as a waiter (or not yet, or spinning), then takes the lock again. Both
/// critical sections run exclusively, nobody is stranded, and the lock ends free with nobody
/// counted, whether the unlock found a counted waiter (a hand-over) or not (a plain unlock).
#[test]
fn fair_unlock_hands_over_or_unlocks_and_strands_nobody() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let inside = Arc::new(AtomicU32::new(0));
        lock.acquire();
        let (l2, in2) = (lock.clone(), inside.clone());
        let t = thread::spawn(move || {
            l2.acquire();
            assert_eq!(in2.fetch_add(1, SeqCst), 0, "two holders");
            in2.fetch_sub(1, SeqCst);
            l2.release().unwrap();
        });
        assert!(lock.release_fair());
        lock.acquire();
        assert_eq!(inside.fetch_add(1, SeqCst), 0, "two holders");
        inside.fetch_sub(1, SeqCst);
        lock.release().unwrap();
        t.join().unwrap();
        assert_eq!(format!("{:?}", *lock), "Lock { locked: false, waiters: 0 }");
    });
}
