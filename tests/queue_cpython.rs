//! A port of CPython 3.13's `Lib/test/test_queue.py`: `BaseQueueTestMixin` for `Queue`,
//! `LifoQueue` and `PriorityQueue` (one module each, below), and `BaseSimpleQueueTest` for
//! `SimpleQueue`. Each test keeps CPython's name and steps; Python's exceptions become the
//! `Err` values of the Rust API (`queue.Full` -> `PutError::Full`, `queue.Empty` ->
//! `GetError::Empty`, `queue.ShutDown` -> `ShutDown`, `ValueError` from `task_done` ->
//! `Error::TooManyTaskDone`).
//!
//! Not ported, and why:
//! - `test_negative_timeout_raises_exception` (both mixins): a `Duration` cannot be negative,
//!   so the `ValueError` case does not exist.
//! - `test_shrinking_queue`: assigns `q.maxsize` after creation; threadkit's `maxsize` is fixed
//!   at creation (there is no setter to shrink a queue).
//! - `FailingQueueTest`: subclasses `Queue` to make `_put`/`_get` raise. Rust queues have no
//!   overridable hooks; the nearest equivalent, user code that panics inside the queue (`T`'s
//!   `Ord` in a `PriorityQueue`, `T`'s `Drop`), is tested in tests/queue.rs
//!   (`panicking_ord_leaves_the_queue_consistent`, `panicking_drop_leaves_the_queue_consistent`).
//! - `CSimpleQueueTest.test_is_default`: checks that the C implementation is the one exported;
//!   there is one implementation here.
//! - `CSimpleQueueTest.test_reentrancy` (bpo-14976): `put` called from a `__del__` that the
//!   garbage collector runs at an arbitrary point *inside* another `put`. Rust has no collector
//!   and the queue runs no user code while it holds its lock (the heap's `Ord` aside, which is
//!   not `SimpleQueue`), so that re-entry cannot happen.
//! - The `Py*` / `C*` class pairs run the same tests against two implementations; there is one.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use threadkit::{Error, GetError, LifoQueue, PriorityQueue, PutError, Queue, SimpleQueue};

const QUEUE_SIZE: usize = 5;

/// The three classes of `BaseQueueTestMixin`, as one interface.
trait PyQueue<T>: Send + Sync + 'static {
    const NAME: &'static str;
    fn make(maxsize: usize) -> Self;
    fn put(&self, item: T) -> Result<(), PutError<T>>;
    fn put_nowait(&self, item: T) -> Result<(), PutError<T>>;
    fn put_timeout(&self, item: T, t: Duration) -> Result<(), PutError<T>>;
    fn get(&self) -> Result<T, GetError>;
    fn get_nowait(&self) -> Result<T, GetError>;
    fn get_timeout(&self, t: Duration) -> Result<T, GetError>;
    fn qsize(&self) -> usize;
    fn empty(&self) -> bool;
    fn full(&self) -> bool;
    fn task_done(&self) -> Result<(), Error>;
    fn join(&self);
    fn shutdown(&self, immediate: bool) -> Vec<T>;
    fn is_shutdown(&self) -> bool;
}

macro_rules! py_queue {
    ($($ty:ident),*) => {$(
        impl<T: Ord + Send + 'static> PyQueue<T> for $ty<T> {
            const NAME: &'static str = stringify!($ty);
            fn make(maxsize: usize) -> Self { $ty::with_maxsize(maxsize) }
            fn put(&self, item: T) -> Result<(), PutError<T>> { $ty::put(self, item) }
            fn put_nowait(&self, item: T) -> Result<(), PutError<T>> { $ty::put_nowait(self, item) }
            fn put_timeout(&self, item: T, t: Duration) -> Result<(), PutError<T>> {
                $ty::put_timeout(self, item, t)
            }
            fn get(&self) -> Result<T, GetError> { $ty::get(self) }
            fn get_nowait(&self) -> Result<T, GetError> { $ty::get_nowait(self) }
            fn get_timeout(&self, t: Duration) -> Result<T, GetError> { $ty::get_timeout(self, t) }
            fn qsize(&self) -> usize { $ty::qsize(self) }
            fn empty(&self) -> bool { $ty::empty(self) }
            fn full(&self) -> bool { $ty::full(self) }
            fn task_done(&self) -> Result<(), Error> { $ty::task_done(self) }
            fn join(&self) { $ty::join(self) }
            fn shutdown(&self, immediate: bool) -> Vec<T> { $ty::shutdown(self, immediate) }
            fn is_shutdown(&self) -> bool { $ty::is_shutdown(self) }
        }
    )*};
}
py_queue!(Queue, LifoQueue, PriorityQueue);

