//! In-crate tests of the notify order, with nodes linked by hand in the states a notify
//! meets (no thread involved, so nothing depends on timing). A part of `waitqueue/mod.rs`.

use super::notify::PASS_MAX;
use super::{CHAINED, Node, Order, Queue, SLEEPING, SPUN, WAITING, WOKEN, WaitQueue, Woken};
use crate::Lock;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

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

/// A notify that wakes a sleeper records the woken one as this thread's partner (the next
/// wait may spin for its answer, `rt::woke_partner`): in FIFO order only if it was the only
/// waiter, awake first even with others left; releasing an awake waiter records nothing.
#[test]
fn waking_a_sleeper_records_a_partner_awake_first_even_with_others_queued() {
    let lock = Lock::new();
    let wq = WaitQueue::new(());
    let q = wq.queue();
    crate::rt::forget_partner();

    let (a, b) = (Node::new(&lock), Node::new(&lock));
    link(q, &a, SLEEPING);
    link(q, &b, SLEEPING);
    assert_eq!(wq.notify(1, None), 1);
    assert_eq!(a.word.load(Relaxed), WOKEN);
    assert!(
        !crate::rt::take_partner_record(),
        "FIFO, a sleeper left behind"
    );
    assert_eq!(wq.notify(1, None), 1);
    assert_eq!(b.word.load(Relaxed), WOKEN);
    assert!(crate::rt::take_partner_record(), "FIFO, the only sleeper");

    let (a, b, c) = (Node::new(&lock), Node::new(&lock), Node::new(&lock));
    link(q, &a, SLEEPING);
    link(q, &b, SLEEPING);
    assert!(wq.notify_one_awake_first());
    assert_eq!(a.word.load(Relaxed), WOKEN);
    assert!(
        crate::rt::take_partner_record(),
        "awake first, a sleeper left behind"
    );
    link(q, &c, WAITING);
    assert!(wq.notify_one_awake_first());
    assert_eq!(c.word.load(Relaxed), WOKEN);
    assert!(
        !crate::rt::take_partner_record(),
        "awake first, an awake one released"
    );
    assert!(wq.notify_one_awake_first());
    assert_eq!(b.word.load(Relaxed), WOKEN);
    assert!(
        crate::rt::take_partner_record(),
        "awake first, the only sleeper"
    );
    assert!(wq.is_empty());
}

/// The newest linked node's word (the tail's), or `None` with nobody linked.
fn tail_word(q: Queue<'_>) -> Option<u32> {
    q.lock_guard();
    // SAFETY: we hold the guard: a non-null tail is linked, hence valid.
    let word = unsafe { q.tail().as_ref().map(|t| t.word.load(Relaxed)) };
    q.unlock_guard();
    word
}

/// A waiter that queued behind another and slept long turns the spin hint off in FIFO order,
/// but leaves it on awake first (its sleep was long because others went first). The waiter
/// in front is a hand-linked `CHAINED` node (notified, asleep until a token reaches it), which
/// a notify skips, so the real waiter behind it is the one released; it is released at least
/// 1 ms after it was seen asleep, so its wait is long whatever the timing.
#[test]
fn a_long_sleep_behind_others_clears_the_hint_only_in_fifo_order() {
    for order in [Order::Fifo, Order::AwakeFirst] {
        let lock = Lock::new();
        let wq = WaitQueue::new(());
        let q = wq.queue();
        let front = Node::new(&lock);
        link(q, &front, CHAINED);
        wq.flags.fetch_or(SPUN, Relaxed);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                lock.acquire();
                let reacquire = |counted: bool| {
                    if counted {
                        lock.lock_counted();
                    } else {
                        lock.acquire();
                    }
                };
                let release = || lock.release().is_ok();
                let woken = wq.wait(&lock, None, release, reacquire, order);
                lock.release().unwrap();
                woken
            });
            while tail_word(wq.queue()) != Some(SLEEPING) {
                crate::rt::sleep(Duration::from_micros(100));
            }
            crate::rt::sleep(Duration::from_millis(1));
            assert_eq!(wq.notify(1, None), 1);
            // Counted or not: nothing orders the waiter's release of the lock before the
            // notifier's look at it (Miri's weak memory finds it held and requeues).
            let woken = waiter.join().unwrap();
            assert!(
                matches!(woken, Some(Woken::Notified | Woken::NotifiedUncounted)),
                "{woken:?}"
            );
        });
        let kept = wq.flags.load(Relaxed) & SPUN != 0;
        assert_eq!(kept, order == Order::AwakeFirst, "{order:?}");
        q.lock_guard();
        // SAFETY: we hold the guard and `front` is linked (a notify skips CHAINED nodes).
        unsafe { q.unlink(&front) };
        q.unlock_guard();
        assert!(wq.is_empty());
    }
}
