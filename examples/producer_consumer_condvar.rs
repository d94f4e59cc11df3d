//! The seed's producer/consumer the Rust way: the lock owns the buffer
//! (`threadkit::Mutex<VecDeque<_>>`) and two `threadkit::Condvar`s say "not full" and
//! "not empty". 3 producers, 2 consumers, 5 slots, all safe Rust.
//!
//! Run: `cargo run --example producer_consumer_condvar`

use std::collections::VecDeque;
use std::sync::Arc;
use threadkit::{Condvar, Mutex, spawn};

const CAPACITY: usize = 5;
const PRODUCERS: u64 = 3;
const CONSUMERS: usize = 2;
const ITEMS_PER_PRODUCER: u64 = 200;
const TOTAL: u64 = PRODUCERS * ITEMS_PER_PRODUCER;

#[derive(Default)]
struct Buffer {
    items: VecDeque<u64>,
    consumed: u64,
    max_len: usize,
}

#[derive(Default)]
struct Shared {
    buffer: Mutex<Buffer>,
    not_full: Condvar,
    not_empty: Condvar,
}

fn produce(s: &Shared, id: u64) {
    for k in 0..ITEMS_PER_PRODUCER {
        let mut b = s.buffer.lock();
        s.not_full.wait_while(&mut b, |b| b.items.len() == CAPACITY);
        b.items.push_back(id * 1_000_000 + k);
        b.max_len = b.max_len.max(b.items.len());
        s.not_empty.notify_one();
    }
}

/// Returns (items taken, their sum).
fn consume(s: &Shared) -> (u64, u64) {
    let (mut count, mut sum) = (0, 0);
    loop {
        let mut b = s.buffer.lock();
        s.not_empty
            .wait_while(&mut b, |b| b.items.is_empty() && b.consumed < TOTAL);
        let Some(item) = b.items.pop_front() else {
            return (count, sum); // every item has been consumed
        };
        b.consumed += 1;
        count += 1;
        sum += item;
        if b.consumed == TOTAL {
            s.not_empty.notify_all(); // wake the other consumer so it can leave
        }
        s.not_full.notify_one();
    }
}

fn main() {
    let shared = Arc::new(Shared::default());
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|id| {
            let s = shared.clone();
            spawn(move || produce(&s, id))
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let s = shared.clone();
            spawn(move || consume(&s))
        })
        .collect();
    for p in producers {
        p.join().expect("a producer panicked");
    }
    let (mut count, mut sum) = (0, 0);
    for c in consumers {
        let (n, s) = c.join().expect("a consumer panicked");
        count += n;
        sum += s;
    }
    let expected_sum: u64 = (0..PRODUCERS)
        .flat_map(|id| (0..ITEMS_PER_PRODUCER).map(move |k| id * 1_000_000 + k))
        .sum();
    let b = shared.buffer.lock();
    println!("producers={PRODUCERS} consumers={CONSUMERS} capacity={CAPACITY}");
    println!("produced={TOTAL}");
    println!("consumed={}", b.consumed);
    println!("consumed_by_consumers={count}");
    println!("max_len={}", b.max_len);
    println!("checksum_ok={}", sum == expected_sum);
}
