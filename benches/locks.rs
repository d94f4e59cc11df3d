//! Lock, RLock, Semaphore and Event against std, parking_lot and glibc.
//!
//! Quick smoke run: `cargo bench --bench locks -- --quick` (one group: add its name, e.g.
//! `-- --quick event`). The threaded benches use `iter_custom`: the time is the wall time of
//! all threads doing the group's iterations between them.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Mutex as StdMutex};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::{Event, Lock, RLock, Semaphore};

/// About `n` * 2.5 ns of work inside a critical section.
#[inline]
fn work(n: u32) {
    for i in 0..n {
        black_box(i);
    }
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("uncontended");
    let lock = Lock::new();
    g.bench_function("threadkit Lock", |b| {
        b.iter(|| {
            lock.acquire();
            let _ = black_box(&lock).release();
        })
    });
    let std_m = StdMutex::new(());
    g.bench_function("std Mutex<()>", |b| {
        b.iter(|| drop(black_box(&std_m).lock()))
    });
    let pl = parking_lot::Mutex::new(());
    g.bench_function("parking_lot Mutex<()>", |b| {
        b.iter(|| drop(black_box(&pl).lock()))
    });

    let m = threadkit::Mutex::new(0u64);
    g.bench_function("threadkit Mutex<u64>", |b| {
        b.iter(|| *black_box(&m).lock() += 1)
    });
    let std_m = StdMutex::new(0u64);
    g.bench_function("std Mutex<u64>", |b| {
        b.iter(|| *black_box(&std_m).lock().unwrap() += 1)
    });
    let pl = parking_lot::Mutex::new(0u64);
    g.bench_function("parking_lot Mutex<u64>", |b| {
        b.iter(|| *black_box(&pl).lock() += 1)
    });

    let r = RLock::new();
    g.bench_function("threadkit RLock", |b| {
        b.iter(|| {
            r.acquire();
            let _ = black_box(&r).release();
        })
    });
    let pr = parking_lot::ReentrantMutex::new(());
    g.bench_function("parking_lot ReentrantMutex", |b| {
        b.iter(|| drop(black_box(&pr).lock()))
    });
    r.acquire();
    g.bench_function("threadkit RLock nested", |b| {
        b.iter(|| {
            r.acquire();
            let _ = black_box(&r).release();
        })
    });
    let _ = r.release();

    let s = Semaphore::new(1);
    g.bench_function("threadkit Semaphore", |b| {
        b.iter(|| {
            s.acquire();
            let _ = black_box(&s).release();
        })
    });
    #[cfg(target_os = "linux")]
    {
        let sem = baselines::Sem::new(1);
        g.bench_function("glibc sem_wait+sem_post", |b| {
            b.iter(|| {
                sem.wait();
                black_box(&sem).post();
            })
        });
    }
    let e = Event::new();
    g.bench_function("threadkit Event set+wait+clear", |b| {
        b.iter(|| {
            e.set();
            black_box(&e).wait();
            e.clear();
        })
    });
    g.finish();
}

/// The glue baselines shared with the `versus` example: std `Mutex` + `Condvar` event and
/// semaphore, glibc's `sem_t`.
#[path = "../examples/versus/baselines.rs"]
#[allow(dead_code, unused_imports)] // this file uses a few of them, per OS
mod baselines;
use baselines::{StdEvent, StdSem};

/// `threads` threads share `iters` acquire/work/release rounds; returns the wall time.
fn contend(threads: usize, iters: u64, cs: u32, op: impl Fn(u32) + Sync) -> Duration {
    let per = (iters / threads as u64).max(1);
    let start_line = Barrier::new(threads + 1);
    thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                sc.spawn(|| {
                    start_line.wait();
                    for _ in 0..per {
                        op(cs);
                    }
                })
            })
            .collect();
        start_line.wait();
        let t = Instant::now();
        for h in hs {
            h.join().unwrap();
        }
        t.elapsed()
    })
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("contended");
    g.measurement_time(Duration::from_secs(2));
    for threads in [2, 4] {
        for cs in [0u32, 20] {
            let id = format!("{threads}t/cs{cs}");
            let lock = Lock::new();
            g.bench_with_input(BenchmarkId::new("threadkit Lock", &id), &cs, |b, &cs| {
                b.iter_custom(|n| {
                    contend(threads, n, cs, |w| {
                        lock.acquire();
                        work(w);
                        let _ = lock.release();
                    })
                })
            });
            let m = StdMutex::new(());
            g.bench_with_input(BenchmarkId::new("std Mutex", &id), &cs, |b, &cs| {
                b.iter_custom(|n| {
                    contend(threads, n, cs, |w| {
                        let _g = m.lock();
                        work(w);
                    })
                })
            });
            let m = parking_lot::Mutex::new(());
            g.bench_with_input(BenchmarkId::new("parking_lot Mutex", &id), &cs, |b, &cs| {
                b.iter_custom(|n| {
                    contend(threads, n, cs, |w| {
                        let _g = m.lock();
                        work(w);
                    })
                })
            });
        }
    }
    g.finish();
}

