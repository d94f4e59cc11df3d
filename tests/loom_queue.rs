//! Loom models of `threadkit::queue`: put/get hand-over through a full and an empty queue, a
//! putter and a getter asleep at once, shutdown racing sleepers (plain and immediate), and
//! `join` racing `task_done` and an immediate shutdown; bounded and unbounded, 2-3 threads.
//! A sleeper nobody wakes is a loom deadlock (the futex model never wakes by itself), and
//! loom's causality checks catch an item read before its `put` happened-before.
//!
//! Timed waits are not modelled: a deadline is real time, which a model cannot advance.
//!
//! Run: `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_queue`
#![cfg(threadkit_loom)]

use loom::sync::Arc;
use loom::thread;
use threadkit::{GetError, LifoQueue, PutError, Queue, SimpleQueue};

#[path = "common/loom_two_getters.rs"]
mod two_getters;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// Bounded(1): the producer blocks on a full queue, the consumer on an empty one; both items
/// arrive, in order.
#[test]
fn bounded_one_slot_hand_over() {
    model(|| {
        let q = Arc::new(Queue::with_maxsize(1));
        let p = {
            let q = q.clone();
            thread::spawn(move || {
                q.put(1).unwrap();
                q.put(2).unwrap();
            })
        };
        assert_eq!(q.get(), Ok(1));
        assert_eq!(q.get(), Ok(2));
        p.join().unwrap();
        assert!(q.empty());
    });
}

/// Unbounded: a getter asleep on an empty queue is woken by a put; the item's contents
/// (written before `put`) are visible after `get` (a `Box` read through loom's tracking).
#[test]
fn unbounded_get_woken_by_put() {
    model(|| {
        let q = Arc::new(Queue::<Box<i32>>::new());
        let g = {
            let q = q.clone();
            thread::spawn(move || *q.get().unwrap())
        };
        q.put(Box::new(7)).unwrap();
        assert_eq!(g.join().unwrap(), 7);
    });
}

/// Two getters asleep, one putter with two items: each getter gets one (no wake-up lost when
/// two puts meet two sleepers).
#[test]
fn two_getters_two_items() {
    model(two_getters::two_getters_two_items(
        SimpleQueue::new,
        |q, x| q.put(x),
        |q| q.get().unwrap(),
    ));
}

/// The same on the locked engine (`LifoQueue`), whose wakers call only for a counted getter
/// that has no wake-up coming: a getter that counts itself in between the first put's
/// wake-up and its call must not leave the other asleep.
#[test]
fn lifo_two_getters_two_items() {
    model(two_getters::two_getters_two_items(
        LifoQueue::new,
        |q, x| q.put(x).unwrap(),
        |q| q.get().unwrap(),
    ));
}

/// A putter asleep on a full queue, a getter taking one item: the putter gets the slot.
#[test]
fn full_putter_woken_by_get() {
    model(|| {
        let q = Arc::new(LifoQueue::with_maxsize(1));
        q.put(1).unwrap();
        let p = {
            let q = q.clone();
            thread::spawn(move || q.put(2))
        };
        let first = q.get().unwrap();
        p.join().unwrap().unwrap();
        let second = q.get_nowait().unwrap();
        assert_eq!((first, second), (1, 2));
    });
}

/// A plain shutdown races a getter on an empty queue and a putter on a full one: the getter
/// fails with ShutDown (there is nothing to drain) and the putter gets its item back.
#[test]
fn shutdown_wakes_getter_and_putter() {
    model(|| {
        let empty: Arc<Queue<i32>> = Arc::new(Queue::new());
        let full = Arc::new(Queue::with_maxsize(1));
        full.put(0).unwrap();
        let g = {
            let q = empty.clone();
            thread::spawn(move || q.get())
        };
        let p = {
            let q = full.clone();
            thread::spawn(move || q.put(9))
        };
        empty.shutdown(false);
        full.shutdown(false);
        assert_eq!(g.join().unwrap(), Err(GetError::ShutDown));
        assert_eq!(p.join().unwrap(), Err(PutError::ShutDown(9)));
        assert_eq!(full.get(), Ok(0));
        assert_eq!(full.get(), Err(GetError::ShutDown));
    });
}

/// A getter racing a put and a plain shutdown: it gets the item if the put came first, else
/// ShutDown, and the item is then either got, or refused back to the putter.
#[test]
fn shutdown_races_put_and_get() {
    model(|| {
        let q = Arc::new(Queue::with_maxsize(1));
        let g = {
            let q = q.clone();
            thread::spawn(move || q.get())
        };
        let p = {
            let q = q.clone();
            thread::spawn(move || q.put(5))
        };
        q.shutdown(false);
        let got = g.join().unwrap();
        let put = p.join().unwrap();
        let left = q.get_nowait();
        match put {
            Ok(()) => assert!(got == Ok(5) || left == Ok(5), "{got:?} {left:?}"),
            Err(e) => {
                assert_eq!(e, PutError::ShutDown(5));
                assert_eq!(got, Err(GetError::ShutDown));
            }
        }
    });
}

/// `join` returns only once the worker marked the item done.
#[test]
fn join_waits_for_task_done() {
    model(|| {
        let q = Arc::new(Queue::new());
        let done = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        q.put(1).unwrap();
        let w = {
            let (q, done) = (q.clone(), done.clone());
            thread::spawn(move || {
                q.get().unwrap();
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                q.task_done().unwrap();
            })
        };
        q.join();
        assert!(done.load(std::sync::atomic::Ordering::Relaxed));
        w.join().unwrap();
        assert!(q.task_done().is_err());
    });
}

/// An immediate shutdown releases a joiner: the item it removes counts as done.
#[test]
fn immediate_shutdown_releases_join() {
    model(|| {
        let q = Arc::new(Queue::with_maxsize(2));
        q.put(1).unwrap();
        let j = {
            let q = q.clone();
            thread::spawn(move || q.join())
        };
        assert_eq!(q.shutdown(true), [1]);
        j.join().unwrap();
        assert_eq!(q.get(), Err(GetError::ShutDown));
    });
}

/// Immediate shutdown racing a getter: the item goes to exactly one of them.
#[test]
fn immediate_shutdown_races_getter() {
    model(|| {
        let q = Arc::new(Queue::new());
        q.put(3).unwrap();
        let g = {
            let q = q.clone();
            thread::spawn(move || q.get())
        };
        let removed = q.shutdown(true);
        let got = g.join().unwrap();
        match got {
            Ok(3) => assert!(removed.is_empty()),
            Err(GetError::ShutDown) => assert_eq!(removed, [3]),
            other => panic!("{other:?}"),
        }
    });
}
