//! In-crate tests of the notify order, with nodes linked by hand in the states a notify
//! meets (no thread involved, so nothing depends on timing). A part of `waitqueue/mod.rs`.

use super::notify::PASS_MAX;
use super::{Node, Queue, SLEEPING, WAITING, WOKEN, WaitQueue};
use crate::Lock;
use std::sync::atomic::Ordering::Relaxed;

/// Links `node` at the tail as a waiter whose owner is in `state` (`WAITING`: awake).
fn link(q: Queue<'_>, node: &Node, state: u32) {
    node.word.store(state, Relaxed);
    q.lock_guard();
    // SAFETY: we hold the guard; every node linked here outlives the queue's use of it: the
    // tests unlink (notify) each before it goes out of scope, and check that they did.
    let pushed = unsafe { q.push(node) };
    q.unlock_guard();
    assert!(pushed.is_some());
}

/// An awake newest waiter goes before a sleeping oldest one, without a wake-up call; after
/// `PASS_MAX` such passes the sleeper is released, then the awake one.
#[test]
fn notify_one_prefers_an_awake_waiter_but_passes_a_sleeper_at_most_pass_max_times() {
    let lock = Lock::new();
    let wq = WaitQueue::new(());
    let q = wq.queue();
    let oldest = Node::new(&lock);
    link(q, &oldest, SLEEPING);
    for pass in 0..PASS_MAX {
        let newest = Node::new(&lock);
        link(q, &newest, WAITING);
        assert!(wq.notify_one_awake_first());
        assert_eq!(
            newest.word.load(Relaxed),
            WOKEN,
            "pass {pass}: the awake one"
        );
        assert_eq!(
            oldest.word.load(Relaxed),
            SLEEPING,
            "pass {pass}: the sleeper stays"
        );
    }
    let newest = Node::new(&lock);
    link(q, &newest, WAITING);
    assert!(wq.notify_one_awake_first());
    assert_eq!(
        oldest.word.load(Relaxed),
        WOKEN,
        "passed over once too often"
    );
    assert_eq!(newest.word.load(Relaxed), WAITING);
    assert!(wq.notify_one_awake_first());
    assert_eq!(newest.word.load(Relaxed), WOKEN);
    assert!(!wq.notify_one_awake_first(), "nobody is left");
    assert!(wq.is_empty());
}

/// The awake-first order changes nothing when the oldest is awake itself, or the newest
/// sleeps too, or there is one waiter; and a FIFO notify always takes the oldest.
#[test]
fn awake_first_only_ever_passes_a_sleeper_for_an_awake_waiter() {
    let lock = Lock::new();
    let wq = WaitQueue::new(());
    let q = wq.queue();
    let cases = [
        (WAITING, WAITING, true),
        (SLEEPING, SLEEPING, true),
        (WAITING, SLEEPING, true),
        (SLEEPING, WAITING, false),
    ];
    for (older, newer, awake_first) in cases {
        let (a, b) = (Node::new(&lock), Node::new(&lock));
        link(q, &a, older);
        link(q, &b, newer);
        if awake_first {
            assert!(wq.notify_one_awake_first());
        } else {
            assert_eq!(wq.notify(1, None), 1);
        }
        assert_eq!(
            a.word.load(Relaxed),
            WOKEN,
            "{older} {newer}: the oldest first"
        );
        assert_eq!(b.word.load(Relaxed), newer);
        assert_eq!(wq.notify(1, None), 1);
        assert_eq!(b.word.load(Relaxed), WOKEN);
    }
    let alone = Node::new(&lock);
    link(q, &alone, SLEEPING);
    assert!(wq.notify_one_awake_first());
    assert_eq!(alone.word.load(Relaxed), WOKEN);
    assert!(wq.is_empty());
}
