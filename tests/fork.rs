//! `fork()` while other threads sit in every slow path: in the child, each primitive must behave
//! as if the threads that vanished had never been waiting on it (no crash, no ghost waiter
//! absorbing a notify, a release or a hand-over, no inherited internal lock, no count that
//! never drains). Each test keeps parent threads busy in the primitive's slow paths, forks
//! many times, and in every child exercises the primitive fully, with new threads (which reuse
//! the vanished threads' stacks). A child that fails exits non-zero; one that hangs is killed
//! by its alarm; both fail the test. Unix only (Windows has no fork); Miri and TSan cannot fork.
#![cfg(all(unix, not(miri)))]

#[path = "common/fork.rs"]
mod harness;

use harness::{Busy, CHILD_ALARM, FORKS, child_threads, fork_many};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;
use threadkit::{
    Barrier, BoundedSemaphore, Condition, Condvar, Error, Event, Local, Lock, Mutex, RLock,
    Semaphore,
};

/// Mutual exclusion with counting, by `n` new threads, `rounds` each.
fn check_exclusion(lock: &'static Lock, n: usize, rounds: usize) {
    static INSIDE: AtomicUsize = AtomicUsize::new(0);
    child_threads(n, move |i| {
        for r in 0..rounds {
            if (i + r) % 3 == 0 {
                while !lock.acquire_timeout(Duration::from_micros(50)) {}
            } else {
                lock.acquire();
            }
            assert_eq!(INSIDE.fetch_add(1, SeqCst), 0, "two threads inside");
            INSIDE.fetch_sub(1, SeqCst);
            lock.release().unwrap();
        }
    });
}

#[test]
fn lock_forgets_vanished_waiters() {
    static L: Lock = Lock::new();
    let busy = Busy::start(3, |i| {
        if i == 0 {
            // Waits with a timeout that often expires: starves, asks for HANDOFF, gives up.
            if L.acquire_timeout(Duration::from_micros(1500)) {
                L.release().unwrap();
            }
        } else {
            L.acquire();
            std::hint::black_box(0);
            L.release().unwrap();
        }
    });
    fork_many(
        // Hold the lock across the fork, long enough that its waiters sleep and starve.
        || {
            L.acquire();
            std::thread::sleep(Duration::from_millis(2));
        },
        || L.release().unwrap(),
        || {
            // The forking thread held it: its release must free it for real (not hand it
            // over to a vanished waiter).
            L.release().unwrap();
            assert!(
                !L.locked(),
                "released, yet locked: handed to a vanished waiter"
            );
            assert!(L.try_acquire());
            // The exact scenario of a starving child waiter that times out.
            let t = threadkit::spawn(|| L.acquire_timeout(Duration::from_millis(20)));
            assert!(!t.join().unwrap(), "the lock was held");
            L.release().unwrap();
            assert!(
                L.try_acquire(),
                "a HANDOFF left behind handed the lock to nobody"
            );
            L.release().unwrap();
            check_exclusion(&L, 4, 2000);
            assert_eq!(format!("{L:?}"), "Lock { locked: false, waiters: 0 }");
        },
    );
    busy.stop(|| {});
}

#[test]
fn rlock_forgets_vanished_waiters() {
    static R: RLock = RLock::new();
    let busy = Busy::start(3, |_| {
        R.acquire();
        R.acquire();
        R.release().unwrap();
        R.release().unwrap();
    });
    fork_many(
        || {
            R.acquire();
            std::thread::sleep(Duration::from_millis(2));
        },
        || R.release().unwrap(),
        || {
            assert!(R.is_owned(), "the forking thread holds it");
            R.release().unwrap();
            assert!(!R.locked());
            static N: AtomicUsize = AtomicUsize::new(0);
            child_threads(4, |_| {
                for _ in 0..1000 {
                    R.acquire();
                    R.acquire();
                    N.fetch_add(1, SeqCst);
                    R.release().unwrap();
                    R.release().unwrap();
                }
            });
            assert_eq!(N.load(SeqCst), 4000);
            assert!(!R.locked());
        },
    );
    busy.stop(|| {});
}

