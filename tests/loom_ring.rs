//! Loom models of the lock-free ring behind a bounded `threadkit::Queue` (maxsize 1 and 2):
//! two putters meeting two getters through one slot, the wrap-around of the stamps, sleepers
//! on both sides woken without a lost or a doubled wake-up, `join` racing `task_done`, and an
//! immediate shutdown racing a put and a get (every item comes out exactly once, in order).
//! A sleeper nobody wakes is a loom deadlock (the futex model never wakes by itself), and
//! loom's causality checks catch an item read before its `put` happened-before.
//!
//! Run: `RUSTFLAGS="--cfg threadkit_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_ring`
#![cfg(threadkit_loom)]

use loom::sync::Arc;
use loom::thread;
use threadkit::{GetError, PutError, Queue};

#[path = "common/loom_two_getters.rs"]
mod two_getters;

fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bound(3, f);
}

/// Three-thread models: two preemptions keep them to minutes.
fn model_bound(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(preemptions);
    // The ring's retry loops (a CAS lost, a partner's stamp store awaited) each add branches.
    b.max_branches = 100_000;
    b.check(f);
}

/// Two putters through one slot to a getter that sleeps on the empty ring while they sleep
/// on the full one: both items arrive, once each.
#[test]
fn two_putters_one_slot() {
    model_bound(2, || {
        let q = Arc::new(Queue::with_maxsize(1));
        let ps: Vec<_> = [1, 2]
            .into_iter()
            .map(|i| {
                let q = q.clone();
                thread::spawn(move || q.put(Box::new(i)).unwrap())
            })
            .collect();
        let mut got = vec![*q.get().unwrap(), *q.get().unwrap()];
        for p in ps {
            p.join().unwrap();
        }
        got.sort();
        assert_eq!(got, [1, 2]);
        assert!(q.empty());
    });
}

/// Two slots, three items: the putter laps the ring and waits on it full; FIFO order holds
/// across the wrap, and each item's contents are visible to the getter.
#[test]
fn wrap_around_in_order() {
    model(|| {
        let q = Arc::new(Queue::with_maxsize(2));
        let p = {
            let q = q.clone();
            thread::spawn(move || {
                for i in 1..=3 {
                    q.put(Box::new(i)).unwrap();
                }
            })
        };
        for i in 1..=3 {
            assert_eq!(*q.get().unwrap(), i);
        }
        p.join().unwrap();
        assert_eq!(q.qsize(), 0);
    });
}

/// Two getters asleep on an empty ring, two puts: each getter gets one item (the wake-up
/// accounting never skips a sleeper that has no wake-up coming).
#[test]
fn two_getters_two_puts() {
    model_bound(
        1,
        two_getters::two_getters_two_items(
            || Queue::with_maxsize(2),
            |q, x| q.put(x).unwrap(),
            |q| q.get().unwrap(),
        ),
    );
}

/// `join` on a ring returns only once the worker marked its item done; one more `task_done`
/// is refused.
#[test]
fn join_waits_for_task_done() {
    model(|| {
        let q = Arc::new(Queue::with_maxsize(1));
        let done = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let w = {
            let (q, done) = (q.clone(), done.clone());
            thread::spawn(move || {
                q.get().unwrap();
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                q.task_done().unwrap();
            })
        };
        q.put(1).unwrap();
        q.join();
        assert!(done.load(std::sync::atomic::Ordering::Relaxed));
        w.join().unwrap();
        assert!(q.task_done().is_err());
    });
}

/// An immediate shutdown racing a put and a get on a ring holding one item: every item that
/// entered comes out exactly once (got, removed in order, or refused back to its putter), the
/// removed ones count as done, and gets fail afterwards.
#[test]
fn immediate_shutdown_races_put_and_get() {
    model_bound(2, || {
        let q = Arc::new(Queue::with_maxsize(2));
        q.put(1).unwrap();
        let p = {
            let q = q.clone();
            thread::spawn(move || q.put(2))
        };
        let g = {
            let q = q.clone();
            thread::spawn(move || q.get())
        };
        let removed = q.shutdown(true);
        let put = p.join().unwrap();
        let got = g.join().unwrap();
        assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
        let mut seen: Vec<i32> = removed.clone();
        if let Ok(x) = got {
            seen.push(x);
        } else {
            assert_eq!(got, Err(GetError::ShutDown));
        }
        match put {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e, PutError::ShutDown(2));
                seen.push(2);
            }
        }
        seen.sort();
        assert_eq!(seen, [1, 2]);
        let mut sorted = removed.clone();
        sorted.sort();
        assert_eq!(removed, sorted, "removed out of get order");
        // Only the got item is unfinished.
        assert_eq!(q.join_timeout(std::time::Duration::ZERO), got.is_err());
    });
}

/// A putter asleep on a full ring and a plain shutdown: the putter gets its item back, the
/// queued item is still got, then ShutDown.
#[test]
fn shutdown_wakes_full_putter() {
    model(|| {
        let q = Arc::new(Queue::with_maxsize(1));
        q.put(0).unwrap();
        let p = {
            let q = q.clone();
            thread::spawn(move || q.put(9))
        };
        q.shutdown(false);
        assert_eq!(p.join().unwrap(), Err(PutError::ShutDown(9)));
        assert_eq!(q.get(), Ok(0));
        assert_eq!(q.get(), Err(GetError::ShutDown));
    });
}