/// CPython's `_TriggerThread` + `do_blocking_test`: `trigger` runs in another thread after a
/// short pause; `block` must not return before the trigger has started (it cannot: only the
/// trigger can release it).
fn do_blocking_test<R>(block: impl FnOnce() -> R, trigger: impl FnOnce() + Send) -> R {
    let started = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 100 }));
            started.store(true, SeqCst);
            trigger();
        });
        let r = block();
        assert!(
            started.load(SeqCst),
            "blocking function appeared not to block"
        );
        r
    })
}

fn qfull<Q: PyQueue<i64>>(q: &Q) -> bool {
    q.full()
}

fn basic_queue_test<Q: PyQueue<i64>>(q: &Q) {
    assert_eq!(q.qsize(), 0, "Call this function with an empty queue");
    assert!(q.empty());
    assert!(!q.full());
    q.put(111).unwrap();
    q.put(333).unwrap();
    q.put(222).unwrap();
    let target: [i64; 3] = match Q::NAME {
        "Queue" => [111, 333, 222],
        "LifoQueue" => [222, 333, 111],
        _ => [111, 222, 333],
    };
    let actual = [q.get().unwrap(), q.get().unwrap(), q.get().unwrap()];
    assert_eq!(actual, target, "Didn't seem to queue the correct data!");
    for i in 0..QUEUE_SIZE as i64 - 1 {
        q.put(i).unwrap();
        assert!(q.qsize() > 0, "Queue should not be empty");
    }
    assert!(!qfull(q), "Queue should not be full");
    let last = 2 * QUEUE_SIZE as i64;
    let full = 3 * 2 * QUEUE_SIZE as i64;
    q.put(last).unwrap();
    assert!(qfull(q), "Queue should be full");
    assert!(!q.empty());
    assert!(q.full());
    assert_eq!(q.put_nowait(full), Err(PutError::Full(full)));
    assert_eq!(
        q.put_timeout(full, Duration::from_millis(10)),
        Err(PutError::Full(full))
    );
    // Test a blocking put
    do_blocking_test(
        || q.put(full).unwrap(),
        || {
            q.get().unwrap();
        },
    );
    do_blocking_test(
        || q.put_timeout(full, Duration::from_secs(10)).unwrap(),
        || {
            q.get().unwrap();
        },
    );
    // Empty it
    for _ in 0..QUEUE_SIZE {
        q.get().unwrap();
    }
    assert_eq!(q.qsize(), 0, "Queue should be empty");
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
    assert_eq!(
        q.get_timeout(Duration::from_millis(10)),
        Err(GetError::Empty)
    );
    // Test a blocking get
    do_blocking_test(|| q.get().unwrap(), || q.put(-7).unwrap());
    do_blocking_test(
        || q.get_timeout(Duration::from_secs(10)).unwrap(),
        || q.put(-7).unwrap(),
    );
}

fn worker<Q: PyQueue<i64>>(q: &Q, cum: &Mutex<i64>) {
    loop {
        let x = q.get().unwrap();
        if x < 0 {
            q.task_done().unwrap();
            return;
        }
        *cum.lock().unwrap() += x;
        q.task_done().unwrap();
    }
}

fn queue_join_test<Q: PyQueue<i64>>(q: &Q) {
    let cum = Mutex::new(0);
    let n = if cfg!(miri) { 10 } else { 100 };
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| worker(q, &cum));
        }
        for i in 0..n {
            q.put(i).unwrap();
        }
        q.join();
        assert_eq!(
            *cum.lock().unwrap(),
            (0..n).sum::<i64>(),
            "q.join() did not block until all tasks were done"
        );
        for _ in 0..2 {
            q.put(-1).unwrap(); // instruct the threads to close
        }
        q.join(); // verify that you can join twice
    });
}

