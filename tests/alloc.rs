//! No heap allocation on any acquire / release / wait / set / notify path of `Lock`, `RLock`,
//! `Semaphore`, `BoundedSemaphore`, `Event`, `Condition` (on an `RLock` and on a `Lock`),
//! `Condvar` and `Barrier`, uncontended and contended (sleeping and waking, timeouts
//! included), proved with a counting global allocator. Allocations are counted per thread, so
//! the test harness and thread creation do not count: each measured window covers only the
//! primitive's own calls on the measuring thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{
    Acquire, Barrier, BoundedSemaphore, Condition, ConditionLock, Condvar, Event, Lock, Mutex,
    RLock, Semaphore,
};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    /// Bytes asked for (allocations and reallocations' new sizes), never decreased.
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to `System`; the counter is a const-initialized,
// destructor-free thread-local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        let _ = BYTES.try_with(|c| c.set(c.get() + layout.size()));
        // SAFETY: the caller's contract for `alloc` is forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        let _ = BYTES.try_with(|c| c.set(c.get() + new_size));
        // SAFETY: the caller's contract for `realloc` is forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and asserts the calling thread allocated nothing meanwhile.
fn no_alloc<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    let after = ALLOCS.with(Cell::get);
    assert_eq!(after, before, "{what} allocated {} times", after - before);
    r
}

const SHORT: Duration = Duration::from_micros(200);

fn rounds() -> usize {
    if cfg!(miri) { 2 } else { 200 }
}

/// Every acquire flavour and release, uncontended, on one primitive.
fn uncontended<A: Acquire>(name: &str, a: &A) {
    no_alloc(name, || {
        for _ in 0..rounds() {
            a.acquire();
            a.release().unwrap();
            assert!(a.try_acquire());
            a.release().unwrap();
            assert!(a.acquire_timeout(SHORT));
            a.release().unwrap();
            assert!(a.acquire_until(Instant::now() + SHORT));
            a.release().unwrap();
            drop(a.guard());
        }
    });
}

#[test]
fn uncontended_paths() {
    uncontended("Lock", &Lock::new());
    uncontended("RLock", &RLock::new());
    uncontended("Semaphore", &Semaphore::new(1));
    uncontended("BoundedSemaphore", &BoundedSemaphore::new(1));
    let r = RLock::new();
    no_alloc("RLock nested", || {
        r.acquire();
        r.acquire();
        assert_eq!(r.recursion_count(), 2);
        assert!(r.is_owned());
        r.release().unwrap();
        r.release().unwrap();
        assert!(r.release().is_err());
    });
    no_alloc("errors", || {
        assert!(Lock::new().release().is_err());
        assert!(BoundedSemaphore::new(1).release().is_err());
        assert!(Semaphore::new(Semaphore::MAX_VALUE).release().is_err());
    });
    let e = Event::new();
    no_alloc("Event", || {
        for _ in 0..rounds() {
            assert!(!e.wait_timeout(Duration::ZERO));
            assert!(!e.wait_timeout(SHORT)); // sleeps and times out
            assert!(!e.wait_until(Instant::now() + SHORT));
            e.set();
            e.wait();
            assert!(e.wait_timeout(SHORT));
            e.clear();
        }
    });
    let s = Semaphore::new(0);
    no_alloc("Semaphore timeouts", || {
        assert!(!s.acquire_timeout(SHORT));
        assert!(!s.acquire_until(Instant::now() + SHORT));
        s.release_n(3).unwrap();
    });
}

/// The sleeping and waking paths: a second thread blocks in each primitive and is woken; both
/// threads measure their own calls.
#[test]
fn contended_paths() {
    let lock = Lock::new();
    let rlock = RLock::new();
    let sem = Semaphore::new(0);
    let bsem = BoundedSemaphore::new(1);
    let ping = Event::new();
    let pong = Event::new();
    let stop = AtomicBool::new(false);
    thread::scope(|sc| {
        sc.spawn(|| {
            no_alloc("contended, waiter side", || {
                for _ in 0..rounds() {
                    lock.acquire();
                    lock.release().unwrap();
                    rlock.acquire();
                    rlock.release().unwrap();
                    sem.acquire();
                    bsem.acquire();
                    bsem.release().unwrap();
                    assert!(ping.wait_timeout(Duration::from_secs(30)));
                    ping.clear();
                    pong.set();
                }
            });
            stop.store(true, SeqCst);
        });
        no_alloc("contended, waker side", || {
            for _ in 0..rounds() {
                lock.acquire();
                rlock.acquire();
                bsem.acquire();
                thread::yield_now();
                sem.release().unwrap();
                bsem.release().unwrap();
                rlock.release().unwrap();
                lock.release().unwrap();
                ping.set();
                assert!(pong.wait_timeout(Duration::from_secs(30)));
                pong.clear();
            }
        });
    });
    assert!(stop.load(SeqCst));
}

