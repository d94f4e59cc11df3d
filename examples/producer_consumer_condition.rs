//! The seed's producer/consumer, with Python's `Condition`: 3 producers, 2 consumers and a
//! bounded buffer of 5 slots. Two conditions share one lock, as in
//! `not_full = Condition(lock); not_empty = Condition(lock)`.
//!
//! Python's `Condition` protects no data, so the buffer is a ring of atomics that is only
//! touched while the shared lock is held (the lock orders those accesses; the atomics are
//! there only because Rust wants shared data to be `Sync`, without `unsafe`).
//!
//! Run: `cargo run --example producer_consumer_condition`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use threadkit::{Condition, Lock, Thread};

const CAPACITY: usize = 5;
const PRODUCERS: u64 = 3;
const CONSUMERS: usize = 2;
const ITEMS_PER_PRODUCER: u64 = 200;
const TOTAL: u64 = PRODUCERS * ITEMS_PER_PRODUCER;

struct Shared {
    not_full: Condition<Arc<Lock>>,
    not_empty: Condition<Arc<Lock>>,
    slots: [AtomicU64; CAPACITY],
    head: AtomicUsize,
    len: AtomicUsize,
    max_len: AtomicUsize,
    consumed: AtomicU64,
    sum: AtomicU64,
    done: AtomicBool,
}

impl Shared {
    fn push(&self, item: u64) {
        let len = self.len.load(Relaxed);
        let tail = (self.head.load(Relaxed) + len) % CAPACITY;
        self.slots[tail].store(item, Relaxed);
        self.len.store(len + 1, Relaxed);
        self.max_len.fetch_max(len + 1, Relaxed);
    }

    fn pop(&self) -> u64 {
        let head = self.head.load(Relaxed);
        self.head.store((head + 1) % CAPACITY, Relaxed);
        self.len.store(self.len.load(Relaxed) - 1, Relaxed);
        self.slots[head].load(Relaxed)
    }
}

fn producer(s: &Shared, id: u64) {
    for k in 0..ITEMS_PER_PRODUCER {
        let _held = s.not_full.guard(); // Python: `with not_full:`
        while s.len.load(Relaxed) == CAPACITY {
            s.not_full.wait().expect("the lock is held");
        }
        s.push(id * 1_000_000 + k);
        s.not_empty.notify(1).expect("the lock is held");
    }
}

fn consumer(s: &Shared) -> u64 {
    let mut mine = 0;
    loop {
        let _held = s.not_empty.guard();
        while s.len.load(Relaxed) == 0 && !s.done.load(Relaxed) {
            s.not_empty.wait().expect("the lock is held");
        }
        if s.len.load(Relaxed) == 0 {
            return mine; // done, and nothing left
        }
        let item = s.pop();
        s.sum.fetch_add(item, Relaxed);
        mine += 1;
        if s.consumed.fetch_add(1, Relaxed) + 1 == TOTAL {
            s.done.store(true, Relaxed);
            s.not_empty.notify_all().expect("the lock is held"); // let the other consumer out
        }
        s.not_full.notify(1).expect("the lock is held");
    }
}

fn main() -> Result<(), threadkit::Error> {
    let lock = Arc::new(Lock::new());
    let shared = Arc::new(Shared {
        not_full: Condition::with_lock(lock.clone()),
        not_empty: Condition::with_lock(lock),
        slots: Default::default(),
        head: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        max_len: AtomicUsize::new(0),
        consumed: AtomicU64::new(0),
        sum: AtomicU64::new(0),
        done: AtomicBool::new(false),
    });

    let mut threads = Vec::new();
    for id in 0..PRODUCERS {
        let s = shared.clone();
        threads.push(Thread::new(move || producer(&s, id)).with_name(format!("Producer-{id}")));
    }
    let per_consumer: Arc<[AtomicU64; CONSUMERS]> = Arc::new(Default::default());
    for c in 0..CONSUMERS {
        let (s, counts) = (shared.clone(), per_consumer.clone());
        threads.push(
            Thread::new(move || counts[c].store(consumer(&s), Relaxed))
                .with_name(format!("Consumer-{c}")),
        );
    }
    for t in &threads {
        t.start()?;
    }
    for t in &threads {
        t.join()?;
    }

    let expected_sum: u64 = (0..PRODUCERS)
        .flat_map(|id| (0..ITEMS_PER_PRODUCER).map(move |k| id * 1_000_000 + k))
        .sum();
    let by_consumer: u64 = per_consumer.iter().map(|c| c.load(Relaxed)).sum();
    println!("producers={PRODUCERS} consumers={CONSUMERS} capacity={CAPACITY}");
    println!("produced={TOTAL}");
    println!("consumed={}", shared.consumed.load(Relaxed));
    println!("consumed_by_consumers={by_consumer}");
    println!("max_len={}", shared.max_len.load(Relaxed));
    println!("checksum_ok={}", shared.sum.load(Relaxed) == expected_sum);
    Ok(())
}
