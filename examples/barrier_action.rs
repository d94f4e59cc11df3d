//! The seed's `Barrier(parties, action)`: 3 threads meet 4 times; each time the last one to
//! arrive runs the action before anyone leaves. `wait()` hands every party a distinct index
//! in `0..parties` per round, as Python does.
//!
//! Run: `cargo run --example barrier_action`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use threadkit::{Barrier, Error, spawn};

const PARTIES: usize = 3;
const ROUNDS: usize = 4;

fn main() -> Result<(), Error> {
    let rounds_done = Arc::new(AtomicUsize::new(0));
    let counter = rounds_done.clone();
    let barrier = Arc::new(Barrier::with_action(PARTIES, move || {
        let round = counter.fetch_add(1, SeqCst) + 1;
        println!("action: round {round}, all {PARTIES} parties arrived");
    }));

    let handles: Vec<_> = (0..PARTIES)
        .map(|_| {
            let b = barrier.clone();
            spawn(move || -> Result<Vec<usize>, Error> {
                let mut indices = Vec::new();
                for _ in 0..ROUNDS {
                    indices.push(b.wait()?);
                }
                Ok(indices)
            })
        })
        .collect();

    let mut per_thread = Vec::new();
    for h in handles {
        per_thread.push(h.join().expect("a party panicked")?);
    }
    // In each round the indices handed out are exactly 0..PARTIES.
    let unique = (0..ROUNDS).all(|r| {
        let mut idx: Vec<usize> = per_thread.iter().map(|v| v[r]).collect();
        idx.sort();
        idx == (0..PARTIES).collect::<Vec<_>>()
    });
    println!(
        "parties={} rounds={}",
        barrier.parties(),
        rounds_done.load(SeqCst)
    );
    println!("indices_unique_per_round={unique}");
    println!("broken={}", barrier.broken());
    Ok(())
}
