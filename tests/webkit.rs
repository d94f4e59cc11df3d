//! parking_lot's "webkit queue" condition-variable tests, ported: a bounded queue made of a
//! `Mutex<VecDeque>` and two condition variables (not empty / not full), `notify_one` (or
//! `notify_all`) only when the queue leaves the empty or full state, after unlocking, as in
//! WebKit's and parking_lot's own tests. The one-slot shapes are the hardest for a wake-up
//! protocol: every item needs a hand-over in each direction.
//!
//! Each test checks that no item is lost or duplicated (every producer's items arrive exactly
//! once) and that the run ends in bounded time: a generous 120 s guard, far above the well
//! under a second these take on a 2-core machine with two busy processes beside them (they
//! must pass under load, so nothing here measures speed).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;
use threadkit::{Condition, Condvar, Lock, Mutex};

/// How long a test may take before it is reported as stuck (a lost wake-up).
const GUARD: Duration = Duration::from_secs(120);

/// How a waiter waits: forever, or in rounds of a short timeout (the loop re-checks, as the
/// `_timeout` variants of the original tests do).
#[derive(Clone, Copy)]
enum Wait {
    Forever,
    Bounded(Duration),
}

#[derive(Clone, Copy, PartialEq)]
enum Notify {
    One,
    All,
}

struct State {
    items: VecDeque<(usize, u64)>,
    producing: bool,
}

struct Queue {
    state: Mutex<State>,
    not_empty: Condvar,
    not_full: Condvar,
    slots: usize,
}

impl Queue {
    fn wait_on(&self, cv: &Condvar, g: &mut threadkit::MutexGuard<'_, State>, wait: Wait) {
        match wait {
            Wait::Forever => cv.wait(g),
            Wait::Bounded(t) => {
                // Timed out or notified: the caller's loop looks at the queue again either way.
                let _notified = cv.wait_timeout(g, t);
            }
        }
    }

    fn notify(cv: &Condvar, how: Notify) {
        match how {
            Notify::One => {
                cv.notify_one();
            }
            Notify::All => {
                cv.notify_all();
            }
        }
    }
}

/// Runs `producers` producers of `per_producer` items each through a queue of `slots` to
/// `consumers` consumers, and checks every item arrived exactly once. Panics if the run takes
/// longer than [`GUARD`].
fn run(
    producers: usize,
    consumers: usize,
    slots: usize,
    per_producer: u64,
    wait: Wait,
    how: Notify,
) {
    let (done_tx, done_rx) = mpsc::channel();
    // The body runs on its own thread so that a lost wake-up fails the test instead of
    // hanging it (the stuck threads are left behind; the process ends with the test binary).
    thread::spawn(move || {
        let q = Arc::new(Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                producing: true,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            slots,
        });
        let out = Arc::new(Mutex::new(Vec::new()));
        let consumer_threads: Vec<_> = (0..consumers)
            .map(|_| {
                let (q, out) = (Arc::clone(&q), Arc::clone(&out));
                thread::spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let (was_full, item) = {
                            let mut g = q.state.lock();
                            while g.items.is_empty() && g.producing {
                                q.wait_on(&q.not_empty, &mut g, wait);
                            }
                            if g.items.is_empty() {
                                break; // nothing left and nothing coming
                            }
                            let was_full = g.items.len() == q.slots;
                            (was_full, g.items.pop_front())
                        };
                        if was_full {
                            Queue::notify(&q.not_full, how);
                        }
                        mine.extend(item);
                    }
                    out.lock().extend(mine);
                })
            })
            .collect();
        let producer_threads: Vec<_> = (0..producers)
            .map(|p| {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    for i in 0..per_producer {
                        let was_empty = {
                            let mut g = q.state.lock();
                            while g.items.len() >= q.slots {
                                q.wait_on(&q.not_full, &mut g, wait);
                            }
                            let was_empty = g.items.is_empty();
                            g.items.push_back((p, i));
                            was_empty
                        };
                        if was_empty {
                            Queue::notify(&q.not_empty, how);
                        }
                    }
                })
            })
            .collect();
        for t in producer_threads {
            t.join().expect("a producer panicked");
        }
        q.state.lock().producing = false;
        q.not_empty.notify_all();
        for t in consumer_threads {
            t.join().expect("a consumer panicked");
        }
        let mut got = std::mem::take(&mut *out.lock());
        got.sort_unstable();
        let _ = done_tx.send(got);
    });
    let got = done_rx.recv_timeout(GUARD).unwrap_or_else(|_| {
        panic!("webkit queue {producers}p/{consumers}c is stuck after {GUARD:?}")
    });
    let expected: Vec<(usize, u64)> = (0..producers)
        .flat_map(|p| (0..per_producer).map(move |i| (p, i)))
        .collect();
    assert_eq!(got.len(), expected.len(), "items lost or duplicated");
    assert!(got == expected, "items lost or duplicated");
}

