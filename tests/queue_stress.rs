//! Stress tests of `threadkit::queue`: many producers and consumers with a checksum of every
//! item (nothing lost, nothing duplicated), shutdown racing puts and gets, and
//! `task_done`/`join` under load. No timing assertions: every check is about counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;
use threadkit::{GetError, LifoQueue, PriorityQueue, PutError, Queue, SimpleQueue};

#[path = "common/queue_rounds.rs"]
mod queue_rounds;

fn scale(n: u64) -> u64 {
    if cfg!(miri) { n / 500 + 4 } else { n }
}

/// The per-item value: distinct for every (producer, index), so the sums catch a lost or a
/// duplicated item.
fn value(p: u64, i: u64) -> u64 {
    (p << 32) | i
}

fn expected(producers: u64, per: u64) -> (u64, u64) {
    let mut sum = 0u64;
    let mut xor = 0u64;
    for p in 0..producers {
        for i in 0..per {
            let v = value(p, i);
            sum = sum.wrapping_add(v.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            xor ^= v;
        }
    }
    (sum, xor)
}

/// `producers` x `per` items through `put`/`get`, `consumers` threads until shutdown.
macro_rules! mpmc {
    ($name:ident, $ty:ident, $maxsize:expr, $producers:expr, $consumers:expr) => {
        #[test]
        fn $name() {
            let (producers, consumers, per) = ($producers, $consumers, scale(20_000));
            let q = Arc::new($ty::<u64>::with_maxsize($maxsize));
            let sum = Arc::new(AtomicU64::new(0));
            let xor = Arc::new(AtomicU64::new(0));
            let count = Arc::new(AtomicUsize::new(0));
            let cons: Vec<_> = (0..consumers)
                .map(|_| {
                    let (q, sum, xor, count) = (q.clone(), sum.clone(), xor.clone(), count.clone());
                    thread::spawn(move || {
                        let (mut s, mut x, mut n) = (0u64, 0u64, 0usize);
                        loop {
                            match q.get() {
                                Ok(v) => {
                                    s = s.wrapping_add(v.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                                    x ^= v;
                                    n += 1;
                                    q.task_done().unwrap();
                                }
                                Err(GetError::ShutDown) => break,
                                Err(GetError::Empty) => unreachable!(),
                            }
                        }
                        sum.fetch_add(s, SeqCst);
                        xor.fetch_xor(x, SeqCst);
                        count.fetch_add(n, SeqCst);
                    })
                })
                .collect();
            let prods: Vec<_> = (0..producers)
                .map(|p| {
                    let q = q.clone();
                    thread::spawn(move || {
                        for i in 0..per {
                            // Mix the put flavours; a timed-out put is retried with its item.
                            let mut item = value(p, i);
                            loop {
                                let r = match i % 3 {
                                    0 => q.put(item),
                                    1 => q.put_timeout(item, Duration::from_micros(50)),
                                    _ => q.put_nowait(item),
                                };
                                match r {
                                    Ok(()) => break,
                                    Err(PutError::Full(back)) => item = back,
                                    Err(PutError::ShutDown(_)) => unreachable!(),
                                }
                            }
                        }
                    })
                })
                .collect();
            for t in prods {
                t.join().unwrap();
            }
            q.join(); // every item taken and marked done
            assert!(q.empty());
            assert!(q.shutdown(false).is_empty());
            for t in cons {
                t.join().unwrap();
            }
            let (s, x) = expected(producers, per);
            assert_eq!(count.load(SeqCst) as u64, producers * per);
            assert_eq!(sum.load(SeqCst), s);
            assert_eq!(xor.load(SeqCst), x);
        }
    };
}

mpmc!(queue_bounded_4p_4c, Queue, 8, 4, 4);
mpmc!(queue_one_slot_2p_5c, Queue, 1, 2, 5);
// The shapes whose wake-ups a `put`/`get` skips when a waiter that never slept used the item
// or the room up (`sleepers.rs`): a skip too many is a hang here, a lost item a wrong sum.
mpmc!(queue_one_slot_1p_10c, Queue, 1, 1, 10);
mpmc!(queue_one_slot_10p_1c, Queue, 1, 10, 1);
mpmc!(queue_unbounded_3p_2c, Queue, 0, 3, 2);
mpmc!(lifo_bounded_3p_3c, LifoQueue, 16, 3, 3);
mpmc!(priority_bounded_3p_3c, PriorityQueue, 16, 3, 3);

/// Shutdown while producers and consumers run: every item put successfully is either got by a
/// consumer or returned by the immediate shutdown, and every refused item comes back to its
/// producer.
#[test]
fn shutdown_races_puts_and_gets() {
    let rounds = if cfg!(miri) { 2 } else { 50 };
    for round in 0..rounds {
        let immediate = round % 2 == 0;
        let q = Arc::new(Queue::with_maxsize(4));
        let put_ok = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let got = Arc::new(AtomicU64::new(0));
        let per = scale(2_000);
        let prods: Vec<_> = (0..2u64)
            .map(|p| {
                let (q, put_ok, refused) = (q.clone(), put_ok.clone(), refused.clone());
                thread::spawn(move || {
                    for i in 0..per {
                        let v = value(p, i) + 1;
                        match q.put(v) {
                            Ok(()) => put_ok.fetch_add(v, SeqCst),
                            Err(e) => refused.fetch_add(e.into_inner(), SeqCst),
                        };
                    }
                })
            })
            .collect();
        let cons: Vec<_> = (0..2)
            .map(|_| {
                let (q, got) = (q.clone(), got.clone());
                thread::spawn(move || {
                    while let Ok(v) = q.get() {
                        got.fetch_add(v, SeqCst);
                        q.task_done().unwrap();
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(round * 20));
        let removed: u64 = q.shutdown(immediate).iter().sum();
        for t in prods.into_iter().chain(cons) {
            t.join().unwrap();
        }
        let all: u64 = (0..2)
            .flat_map(|p| (0..per).map(move |i| value(p, i) + 1))
            .sum();
        assert_eq!(put_ok.load(SeqCst) + refused.load(SeqCst), all);
        assert_eq!(got.load(SeqCst) + removed, put_ok.load(SeqCst));
        assert!(q.empty());
        q.join(); // removed items count as done, got items were marked done
    }
}

/// `join` from several threads while workers mark tasks done, over many rounds.
#[test]
fn join_and_task_done_rounds() {
    queue_rounds::join_and_task_done_rounds(Arc::new(Queue::new()), scale(200), 2);
}

/// SimpleQueue: many producers, many consumers, a sentinel per consumer.
#[test]
fn simple_queue_mpmc_checksum() {
    let per = scale(20_000);
    let q = Arc::new(SimpleQueue::new());
    let sum = Arc::new(AtomicU64::new(0));
    let cons: Vec<_> = (0..3)
        .map(|_| {
            let (q, sum) = (q.clone(), sum.clone());
            thread::spawn(move || {
                while let Some(v) = q.get().unwrap() {
                    sum.fetch_add(v, SeqCst);
                }
            })
        })
        .collect();
    thread::scope(|s| {
        for p in 0..3u64 {
            let q = &q;
            s.spawn(move || {
                for i in 0..per {
                    q.put(Some(value(p, i)));
                }
            });
        }
    });
    for _ in 0..3 {
        q.put(None);
    }
    for t in cons {
        t.join().unwrap();
    }
    let all: u64 = (0..3)
        .flat_map(|p| (0..per).map(move |i| value(p, i)))
        .sum();
    assert_eq!(sum.load(SeqCst), all);
    assert!(q.empty());
}
