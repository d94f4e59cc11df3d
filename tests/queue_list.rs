//! Tests of the lock-free list behind an unbounded `Queue` (and a bounded one too large for
//! the ring), through the public API, each crossing many segment boundaries
//! ([`SEGMENT_SLOTS`] slots a segment): FIFO order, MPMC with a checksum of every item, an
//! immediate shutdown racing puts and gets with every item accounted for once (counted drops),
//! fresh queues whose first puts race to install the first segment, a dropped queue holding
//! items over several segments (also when an item's `drop` panics), `task_done`/`join`, and
//! the bound of a large bounded queue.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use threadkit::queue::SEGMENT_SLOTS;
use threadkit::{Error, GetError, PutError, Queue};

/// Items per segment.
const SEG: u64 = SEGMENT_SLOTS as u64;

#[path = "common/queue_rounds.rs"]
mod queue_rounds;

/// Work counts: under Miri the Linux backend runs the Miri counts and the other three a
/// quarter of them (the unbounded list is the same code on every target; what differs is the wait/wake
/// seam under its blocking calls, which a quarter still reaches), to keep CI's Miri stage
/// inside its time.
fn scale(n: u64) -> u64 {
    if !cfg!(miri) {
        n
    } else if cfg!(target_os = "linux") {
        n / 100 + 40
    } else {
        n / 400 + 10
    }
}

/// An item that counts its drops.
struct Counted(Arc<AtomicUsize>, u64);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn fifo_order_across_segments() {
    let q = Queue::new();
    let n = scale(1_000).max(3 * SEG);
    for i in 0..n {
        q.put(i).unwrap();
        assert_eq!(q.qsize(), i as usize + 1);
    }
    assert!(!q.full());
    for i in 0..n {
        assert_eq!(q.get_nowait(), Ok(i));
    }
    assert!(q.empty());
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
    // The head trails the tail by 0..SEG + 9 items, so both cross segment steps at every
    // offset.
    let (mut next_in, mut next_out) = (0u64, 0u64);
    for lag in 0..SEG + 9 {
        while next_in < next_out + lag {
            q.put(next_in).unwrap();
            next_in += 1;
        }
        for _ in 0..lag / 2 + 1 {
            if next_out < next_in {
                assert_eq!(q.get(), Ok(next_out));
                next_out += 1;
            }
        }
        assert_eq!(q.qsize() as u64, next_in - next_out);
    }
    assert_eq!(q.shutdown(true), (next_out..next_in).collect::<Vec<_>>());
}

/// `producers` put the numbers `p, p + producers, p + 2 * producers, ..` (`per` each);
/// `consumers` take them with every `get` flavour until a plain shutdown after `join`. Each
/// consumer sees each producer's numbers rising; all of them together, sorted, are
/// `0..producers * per` once each (and their checksum matches).
fn mpmc(producers: u64, consumers: u64) {
    let per = scale(20_000);
    let q = Arc::new(Queue::new());
    let spawn_with = |f: fn(&Queue<u64>, u64, u64, u64) -> Vec<u64>, id, n| {
        let q = q.clone();
        thread::spawn(move || f(&q, id, n, per))
    };
    let prods: Vec<_> = (0..producers)
        .map(|p| spawn_with(produce, p, producers))
        .collect();
    let cons: Vec<_> = (0..consumers)
        .map(|c| spawn_with(consume, c, producers))
        .collect();
    for t in prods {
        t.join().unwrap();
    }
    q.join();
    assert!(q.shutdown(false).is_empty());
    let mut all: Vec<u64> = cons.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let total = producers * per;
    assert_eq!(all.iter().sum::<u64>(), total * (total - 1) / 2);
    all.sort_unstable();
    assert!(all.iter().copied().eq(0..total), "an item lost or doubled");
    assert!(q.empty());
}

fn produce(q: &Queue<u64>, p: u64, producers: u64, per: u64) -> Vec<u64> {
    for i in 0..per {
        q.put(i * producers + p).unwrap();
    }
    Vec::new()
}

fn consume(q: &Queue<u64>, c: u64, producers: u64, _: u64) -> Vec<u64> {
    let mut got = Vec::new();
    let mut last = vec![None::<u64>; producers as usize];
    for k in c.. {
        let x = match k % 3 {
            0 => q.get(),
            1 => q.get_timeout(Duration::from_micros(50)),
            _ => q.get_nowait(),
        };
        // Empty (a timeout, or nothing there now) is not the end: only the shutdown is. (A
        // consumer once took a timed-out `get_timeout` for the end; on a busy machine both
        // left early and `join` waited forever for the items nobody took.)
        let x = match x {
            Ok(x) => x,
            Err(GetError::Empty) => continue,
            Err(GetError::ShutDown) => break,
        };
        let prev = last[(x % producers) as usize].replace(x);
        assert!(prev < Some(x), "{x} after {prev:?}");
        got.push(x);
        q.task_done().unwrap();
    }
    got
}