/// Condition without anyone to notify: waits that time out (sleeping, and with a deadline
/// already passed), `wait_for*`, notifies that find nobody, the lock's own methods.
fn condition_alone<L: ConditionLock>(name: &str, c: &Condition<L>) {
    no_alloc(name, || {
        for _ in 0..rounds() {
            c.acquire();
            assert!(!c.wait_timeout(SHORT).unwrap());
            assert!(!c.wait_timeout(Duration::ZERO).unwrap());
            assert!(!c.wait_until(Instant::now() + SHORT).unwrap());
            assert!(!c.wait_for_timeout(|| false, SHORT).unwrap());
            assert!(!c.wait_for_timeout(|| false, Duration::ZERO).unwrap());
            c.wait_for(|| true).unwrap();
            c.notify(1).unwrap();
            c.notify_all().unwrap();
            c.release().unwrap();
            assert!(c.notify(1).is_err());
            assert!(c.wait().is_err());
            assert!(c.try_acquire());
            c.release().unwrap();
            drop(c.guard());
        }
    });
}

#[test]
fn uncontended_condition_condvar_barrier() {
    condition_alone("Condition<RLock>", &Condition::new());
    condition_alone("Condition<Lock>", &Condition::with_lock(Lock::new()));
    let lock = Lock::new();
    condition_alone("Condition<&Lock>", &Condition::with_lock(&lock));
    let m = Mutex::new(0u64);
    let cv = Condvar::new();
    no_alloc("Condvar", || {
        for _ in 0..rounds() {
            let mut g = m.lock();
            assert!(!cv.wait_timeout(&mut g, SHORT));
            assert!(!cv.wait_timeout(&mut g, Duration::ZERO));
            assert!(!cv.wait_until(&mut g, Instant::now() + SHORT));
            cv.wait_while(&mut g, |v| *v > 0);
            drop(g);
            assert!(!cv.notify_one());
            assert_eq!(cv.notify_all(), 0);
        }
    });
    let one = Barrier::new(1);
    let two = Barrier::new(2);
    let timed = Barrier::new(2).default_timeout(SHORT); // (the constructor's box is outside)
    no_alloc("Barrier", || {
        for _ in 0..rounds() {
            assert_eq!(one.wait().unwrap(), 0);
            assert_eq!(one.wait_timeout(SHORT).unwrap(), 0);
            assert!(two.wait_timeout(SHORT).is_err()); // sleeps, times out, breaks
            assert!(two.wait().is_err()); // broken
            assert!(two.broken());
            two.reset();
            assert!(timed.wait().is_err()); // the default timeout
            timed.reset();
            two.abort();
            two.reset();
            assert_eq!(two.n_waiting() + two.parties(), 2);
        }
    });
}

/// The sleeping and waking paths of Condition (both locks), Condvar and Barrier: a waiter
/// thread blocks in each and the other thread wakes it, round after round; both sides measure
/// their own calls.
#[test]
fn contended_condition_condvar_barrier() {
    const LONG: Duration = Duration::from_secs(30);
    let cond = Condition::new();
    let cond_lock = Condition::with_lock(Lock::new());
    let m = Mutex::new(0usize);
    let cv = Condvar::new();
    let barrier = Barrier::new(2);
    let timed = Barrier::new(2).default_timeout(LONG);
    let round = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    thread::scope(|sc| {
        sc.spawn(|| {
            no_alloc("contended, waiter side", || {
                for i in 0..rounds() {
                    cond.acquire();
                    cond.wait_for(|| round.load(SeqCst) > i).unwrap();
                    cond.release().unwrap();
                    cond_lock.acquire();
                    assert!(
                        cond_lock
                            .wait_for_timeout(|| round.load(SeqCst) > i, LONG)
                            .unwrap()
                    );
                    cond_lock.release().unwrap();
                    let mut g = m.lock();
                    cv.wait_while(&mut g, |v| *v <= i);
                    while *g <= i + 1 {
                        assert!(cv.wait_timeout(&mut g, LONG));
                    }
                    drop(g);
                    barrier.wait().unwrap();
                    timed.wait().unwrap();
                    barrier.wait_timeout(LONG).unwrap();
                }
            });
            stop.store(true, SeqCst);
        });
        no_alloc("contended, notifier side", || {
            for i in 0..rounds() {
                // Late enough, most rounds, that the waiter has gone to sleep.
                thread::sleep(Duration::from_micros(100));
                cond.acquire();
                round.store(i + 1, SeqCst);
                cond.notify(1).unwrap();
                cond.release().unwrap();
                cond_lock.acquire();
                cond_lock.notify_all().unwrap();
                cond_lock.release().unwrap();
                thread::sleep(Duration::from_micros(100));
                *m.lock() = i + 1;
                cv.notify_one();
                thread::sleep(Duration::from_micros(100));
                *m.lock() = i + 2;
                cv.notify_all();
                thread::sleep(Duration::from_micros(100));
                barrier.wait().unwrap();
                timed.wait().unwrap();
                barrier.wait_timeout(LONG).unwrap();
            }
        });
    });
    assert!(stop.load(SeqCst));
}

