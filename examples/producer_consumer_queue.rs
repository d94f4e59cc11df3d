//! The seed's producer/consumer, with Python's `queue.Queue`: 3 producers, 2 consumers and a
//! queue of 5 slots. Compare with `producer_consumer_condition.rs`: the queue does the
//! locking, the waiting on "not full" / "not empty" and the wake-ups itself, and `shutdown`
//! replaces the hand-made "done" flag.
//!
//! ```python
//! q = queue.Queue(5)
//! def producer(id):
//!     for k in range(200):
//!         q.put(id * 1_000_000 + k)      # blocks while full
//! def consumer():
//!     while True:
//!         try:
//!             item = q.get()             # blocks while empty
//!         except queue.ShutDown:
//!             return                     # shut down and drained
//! ...
//! for p in producers: p.join()
//! q.shutdown()                           # consumers drain what is left, then stop
//! ```
//!
//! Run: `cargo run --example producer_consumer_queue`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use threadkit::{GetError, Queue, Thread};

const CAPACITY: usize = 5;
const PRODUCERS: u64 = 3;
const CONSUMERS: usize = 2;
const ITEMS_PER_PRODUCER: u64 = 200;
const TOTAL: u64 = PRODUCERS * ITEMS_PER_PRODUCER;

#[derive(Default)]
struct Tally {
    consumed: AtomicU64,
    sum: AtomicU64,
    max_len: AtomicUsize,
}

fn producer(q: &Queue<u64>, tally: &Tally, id: u64) {
    for k in 0..ITEMS_PER_PRODUCER {
        q.put(id * 1_000_000 + k)
            .expect("nobody shuts the queue down while producers run");
        tally.max_len.fetch_max(q.qsize(), Relaxed);
    }
}

fn consumer(q: &Queue<u64>, tally: &Tally) -> u64 {
    let mut mine = 0;
    loop {
        match q.get() {
            Ok(item) => {
                tally.sum.fetch_add(item, Relaxed);
                tally.consumed.fetch_add(1, Relaxed);
                mine += 1;
            }
            Err(GetError::ShutDown) => return mine, // shut down, and nothing left
            Err(GetError::Empty) => unreachable!("a blocking get never reports Empty"),
        }
    }
}

fn main() -> Result<(), threadkit::Error> {
    let q = Arc::new(Queue::with_maxsize(CAPACITY));
    let tally = Arc::new(Tally::default());

    let mut producers = Vec::new();
    for id in 0..PRODUCERS {
        let (q, tally) = (q.clone(), tally.clone());
        producers.push(
            Thread::new(move || producer(&q, &tally, id)).with_name(format!("Producer-{id}")),
        );
    }
    let per_consumer: Arc<[AtomicU64; CONSUMERS]> = Arc::new(Default::default());
    let mut consumers = Vec::new();
    for c in 0..CONSUMERS {
        let (q, tally, counts) = (q.clone(), tally.clone(), per_consumer.clone());
        consumers.push(
            Thread::new(move || counts[c].store(consumer(&q, &tally), Relaxed))
                .with_name(format!("Consumer-{c}")),
        );
    }
    for t in producers.iter().chain(&consumers) {
        t.start()?;
    }
    for t in &producers {
        t.join()?;
    }
    q.shutdown(false); // the consumers drain what is left, then get ShutDown
    for t in &consumers {
        t.join()?;
    }

    let expected_sum: u64 = (0..PRODUCERS)
        .flat_map(|id| (0..ITEMS_PER_PRODUCER).map(move |k| id * 1_000_000 + k))
        .sum();
    let by_consumer: u64 = per_consumer.iter().map(|c| c.load(Relaxed)).sum();
    println!("producers={PRODUCERS} consumers={CONSUMERS} capacity={CAPACITY}");
    println!("produced={TOTAL}");
    println!("consumed={}", tally.consumed.load(Relaxed));
    println!("consumed_by_consumers={by_consumer}");
    println!("max_len={}", tally.max_len.load(Relaxed));
    println!("checksum_ok={}", tally.sum.load(Relaxed) == expected_sum);
    Ok(())
}