fn test_queue_task_done<Q: PyQueue<i64>>() {
    let q = Q::make(0);
    assert!(matches!(q.task_done(), Err(Error::TooManyTaskDone)));
}

fn test_queue_join<Q: PyQueue<i64>>() {
    let q = Q::make(0);
    queue_join_test(&q);
    queue_join_test(&q);
    assert!(matches!(q.task_done(), Err(Error::TooManyTaskDone)));
}

fn test_basic<Q: PyQueue<i64>>() {
    let q = Q::make(QUEUE_SIZE);
    basic_queue_test(&q);
    basic_queue_test(&q);
}

fn test_nowait<Q: PyQueue<i64>>() {
    let q = Q::make(QUEUE_SIZE);
    for _ in 0..QUEUE_SIZE {
        q.put_nowait(1).unwrap();
    }
    assert!(matches!(q.put_nowait(1), Err(PutError::Full(1))));
    for _ in 0..QUEUE_SIZE {
        q.get_nowait().unwrap();
    }
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
}

fn test_shutdown_empty<Q: PyQueue<&'static str>>() {
    let q = Q::make(0);
    q.shutdown(false);
    assert_eq!(q.put("data"), Err(PutError::ShutDown("data")));
    assert_eq!(q.get(), Err(GetError::ShutDown));
}

fn test_shutdown_nonempty<Q: PyQueue<&'static str>>() {
    let q = Q::make(0);
    q.put("data").unwrap();
    q.shutdown(false);
    q.get().unwrap();
    assert_eq!(q.get(), Err(GetError::ShutDown));
}

fn test_shutdown_immediate<Q: PyQueue<&'static str>>() {
    let q = Q::make(0);
    q.put("data").unwrap();
    assert_eq!(q.shutdown(true), ["data"]);
    assert_eq!(q.get(), Err(GetError::ShutDown));
}

fn test_shutdown_allowed_transitions<Q: PyQueue<&'static str>>() {
    let q = Q::make(0);
    assert!(!q.is_shutdown());
    q.shutdown(false);
    assert!(q.is_shutdown());
    q.shutdown(true);
    assert!(q.is_shutdown());
    q.shutdown(false);
}

fn shutdown_all_methods_in_one_thread<Q: PyQueue<&'static str>>(immediate: bool) {
    let q = Q::make(2);
    q.put("L").unwrap();
    q.put_nowait("O").unwrap();
    q.shutdown(immediate);
    assert_eq!(q.put("E"), Err(PutError::ShutDown("E")));
    assert_eq!(q.put_nowait("W"), Err(PutError::ShutDown("W")));
    if immediate {
        assert_eq!(q.get(), Err(GetError::ShutDown));
        assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
        assert!(matches!(q.task_done(), Err(Error::TooManyTaskDone)));
        q.join();
    } else {
        assert!("LO".contains(q.get().unwrap()));
        q.task_done().unwrap();
        assert!("LO".contains(q.get().unwrap()));
        q.task_done().unwrap();
        q.join();
        // on shutdown(immediate=False), when queue is empty, should raise ShutDown
        assert_eq!(q.get(), Err(GetError::ShutDown));
        assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
        assert_eq!(
            q.get_timeout(Duration::from_secs(1)),
            Err(GetError::ShutDown)
        );
    }
}

fn test_shutdown_all_methods_in_one_thread<Q: PyQueue<&'static str>>() {
    shutdown_all_methods_in_one_thread::<Q>(false);
}

fn test_shutdown_immediate_all_methods_in_one_thread<Q: PyQueue<&'static str>>() {
    shutdown_all_methods_in_one_thread::<Q>(true);
}

#[path = "common/queue_cpython_threads.rs"]
mod threads;
use threads::*;

