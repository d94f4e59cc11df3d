//! Loom models of `Barrier`: rounds with 2-3 threads, abort and reset racing arrivals.
#![cfg(threadkit_loom)]

use loom::sync::Arc;
use loom::thread;
use std::time::Duration;
use threadkit::Barrier;

fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bound(2, f)
}

/// Starts two threads, each running `f` on the barrier; join them with [`results`].
fn two<R: 'static>(b: &Arc<Barrier>, f: fn(&Barrier) -> R) -> Vec<thread::JoinHandle<R>> {
    (0..2)
        .map(|_| {
            let b = b.clone();
            thread::spawn(move || f(&b))
        })
        .collect()
}

fn results<R>(ts: Vec<thread::JoinHandle<R>>) -> Vec<R> {
    ts.into_iter().map(|t| t.join().unwrap()).collect()
}

fn model_bound(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    b.check(f);
}

#[test]
fn two_parties_two_rounds() {
    model(|| {
        let b = Arc::new(Barrier::new(2));
        let b2 = b.clone();
        let t = thread::spawn(move || [b2.wait().unwrap(), b2.wait().unwrap()]);
        let mine = [b.wait().unwrap(), b.wait().unwrap()];
        let theirs = t.join().unwrap();
        for round in 0..2 {
            assert_eq!(mine[round] + theirs[round], 1, "indexes 0 and 1 each round");
        }
        assert_eq!(b.n_waiting(), 0);
        assert!(!b.broken());
    });
}

#[test]
fn three_parties_with_action() {
    // Three threads: a preemption bound of 1 keeps the model well under a minute.
    model_bound(1, || {
        let runs = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let r = runs.clone();
        let b = Arc::new(Barrier::with_action(3, move || {
            r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                let runs = runs.clone();
                thread::spawn(move || {
                    let i = b.wait().unwrap();
                    // The action ran before anyone was released.
                    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
                    i
                })
            })
            .collect();
        let mut idx = vec![b.wait().unwrap()];
        idx.extend(ts.into_iter().map(|t| t.join().unwrap()));
        idx.sort();
        assert_eq!(idx, [0, 1, 2]);
    });
}

#[test]
fn abort_racing_arrivals() {
    model(|| {
        let b = Arc::new(Barrier::new(2));
        let ts = two(&b, |b| b.wait().is_ok());
        b.abort();
        let r = results(ts);
        // Either the round completed before the abort (both succeed) or it was broken
        // (both fail): a completed round is never turned into an error.
        assert_eq!(r[0], r[1]);
        assert!(b.broken());
    });
}

#[test]
fn reset_racing_arrivals() {
    model(|| {
        let b = Arc::new(Barrier::new(2));
        // A timeout keeps a thread left alone by the reset from waiting forever.
        let ts = two(&b, |b| b.wait_timeout(Duration::from_secs(1)).is_ok());
        b.reset();
        let r = results(ts);
        if r[0] || r[1] {
            assert!(r[0] && r[1], "a round succeeds for both or neither");
        }
        assert_eq!(b.n_waiting(), 0);
        b.reset();
        assert!(!b.broken());
    });
}

/// A waiter whose deadline has passed before it sleeps (zero timeout) breaks the round without
/// announcing itself as a sleeper; a partner that sleeps meanwhile is still woken by the break
/// (a lost wake-up would be a loom deadlock), and the round succeeds for both or neither.
#[test]
fn expired_waiter_racing_an_arrival() {
    model(|| {
        let b = Arc::new(Barrier::new(2));
        let b2 = b.clone();
        let t = thread::spawn(move || b2.wait().is_ok());
        let mine = b.wait_timeout(Duration::ZERO).is_ok();
        let theirs = t.join().unwrap();
        assert_eq!(mine, theirs, "a round succeeds for both or neither");
        assert_eq!(b.broken(), !mine);
        assert_eq!(b.n_waiting(), 0);
    });
}

/// Three timed waits on a barrier of two: whoever comes third arrives while round 1 runs its
/// action or after it was released, enters round 2 (its timeout only starts then) and times out alone. A timeout never
/// breaks a round that was released: if the action ran, exactly its two threads succeed.
#[test]
fn timed_arrival_after_a_released_round() {
    model_bound(1, || {
        let rounds = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let r = rounds.clone();
        let b = Arc::new(Barrier::with_action(2, move || {
            r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        let ts = two(&b, |b| b.wait_timeout(Duration::from_secs(1)));
        let mut results = vec![b.wait_timeout(Duration::from_secs(1))];
        results.extend(crate::results(ts));
        let mut ok: Vec<usize> = results.into_iter().filter_map(Result::ok).collect();
        ok.sort();
        match rounds.load(std::sync::atomic::Ordering::SeqCst) {
            0 => assert!(ok.is_empty()),
            1 => assert_eq!(ok, [0, 1], "the released round's two threads succeed"),
            n => panic!("{n} rounds with three threads on a barrier of two"),
        }
        assert!(
            b.broken(),
            "the third thread (or an early timeout) broke the barrier"
        );
    });
}

/// A reset and an abort racing two arrivals on a barrier of two: whatever the order, each
/// thread gets one answer (a round succeeds for both or neither), a round left by its
/// failed waiters is opened again by the last one out (a later reset makes the barrier
/// usable: a new pair of threads passes it), and nothing counts a thread twice.
#[test]
fn reset_and_abort_racing_a_round_then_a_fresh_round() {
    model_bound(1, || {
        let b = Arc::new(Barrier::new(2));
        let ts = two(&b, |b| b.wait().is_ok());
        b.reset();
        b.abort();
        let r = results(ts);
        assert_eq!(r[0], r[1], "a round succeeds for both or neither");
        assert!(b.broken());
        assert_eq!(b.n_waiting(), 0);
        b.reset();
        assert!(!b.broken());
        let b2 = b.clone();
        let t = thread::spawn(move || b2.wait().unwrap());
        let mine = b.wait().unwrap();
        assert_eq!(
            mine + t.join().unwrap(),
            1,
            "indexes 0 and 1 in the fresh round"
        );
    });
}
