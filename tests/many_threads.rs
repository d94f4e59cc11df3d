//! 10,000 threads at once on each blocking primitive: every one of them asleep in the same
//! `Lock`, `Condition`, `Condvar`, `Semaphore`, `Barrier`, `Queue` or `PriorityQueue`, then
//! released, with exact counts
//! (nobody lost, nobody released twice, nobody released early) and, where Python promises an
//! order, that order. The threads are threadkit `Thread`s with 64 KiB stacks; each test
//! skips (saying why) where the system documents fewer threads or the OS refuses one. Not
//! built under Miri (far beyond what it can run); under ThreadSanitizer 1,000 threads, and the
//! counts in the tests' docs scale with them. `Event` is covered by tests/thread_stack.rs.

#![cfg(not(miri))]

mod common;
#[path = "common/crowd.rs"]
mod crowd;

use common::{eventually, serial};
use crowd::{crowd, join_all, room_for};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;
use threadkit::{Barrier, Condition, Condvar, Lock, Mutex, PriorityQueue, Queue, Semaphore};

/// The threads of each test; 1,000 under ThreadSanitizer (`--cfg threadkit_tsan`, from
/// ci/tsan.sh), which runs out of memory for the shadow state of 10,000.
const N: usize = if cfg!(threadkit_tsan) { 1_000 } else { 10_000 };

/// How long a test leaves released threads to run before it checks that no more than the
/// released ones got through (only a bug could let one through; the time only gives it room).
const SETTLE: Duration = Duration::from_millis(50);

/// Takes the lock of the tests that start crowds (one crowd at a time), if the system has
/// room for one.
fn begin() -> Option<std::sync::MutexGuard<'static, ()>> {
    let s = serial();
    room_for(N).then_some(s)
}

/// Waits until `count` reaches `n`, leaves the released threads [`SETTLE`] to run, and checks
/// that no more got through (`what` says what that would mean).
fn settles_at(count: &AtomicUsize, n: usize, what: &str) {
    assert!(eventually(|| count.load(SeqCst) >= n));
    std::thread::sleep(SETTLE);
    assert_eq!(count.load(SeqCst), n, "{what}");
}