/// One module per queue class, each running every ported mixin test.
macro_rules! mixin_tests {
    ($module:ident, $ty:ident) => {
        mod $module {
            use super::*;
            #[test]
            fn test_queue_task_done() {
                super::test_queue_task_done::<$ty<i64>>()
            }
            #[test]
            fn test_queue_join() {
                super::test_queue_join::<$ty<i64>>()
            }
            #[test]
            fn test_basic() {
                super::test_basic::<$ty<i64>>()
            }
            #[test]
            fn test_nowait() {
                super::test_nowait::<$ty<i64>>()
            }
            #[test]
            fn test_shutdown_empty() {
                super::test_shutdown_empty::<$ty<&'static str>>()
            }
            #[test]
            fn test_shutdown_nonempty() {
                super::test_shutdown_nonempty::<$ty<&'static str>>()
            }
            #[test]
            fn test_shutdown_immediate() {
                super::test_shutdown_immediate::<$ty<&'static str>>()
            }
            #[test]
            fn test_shutdown_allowed_transitions() {
                super::test_shutdown_allowed_transitions::<$ty<&'static str>>()
            }
            #[test]
            fn test_shutdown_all_methods_in_one_thread() {
                super::test_shutdown_all_methods_in_one_thread::<$ty<&'static str>>()
            }
            #[test]
            fn test_shutdown_immediate_all_methods_in_one_thread() {
                super::test_shutdown_immediate_all_methods_in_one_thread::<$ty<&'static str>>()
            }
            #[test]
            fn test_shutdown_all_methods_in_many_threads() {
                super::shutdown_all_methods_in_many_threads::<$ty<(usize, &'static str)>>(false)
            }
            #[test]
            fn test_shutdown_immediate_all_methods_in_many_threads() {
                super::shutdown_all_methods_in_many_threads::<$ty<(usize, &'static str)>>(true)
            }
            #[test]
            fn test_shutdown_get() {
                super::shutdown_get::<$ty<&'static str>>(false)
            }
            #[test]
            fn test_shutdown_immediate_get() {
                super::shutdown_get::<$ty<&'static str>>(true)
            }
            #[test]
            fn test_shutdown_put() {
                super::shutdown_put::<$ty<&'static str>>(false)
            }
            #[test]
            fn test_shutdown_immediate_put() {
                super::shutdown_put::<$ty<&'static str>>(true)
            }
            #[test]
            fn test_shutdown_join() {
                super::shutdown_join::<$ty<&'static str>>(false)
            }
            #[test]
            fn test_shutdown_immediate_join() {
                super::shutdown_join::<$ty<&'static str>>(true)
            }
            #[test]
            fn test_shutdown_put_join() {
                super::shutdown_put_join::<$ty<&'static str>>(false)
            }
            #[test]
            fn test_shutdown_immediate_put_join() {
                super::shutdown_put_join::<$ty<&'static str>>(true)
            }
            #[test]
            fn test_shutdown_get_task_done_join() {
                super::test_shutdown_get_task_done_join::<$ty<&'static str>>()
            }
            #[test]
            fn test_shutdown_pending_get() {
                super::test_shutdown_pending_get::<$ty<&'static str>>()
            }
        }
    };
}

mixin_tests!(queue_test, Queue);
mixin_tests!(lifo_queue_test, LifoQueue);
mixin_tests!(priority_queue_test, PriorityQueue);

// ---- BaseSimpleQueueTest -------------------------------------------------------------------

/// `feed`: pops values off the shared `seq` and puts them, then the sentinel (`None`).
fn feed(q: &SimpleQueue<Option<usize>>, seq: &Mutex<Vec<usize>>, seed: &AtomicUsize) {
    loop {
        let val = seq.lock().unwrap().pop();
        let Some(val) = val else {
            q.put(None);
            return;
        };
        q.put(Some(val));
        // CPython sleeps up to 1 ms half of the time (random.Random(42)).
        let r = seed
            .fetch_add(0x9E37_79B9, SeqCst)
            .wrapping_mul(2_654_435_761)
            % 100;
        if r < 50 && !cfg!(miri) {
            thread::sleep(Duration::from_micros((r * 20) as u64));
        }
    }
}

#[derive(Clone, Copy)]
enum Consume {
    Blocking,
    Nonblock,
    Timeout,
}

fn consume(q: &SimpleQueue<Option<usize>>, results: &Mutex<Vec<usize>>, how: Consume) {
    loop {
        let val = loop {
            let r = match how {
                Consume::Blocking => q.get(),
                Consume::Nonblock => q.get_nowait(),
                Consume::Timeout => q.get_timeout(Duration::from_micros(10)),
            };
            match r {
                Ok(v) => break v,
                Err(GetError::Empty) => {
                    if matches!(how, Consume::Nonblock) {
                        thread::sleep(Duration::from_micros(10));
                    }
                }
                Err(GetError::ShutDown) => panic!("SimpleQueue has no shutdown"),
            }
        };
        match val {
            None => return,
            Some(v) => results.lock().unwrap().push(v),
        }
    }
}

fn run_threads(n_threads: usize, inputs: &[usize], how: Consume) -> Vec<usize> {
    let q = SimpleQueue::new();
    let mut seq = inputs.to_vec();
    seq.reverse();
    let seq = Mutex::new(seq);
    let results = Mutex::new(Vec::new());
    let seed = AtomicUsize::new(42);
    thread::scope(|s| {
        for _ in 0..n_threads {
            s.spawn(|| feed(&q, &seq, &seed));
            s.spawn(|| consume(&q, &results, how));
        }
    });
    assert!(q.empty());
    assert_eq!(q.qsize(), 0);
    results.into_inner().unwrap()
}

mod simple_queue_test {
    use super::*;

    #[test]
    fn test_basic() {
        let q = SimpleQueue::new();
        assert!(q.empty());
        assert_eq!(q.qsize(), 0);
        q.put(1);
        assert!(!q.empty());
        assert_eq!(q.qsize(), 1);
        q.put(2);
        q.put(3); // put_nowait
        q.put(4);
        assert_eq!(q.qsize(), 4);
        assert_eq!(q.get(), Ok(1));
        assert_eq!(q.qsize(), 3);
        assert_eq!(q.get_nowait(), Ok(2));
        assert_eq!(q.qsize(), 2);
        assert_eq!(q.get_nowait(), Ok(3)); // get(block=False)
        assert!(!q.empty());
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get_timeout(Duration::from_millis(100)), Ok(4));
        assert!(q.empty());
        assert_eq!(q.qsize(), 0);
        assert_eq!(q.get_nowait(), Err(GetError::Empty));
        assert_eq!(
            q.get_timeout(Duration::from_millis(1)),
            Err(GetError::Empty)
        );
        assert_eq!(q.get_nowait(), Err(GetError::Empty));
        assert!(q.empty());
        assert_eq!(q.qsize(), 0);
    }

    #[test]
    fn test_order() {
        let inputs: Vec<usize> = (0..if cfg!(miri) { 10 } else { 100 }).collect();
        let results = run_threads(1, &inputs, Consume::Blocking);
        assert_eq!(results, inputs);
    }

    fn many(n: usize, count: usize, how: Consume) {
        let (n, count) = if cfg!(miri) { (3, 30) } else { (n, count) };
        let inputs: Vec<usize> = (0..count).collect();
        let mut results = run_threads(n, &inputs, how);
        results.sort();
        assert_eq!(results, inputs);
    }

    #[test]
    fn test_many_threads() {
        many(50, 10_000, Consume::Blocking);
    }

    #[test]
    fn test_many_threads_nonblock() {
        many(50, 10_000, Consume::Nonblock);
    }

    #[test]
    fn test_many_threads_timeout() {
        many(50, 1000, Consume::Timeout);
    }

    /// The queue keeps no reference to an item once `get` returned it (Python: a weakref to
    /// the item is dead after `get` + `gc_collect`).
    #[test]
    fn test_references() {
        let q = SimpleQueue::new();
        for _ in 0..20 {
            q.put(Arc::new(()));
        }
        for _ in 0..20 {
            let wr = Arc::downgrade(&q.get().unwrap());
            assert!(wr.upgrade().is_none());
        }
    }
}
