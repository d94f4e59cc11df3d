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
    pub(super) getters: Counted,
    /// Putters counted as (about to be) asleep on `not_full`.
    pub(super) putters: Counted,
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
            getters: Counted::NONE,
            putters: Counted::NONE,
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
            self.getters = Counted::NONE;
            self.putters = Counted::NONE;
            self.joiners = 0;
        }
    }
}

/// The sleepers on one of the engine's words (`not_empty`, `not_full`), under the lock: how
/// many are counted, and how many wake-ups were issued for them since the last one counted
/// itself. A waker calls only for sleepers that have no wake-up coming, so a sleeping getter
/// costs its putters one wake-up call, not one per `put` until it runs (on a busy machine a
/// woken thread can wait milliseconds for a CPU, and two producers then made a futex call at
/// nearly every `put`). The same rule as the lock-free queues' `Sleepers` (`sleepers.rs`,
/// where the argument is), kept here under the lock: a waiter that counts itself clears the
/// issued wake-ups (the wake-up calls are made after the unlock, so one issued earlier may
/// still reach this waiter instead of the one it was meant for), and a leaving waiter takes
/// one back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Counted {
    /// Waiters counted as (about to be) asleep.
    pub(super) n: u32,
    /// Wake-ups issued since the last waiter counted itself, not yet taken back; `<= n`.
    woken: u32,
}

impl Counted {
    pub(super) const NONE: Counted = Counted { n: 0, woken: 0 };

    /// A waiter counts itself, before it reads the word it will sleep on.
    #[inline]
    pub(super) fn count_in(&mut self) {
        self.n += 1;
        self.woken = 0;
    }

    /// A counted waiter leaves (woken, timed out, or done).
    #[inline]
    pub(super) fn leave(&mut self) {
        self.n -= 1;
        self.woken = self.woken.saturating_sub(1);
    }

    /// `added` reasons to wake (items, or room): how many wake-up calls to make, recorded as
    /// issued. The caller bumps the word first.
    #[inline]
    pub(super) fn issue(&mut self, added: usize) -> usize {
        let k = (added.min((self.n - self.woken) as usize)) as u32;
        self.woken += k;
        k as usize
    }

    /// Whether some counted waiter has no wake-up coming.
    #[inline]
    pub(super) fn uncovered(&self) -> bool {
        self.n > self.woken
    }

    /// Every counted waiter is woken (a wake-all).
    #[inline]
    pub(super) fn wake_all(&mut self) {
        self.woken = self.n;
    }
}

#[cfg(all(test, not(threadkit_loom)))]
mod counted_tests {
    use super::super::engine::{Block, Engine};
    use super::super::store::Lifo;
    use super::Counted;
    use crate::rt::wake_calls_during;

    /// A counted getter that has not run since its wake-up costs the putters one call, not one
    /// per `put`; a getter that counts itself in after the call makes both uncovered again
    /// (the call issued may reach it instead). Fails with the old rule (`min(added,
    /// getters)` at every put: 3 calls, then 3, and 2 for the putter).
    #[test]
    fn a_waiter_not_yet_run_is_woken_once() {
        let e = Engine::<Lifo<u32>>::new(0, true);
        e.count_in_waiter(true);
        let (calls, ()) = wake_calls_during(|| {
            for x in 0..3 {
                assert!(e.put(x, Block::Forever).is_ok());
            }
        });
        assert_eq!(calls, 1);
        // A second getter counts in: the call already made may reach it instead of the
        // first, so both count as uncovered again: two calls, then none.
        e.count_in_waiter(true);
        let (calls, ()) = wake_calls_during(|| {
            for x in 3..6 {
                assert!(e.put(x, Block::Forever).is_ok());
            }
        });
        assert_eq!(calls, 2);
        // Room for counted putters: the same rule.
        let full = Engine::<Lifo<u32>>::new(1, true);
        assert!(full.put(0, Block::Forever).is_ok());
        full.count_in_waiter(false);
        let (calls, ()) = wake_calls_during(|| {
            for _ in 0..2 {
                assert_eq!(full.get(Block::Forever).ok(), Some(0));
                assert!(full.put(0, Block::No).is_ok());
            }
        });
        assert_eq!(calls, 1);
    }

    #[test]
    fn counted_bookkeeping() {
        let mut c = Counted::NONE;
        assert!(!c.uncovered());
        c.count_in();
        c.count_in();
        assert_eq!(c.issue(5), 2, "at most one call per counted waiter");
        assert_eq!(c.issue(1), 0);
        c.leave();
        assert!(!c.uncovered());
        c.count_in();
        assert_eq!(c.issue(1), 1, "counting in clears the issued wake-ups");
        c.leave();
        c.leave();
        assert_eq!(c, Counted::NONE);
        c.count_in();
        c.wake_all();
        assert!(!c.uncovered());
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
