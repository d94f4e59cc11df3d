//! Loom models of the notify window (`rt::notify_window`) above 1: several token holders at
//! once, chained waiters behind them, and tokens returned when the chain runs dry. The models
//! in `tests/loom_condition.rs` cover a window of 1 (one token). Also the awake-first order of
//! `Condvar::notify_one` (`Order::AwakeFirst`), on a `Condition`'s queue.

use crate::rt::LOOM_NOTIFY_WINDOW;
use crate::{Condition, Lock};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;

fn model_with_window(window: u32, preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    LOOM_NOTIFY_WINDOW.with(|w| w.set(window));
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(preemptions);
    b.check(f);
    LOOM_NOTIFY_WINDOW.with(|w| w.set(1));
}

/// Spawns `waiters` threads that each wait once on `c` and count themselves in `done` when
/// they return; returns them once all are queued, with `c`'s lock held.
fn queue_waiters(
    c: &Arc<Condition<Lock>>,
    waiters: usize,
    done: &Arc<AtomicUsize>,
) -> Vec<thread::JoinHandle<()>> {
    let queued = Arc::new(AtomicUsize::new(0));
    let ts = (0..waiters)
        .map(|_| {
            let (c, queued, done) = (c.clone(), queued.clone(), done.clone());
            thread::spawn(move || {
                c.acquire();
                queued.fetch_add(1, SeqCst);
                c.wait().unwrap();
                done.fetch_add(1, SeqCst);
                c.release().unwrap();
            })
        })
        .collect();
    loop {
        c.acquire();
        if queued.load(SeqCst) == waiters {
            return ts;
        }
        c.release().unwrap();
        thread::yield_now();
    }
}

/// Joins `ts`, checks that all `waiters` returned, and that `c`'s lock ends free with nobody
/// counted on it.
fn join_all(c: &Condition<Lock>, ts: Vec<thread::JoinHandle<()>>, done: &AtomicUsize) {
    let waiters = ts.len();
    for t in ts {
        t.join().unwrap();
    }
    assert_eq!(done.load(SeqCst), waiters);
    let lock = format!("{:?}", c.lock());
    assert!(
        lock.contains("locked: false") && lock.contains("waiters: 0"),
        "{lock}"
    );
}

/// `waiters` threads queue on one condition, one `notify_all` releases them all; every one
/// returns notified, the lock ends free with nobody counted, and no token is left out.
fn notify_all_releases_everyone(window: u32, waiters: usize, preemptions: usize) {
    model_with_window(window, preemptions, move || {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        let done = Arc::new(AtomicUsize::new(0));
        let ts = queue_waiters(&c, waiters, &done);
        let n = u32::try_from(waiters).unwrap();
        assert_eq!(c.queue.notify(usize::MAX, Some(c.lock())), waiters);
        assert_eq!(c.queue.tokens_out(), (n - 1).min(window));
        c.release().unwrap();
        join_all(&c, ts, &done);
        assert_eq!(c.queue.tokens_out(), 0, "a token was not returned");
    });
}

/// Window 2, two waiters: both released at once, the first with a token that finds no chain
/// and is returned.
#[test]
fn window_two_releases_two_at_once() {
    notify_all_releases_everyone(2, 2, 2);
}

/// Window 2, three waiters: two released with one token, the third chained until the token
/// holder passes it on.
#[test]
fn window_two_chains_the_third() {
    notify_all_releases_everyone(2, 3, 1);
}

/// `Condvar::notify_one`'s order (`Order::AwakeFirst`, on a `Condition`'s queue: `Condvar`
/// itself is not built under the model): two waiters, two awake-first notifies, the first
/// with the lock held (a sleeper is requeued onto it), the second with the lock free. In every
/// interleaving of a waiter going to sleep with the notifies, each notify releases exactly one
/// waiter, both return notified, and the lock ends free with nobody counted.
#[test]
fn awake_first_notify_one_releases_each_waiter_once() {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(|| {
        let c = Arc::new(Condition::with_lock(Lock::new()));
        let done = Arc::new(AtomicUsize::new(0));
        let ts = queue_waiters(&c, 2, &done);
        assert!(c.queue.notify_one_awake_first());
        c.release().unwrap();
        assert!(c.queue.notify_one_awake_first());
        assert!(!c.queue.notify_one_awake_first());
        join_all(&c, ts, &done);
    });
}
