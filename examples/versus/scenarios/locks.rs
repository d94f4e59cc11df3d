//! Lock and Mutex<u64>: uncontended, contended, lock-bench style random locks.

use crate::harness::{
    Contender, Family, RunFn, Scenario, XorShift, share, timed_loop, timed_workers,
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

/// `threads` threads doing `ops` critical sections in all, each on a random one of `locks`.
fn bench<B: Bump>(threads: usize, locks: usize) -> RunFn {
    let v: Vec<B> = (0..locks).map(|_| B::make()).collect();
    Box::new(move |ops| {
        if threads == 1 && locks == 1 {
            return timed_loop(ops, || black_box(&v[0]).bump());
        }
        timed_workers(threads, |i| {
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
    #[allow(unused_mut)] // the libc contender is pushed on unix only
    let mut contenders = vec![
        Contender {
            family: Family::Threadkit,
            what: "Lock",
            run: bench::<TkLock>(threads, locks),
        },
        Contender {
            family: Family::Std,
            what: "Mutex<u64>",
            run: bench::<std::sync::Mutex<u64>>(threads, locks),
        },
        Contender {
            family: Family::ParkingLot,
            what: "Mutex<u64>",
            run: bench::<parking_lot::Mutex<u64>>(threads, locks),
        },
    ];
    #[cfg(unix)]
    contenders.push(Contender {
        family: Family::Libc,
        what: "pthread_mutex_t",
        run: bench::<Pthread>(threads, locks),
    });
    Scenario { name, contenders }
}

fn mutex_row(name: &'static str, threads: usize) -> Scenario {
    let contenders = vec![
        Contender {
            family: Family::Threadkit,
            what: "Mutex<u64>",
            run: bench::<threadkit::Mutex<u64>>(threads, 1),
        },
        Contender {
            family: Family::Std,
            what: "Mutex<u64>",
            run: bench::<std::sync::Mutex<u64>>(threads, 1),
        },
        Contender {
            family: Family::ParkingLot,
            what: "Mutex<u64>",
            run: bench::<parking_lot::Mutex<u64>>(threads, 1),
        },
    ];
    Scenario { name, contenders }
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
