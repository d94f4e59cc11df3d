//! parking_lot's "webkit queue" condition-variable test as a benchmark: a queue of ONE slot made
//! of `Mutex<VecDeque>` and two condition variables (not empty, not full), `notify_one` only
//! when the queue leaves the empty (or full) state, outside the lock, as in WebKit's and
//! parking_lot's tests. One operation is one item through the queue; producers share the
//! items, consumers take them until all are taken (the one that takes the last wakes the
//! others to stop). Unpinned: these are the shapes users run, and with 11 threads on 2 CPUs
//! there is nothing sensible to pin.

use crate::harness::{Contender, Family, RunFn, Scenario, share, timed_workers_unpinned};
use std::collections::VecDeque;

/// Items in the queue at most.
const SLOTS: usize = 1;

/// The queue's state: items, how many were taken in all, and whether all are taken.
#[derive(Default)]
pub struct State {
    items: VecDeque<u64>,
    taken: u64,
    done: bool,
}

/// A mutex + two condition variables around [`State`], written the way each library is used.
pub trait WebkitQueue: Send + Sync + 'static {
    fn make() -> Self;
    /// Waits while the queue is full, pushes `v`; `true` if it was empty (notify a consumer).
    fn push(&self, v: u64) -> bool;
    /// Waits while the queue is empty and not done; takes one item (`None` when done).
    /// Returns whether the queue was full (notify a producer) and the item.
    fn pop(&self, total: u64) -> (bool, Option<u64>);
    fn notify_not_empty(&self);
    fn notify_not_full(&self);
}

macro_rules! queue_impl {
    ($name:ident, $mutex:ty, $cv:ty, $lock:expr, $wait:expr) => {
        pub struct $name($mutex, $cv, $cv);
        impl WebkitQueue for $name {
            fn make() -> Self {
                $name(<$mutex>::new(State::default()), <$cv>::new(), <$cv>::new())
            }
            fn push(&self, v: u64) -> bool {
                let mut g = $lock(&self.0);
                while g.items.len() >= SLOTS {
                    g = $wait(&self.2, g);
                }
                let was_empty = g.items.is_empty();
                g.items.push_back(v);
                was_empty
            }
            fn pop(&self, total: u64) -> (bool, Option<u64>) {
                let mut g = $lock(&self.0);
                while g.items.is_empty() && !g.done {
                    g = $wait(&self.1, g);
                }
                let was_full = g.items.len() == SLOTS;
                let item = g.items.pop_front();
                if item.is_some() {
                    g.taken += 1;
                    if g.taken == total {
                        g.done = true;
                        drop(g);
                        self.1.notify_all(); // every other consumer: stop
                    }
                }
                (was_full, item)
            }
            fn notify_not_empty(&self) {
                self.1.notify_one();
            }
            fn notify_not_full(&self) {
                self.2.notify_one();
            }
        }
    };
}

fn tk_lock(m: &threadkit::Mutex<State>) -> threadkit::MutexGuard<'_, State> {
    m.lock()
}
fn tk_wait<'a>(
    cv: &threadkit::Condvar,
    mut g: threadkit::MutexGuard<'a, State>,
) -> threadkit::MutexGuard<'a, State> {
    cv.wait(&mut g);
    g
}
fn std_lock(m: &std::sync::Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
fn std_wait<'a>(
    cv: &std::sync::Condvar,
    g: std::sync::MutexGuard<'a, State>,
) -> std::sync::MutexGuard<'a, State> {
    cv.wait(g).unwrap_or_else(|e| e.into_inner())
}
fn pl_lock(m: &parking_lot::Mutex<State>) -> parking_lot::MutexGuard<'_, State> {
    m.lock()
}
fn pl_wait<'a>(
    cv: &parking_lot::Condvar,
    mut g: parking_lot::MutexGuard<'a, State>,
) -> parking_lot::MutexGuard<'a, State> {
    cv.wait(&mut g);
    g
}

queue_impl!(
    TkQueue,
    threadkit::Mutex<State>,
    threadkit::Condvar,
    tk_lock,
    tk_wait
);
queue_impl!(
    StdQueue,
    std::sync::Mutex<State>,
    std::sync::Condvar,
    std_lock,
    std_wait
);
queue_impl!(
    PlQueue,
    parking_lot::Mutex<State>,
    parking_lot::Condvar,
    pl_lock,
    pl_wait
);

/// `ops` items from `producers` producers through the queue to `consumers` consumers.
fn run<Q: WebkitQueue>(producers: usize, consumers: usize) -> RunFn {
    Box::new(move |ops| {
        let q = Q::make();
        timed_workers_unpinned(producers + consumers, |i| {
            if i < producers {
                for v in 0..share(ops, producers, i) {
                    if q.push(v) {
                        q.notify_not_empty();
                    }
                }
            } else {
                loop {
                    let (was_full, item) = q.pop(ops);
                    if was_full {
                        q.notify_not_full();
                    }
                    if item.is_none() {
                        break;
                    }
                }
            }
        })
    })
}

fn row(name: &'static str, producers: usize, consumers: usize) -> Scenario {
    const WHAT: &str = "Mutex<VecDeque>+2 Condvar";
    Scenario {
        name,
        contenders: vec![
            Contender {
                family: Family::Threadkit,
                what: WHAT,
                run: run::<TkQueue>(producers, consumers),
            },
            Contender {
                family: Family::Std,
                what: WHAT,
                run: run::<StdQueue>(producers, consumers),
            },
            Contender {
                family: Family::ParkingLot,
                what: WHAT,
                run: run::<PlQueue>(producers, consumers),
            },
        ],
    }
}

pub fn webkit_1p_10c() -> Scenario {
    row("webkit queue 1 slot, 1p/10c", 1, 10)
}

pub fn webkit_10p_1c() -> Scenario {
    row("webkit queue 1 slot, 10p/1c", 10, 1)
}

pub fn webkit_1p_1c() -> Scenario {
    row("webkit queue 1 slot, 1p/1c", 1, 1)
}

/// `versus --webkit-once LIBRARY PRODUCERS CONSUMERS ITEMS`: one fixed run of the queue with
/// one library (`threadkit`, `std` or `parking_lot`), for `strace -c -f` and `perf stat`:
/// returns its wall time and CPU time (ns), or `None` for an unknown library.
pub fn once(library: &str, producers: usize, consumers: usize, items: u64) -> Option<(f64, u64)> {
    let mut run = match library {
        "threadkit" => run::<TkQueue>(producers, consumers),
        "std" => run::<StdQueue>(producers, consumers),
        "parking_lot" => run::<PlQueue>(producers, consumers),
        _ => return None,
    };
    let cpu = crate::harness::process_cpu_ns();
    let wall = run(items).as_secs_f64();
    Some((wall, crate::harness::process_cpu_ns().saturating_sub(cpu)))
}
