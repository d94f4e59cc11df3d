//! Lock and Mutex<u64>: uncontended, contended, lock-bench style random locks, and the
//! scaling rows (a ~50 ns critical section from 1, 2, 4, 8 and 16 threads).

use crate::harness::{
    Contender, Family, RunFn, Scenario, XorShift, share, timed_loop, timed_workers_placed,
};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use threadkit::Lock;

/// One critical section: lock, add one to the protected counter, unlock.
pub trait Bump: Send + Sync + 'static {
    fn make() -> Self;
    fn bump(&self);
}

/// threadkit's `Lock` protects no data (as in Python): the counter sits beside it.
pub struct TkLock(Lock, AtomicU64);
impl Bump for TkLock {
    fn make() -> Self {
        TkLock(Lock::new(), AtomicU64::new(0))
    }
    #[inline]
    fn bump(&self) {
        self.0.acquire();
        self.1.store(self.1.load(Relaxed) + 1, Relaxed);
        let _ = self.0.release();
    }
}

impl Bump for threadkit::Mutex<u64> {
    fn make() -> Self {
        threadkit::Mutex::new(0)
    }
    #[inline]
    fn bump(&self) {
        *self.lock() += 1;
    }
}

impl Bump for std::sync::Mutex<u64> {
    fn make() -> Self {
        std::sync::Mutex::new(0)
    }
    #[inline]
    fn bump(&self) {
        *self.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }
}

impl Bump for parking_lot::Mutex<u64> {
    fn make() -> Self {
        parking_lot::Mutex::new(0)
    }
    #[inline]
    fn bump(&self) {
        *self.lock() += 1;
    }
}

#[cfg(unix)]
pub struct Pthread(crate::baselines::PthreadMutex, AtomicU64);
#[cfg(unix)]
impl Bump for Pthread {
    fn make() -> Self {
        Pthread(crate::baselines::PthreadMutex::new(), AtomicU64::new(0))
    }
    #[inline]
    fn bump(&self) {
        self.0.lock();
        self.1.store(self.1.load(Relaxed) + 1, Relaxed);
        self.0.unlock();
    }
}

/// `threads` threads doing `ops` critical sections in all, each on a random one of `locks`,
/// pinned (when threads <= CPUs, see `timed_workers`) or not.
fn bench_placed<B: Bump>(threads: usize, locks: usize, pin: bool) -> RunFn {
    let v: Vec<B> = (0..locks).map(|_| B::make()).collect();
    Box::new(move |ops| {
        if threads == 1 && locks == 1 {
            return timed_loop(ops, || black_box(&v[0]).bump());
        }
        timed_workers_placed(threads, pin, |i| {
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
            for _ in 0..share(ops, threads, i) {
                let k = if locks == 1 {
                    0
                } else {
                    (rng.next() % locks as u64) as usize
                };
                v[k].bump();
            }
        })
    })
}

fn lock_row(name: &'static str, threads: usize, locks: usize) -> Scenario {
    lock_row_placed(name, threads, locks, true)
}

fn lock_row_placed(name: &'static str, threads: usize, locks: usize, pin: bool) -> Scenario {
    #[allow(unused_mut)] // the libc contender is pushed on unix only
    let mut contenders = vec![
        Contender {
            family: Family::Threadkit,
            what: "Lock",
            run: bench_placed::<TkLock>(threads, locks, pin),
        },
        Contender {
            family: Family::Std,
            what: "Mutex<u64>",
            run: bench_placed::<std::sync::Mutex<u64>>(threads, locks, pin),
        },
        Contender {
            family: Family::ParkingLot,
            what: "Mutex<u64>",
            run: bench_placed::<parking_lot::Mutex<u64>>(threads, locks, pin),
        },
    ];
    #[cfg(unix)]
    contenders.push(Contender {
        family: Family::Libc,
        what: "pthread_mutex_t",
        run: bench_placed::<Pthread>(threads, locks, pin),
    });
    Scenario { name, contenders }
}

fn mutex_row(name: &'static str, threads: usize) -> Scenario {
    mutex_row_placed(name, threads, true)
}

