//! `threadkit::Queue` (Python's `queue.Queue`) against the channels Rust programs use instead.
//!
//! The table has one column per family, and a queue has more rivals than families, so each
//! workload has two rows, named after what their columns hold:
//! - `[std=py, pl=cb]`: `std` is the Python-style port (`std::sync::Mutex<VecDeque>` + two
//!   `Condvar`s, exactly CPython's `queue.py`), `parking_lot` is crossbeam-channel
//!   (`bounded(n)` / `unbounded()`);
//! - `[std=mpsc, pl=flume]`: `std` is `std::sync::mpsc` (`sync_channel(n)` / `channel()`, only
//!   in the rows with one consumer per queue: its receiver cannot be shared), `parking_lot` is
//!   flume.
//!
//! `LifoQueue` and `PriorityQueue` run against `parking_lot::Mutex<Vec/BinaryHeap>` + two
//! `parking_lot::Condvar`s (in the `parking_lot` column). One operation is one item through
//! the queue (one `put` and one `get`), or one round trip in the ping-pong row.

use crate::harness::{Contender, Family, RunFn, Scenario, share, timed_workers};
use std::cell::UnsafeCell;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;

/// A queue of `u64` as each contender spells it.
trait Q: Send + Sync + 'static {
    /// `cap` 0: unbounded.
    fn make(cap: usize) -> Self;
    fn put(&self, v: u64);
    fn get(&self) -> u64;
}

impl Q for threadkit::Queue<u64> {
    fn make(cap: usize) -> Self {
        threadkit::Queue::with_maxsize(cap)
    }
    fn put(&self, v: u64) {
        threadkit::Queue::put(self, v).unwrap();
    }
    fn get(&self) -> u64 {
        threadkit::Queue::get(self).unwrap()
    }
}

impl Q for threadkit::LifoQueue<u64> {
    fn make(cap: usize) -> Self {
        threadkit::LifoQueue::with_maxsize(cap)
    }
    fn put(&self, v: u64) {
        threadkit::LifoQueue::put(self, v).unwrap();
    }
    fn get(&self) -> u64 {
        threadkit::LifoQueue::get(self).unwrap()
    }
}

impl Q for threadkit::PriorityQueue<u64> {
    fn make(cap: usize) -> Self {
        threadkit::PriorityQueue::with_maxsize(cap)
    }
    fn put(&self, v: u64) {
        threadkit::PriorityQueue::put(self, v).unwrap();
    }
    fn get(&self) -> u64 {
        threadkit::PriorityQueue::get(self).unwrap()
    }
}

struct Crossbeam(
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
);
impl Q for Crossbeam {
    fn make(cap: usize) -> Self {
        let (s, r) = if cap == 0 {
            crossbeam_channel::unbounded()
        } else {
            crossbeam_channel::bounded(cap)
        };
        Crossbeam(s, r)
    }
    fn put(&self, v: u64) {
        self.0.send(v).unwrap();
    }
    fn get(&self) -> u64 {
        self.1.recv().unwrap()
    }
}

struct Flume(flume::Sender<u64>, flume::Receiver<u64>);
impl Q for Flume {
    fn make(cap: usize) -> Self {
        let (s, r) = if cap == 0 {
            flume::unbounded()
        } else {
            flume::bounded(cap)
        };
        Flume(s, r)
    }
    fn put(&self, v: u64) {
        self.0.send(v).unwrap();
    }
    fn get(&self) -> u64 {
        self.1.recv().unwrap()
    }
}

enum StdTx {
    Sync(std::sync::mpsc::SyncSender<u64>),
    Async(std::sync::mpsc::Sender<u64>),
}

