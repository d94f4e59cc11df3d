//! Handing control between threads with conditions and condition variables: ping-pong,
//! a token ring, and the notify_all herd.

use crate::harness::{Contender, Family, RunFn, Scenario, timed_workers, timed_workers_placed};
use crate::scenarios::signals::{Signal, ring_row};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use threadkit::{Condition, Lock};

/// An event written with threadkit's `Condition` (a flag beside a `Condition<Lock>`).
pub struct CondFlag(Condition<Lock>, AtomicBool);
impl Signal for CondFlag {
    fn make() -> Self {
        CondFlag(Condition::with_lock(Lock::new()), AtomicBool::new(false))
    }
    fn set(&self) {
        self.0.acquire();
        self.1.store(true, Relaxed);
        let _ = self.0.notify(1);
        let _ = self.0.release();
    }
    fn wait_clear(&self) {
        self.0.acquire();
        while !self.1.load(Relaxed) {
            let _ = self.0.wait();
        }
        self.1.store(false, Relaxed);
        let _ = self.0.release();
    }
}

pub fn ring_conditions() -> Scenario {
    ring_row::<CondFlag>("ring of 8 threads (Condition)", "Condition<Lock>")
}

/// A shared counter and the threads that take turns on it: player `p` of `n` waits until
/// `count % n == p`, adds one and notifies.
pub trait Turns: Send + Sync + 'static {
    fn make() -> Self;
    fn take_turn(&self, p: u64, n: u64);
}

pub struct TkCondition(Condition<Lock>, AtomicU64);
impl Turns for TkCondition {
    fn make() -> Self {
        TkCondition(Condition::with_lock(Lock::new()), AtomicU64::new(0))
    }
    fn take_turn(&self, p: u64, n: u64) {
        self.0.acquire();
        while self.1.load(Relaxed) % n != p {
            let _ = self.0.wait();
        }
        self.1.store(self.1.load(Relaxed) + 1, Relaxed);
        let _ = self.0.notify(1);
        let _ = self.0.release();
    }
}

pub struct TkCondvar(threadkit::Mutex<u64>, threadkit::Condvar);
impl Turns for TkCondvar {
    fn make() -> Self {
        TkCondvar(threadkit::Mutex::new(0), threadkit::Condvar::new())
    }
    fn take_turn(&self, p: u64, n: u64) {
        let mut g = self.0.lock();
        while *g % n != p {
            self.1.wait(&mut g);
        }
        *g += 1;
        self.1.notify_one();
    }
}

pub struct StdTurns(std::sync::Mutex<u64>, std::sync::Condvar);
impl Turns for StdTurns {
    fn make() -> Self {
        StdTurns(std::sync::Mutex::new(0), std::sync::Condvar::new())
    }
    fn take_turn(&self, p: u64, n: u64) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while *g % n != p {
            g = self.1.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        *g += 1;
        self.1.notify_one();
    }
}

pub struct PlTurns(parking_lot::Mutex<u64>, parking_lot::Condvar);
impl Turns for PlTurns {
    fn make() -> Self {
        PlTurns(parking_lot::Mutex::new(0), parking_lot::Condvar::new())
    }
    fn take_turn(&self, p: u64, n: u64) {
        let mut g = self.0.lock();
        while *g % n != p {
            self.1.wait(&mut g);
        }
        *g += 1;
        self.1.notify_one();
    }
}

/// `ops` round trips of two players on one condition variable, pinned (when 2 <= CPUs) or
/// not.
fn turns<T: Turns>(pin: bool) -> RunFn {
    Box::new(move |ops| {
        let t = T::make();
        timed_workers_placed(2, pin, |i| {
            for _ in 0..ops {
                t.take_turn(i as u64, 2);
            }
        })
    })
}

fn turns_row<T: Turns>(name: &'static str, what: &'static str, pin: bool) -> Scenario {
    Scenario {
        name,
        contenders: vec![
            Contender {
                family: Family::Threadkit,
                what,
                run: turns::<T>(pin),
            },
            Contender {
                family: Family::Std,
                what: "Mutex<u64>+Condvar",
                run: turns::<StdTurns>(pin),
            },
            Contender {
                family: Family::ParkingLot,
                what: "Mutex<u64>+Condvar",
                run: turns::<PlTurns>(pin),
            },
        ],
    }
}

pub fn condition_ping_pong() -> Scenario {
    turns_row::<TkCondition>("Condition ping-pong", "Condition<Lock>", true)
}

pub fn condition_ping_pong_unpinned() -> Scenario {
    turns_row::<TkCondition>("Condition ping-pong (unpinned)", "Condition<Lock>", false)
}

