//! [`FifoEngine`]: what a [`Queue`](crate::Queue) runs on. A bounded queue of at most
//! [`RING_MAX`] slots (and [`RING_BYTES`] of them) is a lock-free [`Ring`] allocated at
//! construction; any other queue (unbounded, or bounded but too large to allocate up front)
//! is a lock-free [`List`] of segments allocated as items arrive. Either store is glued, by
//! the one generic [`LockFree`] below, to an event count per condition ([`Sleepers`]). Only
//! on targets without 64-bit positions (from which `unfinished` and `qsize` are read) is a
//! `Queue` the locked [`Engine`] that `LifoQueue` and `PriorityQueue` run on.
//!
//! ```text
//!  put: store.try_put ─ok─> not_empty.notify_one (a load; a wake-up call only if counted)
//!         │Full: nowait/expired? Full ; spin on room_ready ; retry
//!         └─ then: not_full.prepare ; has_room? cancel : sleep ; retry      (ShutDown: fail)
//!  get: the mirror image (store.try_get, not_full.notify_one, has_item, not_empty)
//!  task_done: store.finish(1) ─ none left ─> all_done.notify_all
//!  shutdown: store.shut_down (tail mark) ; immediate: try_get until empty, finish(n) ;
//!            wake every counted sleeper of the three conditions
//! ```
//!
//! A woken waiter always tries its operation before it looks at its deadline, so a wake-up is
//! never spent on a waiter that then reports `Full`/`Empty`. An immediate shutdown drains with
//! `try_get` after the mark, racing only other gets: every item goes to exactly one of them.

use super::block::Block;
#[cfg(not(target_pointer_width = "64"))]
use super::engine::Engine;
use super::engine::learn;
use super::error::{GetError, PutError};
use super::list::List;
use super::lockfree::Slots;
use super::ring::Ring;
use super::sleepers::Sleepers;
#[cfg(not(target_pointer_width = "64"))]
use super::store::Fifo;
use crate::rt::{AtomicU32, Spun, spin};
use std::sync::atomic::Ordering::Relaxed;

/// The most slots a ring is allocated with up front.
const RING_MAX: usize = 1 << 16;
/// The most bytes of slots a ring is allocated with up front.
const RING_BYTES: usize = 1 << 20;

/// Hint bits of [`LockFree::hints`], as in `engine.rs`.
const GET_SPUN: u32 = 1;
const PUT_SPUN: u32 = 2;

/// How much room a putter that found the queue full spins for before it puts again: a
/// quarter of `maxsize`, 1 to [`ROOM_BATCH_MAX`] slots (bounded by the spin's time: a putter
/// whose spin ends first puts into whatever room there is). Putting again as soon as one slot
/// is free keeps a fast producer in lockstep with its consumers, both writing the same cache
/// lines at every item; a batch of room lets the consumers run ahead. On the 2-CPU AMD EPYC
/// VM of `docs/benchmarks-history.md`, `versus --runs 3` alternated, against the channel baseline's
/// time: SPSC bounded(1024) 1.49-2.12x with one slot, 0.61-0.92x with 32; 2 producers / 2
/// consumers bounded(64) 0.22-1.91x with one, 0.44-1.24x with 16; 4p/4c 1.18-2.48x,
/// 0.58-1.06x (an eighth of `maxsize`: 0.62-1.09x and 0.87-1.45x; a half: no better, more
/// spread).
fn room_batch(maxsize: usize) -> usize {
    (maxsize / 4).clamp(1, ROOM_BATCH_MAX)
}

/// The most room a full queue's putter spins for (see [`room_batch`]).
const ROOM_BATCH_MAX: usize = 32;

/// The engine of a `Queue` (see the module docs). `Locked` exists only where positions are
/// narrower than 64 bits: on 64-bit targets the dispatch below is two arms, small enough to
/// inline into the caller (with a third, the locked engine's `put` inlined here made the
/// ring's uncontended put + get 5.3 ns -> 8.8 ns).
#[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))]
pub(crate) enum FifoEngine<T> {
    Ring(Box<LockFree<Ring<T>>>),
    List(Box<LockFree<List<T>>>),
    #[cfg(not(target_pointer_width = "64"))]
    Locked(Engine<Fifo<T>>),
}

/// A FIFO queue on a lock-free store.
pub(crate) struct LockFree<S> {
    store: S,
    not_empty: Sleepers,
    not_full: Sleepers,
    all_done: Sleepers,
    /// `GET_SPUN` / `PUT_SPUN`: spin hints only.
    hints: AtomicU32,
}

