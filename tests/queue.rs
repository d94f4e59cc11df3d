//! `threadkit::queue`: behaviour of `Queue`, `LifoQueue`, `PriorityQueue` and `SimpleQueue`
//! (orders, bounds, timeouts, task tracking, 3.13's shutdown), every item dropped exactly once,
//! and panics in `T`'s `Ord` and `Drop` leaving the queue consistent.
//!
//! Timeouts are checked from below only (never "returned within X"), with no upper bound.

use std::cmp::Ordering;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{
    Error, GetError, LifoQueue, PriorityQueue, PutError, Queue, SimpleQueue, TIMEOUT_MAX,
};

const SHORT: Duration = Duration::from_millis(20);

/// Lets a thread that is about to block get there (not a correctness condition: every test
/// passes whichever thread runs first, this only makes the blocking path the likely one).
fn pause() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 10 }));
}

#[test]
fn fifo_lifo_priority_orders() {
    let q = Queue::new();
    let l = LifoQueue::new();
    let p = PriorityQueue::new();
    for x in [3, 1, 4, 1, 5, 9, 2, 6] {
        q.put(x).unwrap();
        l.put(x).unwrap();
        p.put(x).unwrap();
    }
    let drain = |f: &dyn Fn() -> Result<i32, GetError>| {
        let mut v = Vec::new();
        while let Ok(x) = f() {
            v.push(x);
        }
        v
    };
    assert_eq!(drain(&|| q.get_nowait()), [3, 1, 4, 1, 5, 9, 2, 6]);
    assert_eq!(drain(&|| l.get_nowait()), [6, 2, 9, 5, 1, 4, 1, 3]);
    assert_eq!(drain(&|| p.get_nowait()), [1, 1, 2, 3, 4, 5, 6, 9]);
}

#[test]
fn sizes_and_bounds() {
    let q = Queue::with_maxsize(2);
    assert_eq!(q.maxsize(), 2);
    assert!(q.empty() && !q.full());
    q.put(1).unwrap();
    assert_eq!(q.qsize(), 1);
    q.put(2).unwrap();
    assert!(q.full());
    assert_eq!(q.put_nowait(3), Err(PutError::Full(3)));
    assert_eq!(q.put_timeout(4, Duration::ZERO), Err(PutError::Full(4)));
    assert_eq!(q.get(), Ok(1));
    assert!(!q.full());
    let u: Queue<u8> = Queue::default();
    assert_eq!(u.maxsize(), 0);
    for i in 0..100 {
        u.put_nowait(i).unwrap();
    }
    assert!(!u.full());
    assert_eq!(u.qsize(), 100);
}

#[test]
fn empty_get_errors() {
    let q: Queue<u8> = Queue::new();
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
    assert_eq!(q.get_timeout(Duration::ZERO), Err(GetError::Empty));
    assert_eq!(q.get_until(Instant::now()), Err(GetError::Empty));
    let start = Instant::now();
    assert_eq!(q.get_timeout(SHORT), Err(GetError::Empty));
    assert!(start.elapsed() >= SHORT);
    let deadline = Instant::now() + SHORT;
    assert_eq!(q.get_until(deadline), Err(GetError::Empty));
    assert!(Instant::now() >= deadline);
}

#[test]
fn full_put_timeout_never_early() {
    let q = Queue::with_maxsize(1);
    q.put(0).unwrap();
    let start = Instant::now();
    assert_eq!(q.put_timeout(1, SHORT), Err(PutError::Full(1)));
    assert!(start.elapsed() >= SHORT);
    let deadline = Instant::now() + SHORT;
    assert_eq!(q.put_until(2, deadline), Err(PutError::Full(2)));
    assert!(Instant::now() >= deadline);
    assert_eq!(q.put_until(3, Instant::now()), Err(PutError::Full(3)));
}

