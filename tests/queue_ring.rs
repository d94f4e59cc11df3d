//! Stress and edge tests of the lock-free ring behind a bounded `Queue`: per-producer FIFO
//! order through rings whose size is not a power of two (the stamps' laps), every `get`
//! flavour mixed, `join`/`task_done` rounds, the size limit between the ring and the locked
//! engine, and items left in a dropped queue dropped exactly once.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::thread;
use std::time::Duration;
use threadkit::{GetError, PutError, Queue};

#[path = "common/queue_rounds.rs"]
mod queue_rounds;

fn scale(n: u64) -> u64 {
    if cfg!(miri) { n / 500 + 2 } else { n }
}

/// Items of producer `p` come out in the order `p` put them, whoever gets them, and every
/// item comes out once.
fn fifo_per_producer(maxsize: usize, producers: u64, consumers: usize) {
    let per = scale(20_000);
    let q = Arc::new(Queue::with_maxsize(maxsize));
    let prods: Vec<_> = (0..producers)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..per {
                    q.put((p, i)).unwrap();
                }
            })
        })
        .collect();
    let cons: Vec<_> = (0..consumers)
        .map(|c| {
            let q = q.clone();
            thread::spawn(move || {
                let mut last = vec![None::<u64>; producers as usize];
                let mut n = 0u64;
                let mut k = 0u32;
                loop {
                    k = k.wrapping_add(1);
                    let r = match (k + c as u32) % 3 {
                        0 => q.get(),
                        1 => q.get_timeout(Duration::from_micros(30)),
                        _ => q.get_nowait(),
                    };
                    match r {
                        Ok((p, i)) => {
                            let prev = &mut last[p as usize];
                            assert!(prev.is_none_or(|j| j < i), "{p}: {i} after {prev:?}");
                            *prev = Some(i);
                            n += 1;
                            q.task_done().unwrap();
                        }
                        Err(GetError::Empty) => thread::yield_now(),
                        Err(GetError::ShutDown) => return n,
                    }
                }
            })
        })
        .collect();
    for t in prods {
        t.join().unwrap();
    }
    q.join();
    assert!(q.shutdown(false).is_empty());
    let got: u64 = cons.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(got, producers * per);
    assert_eq!(q.qsize(), 0);
}

#[test]
fn fifo_per_producer_one_slot() {
    fifo_per_producer(1, 2, 2);
}

#[test]
fn fifo_per_producer_three_slots() {
    fifo_per_producer(3, 3, 2);
}

#[test]
fn fifo_per_producer_five_slots() {
    fifo_per_producer(5, 2, 3);
}

/// `join` from several threads while workers mark tasks done, on a two-slot ring.
#[test]
fn ring_join_and_task_done_rounds() {
    queue_rounds::join_and_task_done_rounds(Arc::new(Queue::with_maxsize(2)), scale(300), 1);
}

/// The largest ring and the smallest bounded queue on the list (too large for a ring) behave alike.
///
/// Under Miri only on Linux: it allocates three queues of 64 Ki slots (30 s of Miri's time)
/// and never blocks, so the other backends would only repeat the same interpretation.
#[test]
#[cfg_attr(
    all(miri, not(target_os = "linux")),
    ignore = "target-independent; run under Miri on Linux"
)]
fn sizes_around_the_ring_limit() {
    for maxsize in [65_535, 65_536, 65_537] {
        let n = if cfg!(miri) { 3 } else { maxsize };
        let q = Queue::with_maxsize(maxsize);
        assert_eq!(q.maxsize(), maxsize);
        for i in 0..n {
            q.put_nowait(i as u8).unwrap();
        }
        assert_eq!(q.qsize(), n);
        if n == maxsize {
            assert!(q.full());
            assert_eq!(q.put_nowait(1), Err(PutError::Full(1)));
        }
        assert_eq!(q.get_nowait(), Ok(0));
        q.task_done().unwrap();
        assert_eq!(q.shutdown(true).len(), n - 1);
        q.join();
    }
}

/// Items still in a ring when its queue is dropped are dropped once each; items taken are
/// not dropped again.
#[test]
fn dropped_ring_drops_its_items_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::with_maxsize(3);
    for _ in 0..7 {
        // Laps the ring: put three, take two.
        for _ in 0..3 - q.qsize() {
            q.put(Counted(drops.clone())).unwrap();
        }
        drop(q.get().unwrap());
        drop(q.get().unwrap());
    }
    assert_eq!(drops.load(SeqCst), 14);
    assert_eq!(q.qsize(), 1);
    q.put_nowait(Counted(drops.clone())).unwrap();
    q.put_nowait(Counted(drops.clone())).unwrap();
    let refused = q.put_nowait(Counted(drops.clone())).unwrap_err();
    drop(refused);
    assert_eq!(drops.load(SeqCst), 15);
    drop(q);
    assert_eq!(drops.load(SeqCst), 18);
}