/// Fresh queues (no segment until the first put): three putters start at once, one boxed
/// item each, while the main thread gets all three. Every round's items come out once; the
/// segments of the puts that lost the race to install the first one are kept or freed (a leak
/// or a double free fails under Miri).
#[test]
fn first_puts_race_on_fresh_queues() {
    let rounds = if cfg!(miri) { 10 } else { 2_000 };
    for r in 0..rounds {
        let q = Queue::new();
        let start = Barrier::new(4);
        thread::scope(|s| {
            for p in 0..3u64 {
                let (q, start) = (&q, &start);
                s.spawn(move || {
                    start.wait();
                    q.put(Box::new(r * 3 + p)).unwrap();
                });
            }
            start.wait();
            let lost = "an item lost (or not there after 10 s)";
            let mut got: Vec<u64> = (0..3)
                .map(|_| *q.get_timeout(Duration::from_secs(10)).expect(lost))
                .collect();
            got.sort_unstable();
            assert_eq!(got, [r * 3, r * 3 + 1, r * 3 + 2]);
        });
        assert!(q.empty());
    }
}

#[test]
fn mpmc_2p_2c() {
    mpmc(2, 2);
}

#[test]
fn mpmc_3p_2c() {
    mpmc(3, 2);
}

#[test]
fn mpmc_4p_4c() {
    mpmc(4, 4);
}

/// An immediate shutdown while producers put and consumers get: every item made is got,
/// removed by the shutdown or refused back to its putter, exactly once (each is dropped
/// once, by whoever holds it); the removed ones come out in order and count as done.
#[test]
fn immediate_shutdown_races_puts_and_gets() {
    for round in 0..scale(40) {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Arc::new(Queue::new());
        let prods: Vec<_> = (0..2u64)
            .map(|p| {
                let (q, drops) = (q.clone(), drops.clone());
                thread::spawn(move || {
                    let mut made = 0;
                    loop {
                        made += 1;
                        match q.put(Counted(drops.clone(), p << 32 | made)) {
                            Ok(()) => {}
                            Err(PutError::ShutDown(item)) => {
                                drop(item);
                                return made;
                            }
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                })
            })
            .collect();
        let cons: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || {
                    let mut got = 0;
                    while let Ok(item) = q.get() {
                        drop(item);
                        got += 1;
                        q.task_done().unwrap();
                    }
                    got
                })
            })
            .collect();
        // Let them run over a few segments (or not at all, every few rounds).
        while round % 4 != 0 && q.qsize() < 100 && drops.load(SeqCst) < 100 {
            thread::yield_now();
        }
        let removed = q.shutdown(true);
        for w in removed.windows(2) {
            if w[0].1 >> 32 == w[1].1 >> 32 {
                assert!(w[0].1 < w[1].1, "removed out of order");
            }
        }
        let removed_n = removed.len();
        drop(removed);
        let made: u64 = prods.into_iter().map(|t| t.join().unwrap()).sum();
        let got: usize = cons.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(
            drops.load(SeqCst) as u64,
            made,
            "an item lost or dropped twice"
        );
        assert_eq!(got + removed_n + 2, made as usize);
        assert!(q.join_timeout(Duration::ZERO), "unfinished tasks left");
        assert_eq!(q.get_nowait().err(), Some(GetError::ShutDown));
        assert!(q.put(Counted(drops.clone(), 0)).is_err());
        assert!(q.empty());
    }
}

/// A plain shutdown: puts fail with the item back, gets drain what is left (over segment
/// steps) and then fail, a getter asleep on the empty queue wakes with `ShutDown`.
#[test]
fn shutdown_drains_then_fails() {
    let q = Arc::new(Queue::new());
    for i in 0..70 {
        q.put(i).unwrap();
    }
    q.shutdown(false);
    assert!(q.is_shutdown());
    assert_eq!(q.put(99), Err(PutError::ShutDown(99)));
    for i in 0..70 {
        assert_eq!(q.get(), Ok(i));
    }
    assert_eq!(q.get(), Err(GetError::ShutDown));
    let q = Arc::new(Queue::<u8>::new());
    let g = {
        let q = q.clone();
        thread::spawn(move || q.get())
    };
    thread::sleep(Duration::from_millis(20));
    assert!(q.shutdown(false).is_empty());
    assert_eq!(g.join().unwrap(), Err(GetError::ShutDown));
}

/// A getter asleep on the empty list is woken by a put; a timed get is never early.
#[test]
fn get_blocks_until_put_and_times_out_late() {
    let q = Arc::new(Queue::new());
    let g = {
        let q = q.clone();
        thread::spawn(move || q.get())
    };
    thread::sleep(Duration::from_millis(20));
    q.put(5u32).unwrap();
    assert_eq!(g.join().unwrap(), Ok(5));
    let d = Duration::from_millis(20);
    let start = Instant::now();
    assert_eq!(q.get_timeout(d), Err(GetError::Empty));
    assert!(start.elapsed() >= d, "early by {:?}", d - start.elapsed());
    let until = Instant::now() + d;
    assert_eq!(q.get_until(until), Err(GetError::Empty));
    assert!(Instant::now() >= until);
}

