//! `join` / `task_done` rounds on a `Queue`, shared by tests/queue_stress.rs (an unbounded
//! queue, on the lock-free list) and tests/queue_ring.rs (a two-slot ring): three workers
//! take items and mark them done while the main thread and `joiners` more threads `join`
//! after every round.

use std::sync::Arc;
use std::thread;
use threadkit::Queue;

/// `rounds` rounds of 1..=7 items; after each, every `join` has returned, the queue is empty
/// and one `task_done` more is refused. Then shuts the queue down and joins the workers.
pub fn join_and_task_done_rounds(q: Arc<Queue<u64>>, rounds: u64, joiners: usize) {
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                while let Ok(x) = q.get() {
                    std::hint::black_box(x);
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    for round in 0..rounds {
        for i in 0..(round % 7 + 1) {
            q.put(i).unwrap();
        }
        thread::scope(|s| {
            for _ in 0..joiners {
                s.spawn(|| q.join());
            }
            q.join();
        });
        assert!(q.empty());
        assert!(q.task_done().is_err());
    }
    q.shutdown(false);
    for w in workers {
        w.join().unwrap();
    }
}
