//! Loom models of the lock-free list behind an unbounded `threadkit::Queue` (under the model
//! a segment holds two slots, so three items cross a segment step): puts and gets racing
//! over the step (the link of the next segment, the head's move, the freeing of the old
//! segment by its last reader while another reader is still in its slot, the reuse of a
//! segment that its readers left, the first segment's lazy install), a getter asleep
//! on the empty list woken by a put, and an immediate shutdown racing a put and a get (every
//! item comes out exactly once). A sleeper nobody wakes is a loom deadlock (the futex model
//! never wakes by itself), and loom's causality checks catch an item read before its `put`
//! happened-before.
//!
//! Run: `RUSTFLAGS="--cfg threadkit_loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=3 cargo test --release --test loom_list`
#![cfg(threadkit_loom)]

use loom::sync::Arc;
use loom::thread;
use threadkit::{GetError, PutError, Queue};

/// Three-thread models (two spawned) take two preemptions, to stay under a minute.
fn model(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(preemptions);
    // The retry loops (a CAS lost, a partner's store awaited) each add branches.
    b.max_branches = 100_000;
    b.check(f);
}

/// One item in, then a putter adds two more (the second links the next segment) while the
/// main thread takes all three: FIFO order across the step, each item's contents visible.
#[test]
fn put_and_get_across_a_segment_step() {
    model(3, || {
        let q = Arc::new(Queue::new());
        q.put(Box::new(1)).unwrap();
        let p = {
            let q = q.clone();
            thread::spawn(move || {
                q.put(Box::new(2)).unwrap();
                q.put(Box::new(3)).unwrap();
            })
        };
        for i in 1..=3 {
            assert_eq!(*q.get().unwrap(), i);
        }
        p.join().unwrap();
        assert!(q.empty());
    });
}

/// A getter takes five items while the main thread puts the last five of seven: the put that
/// needs the third segment takes the first one back (kept by its last reader, reset there)
/// when the getter has left it, allocates one when not, or races the getter's hand-over; the
/// getter then reads from the reused segment while it is being filled (its link and slot
/// states must be as new: without the reset the model fails). Every item comes out once and
/// in order, and loom's cell tracking checks the reset and the new items' writes against the
/// getter's reads of the old ones.
#[test]
fn a_left_segment_is_reused_by_the_tail() {
    model(3, || {
        let q = Arc::new(Queue::new());
        q.put(Box::new(1)).unwrap();
        q.put(Box::new(2)).unwrap();
        let g = {
            let q = q.clone();
            thread::spawn(move || {
                for i in 1..=5 {
                    assert_eq!(*q.get().unwrap(), i);
                }
            })
        };
        for i in 3..=7 {
            q.put(Box::new(i)).unwrap();
        }
        g.join().unwrap();
        for i in 6..=7 {
            assert_eq!(*q.get().unwrap(), i);
        }
        assert!(q.empty());
    });
}

/// Two getters take the two items of the first segment at once: the reader of the last slot
/// moves the head, and whichever of the two completes the segment's read count frees it
/// (the other may still be in its slot); a third item (which made the link) stays for the
/// main thread.
#[test]
fn last_reader_frees_while_another_reads() {
    model(3, || {
        let q = Arc::new(Queue::new());
        for i in 1..=3 {
            q.put(Box::new(i)).unwrap();
        }
        let gs: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || *q.get().unwrap())
            })
            .collect();
        let mut got: Vec<i32> = gs.into_iter().map(|g| g.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, [1, 2]);
        assert_eq!(q.get_nowait().map(|b| *b), Ok(3));
        assert_eq!(q.qsize(), 0);
    });
}

/// Two putters race for the last slot of a segment and the first of the next while a getter
/// takes what comes: both items arrive once, each after the one already in.
#[test]
fn two_putters_race_over_the_step() {
    model(2, || {
        let q = Arc::new(Queue::new());
        q.put(0).unwrap();
        let ps: Vec<_> = [1, 2]
            .into_iter()
            .map(|i| {
                let q = q.clone();
                thread::spawn(move || q.put(i).unwrap())
            })
            .collect();
        assert_eq!(q.get(), Ok(0));
        let mut got = vec![q.get().unwrap(), q.get().unwrap()];
        for p in ps {
            p.join().unwrap();
        }
        got.sort();
        assert_eq!(got, [1, 2]);
        assert_eq!(q.get_nowait(), Err(GetError::Empty));
    });
}