fn mutex_row_placed(name: &'static str, threads: usize, pin: bool) -> Scenario {
    let contenders = vec![
        Contender {
            family: Family::Threadkit,
            what: "Mutex<u64>",
            run: bench_placed::<threadkit::Mutex<u64>>(threads, 1, pin),
        },
        Contender {
            family: Family::Std,
            what: "Mutex<u64>",
            run: bench_placed::<std::sync::Mutex<u64>>(threads, 1, pin),
        },
        Contender {
            family: Family::ParkingLot,
            what: "Mutex<u64>",
            run: bench_placed::<parking_lot::Mutex<u64>>(threads, 1, pin),
        },
    ];
    Scenario { name, contenders }
}

/// Rounds of xorshift in [`critical_work`]: 1 thread takes about 50 ns per lock + section
/// + unlock here (`--filter "1 thread"`).
const CRITICAL_ROUNDS: u32 = 28;

/// About 50 ns of dependent arithmetic on this machine: the critical section of the scaling
/// rows (a little real work under the lock, as in parking_lot's and matklad's benchmarks).
#[inline]
fn critical_work(x: u64) -> u64 {
    let mut x = x | 1;
    for _ in 0..CRITICAL_ROUNDS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// A `Mutex<u64>` whose critical section is [`critical_work`].
pub struct Work<M>(M);

macro_rules! work_bump {
    ($m:ty, $this:ident => $lock:expr) => {
        impl Bump for Work<$m> {
            fn make() -> Self {
                Work(<$m>::new(1))
            }
            #[inline]
            fn bump(&self) {
                let $this = &self.0;
                let mut g = $lock;
                *g = critical_work(*g);
            }
        }
    };
}
work_bump!(threadkit::Mutex<u64>, m => m.lock());
work_bump!(std::sync::Mutex<u64>, m => m.lock().unwrap_or_else(|e| e.into_inner()));
work_bump!(parking_lot::Mutex<u64>, m => m.lock());

/// The scaling rows: `threads` unpinned threads on one `Mutex<u64>` with a ~50 ns critical
/// section.
fn scaling_row(name: &'static str, threads: usize) -> Scenario {
    Scenario {
        name,
        contenders: vec![
            Contender {
                family: Family::Threadkit,
                what: "Mutex<u64>",
                run: bench_placed::<Work<threadkit::Mutex<u64>>>(threads, 1, false),
            },
            Contender {
                family: Family::Std,
                what: "Mutex<u64>",
                run: bench_placed::<Work<std::sync::Mutex<u64>>>(threads, 1, false),
            },
            Contender {
                family: Family::ParkingLot,
                what: "Mutex<u64>",
                run: bench_placed::<Work<parking_lot::Mutex<u64>>>(threads, 1, false),
            },
        ],
    }
}

pub fn lock_uncontended() -> Scenario {
    lock_row("Lock uncontended", 1, 1)
}
pub fn lock_2_threads() -> Scenario {
    lock_row("Lock contended, 2 threads", 2, 1)
}
pub fn lock_4_threads() -> Scenario {
    lock_row("Lock contended, 4 threads", 4, 1)
}
pub fn lock_random_2() -> Scenario {
    lock_row("Lock 4 threads, random of 2", 4, 2)
}
pub fn lock_random_64() -> Scenario {
    lock_row("Lock 4 threads, random of 64", 4, 64)
}
pub fn mutex_uncontended() -> Scenario {
    mutex_row("Mutex<u64> uncontended", 1)
}
pub fn mutex_2_threads() -> Scenario {
    mutex_row("Mutex<u64> contended, 2 threads", 2)
}
pub fn lock_2_threads_unpinned() -> Scenario {
    lock_row_placed("Lock contended, 2 threads (unpinned)", 2, 1, false)
}
pub fn mutex_2_threads_unpinned() -> Scenario {
    mutex_row_placed("Mutex<u64> contended, 2 threads (unpinned)", 2, false)
}
pub fn scaling_1() -> Scenario {
    scaling_row("Mutex<u64> 50 ns section, 1 thread", 1)
}
pub fn scaling_2() -> Scenario {
    scaling_row("Mutex<u64> 50 ns section, 2 threads", 2)
}
pub fn scaling_4() -> Scenario {
    scaling_row("Mutex<u64> 50 ns section, 4 threads", 4)
}
pub fn scaling_8() -> Scenario {
    scaling_row("Mutex<u64> 50 ns section, 8 threads", 8)
}
pub fn scaling_16() -> Scenario {
    scaling_row("Mutex<u64> 50 ns section, 16 threads", 16)
}