/// `std::sync::mpsc`, in the rows where each queue has exactly one consumer thread.
struct Mpsc(StdTx, UnsafeCell<std::sync::mpsc::Receiver<u64>>);
// SAFETY: `Mpsc` only runs in `single_consumer` rows: one thread ever calls `get` on a given
// queue (so the receiver is never used from two threads at once); the senders are Sync.
unsafe impl Sync for Mpsc {}
impl Q for Mpsc {
    fn make(cap: usize) -> Self {
        if cap == 0 {
            let (s, r) = std::sync::mpsc::channel();
            Mpsc(StdTx::Async(s), UnsafeCell::new(r))
        } else {
            let (s, r) = std::sync::mpsc::sync_channel(cap);
            Mpsc(StdTx::Sync(s), UnsafeCell::new(r))
        }
    }
    fn put(&self, v: u64) {
        match &self.0 {
            StdTx::Sync(s) => s.send(v).unwrap(),
            StdTx::Async(s) => s.send(v).unwrap(),
        }
    }
    fn get(&self) -> u64 {
        // SAFETY: one consumer thread per queue (see the `Sync` impl).
        unsafe { &*self.1.get() }.recv().unwrap()
    }
}

/// CPython's `queue.py`, ported as is: one mutex, `not_empty` and `not_full` conditions.
struct PyPort {
    items: std::sync::Mutex<VecDeque<u64>>,
    not_empty: std::sync::Condvar,
    not_full: std::sync::Condvar,
    cap: usize,
}
impl Q for PyPort {
    fn make(cap: usize) -> Self {
        PyPort {
            items: std::sync::Mutex::new(VecDeque::new()),
            not_empty: std::sync::Condvar::new(),
            not_full: std::sync::Condvar::new(),
            cap,
        }
    }
    fn put(&self, v: u64) {
        let mut g = self.items.lock().unwrap();
        while self.cap > 0 && g.len() >= self.cap {
            g = self.not_full.wait(g).unwrap();
        }
        g.push_back(v);
        self.not_empty.notify_one();
    }
    fn get(&self) -> u64 {
        let mut g = self.items.lock().unwrap();
        loop {
            if let Some(v) = g.pop_front() {
                self.not_full.notify_one();
                return v;
            }
            g = self.not_empty.wait(g).unwrap();
        }
    }
}

/// The same port on parking_lot, over a stack or a heap (the LIFO / priority baselines).
struct PlPort<C> {
    items: parking_lot::Mutex<C>,
    not_empty: parking_lot::Condvar,
    not_full: parking_lot::Condvar,
    cap: usize,
}
trait Items: Default + Send + 'static {
    fn len(&self) -> usize;
    fn push(&mut self, v: u64);
    fn pop(&mut self) -> Option<u64>;
}
impl Items for Vec<u64> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn push(&mut self, v: u64) {
        Vec::push(self, v);
    }
    fn pop(&mut self) -> Option<u64> {
        Vec::pop(self)
    }
}
impl Items for BinaryHeap<std::cmp::Reverse<u64>> {
    fn len(&self) -> usize {
        BinaryHeap::len(self)
    }
    fn push(&mut self, v: u64) {
        BinaryHeap::push(self, std::cmp::Reverse(v));
    }
    fn pop(&mut self) -> Option<u64> {
        BinaryHeap::pop(self).map(|r| r.0)
    }
}
impl<C: Items> Q for PlPort<C> {
    fn make(cap: usize) -> Self {
        PlPort {
            items: parking_lot::Mutex::new(C::default()),
            not_empty: parking_lot::Condvar::new(),
            not_full: parking_lot::Condvar::new(),
            cap,
        }
    }
    fn put(&self, v: u64) {
        let mut g = self.items.lock();
        while self.cap > 0 && g.len() >= self.cap {
            self.not_full.wait(&mut g);
        }
        g.push(v);
        self.not_empty.notify_one();
    }
    fn get(&self) -> u64 {
        let mut g = self.items.lock();
        loop {
            if let Some(v) = g.pop() {
                self.not_full.notify_one();
                return v;
            }
            self.not_empty.wait(&mut g);
        }
    }
}

/// `producers` threads put `ops` items in all, `consumers` threads get them.
fn flow<T: Q>(cap: usize, producers: usize, consumers: usize) -> RunFn {
    Box::new(move |ops| {
        let q = T::make(cap);
        timed_workers(producers + consumers, |i| {
            if i < producers {
                for k in 0..share(ops, producers, i) {
                    q.put(k);
                }
            } else {
                for _ in 0..share(ops, consumers, i - producers) {
                    black_box(q.get());
                }
            }
        })
    })
}

