//! An `Event` as a start signal: four workers get ready and block on `start.wait()`; the main
//! thread finishes its set-up, then `start.set()` releases them all at once. Python:
//! `start = threading.Event()` ... `start.set()`.
//!
//! Run: `cargo run --example event_start_signal`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;
use threadkit::{Error, Event, Thread};

const WORKERS: usize = 4;

struct Shared {
    start: Event,
    setup_done: AtomicBool,
    started_after_signal: AtomicUsize,
    ready: AtomicUsize,
}

fn main() -> Result<(), Error> {
    let shared = Arc::new(Shared {
        start: Event::new(),
        setup_done: AtomicBool::new(false),
        started_after_signal: AtomicUsize::new(0),
        ready: AtomicUsize::new(0),
    });
    let workers: Vec<Thread> = (0..WORKERS)
        .map(|_| {
            let s = shared.clone();
            Thread::new(move || {
                s.ready.fetch_add(1, SeqCst);
                s.start.wait(); // Python: start.wait()
                if s.setup_done.load(SeqCst) {
                    s.started_after_signal.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    for w in &workers {
        w.start()?;
    }

    // Nobody gets past an unset event: a timed wait here times out.
    let timed_out = !shared.start.wait_timeout(Duration::from_millis(50));
    // ... the set-up the workers must not race with ...
    shared.setup_done.store(true, SeqCst);
    shared.start.set();
    for w in &workers {
        w.join()?;
    }
    println!("workers={WORKERS} ready={}", shared.ready.load(SeqCst));
    println!(
        "wait_timeout_before_set={}",
        if timed_out { "timed out" } else { "returned" }
    );
    println!(
        "started_after_signal={}",
        shared.started_after_signal.load(SeqCst)
    );
    println!("is_set={}", shared.start.is_set());
    Ok(())
}