#[test]
fn timeout_beyond_max_waits_without_one() {
    let q = Arc::new(Queue::with_maxsize(1));
    let q2 = q.clone();
    let t = thread::spawn(move || q2.get_timeout(TIMEOUT_MAX + Duration::from_secs(1)));
    pause();
    q.put(7).unwrap();
    assert_eq!(t.join().unwrap(), Ok(7));
    q.put(1).unwrap();
    let q2 = q.clone();
    let t = thread::spawn(move || q2.put_timeout(2, Duration::MAX));
    pause();
    assert_eq!(q.get(), Ok(1));
    assert_eq!(t.join().unwrap(), Ok(()));
    assert_eq!(q.get(), Ok(2));
}

#[test]
fn blocked_get_and_put_are_released() {
    let q = Arc::new(Queue::with_maxsize(1));
    let q2 = q.clone();
    let getter = thread::spawn(move || q2.get());
    pause();
    q.put(1).unwrap();
    assert_eq!(getter.join().unwrap(), Ok(1));
    q.put(2).unwrap();
    let q2 = q.clone();
    let putter = thread::spawn(move || q2.put(3));
    pause();
    assert_eq!(q.get(), Ok(2));
    putter.join().unwrap().unwrap();
    assert_eq!(q.get(), Ok(3));
}

#[test]
fn timed_get_gets_an_item_put_meanwhile() {
    let q = Arc::new(Queue::new());
    let q2 = q.clone();
    let t = thread::spawn(move || q2.get_timeout(Duration::from_secs(60)));
    pause();
    q.put("x").unwrap();
    assert_eq!(t.join().unwrap(), Ok("x"));
}

#[test]
fn task_done_and_join() {
    let q = Queue::new();
    assert!(matches!(q.task_done(), Err(Error::TooManyTaskDone)));
    assert!(q.join_timeout(Duration::ZERO));
    q.join();
    q.put(1).unwrap();
    q.put(2).unwrap();
    assert!(!q.join_timeout(Duration::ZERO));
    let start = Instant::now();
    assert!(!q.join_timeout(SHORT));
    assert!(start.elapsed() >= SHORT);
    q.get().unwrap();
    q.task_done().unwrap();
    assert!(!q.join_timeout(Duration::ZERO));
    q.get().unwrap();
    q.task_done().unwrap();
    assert!(q.join_timeout(Duration::ZERO));
    // Too many: an error, and the count stays at zero (a later put still needs its task_done).
    assert!(matches!(q.task_done(), Err(Error::TooManyTaskDone)));
    q.put(3).unwrap();
    assert!(!q.join_timeout(Duration::ZERO));
    q.task_done().unwrap();
    q.join();
    assert_eq!(
        Error::TooManyTaskDone.to_string(),
        "task_done() called too many times"
    );
}

#[test]
fn join_is_released_by_the_last_task_done() {
    let q = Arc::new(Queue::new());
    for i in 0..3 {
        q.put(i).unwrap();
    }
    let q2 = q.clone();
    let joiner = thread::spawn(move || q2.join());
    let q3 = q.clone();
    let timed = thread::spawn(move || q3.join_timeout(Duration::from_secs(600)));
    pause();
    for _ in 0..3 {
        q.get().unwrap();
        q.task_done().unwrap();
    }
    joiner.join().unwrap();
    assert!(timed.join().unwrap());
}

#[test]
fn shutdown_plain() {
    let q = Queue::with_maxsize(2);
    q.put(1).unwrap();
    q.put(2).unwrap();
    assert!(!q.is_shutdown());
    assert_eq!(q.shutdown(false), Vec::<i32>::new());
    assert!(q.is_shutdown());
    // Full and shut down: ShutDown wins (CPython checks it first).
    assert_eq!(q.put_nowait(3), Err(PutError::ShutDown(3)));
    assert_eq!(q.put(4), Err(PutError::ShutDown(4)));
    assert_eq!(q.get(), Ok(1));
    assert_eq!(q.put_nowait(5), Err(PutError::ShutDown(5)));
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.get(), Err(GetError::ShutDown));
    assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
    assert_eq!(q.get_timeout(SHORT), Err(GetError::ShutDown));
    // Unfinished tasks are not touched by a plain shutdown.
    assert!(!q.join_timeout(Duration::ZERO));
    q.task_done().unwrap();
    q.task_done().unwrap();
    q.join();
}

