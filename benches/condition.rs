//! Condition / Condvar / Barrier benches against std, parking_lot and pthread_barrier_t.
//!
//! Smoke run: `cargo bench --bench condition -- --quick`. Every bench measures the threaded
//! part only (`iter_custom`): helper threads are started per sample, outside the timing where
//! the bench says so.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

/// Ping-pong through one mutex + condvar pair: two threads alternate a turn flag `iters`
/// times each. `$m`/`$cv` build the mutex and condvar, `$lock`/`$wait`/`$notify` use them.
macro_rules! pingpong {
    (@side $pair:expr, $me:expr, $iters:expr, |$m:ident| $lock:expr, |$cv:ident, $g:ident| $wait:expr, |$cv2:ident| $notify:expr) => {{
        let ($m, $cv) = &*$pair;
        let $cv2 = $cv;
        for _ in 0..$iters {
            let mut $g = $lock;
            while *$g != $me {
                $wait;
            }
            *$g = 1 - $me;
            drop($g);
            $notify;
        }
    }};
    ($iters:expr, $new_m:expr, $new_cv:expr, |$m:ident| $lock:expr, |$cv:ident, $g:ident| $wait:expr, |$cv2:ident| $notify:expr) => {{
        let iters = $iters;
        let pair = Arc::new(($new_m, $new_cv));
        let p = Arc::clone(&pair);
        let start = Instant::now();
        let t = thread::spawn(move || {
            pingpong!(@side p, 1, iters, |$m| $lock, |$cv, $g| $wait, |$cv2| $notify)
        });
        pingpong!(@side pair, 0, iters, |$m| $lock, |$cv, $g| $wait, |$cv2| $notify);
        t.join().unwrap();
        start.elapsed()
    }};
}

fn pingpong_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("pingpong");
    g.bench_function("threadkit Condition<Lock>", |b| {
        b.iter_custom(|iters| {
            use threadkit::{Condition, Lock};
            let cond = Arc::new(Condition::with_lock(Lock::new()));
            let turn = Arc::new(AtomicUsize::new(0));
            let side = move |me: usize, cond: &Condition<Lock>, turn: &AtomicUsize| {
                for _ in 0..iters {
                    cond.acquire();
                    while turn.load(SeqCst) != me {
                        cond.wait().unwrap();
                    }
                    turn.store(1 - me, SeqCst);
                    cond.notify(1).unwrap();
                    cond.release().unwrap();
                }
            };
            let (c2, t2) = (Arc::clone(&cond), Arc::clone(&turn));
            let start = Instant::now();
            let t = thread::spawn(move || side(1, &c2, &t2));
            side(0, &cond, &turn);
            t.join().unwrap();
            start.elapsed()
        })
    });
    g.bench_function("threadkit Condvar", |b| {
        b.iter_custom(|iters| {
            pingpong!(
                iters,
                threadkit::Mutex::new(0usize),
                threadkit::Condvar::new(),
                |m| m.lock(),
                |cv, g| cv.wait(&mut g),
                |cv| cv.notify_one()
            )
        })
    });
    g.bench_function("threadkit Condvar notify under lock", |b| {
        b.iter_custom(|iters| {
            let pair = Arc::new((threadkit::Mutex::new(0usize), threadkit::Condvar::new()));
            let p = Arc::clone(&pair);
            let side = move |me: usize, pair: &(threadkit::Mutex<usize>, threadkit::Condvar)| {
                for _ in 0..iters {
                    let mut g = pair.0.lock();
                    while *g != me {
                        pair.1.wait(&mut g);
                    }
                    *g = 1 - me;
                    pair.1.notify_one();
                    drop(g);
                }
            };
            let start = Instant::now();
            let t = thread::spawn(move || side(1, &p));
            side(0, &pair);
            t.join().unwrap();
            start.elapsed()
        })
    });
    g.bench_function("std Mutex+Condvar", |b| {
        b.iter_custom(|iters| {
            pingpong!(
                iters,
                std::sync::Mutex::new(0usize),
                std::sync::Condvar::new(),
                |m| m.lock().unwrap(),
                |cv, g| g = cv.wait(g).unwrap(),
                |cv| cv.notify_one()
            )
        })
    });
    g.bench_function("parking_lot Mutex+Condvar", |b| {
        b.iter_custom(|iters| {
            pingpong!(
                iters,
                parking_lot::Mutex::new(0usize),
                parking_lot::Condvar::new(),
                |m| m.lock(),
                |cv, g| cv.wait(&mut g),
                |cv| cv.notify_one()
            )
        })
    });
    g.finish();
}