/// Parent: waiters and notifiers on `c` (waits with timeouts, notify(1), notify_all); the
/// forking thread holds the lock, so waiters are linked, requeued, chained or carrying tokens
/// back. Child: new waiters must all be notified, in full rounds.
fn condition_forgets_vanished_waiters<L: threadkit::ConditionLock + Send + Sync + 'static>(
    c: &'static Condition<L>,
) where
    Condition<L>: threadkit::Acquire,
{
    let busy = Busy::start(6, move |i| {
        c.acquire();
        if i < 4 {
            let _ = c.wait_timeout(Duration::from_millis(3)).unwrap();
        } else if i == 4 {
            c.notify_all().unwrap();
        } else {
            c.notify(1).unwrap();
        }
        c.release().unwrap();
    });
    fork_many(
        || {
            c.acquire();
            c.notify_all().unwrap();
            std::thread::sleep(Duration::from_millis(1));
        },
        || c.release().unwrap(),
        move || {
            // Walk the queue at once (the vanished threads' nodes must not be read)...
            c.notify_all().unwrap();
            c.release().unwrap();
            // ...and again once new threads have reused their stacks.
            static ROUND: AtomicUsize = AtomicUsize::new(0);
            static WAITING: AtomicUsize = AtomicUsize::new(0);
            const N: usize = 6;
            for round in 1..=20 {
                let h: Vec<_> = (0..N)
                    .map(|_| {
                        threadkit::spawn(move || {
                            c.acquire();
                            WAITING.fetch_add(1, SeqCst);
                            c.wait_for(|| ROUND.load(SeqCst) >= round).unwrap();
                            c.release().unwrap();
                        })
                    })
                    .collect();
                while WAITING.load(SeqCst) < N * round {
                    std::thread::yield_now();
                }
                c.acquire();
                ROUND.store(round, SeqCst);
                if round % 2 == 0 {
                    c.notify_all().unwrap();
                } else {
                    c.notify(N).unwrap();
                }
                c.release().unwrap();
                for t in h {
                    t.join().unwrap();
                }
            }
            // Nobody is left waiting, and a notify with no waiter finds nobody.
            c.acquire();
            assert!(!c.wait_timeout(Duration::from_millis(5)).unwrap());
            c.release().unwrap();
        },
    );
    busy.stop(move || {
        c.acquire();
        c.notify_all().unwrap();
        c.release().unwrap();
    });
}

#[test]
fn condition_on_lock_forgets_vanished_waiters() {
    static C: Condition<Lock> = Condition::with_lock(Lock::new());
    condition_forgets_vanished_waiters(&C);
}

#[test]
fn condition_on_rlock_forgets_vanished_waiters() {
    static C: Condition = Condition::new();
    condition_forgets_vanished_waiters(&C);
}

#[test]
fn condvar_forgets_vanished_waiters_and_its_internal_lock() {
    static M: Mutex<u64> = Mutex::new(0);
    static CV: Condvar = Condvar::new();
    // Notifiers call notify_* without the mutex, so a fork often finds one inside the queue's
    // internal lock.
    let busy = Busy::start(5, |i| {
        if i < 3 {
            let mut g = M.lock();
            let _ = CV.wait_timeout(&mut g, Duration::from_millis(2));
            *g += 1;
        } else if i == 3 {
            CV.notify_all();
        } else {
            CV.notify_one();
        }
    });
    // The forking thread holds the mutex across the fork (a mutex a vanished thread held
    // stays held in the child, as in CPython), so the child can use it.
    let unlock = || {
        // SAFETY: the forking thread locked it just before the fork and forgot the guard.
        unsafe { M.force_unlock() }
    };
    fork_many(
        || std::mem::forget(M.lock()),
        unlock,
        || {
            unlock();
            CV.notify_all(); // hangs if the internal lock was inherited held
            static GO: AtomicUsize = AtomicUsize::new(0);
            static WAITING: AtomicUsize = AtomicUsize::new(0);
            const N: usize = 5;
            for round in 1..=20 {
                let h: Vec<_> = (0..N)
                    .map(|_| {
                        threadkit::spawn(move || {
                            let mut g = M.lock();
                            WAITING.fetch_add(1, SeqCst);
                            CV.wait_while(&mut g, |_| GO.load(SeqCst) < round);
                        })
                    })
                    .collect();
                while WAITING.load(SeqCst) < N * round {
                    std::thread::yield_now();
                }
                let g = M.lock();
                GO.store(round, SeqCst);
                drop(g);
                if round % 2 == 0 {
                    CV.notify_all();
                } else {
                    for _ in 0..N {
                        CV.notify_one();
                    }
                }
                for t in h {
                    t.join().unwrap();
                }
            }
        },
    );
    busy.stop(|| {
        CV.notify_all();
    });
}