#[test]
fn shutdown_immediate_returns_items_in_get_order() {
    let q = Queue::new();
    let l = LifoQueue::new();
    let p = PriorityQueue::new();
    for x in [2, 3, 1] {
        q.put(x).unwrap();
        l.put(x).unwrap();
        p.put(x).unwrap();
    }
    assert_eq!(q.shutdown(true), [2, 3, 1]);
    assert_eq!(l.shutdown(true), [1, 3, 2]);
    assert_eq!(p.shutdown(true), [1, 2, 3]);
    for empty in [q.qsize(), l.qsize(), p.qsize()] {
        assert_eq!(empty, 0);
    }
    assert_eq!(q.get(), Err(GetError::ShutDown));
    // Each removed item counts as done: join returns, and no task is left to mark.
    q.join();
    assert!(matches!(q.task_done(), Err(Error::TooManyTaskDone)));
}

#[test]
fn shutdown_immediate_counts_only_what_it_removes() {
    let q = Queue::new();
    q.put(1).unwrap();
    q.put(2).unwrap();
    q.get().unwrap(); // taken, not yet done
    assert_eq!(q.shutdown(true), [2]);
    assert!(!q.join_timeout(Duration::ZERO));
    q.task_done().unwrap();
    q.join();
}

#[test]
fn shutdown_wakes_blocked_putters_getters_and_joiners() {
    let full = Arc::new(Queue::with_maxsize(1));
    full.put(0).unwrap();
    let putters: Vec<_> = (1..3)
        .map(|i| {
            let q = full.clone();
            thread::spawn(move || q.put(i))
        })
        .collect();
    let empty: Arc<Queue<i32>> = Arc::new(Queue::new());
    let getters: Vec<_> = (0..2)
        .map(|_| {
            let q = empty.clone();
            thread::spawn(move || q.get())
        })
        .collect();
    let joined = Arc::new(Queue::new());
    joined.put(5).unwrap();
    let joiner = {
        let q = joined.clone();
        thread::spawn(move || q.join())
    };
    pause();
    full.shutdown(false);
    empty.shutdown(false);
    assert_eq!(joined.shutdown(true), [5]);
    let mut back: Vec<i32> = putters
        .into_iter()
        .map(|t| match t.join().unwrap() {
            Err(PutError::ShutDown(i)) => i,
            other => panic!("{other:?}"),
        })
        .collect();
    back.sort();
    assert_eq!(back, [1, 2]);
    for g in getters {
        assert_eq!(g.join().unwrap(), Err(GetError::ShutDown));
    }
    joiner.join().unwrap();
    // The plain shutdown kept the item: it is still there to get.
    assert_eq!(full.get(), Ok(0));
}

#[test]
fn blocked_getter_takes_items_left_by_a_plain_shutdown() {
    let q = Arc::new(Queue::new());
    q.put(1).unwrap();
    q.shutdown(false);
    let q2 = q.clone();
    let t = thread::spawn(move || (q2.get(), q2.get()));
    assert_eq!(t.join().unwrap(), (Ok(1), Err(GetError::ShutDown)));
}

