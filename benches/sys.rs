//! threadkit-sys wait/wake against the `atomic-wait` crate (same syscalls, no timeouts).
//!
//! Three costs, each measured for both crates inside one criterion group so that a single
//! run compares them under the same machine load:
//!
//! * `wake_no_waiter`: `wake_one` on a word nobody sleeps on (the price of a spare wake).
//! * `wait_stale`: `wait` when the word already differs from `expected` (must return at once).
//! * `ping_pong`: two threads hand a token back and forth through one word; one iteration is
//!   a full round trip (two wakes, two waits), so it shows the wake-up latency.
//!
//! Run: `cargo bench --bench sys` (or `-- --quick` for a smoke check).

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

/// One crate's wait/wake pair.
#[derive(Clone, Copy)]
struct Api {
    name: &'static str,
    wait: fn(&AtomicU32, u32),
    wake_one: fn(*const AtomicU32),
}

fn threadkit_wait(word: &AtomicU32, expected: u32) {
    threadkit_sys::wait(word, expected, None);
}

const APIS: [Api; 2] = [
    Api {
        name: "threadkit-sys",
        wait: threadkit_wait,
        wake_one: threadkit_sys::wake_one,
    },
    Api {
        name: "atomic-wait",
        wait: atomic_wait::wait,
        wake_one: atomic_wait::wake_one,
    },
];

fn wake_no_waiter(c: &mut Criterion) {
    let mut g = c.benchmark_group("wake_no_waiter");
    let word = AtomicU32::new(0);
    for api in APIS {
        g.bench_function(api.name, |b| b.iter(|| (api.wake_one)(black_box(&word))));
    }
    g.finish();
}

fn wait_stale(c: &mut Criterion) {
    let mut g = c.benchmark_group("wait_stale");
    let word = AtomicU32::new(1);
    for api in APIS {
        g.bench_function(api.name, |b| {
            b.iter(|| (api.wait)(black_box(&word), black_box(0)))
        });
    }
    g.finish();
}

/// Waits until `word` holds `want`, sleeping through any other value.
fn wait_for(api: Api, word: &AtomicU32, want: u32) {
    loop {
        let v = word.load(Ordering::Acquire);
        if v == want {
            return;
        }
        (api.wait)(word, v);
    }
}

/// `iters` round trips between this thread and a partner; returns the time they took.
fn round_trips(api: Api, iters: u64) -> Duration {
    let word = AtomicU32::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..u32::try_from(iters).expect("fewer than 2^32 round trips") {
                wait_for(api, &word, i.wrapping_mul(2).wrapping_add(1));
                word.store(i.wrapping_mul(2).wrapping_add(2), Ordering::Release);
                (api.wake_one)(&word);
            }
        });
        let start = Instant::now();
        for i in 0..u32::try_from(iters).expect("fewer than 2^32 round trips") {
            word.store(i.wrapping_mul(2).wrapping_add(1), Ordering::Release);
            (api.wake_one)(&word);
            wait_for(api, &word, i.wrapping_mul(2).wrapping_add(2));
        }
        start.elapsed()
    })
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("ping_pong");
    for api in APIS {
        g.bench_function(api.name, |b| b.iter_custom(|iters| round_trips(api, iters)));
    }
    g.finish();
}

criterion_group!(benches, wake_no_waiter, wait_stale, ping_pong);
criterion_main!(benches);