/// The event operations the ping-pong and ring benches need.
trait Ev: Sync + Default {
    fn set(&self);
    fn clear(&self);
    fn wait(&self);
}
impl Ev for Event {
    fn set(&self) {
        Event::set(self)
    }
    fn clear(&self) {
        Event::clear(self)
    }
    fn wait(&self) {
        Event::wait(self)
    }
}
impl Ev for StdEvent {
    fn set(&self) {
        StdEvent::set(self)
    }
    fn clear(&self) {
        StdEvent::clear(self)
    }
    fn wait(&self) {
        StdEvent::wait(self)
    }
}

/// `iters` round trips between two threads over two events.
fn event_ping_pong<E: Ev>(iters: u64) -> Duration {
    let (ping, pong) = (E::default(), E::default());
    thread::scope(|sc| {
        sc.spawn(|| {
            for _ in 0..iters {
                ping.wait();
                ping.clear();
                pong.set();
            }
        });
        let t = Instant::now();
        for _ in 0..iters {
            ping.set();
            pong.wait();
            pong.clear();
        }
        t.elapsed()
    })
}

/// `iters` hops of a token around a ring of `threads` threads, one event each.
fn token_ring<E: Ev>(threads: usize, iters: u64) -> Duration {
    let laps = (iters / threads as u64).max(1);
    let events: Vec<E> = (0..threads).map(|_| E::default()).collect();
    let go = AtomicBool::new(false);
    thread::scope(|sc| {
        for i in 1..threads {
            let (events, go) = (&events, &go);
            sc.spawn(move || {
                while !go.load(Relaxed) {
                    thread::yield_now();
                }
                for _ in 0..laps {
                    events[i].wait();
                    events[i].clear();
                    events[(i + 1) % threads].set();
                }
            });
        }
        go.store(true, Relaxed);
        let t = Instant::now();
        for _ in 0..laps {
            events[1 % threads].set();
            events[0].wait();
            events[0].clear();
        }
        t.elapsed()
    })
}

fn handoff(c: &mut Criterion) {
    let mut g = c.benchmark_group("handoff");
    g.measurement_time(Duration::from_secs(2));
    g.bench_function("event ping-pong/threadkit", |b| {
        b.iter_custom(event_ping_pong::<Event>)
    });
    g.bench_function("event ping-pong/std Mutex+Condvar", |b| {
        b.iter_custom(event_ping_pong::<StdEvent>)
    });
    g.bench_function("token ring 8/threadkit", |b| {
        b.iter_custom(|n| token_ring::<Event>(8, n))
    });
    g.bench_function("token ring 8/std Mutex+Condvar", |b| {
        b.iter_custom(|n| token_ring::<StdEvent>(8, n))
    });
    g.bench_function("semaphore ping-pong/threadkit", |b| {
        b.iter_custom(|n| {
            let (a, z) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
            thread::scope(|sc| {
                sc.spawn(|| {
                    for _ in 0..n {
                        a.acquire();
                        let _ = z.release();
                    }
                });
                let t = Instant::now();
                for _ in 0..n {
                    let _ = a.release();
                    z.acquire();
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("semaphore ping-pong/std Mutex+Condvar", |b| {
        b.iter_custom(|n| {
            let (a, z) = (StdSem::default(), StdSem::default());
            thread::scope(|sc| {
                sc.spawn(|| {
                    for _ in 0..n {
                        a.acquire();
                        z.release();
                    }
                });
                let t = Instant::now();
                for _ in 0..n {
                    a.release();
                    z.acquire();
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, uncontended, contended, handoff);
criterion_main!(benches);