pub fn condvar_ping_pong() -> Scenario {
    turns_row::<TkCondvar>("Condvar ping-pong", "Mutex<u64>+Condvar", true)
}

pub fn condvar_ping_pong_unpinned() -> Scenario {
    turns_row::<TkCondvar>("Condvar ping-pong (unpinned)", "Mutex<u64>+Condvar", false)
}

/// Waiters in the herd.
const HERD: usize = 32;

/// One `notify_all` to 32 waiters, and the wait until every one of them has run: the state is
/// (generation, arrived), two condition variables share one lock.
fn herd_tk() -> RunFn {
    Box::new(|ops| {
        let lock = Lock::new();
        let (to_waiters, to_main) = (Condition::with_lock(&lock), Condition::with_lock(&lock));
        let (gen_, arrived, stop) = (
            AtomicU64::new(0),
            AtomicUsize::new(0),
            AtomicBool::new(false),
        );
        timed_workers(HERD + 1, |i| {
            lock.acquire();
            if i == 0 {
                for _ in 0..ops {
                    arrived.store(0, Relaxed);
                    gen_.store(gen_.load(Relaxed) + 1, Relaxed);
                    let _ = to_waiters.notify_all();
                    while arrived.load(Relaxed) < HERD {
                        let _ = to_main.wait();
                    }
                }
                stop.store(true, Relaxed);
                let _ = to_waiters.notify_all();
            } else {
                let mut seen = 0;
                loop {
                    while gen_.load(Relaxed) == seen && !stop.load(Relaxed) {
                        let _ = to_waiters.wait();
                    }
                    if stop.load(Relaxed) {
                        break;
                    }
                    seen = gen_.load(Relaxed);
                    if arrived.fetch_add(1, Relaxed) + 1 == HERD {
                        let _ = to_main.notify(1);
                    }
                }
            }
            let _ = lock.release();
        })
    })
}

/// The herd with a std-shaped API: `$m` a mutex type, `$lock`/`$wait` how to use it.
macro_rules! herd_with {
    ($mutex:ty, $cv:ty, $lock:expr, $wait:expr) => {
        Box::new(|ops| {
            // (generation, arrived, stop)
            let m = <$mutex>::new((0u64, 0usize, false));
            let (to_waiters, to_main) = (<$cv>::new(), <$cv>::new());
            timed_workers(HERD + 1, |i| {
                let mut g = $lock(&m);
                if i == 0 {
                    for _ in 0..ops {
                        g.1 = 0;
                        g.0 += 1;
                        to_waiters.notify_all();
                        while g.1 < HERD {
                            g = $wait(&to_main, g);
                        }
                    }
                    g.2 = true;
                    to_waiters.notify_all();
                } else {
                    let mut seen = 0;
                    loop {
                        while g.0 == seen && !g.2 {
                            g = $wait(&to_waiters, g);
                        }
                        if g.2 {
                            break;
                        }
                        seen = g.0;
                        g.1 += 1;
                        if g.1 == HERD {
                            to_main.notify_one();
                        }
                    }
                }
            })
        })
    };
}

type Herd = (u64, usize, bool);

fn std_lock(m: &std::sync::Mutex<Herd>) -> std::sync::MutexGuard<'_, Herd> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn std_wait<'a>(
    cv: &std::sync::Condvar,
    g: std::sync::MutexGuard<'a, Herd>,
) -> std::sync::MutexGuard<'a, Herd> {
    cv.wait(g).unwrap_or_else(|e| e.into_inner())
}

fn pl_lock(m: &parking_lot::Mutex<Herd>) -> parking_lot::MutexGuard<'_, Herd> {
    m.lock()
}

fn pl_wait<'a>(
    cv: &parking_lot::Condvar,
    mut g: parking_lot::MutexGuard<'a, Herd>,
) -> parking_lot::MutexGuard<'a, Herd> {
    cv.wait(&mut g);
    g
}

pub fn notify_all_herd() -> Scenario {
    let std_run: RunFn = herd_with!(
        std::sync::Mutex<Herd>,
        std::sync::Condvar,
        std_lock,
        std_wait
    );
    let pl_run: RunFn = herd_with!(
        parking_lot::Mutex<Herd>,
        parking_lot::Condvar,
        pl_lock,
        pl_wait
    );
    Scenario {
        name: "notify_all herd, 32 waiters",
        contenders: vec![
            Contender {
                family: Family::Threadkit,
                what: "Condition<&Lock>",
                run: herd_tk(),
            },
            Contender {
                family: Family::Std,
                what: "Mutex+Condvar",
                run: std_run,
            },
            Contender {
                family: Family::ParkingLot,
                what: "Mutex+Condvar",
                run: pl_run,
            },
        ],
    }
}