/// Items still in a dropped queue are dropped once each, over several segments, wherever
/// the head stands; items taken are not dropped again.
#[test]
fn dropped_queue_drops_its_items_once() {
    let all = 3 * SEG - 4;
    for taken in [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 2 * SEG + 13] {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Queue::new();
        for i in 0..all {
            q.put(Counted(drops.clone(), i)).unwrap();
        }
        for i in 0..taken {
            assert_eq!(q.get().unwrap().1, i);
        }
        assert_eq!(drops.load(SeqCst) as u64, taken);
        drop(q);
        assert_eq!(drops.load(SeqCst) as u64, all, "after taking {taken}");
    }
    // Empty at a segment step, after an immediate shutdown.
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::new();
    for i in 0..2 * SEG {
        q.put(Counted(drops.clone(), i)).unwrap();
    }
    assert_eq!(q.shutdown(true).len() as u64, 2 * SEG);
    assert_eq!(drops.load(SeqCst) as u64, 2 * SEG);
    drop(q);
    assert_eq!(drops.load(SeqCst) as u64, 2 * SEG);
}

/// An item whose `drop` panics while its queue is dropped: the panic propagates, and every
/// other item is still dropped once, the segments freed (Miri checks for leaks).
#[test]
fn a_panicking_item_drop_drops_the_rest() {
    struct Bomb(Arc<AtomicUsize>, bool);
    impl Drop for Bomb {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
            if self.1 {
                panic!("Bomb");
            }
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::new();
    for i in 0..2 * SEG + 18 {
        q.put(Bomb(drops.clone(), i == SEG + 9)).unwrap();
    }
    drop(q.get());
    let r = catch_unwind(AssertUnwindSafe(|| drop(q)));
    assert!(r.is_err());
    assert_eq!(drops.load(SeqCst) as u64, 2 * SEG + 18);
}

/// `task_done`/`join` counted off the list's positions: a surplus `task_done` is refused
/// and changes nothing; `join` waits for the last one.
#[test]
fn task_done_and_join() {
    let q = Arc::new(Queue::new());
    for i in 0..SEG + 9 {
        q.put(i).unwrap();
    }
    for _ in 0..SEG + 9 {
        q.get().unwrap();
        q.task_done().unwrap();
    }
    assert!(matches!(q.task_done(), Err(Error::TooManyTaskDone)));
    assert!(q.join_timeout(Duration::ZERO));
    q.put(1).unwrap();
    q.task_done().unwrap();
    assert!(matches!(q.task_done(), Err(Error::TooManyTaskDone)));
    q.put(2).unwrap();
    assert!(!q.join_timeout(Duration::from_millis(5)));
    let w = {
        let q = q.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            q.get().unwrap();
            q.task_done().unwrap();
        })
    };
    q.join();
    w.join().unwrap();
    queue_rounds::join_and_task_done_rounds(Arc::new(Queue::new()), scale(300), 2);
}

/// A bounded queue too large for the ring (70 items of 16 KiB: over 1 MiB) is a list with a
/// bound: `full`, `Full` with the item back, a putter asleep on it woken by a get, and the
/// size never above `maxsize` under producers and consumers.
#[test]
fn large_bounded_queue_keeps_its_bound() {
    type Big = [u8; 16 << 10];
    const MAX: usize = 70;
    let q2 = Arc::new(Queue::<Big>::with_maxsize(MAX));
    assert_eq!(q2.maxsize(), MAX);
    for i in 0..MAX {
        q2.put_nowait([i as u8; 16 << 10]).unwrap();
    }
    assert!(q2.full());
    assert!(matches!(q2.put_nowait([1; 16 << 10]), Err(PutError::Full(b)) if b[0] == 1));
    assert!(
        q2.put_timeout([2; 16 << 10], Duration::from_millis(2))
            .is_err()
    );
    let p = {
        let q2 = q2.clone();
        thread::spawn(move || q2.put([3; 16 << 10]).is_ok())
    };
    thread::sleep(Duration::from_millis(20));
    assert_eq!(q2.get().unwrap()[0], 0);
    assert!(p.join().unwrap());
    assert_eq!(q2.qsize(), MAX);
    assert_eq!(q2.shutdown(true).len(), MAX);
    // Producers and consumers on a bounded list of `Queue<u64>`: too large for the ring.
    let q = Arc::new(Queue::<u64>::with_maxsize(70_000));
    let n = scale(100_000);
    let prods: Vec<_> = (0..2)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..n {
                    q.put(i).unwrap();
                    assert!(q.qsize() <= 70_000);
                }
            })
        })
        .collect();
    let mut sum = 0;
    for _ in 0..2 * n {
        // A timeout, so that a producer that failed makes this test fail, not hang.
        sum += q
            .get_timeout(Duration::from_secs(30))
            .expect("an item within 30 s (did a producer panic?)");
    }
    for p in prods {
        p.join().unwrap();
    }
    assert_eq!(sum, n * (n - 1));
}