#[test]
fn simple_queue() {
    let q = Arc::new(SimpleQueue::new());
    assert!(q.empty());
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
    let start = Instant::now();
    assert_eq!(q.get_timeout(SHORT), Err(GetError::Empty));
    assert!(start.elapsed() >= SHORT);
    assert_eq!(q.get_until(Instant::now()), Err(GetError::Empty));
    for i in 0..10 {
        q.put(i);
    }
    assert_eq!(q.qsize(), 10);
    for i in 0..10 {
        assert_eq!(q.get(), Ok(i));
    }
    let q2 = q.clone();
    let t = thread::spawn(move || q2.get());
    pause();
    q.put(42);
    assert_eq!(t.join().unwrap(), Ok(42));
    assert_eq!(
        format!("{:?}", SimpleQueue::<u8>::default()),
        "SimpleQueue { qsize: 0, .. }"
    );
}

#[test]
fn errors_debug_display_eq() {
    struct Secret;
    let full: PutError<Secret> = PutError::Full(Secret);
    assert_eq!(format!("{full:?}"), "Full(..)");
    assert_eq!(full.to_string(), "queue is full");
    let shut: PutError<Secret> = PutError::ShutDown(Secret);
    assert_eq!(format!("{shut:?}"), "ShutDown(..)");
    assert_eq!(shut.to_string(), "queue is shut down");
    assert_eq!(GetError::Empty.to_string(), "queue is empty");
    assert_eq!(GetError::ShutDown.to_string(), "queue is shut down");
    assert_eq!(PutError::Full(1), PutError::Full(1));
    assert_ne!(PutError::Full(1), PutError::ShutDown(1));
    assert_eq!(PutError::ShutDown("x").into_inner(), "x");
    let boxed: Box<dyn std::error::Error> = Box::new(PutError::Full(Secret));
    assert_eq!(boxed.to_string(), "queue is full");
    let q: Queue<Secret> = Queue::with_maxsize(3);
    q.put(Secret).ok();
    assert_eq!(
        format!("{q:?}"),
        "Queue { maxsize: 3, qsize: 1, is_shutdown: false, .. }"
    );
}

#[test]
fn send_sync_unwind_safe() {
    fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    check::<Queue<String>>();
    check::<LifoQueue<Vec<u8>>>();
    check::<PriorityQueue<u64>>();
    check::<SimpleQueue<Box<u8>>>();
    check::<GetError>();
}

/// Counts drops per id: every item must be dropped exactly once.
struct Tracked {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, SeqCst);
    }
}

fn tracked(n: usize) -> (Arc<Vec<AtomicUsize>>, impl Fn(usize) -> Tracked) {
    let drops: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
    let d = drops.clone();
    (drops, move |id| Tracked {
        id,
        drops: d.clone(),
    })
}

fn all_dropped_once(drops: &[AtomicUsize]) {
    for (i, d) in drops.iter().enumerate() {
        assert_eq!(d.load(SeqCst), 1, "item {i}");
    }
}

#[test]
fn every_item_dropped_exactly_once() {
    let (drops, make) = tracked(10);
    {
        let q = Queue::with_maxsize(4);
        for i in 0..4 {
            q.put(make(i)).unwrap();
        }
        drop(q.put_nowait(make(4)).unwrap_err().into_inner()); // returned, dropped by us
        drop(q.get().unwrap()); // taken
        let removed = q.shutdown(true); // returned
        assert_eq!(removed.len(), 3);
        drop(removed);
        drop(q.put(make(5))); // ShutDown: comes back inside the error
        let l = LifoQueue::new();
        for i in 6..10 {
            l.put(make(i)).unwrap();
        }
        drop(l.get().unwrap());
        // `l` drops with three items left.
    }
    all_dropped_once(&drops);
}