/// Calls the same method on whichever engine `$e` is.
macro_rules! each {
    ($e:expr, $x:ident => $call:expr) => {
        match $e {
            FifoEngine::Ring($x) => $call,
            FifoEngine::List($x) => $call,
            #[cfg(not(target_pointer_width = "64"))]
            FifoEngine::Locked($x) => $call,
        }
    };
}

impl<T> FifoEngine<T> {
    pub(crate) fn new(maxsize: usize, tasks: bool) -> Self {
        // `unfinished` and `qsize` are read off positions, which must not wrap: 64-bit only.
        #[cfg(not(target_pointer_width = "64"))]
        return FifoEngine::Locked(Engine::new(maxsize, tasks));
        #[cfg(target_pointer_width = "64")]
        {
            let _ = tasks; // no task count to turn off: `SimpleQueue` never reads it
            Self::lock_free(maxsize)
        }
    }

    /// A ring if `maxsize` slots fit the limits, else a list.
    #[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))]
    fn lock_free(maxsize: usize) -> Self {
        let slot = std::mem::size_of::<T>() + std::mem::size_of::<usize>();
        let fits = (1..=RING_MAX).contains(&maxsize) && maxsize.saturating_mul(slot) <= RING_BYTES;
        if fits {
            FifoEngine::Ring(Box::new(LockFree::new(Ring::new(maxsize))))
        } else {
            FifoEngine::List(Box::new(LockFree::new(List::new(maxsize))))
        }
    }

    pub(crate) fn maxsize(&self) -> usize {
        each!(self, e => e.maxsize())
    }

    #[inline]
    pub(crate) fn qsize(&self) -> usize {
        each!(self, e => e.qsize())
    }

    #[inline]
    pub(crate) fn full(&self) -> bool {
        each!(self, e => e.full())
    }

    #[inline]
    pub(crate) fn is_shutdown(&self) -> bool {
        each!(self, e => e.is_shutdown())
    }

    #[inline]
    pub(crate) fn put(&self, item: T, block: Block) -> Result<(), PutError<T>> {
        each!(self, e => e.put(item, block))
    }

    #[inline]
    pub(crate) fn get(&self, block: Block) -> Result<T, GetError> {
        each!(self, e => e.get(block))
    }

    pub(crate) fn task_done(&self) -> bool {
        each!(self, e => e.task_done())
    }

    pub(crate) fn join(&self, block: Block) -> bool {
        each!(self, e => e.join(block))
    }

    pub(crate) fn shutdown(&self, immediate: bool) -> Vec<T> {
        each!(self, e => e.shutdown(immediate))
    }
}

impl<S: Slots> LockFree<S> {
    fn new(store: S) -> Self {
        LockFree {
            store,
            not_empty: Sleepers::new(),
            not_full: Sleepers::new(),
            all_done: Sleepers::new(),
            hints: AtomicU32::new(0),
        }
    }

    fn maxsize(&self) -> usize {
        self.store.maxsize()
    }

    #[inline]
    fn qsize(&self) -> usize {
        self.store.qsize()
    }

    #[inline]
    fn full(&self) -> bool {
        let max = self.store.maxsize();
        max > 0 && self.store.qsize() >= max
    }

    #[inline]
    fn is_shutdown(&self) -> bool {
        self.store.is_shut_down()
    }

    #[inline]
    fn put(&self, item: S::Item, block: Block) -> Result<(), PutError<S::Item>> {
        match self.store.try_put(item) {
            Ok(()) => {
                self.not_empty.notify_one(|| !self.store.has_item());
                Ok(())
            }
            Err(PutError::Full(item)) => self.put_slow(item, block),
            Err(e) => Err(e),
        }
    }

    #[cold]
    fn put_slow(&self, mut item: S::Item, block: Block) -> Result<(), PutError<S::Item>> {
        // None: no spin yet; Some(None): the spin saw room; Some(Some(s)): it did not.
        let mut spun: Option<Option<Spun>> = None;
        loop {
            if block.expired() {
                return Err(PutError::Full(item));
            }
            if spun.is_none() {
                let long = self.hints.load(Relaxed) & PUT_SPUN != 0;
                let batch = room_batch(self.store.maxsize());
                spun = Some(spin(long, block.deadline(), || self.store.room_ready(batch)).err());
            } else {
                let s = self.not_full.prepare();
                if self.store.has_room() {
                    self.not_full.cancel();
                } else {
                    self.not_full.sleep(s, block.deadline());
                }
            }
            match self.store.try_put(item) {
                Ok(()) => {
                    self.not_empty.notify_one(|| !self.store.has_item());
                    learn(&self.hints, PUT_SPUN, spun);
                    return Ok(());
                }
                Err(PutError::Full(back)) => item = back,
                Err(e) => return Err(e),
            }
        }
    }

