//! The worker pool of Python's `queue` documentation: daemon workers take items, mark each
//! one done with `task_done()`, and the main thread waits with `join()` until all the work is
//! finished; then (Python 3.13) `shutdown()` lets the workers leave their loop.
//!
//! ```python
//! q = queue.Queue()
//! def worker():
//!     while True:
//!         try:
//!             item = q.get()
//!         except queue.ShutDown:
//!             break
//!         print(f'Working on {item}')
//!         print(f'Finished {item}')
//!         q.task_done()
//! for _ in range(3):
//!     threading.Thread(target=worker, daemon=True).start()
//! for item in range(30):
//!     q.put(item)
//! q.join()                   # block until all tasks are done
//! print('All work completed')
//! q.shutdown()
//! ```
//!
//! Run: `cargo run --example worker_pool_queue`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use threadkit::{Queue, Thread};

const WORKERS: usize = 3;
const ITEMS: u64 = 30;

fn main() -> Result<(), threadkit::Error> {
    let q: Arc<Queue<u64>> = Arc::new(Queue::new());
    let done = Arc::new(AtomicU64::new(0));
    let sum = Arc::new(AtomicU64::new(0));
    let exited = Arc::new(AtomicUsize::new(0));

    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (q, done, sum, exited) = (q.clone(), done.clone(), sum.clone(), exited.clone());
        let t = Thread::new(move || {
            // Python: `except queue.ShutDown: break`
            while let Ok(item) = q.get() {
                sum.fetch_add(item * item, Relaxed); // the "work"
                done.fetch_add(1, Relaxed);
                q.task_done().expect("one task_done per item got");
            }
            exited.fetch_add(1, Relaxed);
        })
        .with_name(format!("Worker-{w}"))
        .with_daemon(true);
        t.start()?;
        workers.push(t);
    }

    for item in 0..ITEMS {
        q.put(item).expect("the queue is not shut down yet");
    }
    q.join(); // block until all tasks are done
    println!("items={ITEMS}");
    println!("done_at_join={}", done.load(Relaxed));
    println!("All work completed");

    q.shutdown(false);
    for t in &workers {
        t.join()?;
    }
    let expected: u64 = (0..ITEMS).map(|i| i * i).sum();
    println!("workers_exited={}", exited.load(Relaxed));
    println!("checksum_ok={}", sum.load(Relaxed) == expected);
    Ok(())
}