/// Orders by `key`; panics in `cmp` while `PANIC` is on.
struct Touchy {
    key: u32,
    _t: Tracked,
}
static PANIC: AtomicBool = AtomicBool::new(false);
impl Ord for Touchy {
    fn cmp(&self, other: &Self) -> Ordering {
        assert!(!PANIC.load(SeqCst), "Ord panics");
        self.key.cmp(&other.key)
    }
}
impl PartialOrd for Touchy {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Touchy {}

#[test]
fn panicking_ord_leaves_the_queue_consistent() {
    let (drops, make) = tracked(8);
    let q = PriorityQueue::with_maxsize(8);
    for (i, key) in [5, 3, 7].into_iter().enumerate() {
        q.put(Touchy { key, _t: make(i) }).unwrap();
    }
    PANIC.store(true, SeqCst);
    // A put whose sift panics: the item stays in, counted as a task.
    let r = catch_unwind(AssertUnwindSafe(|| {
        q.put(Touchy {
            key: 1,
            _t: make(3),
        })
    }));
    assert!(r.is_err());
    assert_eq!(q.qsize(), 4);
    // A get whose sift panics: the item stays in.
    assert!(catch_unwind(AssertUnwindSafe(|| q.get())).is_err());
    assert_eq!(q.qsize(), 4);
    PANIC.store(false, SeqCst);
    // Not poisoned, nothing lost: the four items come out (in some order after the panics),
    // then four task_done calls balance the four puts.
    let mut keys = Vec::new();
    while let Ok(t) = q.get_nowait() {
        keys.push(t.key);
    }
    keys.sort();
    assert_eq!(keys, [1, 3, 5, 7]);
    for _ in 0..4 {
        q.task_done().unwrap();
    }
    assert!(q.task_done().is_err());
    q.join();
    // It still orders correctly.
    for (i, key) in [(4, 9), (5, 2), (6, 4), (7, 6)] {
        q.put(Touchy { key, _t: make(i) }).unwrap();
    }
    assert_eq!(q.get().unwrap().key, 2);
    q.task_done().unwrap();
    // An immediate shutdown whose sort panics: the queue is shut down, every item stays in
    // (and still counts as a task), so gets drain them.
    PANIC.store(true, SeqCst);
    assert!(catch_unwind(AssertUnwindSafe(|| q.shutdown(true))).is_err());
    PANIC.store(false, SeqCst);
    assert!(q.is_shutdown());
    assert_eq!(q.qsize(), 3);
    assert!(!q.join_timeout(Duration::ZERO));
    let mut keys: Vec<u32> = (0..3).map(|_| q.get().unwrap().key).collect();
    keys.sort();
    assert_eq!(keys, [4, 6, 9]);
    assert_eq!(q.get().err(), Some(GetError::ShutDown));
    drop(q);
    all_dropped_once(&drops);
}

/// Panics when dropped (once per value), after counting.
struct Bomb(Tracked);
impl Drop for Bomb {
    fn drop(&mut self) {
        if self.0.id % 2 == 0 && !thread::panicking() {
            panic!("Drop panics");
        }
    }
}

#[test]
fn panicking_drop_leaves_the_queue_consistent() {
    let (drops, make) = tracked(6);
    let q = Queue::new();
    for i in 0..6 {
        q.put(Bomb(make(i))).unwrap();
    }
    // Dropping a taken item panics in the caller; the queue is untouched by it.
    assert!(catch_unwind(AssertUnwindSafe(|| drop(q.get().unwrap()))).is_err());
    assert_eq!(q.qsize(), 5);
    q.task_done().unwrap();
    drop(q.get().unwrap()); // id 1: no panic
    // Dropping the queue with items whose Drop panics: the panic comes out, every item is
    // still dropped once.
    assert!(catch_unwind(AssertUnwindSafe(|| drop(q))).is_err());
    all_dropped_once(&drops);
}

#[test]
fn many_waiters_each_get_one_item() {
    let n = if cfg!(miri) { 3 } else { 8 };
    let q = Arc::new(Queue::new());
    let getters: Vec<_> = (0..n)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || q.get().unwrap())
        })
        .collect();
    pause();
    for i in 0..n {
        q.put(i).unwrap();
    }
    let mut got: Vec<usize> = getters.into_iter().map(|t| t.join().unwrap()).collect();
    got.sort();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}