/// The counter sees allocations (so the tests above can fail).
#[test]
fn counter_counts() {
    let before = ALLOCS.with(Cell::get);
    let v = std::hint::black_box(vec![1u8; 16]);
    assert!(ALLOCS.with(Cell::get) > before);
    drop(v);
}

/// A threadkit thread whose target allocates nothing allocates nothing on its own side, from
/// its entry to its TLS destructors: its reference crosses as the handle's own pointer, an
/// unnamed ("Thread-N") thread sets no OS name, and it registers no TLS destructor (so the
/// C allocator never sets up a per-thread cache for it either).
#[test]
fn a_started_thread_allocates_nothing_on_its_own_side() {
    static AT_TARGET: AtomicUsize = AtomicUsize::new(usize::MAX);
    static GUARD_COST: AtomicUsize = AtomicUsize::new(usize::MAX);
    static AT_EXIT: AtomicUsize = AtomicUsize::new(usize::MAX);
    /// Reads the count once the thread's TLS is being destroyed, after `run` has returned.
    struct AtExit;
    impl Drop for AtExit {
        fn drop(&mut self) {
            AT_EXIT.store(ALLOCS.with(Cell::get), SeqCst);
        }
    }
    thread_local! {
        static EXIT: AtExit = const { AtExit };
    }
    let t = threadkit::Thread::new(|| {
        AT_TARGET.store(ALLOCS.with(Cell::get), SeqCst);
        EXIT.with(|_| ()); // registering the destructor may allocate: measured, not counted
        GUARD_COST.store(ALLOCS.with(Cell::get), SeqCst);
    });
    t.start().unwrap();
    t.join().unwrap();
    assert_eq!(AT_TARGET.load(SeqCst), 0, "allocations before the target");
    let after_guard = GUARD_COST.load(SeqCst);
    assert_eq!(
        AT_EXIT.load(SeqCst),
        after_guard,
        "allocations between the target's end and the thread's TLS destructors"
    );
}