fn semaphore_child(acquire: fn(), release: fn() -> Result<(), Error>, units: usize) {
    static N: AtomicUsize = AtomicUsize::new(0);
    static INSIDE: AtomicUsize = AtomicUsize::new(0);
    let before = N.load(SeqCst);
    child_threads(4, move |_| {
        for _ in 0..1000 {
            acquire();
            assert!(
                INSIDE.fetch_add(1, SeqCst) < units,
                "more holders than units"
            );
            N.fetch_add(1, SeqCst);
            INSIDE.fetch_sub(1, SeqCst);
            release().unwrap();
        }
    });
    assert_eq!(N.load(SeqCst) - before, 4000);
}

#[test]
fn semaphore_forgets_vanished_sleepers() {
    static S: Semaphore = Semaphore::new(2);
    let busy = Busy::start(4, |_| {
        if S.acquire_timeout(Duration::from_millis(2)) {
            S.release().unwrap();
        }
    });
    fork_many(
        // Take every unit, so the others sleep.
        || {
            S.acquire();
            S.acquire();
            std::thread::sleep(Duration::from_millis(1));
        },
        || S.release_n(2).unwrap(),
        || {
            assert_eq!(S.value(), 0);
            S.release_n(2).unwrap();
            assert_eq!(S.value(), 2, "a vanished sleeper took a unit");
            semaphore_child(|| S.acquire(), || S.release(), 2);
            assert_eq!(S.value(), 2);
        },
    );
    busy.stop(|| {});
}

#[test]
fn bounded_semaphore_forgets_vanished_sleepers() {
    static S: BoundedSemaphore = BoundedSemaphore::new(1);
    let busy = Busy::start(4, |_| {
        S.acquire();
        S.release().unwrap();
    });
    fork_many(
        || {
            S.acquire();
            std::thread::sleep(Duration::from_millis(1));
        },
        || S.release().unwrap(),
        || {
            S.release().unwrap();
            assert!(matches!(S.release(), Err(Error::TooManyReleases)));
            semaphore_child(|| S.acquire(), || S.release(), 1);
            assert_eq!(S.value(), 1);
        },
    );
    busy.stop(|| {});
}

#[test]
fn event_forgets_vanished_waiters() {
    static E: Event = Event::new();
    let busy = Busy::start(4, |i| {
        if i == 0 {
            E.set();
            E.clear();
        } else {
            let _ = E.wait_timeout(Duration::from_millis(2));
        }
    });
    fork_many(
        || {},
        || {},
        || {
            E.clear();
            static GO: Event = Event::new();
            let h: Vec<_> = (0..4)
                .map(|_| threadkit::spawn(|| E.wait_timeout(Duration::from_secs(30))))
                .collect();
            GO.set();
            std::thread::sleep(Duration::from_millis(2));
            E.set();
            for t in h {
                assert!(t.join().unwrap(), "a waiter was not woken");
            }
            E.clear();
            assert!(!E.wait_timeout(Duration::from_millis(2)));
        },
    );
    busy.stop(|| E.set());
}

