//! What a queue's lock protects, and what a `fork()` leaves of it: in the child the sleepers
//! counted by the parent's vanished threads are forgotten (the first lock in the child resets
//! the counts, so no put or get makes a wake-up call for them, and no count stays up forever).
//! The items stay, and so do the unfinished tasks: an item a vanished consumer took and never
//! marked done keeps `join` waiting, as in CPython. A queue whose lock a vanished thread held
//! stays locked (its items may be half moved), as a CPython queue does.

use crate::rt::fork_generation;

/// What the lock protects.
pub(super) struct Inner<S> {
    pub(super) store: S,
    /// Items put and not yet marked done (Python's `unfinished_tasks`).
    pub(super) unfinished: usize,
    /// Getters counted as (about to be) asleep on `not_empty`.
    pub(super) getters: u32,
    /// Putters counted as (about to be) asleep on `not_full`.
    pub(super) putters: u32,
    /// `join` callers counted as (about to be) asleep on `all_done`.
    pub(super) joiners: u32,
    pub(super) shutdown: bool,
    /// The fork generation the three sleeper counts belong to.
    fork_generation: u32,
}

impl<S> Inner<S> {
    pub(super) fn new(store: S) -> Self {
        Inner {
            store,
            unfinished: 0,
            getters: 0,
            putters: 0,
            joiners: 0,
            shutdown: false,
            fork_generation: 0,
        }
    }

    /// Called with the lock held, each time it is taken: in a fork child, drops the sleepers
    /// that the parent's threads counted (one load and compare otherwise).
    #[inline]
    pub(super) fn forget_vanished_sleepers(&mut self) {
        let g = fork_generation();
        if self.fork_generation != g {
            self.fork_generation = g;
            self.getters = 0;
            self.putters = 0;
            self.joiners = 0;
        }
    }
}

/// A fork child does not count the sleepers of the parent's vanished threads: a `put` into a
/// queue that parent getters slept on makes no wake-up call. (Before, they stayed counted in
/// the copy of the queue forever: a system call at every put.)
#[cfg(all(test, unix, not(miri), not(threadkit_loom)))]
pub(super) mod tests {
    use crate::rt::wake_calls_during;
    use crate::{GetError, LifoQueue, PutError, Queue};
    use std::thread;
    use std::time::Duration;

    /// The calls the test makes, on a `Queue` (ring or list) or a `LifoQueue` (this engine).
    pub(in crate::sync::queue) trait Calls: Sync + 'static {
        fn put(&self, x: u32) -> Result<(), PutError<u32>>;
        fn get(&self) -> Result<u32, GetError>;
        fn get_nowait(&self) -> Result<u32, GetError>;
    }

    macro_rules! calls {
        ($($q:ident),*) => {$(
            impl Calls for $q<u32> {
                fn put(&self, x: u32) -> Result<(), PutError<u32>> {
                    $q::put(self, x)
                }
                fn get(&self) -> Result<u32, GetError> {
                    $q::get(self)
                }
                fn get_nowait(&self) -> Result<u32, GetError> {
                    $q::get_nowait(self)
                }
            }
        )*};
    }
    calls!(Queue, LifoQueue);

    /// Two parent getters asleep on `q` when the process forks: in the child a `put` makes no
    /// wake-up call for them, and the queue works with the child's own threads; in the parent
    /// a `put` wakes one of its own. For every engine (`fifo.rs` runs it on a ring and a list).
    pub(in crate::sync::queue) fn fork_child_forgets_sleepers(q: &'static impl Calls) {
        let getters: Vec<_> = (0..2)
            .map(|_| thread::spawn(move || q.get().unwrap()))
            .collect();
        // Let them count themselves and fall asleep.
        thread::sleep(Duration::from_millis(50));
        let ok = crate::rt::child_passes(|| {
            let (calls, r) = wake_calls_during(|| q.put(7));
            r.unwrap();
            assert_eq!(calls, 0, "woke a vanished getter");
            assert_eq!(q.get_nowait().unwrap(), 7);
            let t = thread::spawn(move || q.get().unwrap());
            thread::sleep(Duration::from_millis(20));
            q.put(8).unwrap();
            assert_eq!(t.join().unwrap(), 8);
        });
        let (calls, r) = wake_calls_during(|| q.put(1));
        r.unwrap();
        assert_eq!(calls, 1, "the parent's own sleepers are woken");
        q.put(2).unwrap();
        for g in getters {
            g.join().unwrap();
        }
        assert!(ok, "the child failed");
    }

    #[test]
    fn a_fork_child_does_not_count_the_parents_sleepers() {
        fork_child_forgets_sleepers(Box::leak(Box::new(LifoQueue::new())));
    }
}