/// `ops` round trips over two queues of one slot.
fn ping_pong<T: Q>() -> RunFn {
    Box::new(|ops| {
        let (there, back) = (T::make(1), T::make(1));
        timed_workers(2, |i| {
            for k in 0..ops {
                if i == 0 {
                    there.put(k);
                    black_box(back.get());
                } else {
                    let v = there.get();
                    back.put(v);
                }
            }
        })
    })
}

fn c(family: Family, what: &'static str, run: RunFn) -> Contender {
    Contender { family, what, run }
}

/// The two rows of a workload: `runner::<T>()` for each contender.
macro_rules! rows {
    ($py:literal, $mpsc:literal, $single_consumer:expr, $runner:ident ( $($arg:expr),* )) => {{
        let mut second = vec![
            c(Family::Threadkit, "Queue", $runner::<threadkit::Queue<u64>>($($arg),*)),
            c(Family::ParkingLot, "flume", $runner::<Flume>($($arg),*)),
        ];
        if $single_consumer {
            second.push(c(Family::Std, "std::sync::mpsc", $runner::<Mpsc>($($arg),*)));
        }
        [
            Scenario {
                name: $py,
                contenders: vec![
                    c(Family::Threadkit, "Queue", $runner::<threadkit::Queue<u64>>($($arg),*)),
                    c(Family::Std, "Mutex<VecDeque>+2 Condvar", $runner::<PyPort>($($arg),*)),
                    c(Family::ParkingLot, "crossbeam-channel", $runner::<Crossbeam>($($arg),*)),
                ],
            },
            Scenario { name: $mpsc, contenders: second },
        ]
    }};
}

/// Every queue row, in table order.
pub fn rows() -> Vec<Scenario> {
    let mut all = Vec::new();
    all.extend(rows!(
        "queue SPSC bounded(1024) [std=py, pl=cb]",
        "queue SPSC bounded(1024) [std=mpsc, pl=flume]",
        true,
        flow(1024, 1, 1)
    ));
    all.extend(rows!(
        "queue SPSC unbounded [std=py, pl=cb]",
        "queue SPSC unbounded [std=mpsc, pl=flume]",
        true,
        flow(0, 1, 1)
    ));
    all.extend(rows!(
        "queue MPMC 2p/2c bounded(64) [std=py, pl=cb]",
        "queue MPMC 2p/2c bounded(64) [pl=flume]",
        false,
        flow(64, 2, 2)
    ));
    all.extend(rows!(
        "queue MPMC 4p/4c bounded(64) [std=py, pl=cb]",
        "queue MPMC 4p/4c bounded(64) [pl=flume]",
        false,
        flow(64, 4, 4)
    ));
    all.extend(rows!(
        "queue MPMC 4p/4c unbounded [std=py, pl=cb]",
        "queue MPMC 4p/4c unbounded [pl=flume]",
        false,
        flow(0, 4, 4)
    ));
    all.extend(rows!(
        "queue ping-pong bounded(1) x2 [std=py, pl=cb]",
        "queue ping-pong bounded(1) x2 [std=mpsc, pl=flume]",
        true,
        ping_pong()
    ));
    all.extend(rows!(
        "queue 1p/10c one slot [std=py, pl=cb]",
        "queue 1p/10c one slot [pl=flume]",
        false,
        flow(1, 1, 10)
    ));
    all.push(Scenario {
        name: "queue LifoQueue MPMC 2p/2c bounded(64) [pl=port]",
        contenders: vec![
            c(
                Family::Threadkit,
                "LifoQueue",
                flow::<threadkit::LifoQueue<u64>>(64, 2, 2),
            ),
            c(
                Family::ParkingLot,
                "Mutex<Vec>+2 Condvar",
                flow::<PlPort<Vec<u64>>>(64, 2, 2),
            ),
        ],
    });
    all.push(Scenario {
        name: "queue PriorityQueue MPMC 2p/2c bounded(64) [pl=port]",
        contenders: vec![
            c(
                Family::Threadkit,
                "PriorityQueue",
                flow::<threadkit::PriorityQueue<u64>>(64, 2, 2),
            ),
            c(
                Family::ParkingLot,
                "Mutex<BinaryHeap>+2 Condvar",
                flow::<PlPort<BinaryHeap<std::cmp::Reverse<u64>>>>(64, 2, 2),
            ),
        ],
    });
    all
}