#[test]
fn barrier_forgets_vanished_parties() {
    static B: std::sync::OnceLock<Barrier> = std::sync::OnceLock::new();
    let b = B.get_or_init(|| Barrier::new(3));
    // Two parent threads are always in the barrier, waiting for a third party that only comes
    // now and then: most forks find two arrivals counted.
    let busy = Busy::start(2, |_| {
        let _ = B.get().unwrap().wait_timeout(Duration::from_millis(50));
        if B.get().unwrap().broken() {
            B.get().unwrap().reset();
        }
    });
    fork_many(
        || {},
        || {
            let _ = b.wait_timeout(Duration::from_millis(50));
        },
        || {
            let b = B.get().unwrap();
            if b.broken() {
                b.reset();
            }
            assert_eq!(b.n_waiting(), 0, "vanished parties still counted");
            assert_eq!(b.parties(), 3, "the fork stamp shares the parties word");
            for _ in 0..20 {
                let idx: Vec<usize> = {
                    let h: Vec<_> = (0..2)
                        .map(|_| threadkit::spawn(|| b.wait().unwrap()))
                        .collect();
                    let mine = b.wait().unwrap();
                    let mut v: Vec<usize> = h.into_iter().map(|t| t.join().unwrap()).collect();
                    v.push(mine);
                    v.sort();
                    v
                };
                assert_eq!(idx, [0, 1, 2]);
            }
        },
    );
    busy.stop(|| {
        B.get().unwrap().abort();
    });
}

#[test]
fn local_values_of_vanished_threads_stay_out_of_sight() {
    static L: std::sync::OnceLock<Local<AtomicUsize>> = std::sync::OnceLock::new();
    let l = L.get_or_init(|| Local::new(|| AtomicUsize::new(0)));
    let busy = Busy::start(3, |_| {
        L.get().unwrap().with(|v| v.fetch_add(1, SeqCst));
    });
    l.with(|v| v.store(7, SeqCst));
    fork_many(
        || {},
        || {},
        || {
            let l = L.get().unwrap();
            assert_eq!(l.with(|v| v.load(SeqCst)), 7);
            child_threads(4, |_| {
                let l = L.get().unwrap();
                assert_eq!(
                    l.with(|v| v.fetch_add(1, SeqCst)),
                    0,
                    "a vanished thread's value"
                );
            });
            let fresh = Local::new(|| 5u32);
            child_threads(3, move |_| {});
            assert_eq!(fresh.with(|v| *v), 5);
        },
    );
    busy.stop(|| {});
}

#[test]
fn thread_registry_keeps_only_the_forking_thread() {
    // Parent threads keep starting and joining threadkit threads, so a fork finds threads
    // starting, running, finishing and being joined.
    let busy = Busy::start(2, |_| {
        let t = threadkit::spawn(|| std::hint::black_box(1));
        t.join().unwrap();
    });
    let me = threadkit::current_thread();
    fork_many(
        || {},
        || {},
        || {
            let main = threadkit::main_thread();
            assert_eq!(threadkit::current_thread(), main);
            assert_eq!(threadkit::active_count(), 1, "{:?}", threadkit::enumerate());
            let h: Vec<_> = (0..4).map(|i| threadkit::spawn(move || i * 2)).collect();
            let sum: usize = h.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(sum, 12);
            assert_eq!(threadkit::active_count(), 1);
        },
    );
    assert_eq!(threadkit::current_thread(), me);
    busy.stop(|| {});
}

/// A fork inside a `scope` while its threads keep starting nested scoped threads (so the
/// scope's list is being pushed to at the instant of the fork): in the child, the forking
/// thread leaves the scope, which joins the vanished threads (they count as finished there)
/// without hanging on anything they held.
#[test]
fn a_scope_ends_in_a_fork_child() {
    for i in 0..FORKS {
        let stop = AtomicBool::new(false);
        let stop = &stop;
        let pid = threadkit::scope(|s| {
            for _ in 0..2 {
                s.spawn(move || {
                    while !stop.load(SeqCst) {
                        s.spawn(|| std::hint::black_box(1));
                    }
                });
            }
            std::thread::sleep(Duration::from_micros(300 + 100 * i as u64));
            // SAFETY: fork has no preconditions; the child leaves the scope and `_exit`s.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0);
            if pid == 0 {
                // SAFETY: alarm has no preconditions.
                unsafe { libc::alarm(CHILD_ALARM) };
            }
            stop.store(true, SeqCst);
            pid
        });
        if pid == 0 {
            // SAFETY: `_exit` has no preconditions.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "fork {i}: the child did not leave the scope (status {status:#x})"
        );
    }
}