/// A bounded `Queue` (and `LifoQueue`, `PriorityQueue`) that has been full once allocates
/// nothing per `put`/`get`: uncontended (every flavour, `Full`/`Empty` errors and timeouts
/// included) and contended (the measuring thread sleeping on a full queue and being woken,
/// then on an empty one), plus `task_done`/`join`. The first fill is outside the window.
#[test]
fn queue_full_once_allocates_nothing_per_put_get() {
    use threadkit::{LifoQueue, PriorityQueue, Queue};
    macro_rules! check {
        ($ty:ident) => {{
            let name = stringify!($ty);
            let q = std::sync::Arc::new($ty::<u64>::with_maxsize(8));
            for i in 0..8 {
                q.put(i).unwrap(); // grows the buffer to its full size: not counted
            }
            while q.get_nowait().is_ok() {
                q.task_done().unwrap();
            }
            no_alloc(name, || {
                for r in 0..rounds() as u64 {
                    for i in 0..8 {
                        q.put(r + i).unwrap();
                    }
                    assert!(q.put_nowait(0).is_err());
                    assert!(q.put_timeout(0, SHORT).is_err());
                    assert!(q.put_until(0, Instant::now()).is_err());
                    for _ in 0..8 {
                        q.get().unwrap();
                        q.task_done().unwrap();
                    }
                    assert!(q.get_nowait().is_err());
                    assert!(q.get_timeout(SHORT).is_err());
                    q.put_timeout(1, SHORT).unwrap();
                    q.get_until(Instant::now() + SHORT).unwrap();
                    q.task_done().unwrap();
                    q.join();
                    assert!(q.join_timeout(SHORT));
                }
            });
            // Contended: the other thread drains slowly, then feeds slowly, while this thread
            // blocks on the full, then the empty, queue. The feeding waits until this thread
            // has put everything: else it could fill the queue while this thread still has
            // a put to make, and both would wait for room (Miri found that schedule).
            let n = if cfg!(miri) { 4 } else { 64 };
            let q2 = q.clone();
            let puts_done = std::sync::Arc::new(Event::new());
            let puts_done2 = puts_done.clone();
            let other = thread::spawn(move || {
                for _ in 0..n {
                    thread::sleep(Duration::from_micros(50));
                    q2.get().unwrap();
                }
                puts_done2.wait();
                for i in 0..n {
                    thread::sleep(Duration::from_micros(50));
                    q2.put(i).unwrap();
                }
            });
            no_alloc(name, || {
                for i in 0..n + 8 {
                    q.put(i).unwrap();
                }
                puts_done.set();
                for _ in 0..n + 8 {
                    q.get().unwrap();
                }
            });
            other.join().unwrap();
        }};
    }
    check!(Queue);
    check!(LifoQueue);
    check!(PriorityQueue);
}

/// An unbounded `Queue` (and `SimpleQueue`) whose gets keep up (never more than a segment's
/// `SEGMENT_SLOTS` items behind) allocates nothing per `put`/`get` once warm: the segment that
/// its last get leaves is kept for the tail's next step instead of going back to the
/// allocator. Batches of 1 to `SEGMENT_SLOTS` items cross segment steps at every offset; the
/// warm-up is not counted.
#[test]
fn unbounded_queue_that_keeps_up_allocates_nothing_per_put_get() {
    use threadkit::{Queue, SimpleQueue};
    macro_rules! check {
        ($q:expr, $name:expr, $put:expr) => {{
            let q = $q;
            let put = $put;
            let seg = threadkit::queue::SEGMENT_SLOTS as u64;
            let batches = [1u64, 7, seg - 1, seg];
            for _ in 0..3 {
                for &k in &batches {
                    for i in 0..k {
                        put(&q, i);
                    }
                    for _ in 0..k {
                        q.get().unwrap();
                    }
                }
            }
            no_alloc($name, || {
                for _ in 0..rounds() {
                    for &k in &batches {
                        for i in 0..k {
                            put(&q, i);
                        }
                        for i in 0..k {
                            assert_eq!(q.get().unwrap(), i);
                        }
                    }
                }
            });
        }};
    }
    check!(Queue::<u64>::new(), "Queue", |q: &Queue<u64>, i| q
        .put(i)
        .unwrap());
    check!(
        SimpleQueue::<u64>::new(),
        "SimpleQueue",
        |q: &SimpleQueue<u64>, i| q.put(i)
    );
}

/// An unbounded `Queue` (and `SimpleQueue`) allocates its first segment at its first put, not
/// at construction (as crossbeam-channel's list): an idle queue holds far less than a
/// segment's `SEGMENT_SLOTS` items, and a get on it allocates nothing.
#[test]
fn idle_unbounded_queue_holds_no_segment() {
    use threadkit::{Queue, SimpleQueue};
    type Item = [u64; 16];
    let bytes = || BYTES.with(Cell::get);
    let segment = threadkit::queue::SEGMENT_SLOTS * std::mem::size_of::<Item>();
    let before = bytes();
    let q = Queue::<Item>::new();
    let s = SimpleQueue::<Item>::new();
    let idle = bytes() - before;
    assert!(
        idle < segment / 2,
        "two idle queues took {idle} bytes (a segment: {segment})"
    );
    no_alloc("get_nowait on an idle queue", || {
        assert!(q.get_nowait().is_err());
        assert!(s.get_nowait().is_err());
    });
    let before = bytes();
    q.put([7; 16]).unwrap();
    s.put([8; 16]);
    let first = bytes() - before;
    assert!(first >= 2 * segment, "the first puts took {first} bytes");
    assert_eq!(q.get().unwrap(), [7; 16]);
    assert_eq!(s.get().unwrap(), [8; 16]);
}
