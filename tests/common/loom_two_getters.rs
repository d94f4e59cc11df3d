//! Shared by the loom models of the queues (tests/loom_queue.rs, tests/loom_ring.rs): two
//! getters asleep on an empty queue and one putter with two items.

use loom::sync::Arc;
use loom::thread;

/// A model body: `make` a queue, two threads `get` one item each, then `put` 1 and 2; each
/// getter gets one (no wake-up is lost when two puts meet two sleepers, whatever the order).
pub fn two_getters_two_items<Q: Send + Sync + 'static>(
    make: fn() -> Q,
    put: fn(&Q, i32),
    get: fn(&Q) -> i32,
) -> impl Fn() + Sync + Send + 'static {
    move || {
        let q = Arc::new(make());
        let gs: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || get(&q))
            })
            .collect();
        put(&q, 1);
        put(&q, 2);
        let mut got: Vec<i32> = gs.into_iter().map(|g| g.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, [1, 2]);
    }
}