    #[inline]
    fn get(&self, block: Block) -> Result<S::Item, GetError> {
        match self.store.try_get() {
            Ok(item) => {
                self.not_full.notify_one(|| !self.store.has_room());
                Ok(item)
            }
            Err(GetError::Empty) => self.get_slow(block),
            Err(e) => Err(e),
        }
    }

    #[cold]
    fn get_slow(&self, block: Block) -> Result<S::Item, GetError> {
        // As in `put_slow`.
        let mut spun: Option<Option<Spun>> = None;
        loop {
            if block.expired() {
                return Err(GetError::Empty);
            }
            if spun.is_none() {
                let long = self.hints.load(Relaxed) & GET_SPUN != 0;
                spun = Some(spin(long, block.deadline(), || self.store.has_item()).err());
            } else {
                let s = self.not_empty.prepare();
                if self.store.has_item() {
                    self.not_empty.cancel();
                } else {
                    self.not_empty.sleep(s, block.deadline());
                }
            }
            match self.store.try_get() {
                Ok(item) => {
                    self.not_full.notify_one(|| !self.store.has_room());
                    learn(&self.hints, GET_SPUN, spun);
                    return Ok(item);
                }
                Err(GetError::Empty) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn task_done(&self) -> bool {
        match self.store.finish(1) {
            None => false,
            Some(none_left) => {
                if none_left {
                    self.all_done.notify_all();
                }
                true
            }
        }
    }

    fn join(&self, block: Block) -> bool {
        loop {
            if self.store.unfinished() == 0 {
                return true;
            }
            if block.expired() {
                return false;
            }
            let s = self.all_done.prepare();
            if self.store.unfinished() == 0 {
                self.all_done.cancel();
            } else {
                self.all_done.sleep(s, block.deadline());
            }
        }
    }

    fn shutdown(&self, immediate: bool) -> Vec<S::Item> {
        self.store.shut_down();
        let mut removed = Vec::new();
        if immediate {
            removed.reserve(self.store.qsize());
            while let Ok(item) = self.store.try_get() {
                removed.push(item);
            }
            if !removed.is_empty() && self.store.finish(removed.len()) == Some(true) {
                self.all_done.notify_all();
            }
        }
        self.not_empty.notify_all();
        self.not_full.notify_all();
        removed
    }
}

/// As `inner.rs`'s test, on a ring and on a list: a fork child does not count the parent's
/// sleepers, so a `put` that parent getters slept on makes no wake-up call there.
#[cfg(all(test, unix, not(miri), not(threadkit_loom)))]
mod tests {
    use super::super::inner::tests::fork_child_forgets_sleepers;

    #[test]
    fn a_fork_child_does_not_count_the_parents_ring_sleepers() {
        fork_child_forgets_sleepers(Box::leak(Box::new(crate::Queue::with_maxsize(4))));
    }

    #[test]
    fn a_fork_child_does_not_count_the_parents_list_sleepers() {
        fork_child_forgets_sleepers(Box::leak(Box::new(crate::Queue::new())));
    }
}

/// A full queue's putter spins for a batch of room, a quarter of `maxsize` (1 to 32 slots),
/// and never past a shutdown.
#[cfg(all(test, target_pointer_width = "64", not(threadkit_loom)))]
mod batch_tests {
    use super::{FifoEngine, room_batch};
    use crate::sync::queue::block::Block;
    use crate::sync::queue::lockfree::Slots;

    #[test]
    fn the_batch_is_a_quarter_of_maxsize_from_1_to_32() {
        let got: Vec<usize> = [1, 4, 8, 15, 64, 127, 128, 1024, 1 << 20]
            .iter()
            .map(|&m| room_batch(m))
            .collect();
        assert_eq!(got, [1, 1, 2, 3, 16, 31, 32, 32, 32]);
    }

    #[test]
    fn a_putter_spins_until_a_batch_is_free_or_shutdown() {
        let FifoEngine::Ring(q) = FifoEngine::<u32>::new(64, true) else {
            panic!("a bounded(64) queue of u32 is a ring");
        };
        let batch = room_batch(64);
        for i in 0..64 {
            assert!(q.put(i, Block::No).is_ok());
        }
        assert!(!q.store.room_ready(1));
        for taken in 1..=batch {
            assert!(q.get(Block::No).is_ok());
            assert!(q.store.room_ready(1), "one slot is room for one");
            assert_eq!(
                q.store.room_ready(batch),
                taken == batch,
                "{taken} slots free"
            );
        }
        assert!(q.put(0, Block::No).is_ok());
        assert!(!q.store.room_ready(batch));
        let _ = q.shutdown(false);
        assert!(q.store.room_ready(batch), "a shut-down queue ends the spin");
    }
}
