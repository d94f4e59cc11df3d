//! The seed's connection pool: `BoundedSemaphore(5)` lets at most 5 of 12 workers hold a
//! "connection" at once (Python: `pool_sema = BoundedSemaphore(value=maxconnections)` and
//! `with pool_sema: ...`). A release without an acquire is caught, as in Python.
//!
//! Run: `cargo run --example connection_pool`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;
use threadkit::{BoundedSemaphore, Error, Event, Thread};

const MAX_CONNECTIONS: usize = 5;
const WORKERS: usize = 12;

struct Pool {
    sema: BoundedSemaphore,
    in_use: AtomicUsize,
    max_in_use: AtomicUsize,
    served: AtomicUsize,
}

fn use_connection(pool: &Pool) {
    let _conn = pool.sema.guard(); // Python: `with pool_sema:`
    let now = pool.in_use.fetch_add(1, SeqCst) + 1;
    pool.max_in_use.fetch_max(now, SeqCst);
    // ... use the connection: here, hold it briefly so that the workers overlap ...
    let _slept = Event::new().wait_timeout(Duration::from_millis(20)); // a sleep: times out
    pool.in_use.fetch_sub(1, SeqCst);
    pool.served.fetch_add(1, SeqCst);
}

fn main() -> Result<(), Error> {
    let pool = Arc::new(Pool {
        sema: BoundedSemaphore::new(MAX_CONNECTIONS),
        in_use: AtomicUsize::new(0),
        max_in_use: AtomicUsize::new(0),
        served: AtomicUsize::new(0),
    });
    let workers: Vec<Thread> = (0..WORKERS)
        .map(|i| {
            let p = pool.clone();
            Thread::new(move || {
                for _ in 0..3 {
                    use_connection(&p);
                }
            })
            .with_name(format!("worker-{i}"))
        })
        .collect();
    for w in &workers {
        w.start()?;
    }
    for w in &workers {
        w.join()?;
    }

    println!("workers={WORKERS} pool_size={MAX_CONNECTIONS}");
    println!("served={}", pool.served.load(SeqCst));
    println!("max_in_use={}", pool.max_in_use.load(SeqCst));
    println!("value_after={}", pool.sema.value());
    // The bug a bounded semaphore exists to catch: one release too many.
    match pool.sema.release() {
        Err(Error::TooManyReleases) => println!("extra_release=TooManyReleases"),
        other => println!("extra_release=unexpected {other:?}"),
    }
    Ok(())
}