#[test]
fn one_producer_one_consumer_one_slot() {
    run(1, 1, 1, 20_000, Wait::Forever, Notify::One);
}

#[test]
fn one_producer_one_consumer_one_slot_timeout() {
    run(
        1,
        1,
        1,
        5_000,
        Wait::Bounded(Duration::from_millis(1)),
        Notify::One,
    );
}

#[test]
fn one_producer_ten_consumers_one_slot() {
    run(1, 10, 1, 10_000, Wait::Forever, Notify::One);
}

#[test]
fn ten_producers_one_consumer_one_slot() {
    run(10, 1, 1, 1_000, Wait::Forever, Notify::One);
}

#[test]
fn ten_producers_ten_consumers_one_slot() {
    run(10, 10, 1, 1_000, Wait::Forever, Notify::One);
}

#[test]
fn one_producer_ten_consumers_hundred_slots_notify_all() {
    run(1, 10, 100, 20_000, Wait::Forever, Notify::All);
}

#[test]
fn ten_producers_one_consumer_one_slot_timeout() {
    run(
        10,
        1,
        1,
        500,
        Wait::Bounded(Duration::from_millis(1)),
        Notify::One,
    );
}

/// The same 1-slot hand-over with Python's shape: one `Condition<Lock>` guards the queue and
/// both directions wait on it (so `notify(1)` may wake the wrong side: every waiter re-checks,
/// and a notify goes out on every change, as Python's `queue.Queue` would need with one
/// condition).
#[test]
fn condition_one_producer_ten_consumers_one_slot() {
    const ITEMS: u64 = 5_000;
    const CONSUMERS: usize = 10;
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        struct Shared {
            cond: Condition<Lock>,
            // Guarded by `cond`'s lock: (slot, producing, taken).
            slot: std::cell::UnsafeCell<(Option<u64>, bool, Vec<u64>)>,
        }
        // SAFETY: `slot` is only touched while `cond`'s lock is held.
        unsafe impl Sync for Shared {}
        let s = Arc::new(Shared {
            cond: Condition::with_lock(Lock::new()),
            slot: std::cell::UnsafeCell::new((None, true, Vec::new())),
        });
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let s = Arc::clone(&s);
                thread::spawn(move || {
                    s.cond.acquire();
                    loop {
                        // SAFETY: the lock is held.
                        let st = unsafe { &mut *s.slot.get() };
                        if let Some(v) = st.0.take() {
                            st.2.push(v);
                            let _ = s.cond.notify_all();
                        } else if !st.1 {
                            break;
                        } else {
                            let _ = s.cond.wait();
                        }
                    }
                    let _ = s.cond.release();
                })
            })
            .collect();
        s.cond.acquire();
        for i in 0..ITEMS {
            loop {
                // SAFETY: the lock is held.
                let st = unsafe { &mut *s.slot.get() };
                if st.0.is_none() {
                    st.0 = Some(i);
                    break;
                }
                let _ = s.cond.wait();
            }
            let _ = s.cond.notify(1);
        }
        // Wait until the last item is taken, then tell the consumers to stop.
        loop {
            // SAFETY: the lock is held.
            let st = unsafe { &mut *s.slot.get() };
            if st.0.is_none() {
                st.1 = false;
                break;
            }
            let _ = s.cond.wait();
        }
        let _ = s.cond.notify_all();
        let _ = s.cond.release();
        for c in consumers {
            c.join().expect("a consumer panicked");
        }
        s.cond.acquire();
        // SAFETY: the lock is held.
        let mut got = std::mem::take(unsafe { &mut (*s.slot.get()).2 });
        let _ = s.cond.release();
        got.sort_unstable();
        let _ = done_tx.send(got);
    });
    let got = done_rx
        .recv_timeout(GUARD)
        .unwrap_or_else(|_| panic!("Condition 1p/10c is stuck after {GUARD:?}"));
    assert!(
        got == (0..ITEMS).collect::<Vec<_>>(),
        "items lost or duplicated"
    );
}