/// `n` counters, one per thread or item.
fn tally(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// The indices whose counter is not exactly `want`, at most the first 10.
fn off(t: &[AtomicUsize], want: usize) -> Vec<(usize, usize)> {
    let bad = t.iter().map(|c| c.load(SeqCst)).enumerate();
    bad.filter(|&(_, c)| c != want).take(10).collect()
}

/// Every thread sleeps in one held `Lock` (a waiter count of 10,000 in its word); after the
/// release, each gets it once, alone.
#[test]
fn ten_thousand_waiters_on_one_lock() {
    let Some(_s) = begin() else { return };
    let lock = Arc::new(Lock::new());
    let (arrived, inside, overlaps, entered) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    lock.acquire();
    let (l, a, i, o, e) = (
        lock.clone(),
        arrived.clone(),
        inside.clone(),
        overlaps.clone(),
        entered.clone(),
    );
    let Some(ts) = crowd(
        N,
        || lock.release().unwrap(),
        move |_| {
            a.fetch_add(1, SeqCst);
            l.acquire();
            if i.swap(true, SeqCst) {
                o.fetch_add(1, SeqCst);
            }
            e.fetch_add(1, SeqCst);
            i.store(false, SeqCst);
            l.release().unwrap();
        },
    ) else {
        return;
    };
    assert!(eventually(|| arrived.load(SeqCst) == N));
    std::thread::sleep(SETTLE); // most of them asleep in the lock by now
    assert_eq!(entered.load(SeqCst), 0, "got in while the lock was held");
    lock.release().unwrap();
    join_all(&ts);
    assert_eq!(entered.load(SeqCst), N);
    assert_eq!(
        overlaps.load(SeqCst),
        0,
        "two threads held the lock at once"
    );
    assert!(!lock.locked());
}

/// Every thread waits on one `Condition`: `notify(3000)` releases exactly the 3,000 oldest
/// (Python's FIFO), nobody else returns, and `notify_all` releases the rest.
#[test]
fn ten_thousand_waiters_on_one_condition() {
    let Some(_s) = begin() else { return };
    const FIRST: usize = N * 3 / 10;
    let cond = Arc::new(Condition::with_lock(Lock::new()));
    // Both under the condition's lock: the next arrival's ticket, and how many returned.
    let (tickets, returned) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let woken = tally(N); // by ticket
    let (c, t, r, w) = (
        cond.clone(),
        tickets.clone(),
        returned.clone(),
        woken.clone(),
    );
    let unblock = || {
        cond.acquire();
        cond.notify_all().unwrap();
        cond.release().unwrap();
    };
    let Some(ts) = crowd(N, unblock, move |_| {
        c.acquire();
        let ticket = t.fetch_add(1, SeqCst);
        c.wait().unwrap();
        w[ticket].fetch_add(1, SeqCst);
        r.fetch_add(1, SeqCst);
        c.release().unwrap();
    }) else {
        return;
    };
    // A ticket is taken under the lock that `wait` releases only once the waiter is queued.
    let under_lock = |f: &dyn Fn() -> bool| {
        cond.acquire();
        let ok = f();
        cond.release().unwrap();
        ok
    };
    assert!(eventually(|| under_lock(&|| tickets.load(SeqCst) == N)));
    assert_eq!(returned.load(SeqCst), 0, "returned without a notify");
    cond.acquire();
    cond.notify(FIRST).unwrap();
    cond.release().unwrap();
    settles_at(
        &returned,
        FIRST,
        &format!("notify({FIRST}) released others too"),
    );
    assert_eq!(
        off(&woken[..FIRST], 1),
        [],
        "an oldest waiter was not released once"
    );
    assert_eq!(
        off(&woken[FIRST..], 0),
        [],
        "a newer waiter was released first"
    );
    cond.acquire();
    cond.notify_all().unwrap();
    cond.release().unwrap();
    join_all(&ts);
    assert_eq!(returned.load(SeqCst), N);
    assert_eq!(off(&woken, 1), []);
}

/// Every thread waits on one `Condvar`, notified without the mutex held: 2,000 `notify_one`
/// calls release exactly 2,000 of them, and `notify_all` reports and releases the rest.
#[test]
fn ten_thousand_waiters_on_one_condvar() {
    let Some(_s) = begin() else { return };
    const FIRST: usize = N / 5;
    let pair = Arc::new((Mutex::new(0usize), Condvar::new()));
    let returned = Arc::new(AtomicUsize::new(0));
    let (p, r) = (pair.clone(), returned.clone());
    let unblock = || {
        pair.1.notify_all();
    };
    let Some(ts) = crowd(N, unblock, move |_| {
        let (m, cv) = &*p;
        let mut waiting = m.lock();
        *waiting += 1;
        cv.wait(&mut waiting);
        r.fetch_add(1, SeqCst);
    }) else {
        return;
    };
    // The count is raised under the mutex that `wait` releases only once the waiter is queued.
    assert!(eventually(|| *pair.0.lock() == N));
    for _ in 0..FIRST {
        assert!(pair.1.notify_one(), "no waiter to notify");
    }
    settles_at(
        &returned,
        FIRST,
        &format!("{FIRST} notify_one calls released more"),
    );
    assert_eq!(pair.1.notify_all(), N - FIRST);
    join_all(&ts);
    assert_eq!(returned.load(SeqCst), N);
    assert!(!pair.1.notify_one());
}

/// Every thread blocks in `acquire` on a `Semaphore` of 0: `release_n(4000)` lets exactly
/// 4,000 through, the rest wait for the second `release_n`, and the value ends at 0.
#[test]
fn ten_thousand_waiters_on_one_semaphore() {
    let Some(_s) = begin() else { return };
    const FIRST: usize = N * 2 / 5;
    let sem = Arc::new(Semaphore::new(0));
    let (arrived, passed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (s, a, p) = (sem.clone(), arrived.clone(), passed.clone());
    let Some(ts) = crowd(
        N,
        || sem.release_n(N).unwrap(),
        move |_| {
            a.fetch_add(1, SeqCst);
            s.acquire();
            p.fetch_add(1, SeqCst);
        },
    ) else {
        return;
    };
    assert!(eventually(|| arrived.load(SeqCst) == N));
    std::thread::sleep(SETTLE);
    assert_eq!(passed.load(SeqCst), 0, "acquired a semaphore of 0");
    sem.release_n(FIRST).unwrap();
    settles_at(
        &passed,
        FIRST,
        &format!("release_n({FIRST}) let more through"),
    );
    assert_eq!(sem.value(), 0);
    sem.release_n(N - FIRST).unwrap();
    join_all(&ts);
    assert_eq!(passed.load(SeqCst), N);
    assert_eq!(sem.value(), 0);
}

/// A `Barrier` of 10,000 parties, two rounds: each round hands out every index exactly once.
#[test]
fn a_barrier_of_ten_thousand_parties() {
    let Some(_s) = begin() else { return };
    const ROUNDS: usize = 2;
    let barrier = Arc::new(Barrier::new(N));
    let indices = tally(ROUNDS * N); // round * N + index
    let errors = Arc::new(AtomicUsize::new(0));
    let (b, x, e) = (barrier.clone(), indices.clone(), errors.clone());
    let Some(ts) = crowd(
        N,
        || barrier.abort(),
        move |_| {
            for round in 0..ROUNDS {
                let counter = match b.wait() {
                    Ok(i) => &x[round * N + i],
                    Err(_) => &*e,
                };
                counter.fetch_add(1, SeqCst);
            }
        },
    ) else {
        return;
    };
    join_all(&ts);
    assert_eq!(errors.load(SeqCst), 0, "a wait failed");
    assert_eq!(off(&indices, 1), [], "an index given out twice, or never");
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

/// Starts `N` getters that each run `take` (a blocking get that marks its item done; `None`
/// once the queue is shut down), then `put`s `items` (`0..N` in some order). Checks that every
/// item arrived exactly once; `false` if the crowd could not start (after `shut`).
fn getters_take_every_item_once(
    take: impl Fn() -> Option<usize> + Send + Sync + Clone + 'static,
    shut: impl FnOnce(),
    put: impl Fn(usize),
    items: impl Iterator<Item = usize>,
) -> bool {
    let got = tally(N);
    let g = got.clone();
    let Some(ts) = crowd(N, shut, move |_| {
        if let Some(v) = take() {
            g[v].fetch_add(1, SeqCst);
        }
    }) else {
        return false;
    };
    items.for_each(put);
    join_all(&ts);
    assert_eq!(off(&got, 1), [], "an item taken twice, or never");
    true
}

/// [`getters_take_every_item_once`] on `$q` (an `Arc` of any of the queue types: they share
/// method names, not a trait), each getter marking its item done.
macro_rules! getters_on {
    ($q:expr, $items:expr) => {{
        let q = $q;
        let q2 = q.clone();
        let take = move || {
            let v = q2.get().ok()?;
            q2.task_done().unwrap();
            Some(v)
        };
        let shut = || drop(q.shutdown(true));
        getters_take_every_item_once(take, shut, |v| q.put(v).unwrap(), $items)
    }};
}

/// 10,000 getters asleep on an empty one-slot `Queue`, then 10,000 putters asleep on a full
/// one: every item arrives exactly once, and `join` sees every task done.
#[test]
fn ten_thousand_getters_then_putters_on_a_one_slot_queue() {
    let Some(_s) = begin() else { return };
    let q: Arc<Queue<usize>> = Arc::new(Queue::with_maxsize(1));
    if !getters_on!(&q, 0..N) {
        return;
    }
    assert!(
        q.join_timeout(Duration::from_secs(30)),
        "a task not marked done"
    );

    // The other way round: the putters sleep while the slot is full.
    q.put(N).unwrap();
    let q2 = q.clone();
    let Some(ts) = crowd(N, || drop(q.shutdown(true)), move |v| q2.put(v).unwrap()) else {
        return;
    };
    let got = tally(N + 1);
    for _ in 0..=N {
        got[q.get().unwrap()].fetch_add(1, SeqCst);
        q.task_done().unwrap();
    }
    join_all(&ts);
    assert_eq!(off(&got, 1), [], "an item taken twice, or never");
    assert!(q.empty());
    assert!(q.join_timeout(Duration::from_secs(30)));
}

/// 10,000 getters asleep on an empty `PriorityQueue` (the locked engine, whose sleepers are
/// counted under its lock): every item, put largest first, arrives exactly once.
#[test]
fn ten_thousand_getters_on_a_priority_queue() {
    let Some(_s) = begin() else { return };
    let q: Arc<PriorityQueue<usize>> = Arc::new(PriorityQueue::new());
    if getters_on!(&q, (0..N).rev()) {
        assert!(q.empty());
        assert!(q.join_timeout(Duration::from_secs(30)));
    }
}