const HERD: usize = 32;

/// `notify_all` herd: HERD waiters block; the timing runs from `notify_all` until every one
/// has re-acquired the mutex and left `wait`.
macro_rules! herd {
    ($under_lock:expr, $iters:expr, $new_m:expr, $new_cv:expr, |$m:ident| $lock:expr, |$cv:ident, $g:ident| $wait:expr) => {{
        let mut total = Duration::ZERO;
        for _ in 0..$iters {
            let pair = Arc::new(($new_m, $new_cv, AtomicUsize::new(0)));
            let threads: Vec<_> = (0..HERD)
                .map(|_| {
                    let p = Arc::clone(&pair);
                    thread::spawn(move || {
                        let ($m, $cv, left) = &*p;
                        let mut $g = $lock;
                        *$g += 1;
                        while *$g <= HERD {
                            $wait;
                        }
                        drop($g);
                        left.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            let ($m, cv, left) = &*pair;
            loop {
                let mut $g = $lock;
                if *$g == HERD {
                    *$g += 1;
                    drop($g);
                    break;
                }
                drop($g);
                thread::yield_now();
            }
            let start = Instant::now();
            if $under_lock {
                let _g = $lock;
                cv.notify_all();
            } else {
                cv.notify_all();
            }
            while left.load(SeqCst) < HERD {
                std::hint::spin_loop();
            }
            total += start.elapsed();
            for t in threads {
                t.join().unwrap();
            }
        }
        total
    }};
}

fn herd_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("notify_all herd of 32");
    g.sample_size(10);
    g.bench_function("threadkit Condvar", |b| {
        b.iter_custom(|iters| {
            herd!(
                false,
                iters,
                threadkit::Mutex::new(0usize),
                threadkit::Condvar::new(),
                |m| m.lock(),
                |cv, g| cv.wait(&mut g)
            )
        })
    });
    g.bench_function("threadkit Condvar, notify under lock", |b| {
        b.iter_custom(|iters| {
            herd!(
                true,
                iters,
                threadkit::Mutex::new(0usize),
                threadkit::Condvar::new(),
                |m| m.lock(),
                |cv, g| cv.wait(&mut g)
            )
        })
    });
    g.bench_function("std Mutex+Condvar, notify under lock", |b| {
        b.iter_custom(|iters| {
            herd!(
                true,
                iters,
                std::sync::Mutex::new(0usize),
                std::sync::Condvar::new(),
                |m| m.lock().unwrap(),
                |cv, g| g = cv.wait(g).unwrap()
            )
        })
    });
    g.bench_function("std Mutex+Condvar", |b| {
        b.iter_custom(|iters| {
            herd!(
                false,
                iters,
                std::sync::Mutex::new(0usize),
                std::sync::Condvar::new(),
                |m| m.lock().unwrap(),
                |cv, g| g = cv.wait(g).unwrap()
            )
        })
    });
    g.bench_function("parking_lot Mutex+Condvar", |b| {
        b.iter_custom(|iters| {
            herd!(
                false,
                iters,
                parking_lot::Mutex::new(0usize),
                parking_lot::Condvar::new(),
                |m| m.lock(),
                |cv, g| cv.wait(&mut g)
            )
        })
    });
    g.finish();
}

/// `iters` barrier rounds of `parties` threads; timed on the main thread.
fn barrier_rounds<B: Send + Sync + 'static>(
    iters: u64,
    parties: usize,
    barrier: B,
    wait: fn(&B),
) -> Duration {
    let barrier = Arc::new(barrier);
    let threads: Vec<_> = (1..parties)
        .map(|_| {
            let b = Arc::clone(&barrier);
            thread::spawn(move || {
                for _ in 0..iters {
                    wait(&b);
                }
            })
        })
        .collect();
    let start = Instant::now();
    for _ in 0..iters {
        wait(&barrier);
    }
    let elapsed = start.elapsed();
    for t in threads {
        t.join().unwrap();
    }
    elapsed
}

#[cfg(target_os = "linux")]
struct PthreadBarrier(std::cell::UnsafeCell<libc::pthread_barrier_t>);
// SAFETY: pthread barriers are made to be shared between threads.
#[cfg(target_os = "linux")]
unsafe impl Sync for PthreadBarrier {}
// SAFETY: as above; it is only destroyed once, by the last owner.
#[cfg(target_os = "linux")]
unsafe impl Send for PthreadBarrier {}
#[cfg(target_os = "linux")]
impl PthreadBarrier {
    fn new(n: u32) -> Self {
        // SAFETY: an all-zero pthread_barrier_t is valid storage for pthread_barrier_init.
        let b = PthreadBarrier(std::cell::UnsafeCell::new(unsafe { std::mem::zeroed() }));
        // SAFETY: `b.0` is valid storage; default attributes; n > 0.
        let r = unsafe { libc::pthread_barrier_init(b.0.get(), std::ptr::null(), n) };
        assert_eq!(r, 0);
        b
    }
    fn wait(&self) {
        // SAFETY: the barrier was initialised in `new` and is not yet destroyed.
        unsafe { libc::pthread_barrier_wait(self.0.get()) };
    }
}
#[cfg(target_os = "linux")]
impl Drop for PthreadBarrier {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`; nobody waits any more (we are the last owner).
        unsafe { libc::pthread_barrier_destroy(self.0.get()) };
    }
}

fn barrier_benches(c: &mut Criterion) {
    for parties in [2usize, 4] {
        let mut g = c.benchmark_group(format!("barrier round trip, {parties} parties"));
        g.bench_function("threadkit Barrier", |b| {
            b.iter_custom(|iters| {
                barrier_rounds(iters, parties, threadkit::Barrier::new(parties), |b| {
                    black_box(b.wait().unwrap());
                })
            })
        });
        g.bench_function("std Barrier", |b| {
            b.iter_custom(|iters| {
                barrier_rounds(iters, parties, std::sync::Barrier::new(parties), |b| {
                    black_box(b.wait());
                })
            })
        });
        #[cfg(target_os = "linux")]
        g.bench_function("pthread_barrier_t", |b| {
            b.iter_custom(|iters| {
                barrier_rounds(iters, parties, PthreadBarrier::new(parties as u32), |b| {
                    b.wait()
                })
            })
        });
        g.finish();
    }
}

const RING: usize = 8;

/// 8 threads pass a token round a ring, each waiting on its own condvar: `iters` passes.
macro_rules! ring {
    ($iters:expr, $new_m:expr, $new_cv:expr, |$m:ident| $lock:expr, |$cv:ident, $g:ident| $wait:expr) => {{
        let passes = $iters as usize;
        let shared = Arc::new(($new_m, (0..RING).map(|_| $new_cv).collect::<Vec<_>>()));
        let start = Instant::now();
        let threads: Vec<_> = (0..RING)
            .map(|me| {
                let s = Arc::clone(&shared);
                thread::spawn(move || {
                    let ($m, cvs) = &*s;
                    let $cv = &cvs[me];
                    let mut $g = $lock;
                    loop {
                        // *g = number of passes so far; the holder is passes % RING.
                        while *$g < passes && *$g % RING != me {
                            $wait;
                        }
                        if *$g >= passes {
                            break;
                        }
                        *$g += 1;
                        cvs[(me + 1) % RING].notify_one();
                    }
                    drop($g);
                    for cv in cvs.iter() {
                        cv.notify_all();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        start.elapsed()
    }};
}

fn oversubscribed_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("token ring, 8 threads");
    g.bench_function("threadkit Condvar", |b| {
        b.iter_custom(|iters| {
            ring!(
                iters,
                threadkit::Mutex::new(0usize),
                threadkit::Condvar::new(),
                |m| m.lock(),
                |cv, g| cv.wait(&mut g)
            )
        })
    });
    g.bench_function("std Mutex+Condvar", |b| {
        b.iter_custom(|iters| {
            ring!(
                iters,
                std::sync::Mutex::new(0usize),
                std::sync::Condvar::new(),
                |m| m.lock().unwrap(),
                |cv, g| g = cv.wait(g).unwrap()
            )
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    pingpong_benches,
    herd_benches,
    barrier_benches,
    oversubscribed_benches
);
criterion_main!(benches);