/// A getter asleep on the empty list is woken by the put of the last slot of the segment
/// (the put that links the next one), then takes the next item too.
#[test]
fn getter_asleep_woken_by_put() {
    model(3, || {
        let q = Arc::new(Queue::new());
        q.put(0).unwrap();
        assert_eq!(q.get(), Ok(0));
        let g = {
            let q = q.clone();
            thread::spawn(move || (q.get().unwrap(), q.get().unwrap()))
        };
        q.put(1).unwrap();
        q.put(2).unwrap();
        assert_eq!(g.join().unwrap(), (1, 2));
    });
}

/// An immediate shutdown racing a put (into the last slot of the segment: it links the
/// next) and a get, on a list holding one item: each item is got, removed (in get order) or
/// refused back to its putter, exactly once; the removed ones count as done.
#[test]
fn immediate_shutdown_races_put_and_get() {
    model(2, || {
        let q = Arc::new(Queue::new());
        q.put(1).unwrap();
        let putter = {
            let q = q.clone();
            thread::spawn(move || q.put(2).err().map(PutError::into_inner))
        };
        let getter = {
            let q = q.clone();
            thread::spawn(move || q.get().ok())
        };
        let mut out = q.shutdown(true);
        assert!(out.is_sorted(), "removed out of get order: {out:?}");
        out.extend(putter.join().unwrap());
        let got = getter.join().unwrap();
        out.extend(got);
        out.sort_unstable();
        assert_eq!(out, [1, 2], "an item lost or doubled");
        assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
        assert_eq!(q.put(3), Err(PutError::ShutDown(3)));
        assert_eq!(q.join_timeout(std::time::Duration::ZERO), got.is_none());
    });
}

/// `join` waits for the `task_done` of an item taken over the segment step; one more
/// `task_done` is refused.
#[test]
fn join_waits_for_task_done_over_the_step() {
    model(3, || {
        let q = Arc::new(Queue::new());
        q.put(0).unwrap();
        q.put(1).unwrap();
        assert_eq!(q.get(), Ok(0));
        q.task_done().unwrap();
        let w = {
            let q = q.clone();
            thread::spawn(move || {
                q.get().unwrap();
                q.task_done().unwrap();
            })
        };
        q.join();
        w.join().unwrap();
        assert!(q.task_done().is_err());
    });
}

/// Two getters (asleep, or not yet) and a putter that fills the last slot of the first
/// segment and the first of the next: the three items come out once each, the segment is
/// freed by whichever reader leaves it last.
#[test]
fn two_getters_one_putter_over_the_step() {
    model(3, || {
        let q = Arc::new(Queue::new());
        q.put(Box::new(0)).unwrap();
        let gs: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || *q.get().unwrap())
            })
            .collect();
        q.put(Box::new(1)).unwrap();
        q.put(Box::new(2)).unwrap();
        let mut got: Vec<i32> = gs.into_iter().map(|g| g.join().unwrap()).collect();
        got.push(*q.get().unwrap());
        got.sort();
        assert_eq!(got, [0, 1, 2]);
    });
}

/// A new list has no segment: two putters race to install the first (boxed items: loom's
/// cell tracking checks their writes against the reads) while a getter waits for an item,
/// which may come before the winner has stored the head's segment. One segment wins, the
/// loser's is kept or freed (a leak fails the model), both items come out once.
#[test]
fn first_puts_race_to_install_the_first_segment() {
    model(2, || {
        let q = Arc::new(Queue::new());
        let p = {
            let q = q.clone();
            thread::spawn(move || q.put(Box::new(1)).unwrap())
        };
        let g = {
            let q = q.clone();
            thread::spawn(move || *q.get().unwrap())
        };
        q.put(Box::new(2)).unwrap();
        p.join().unwrap();
        let mut got = vec![g.join().unwrap(), *q.get().unwrap()];
        got.sort();
        assert_eq!(got, [1, 2]);
        assert!(q.empty());
    });
}
