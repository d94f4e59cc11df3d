//! [`Slots`]: what the lock-free glue of `fifo.rs` needs of a FIFO store, written once for
//! both stores ([`Ring`](super::ring::Ring), bounded, and [`List`](super::list::List),
//! unbounded), with Python's task count on top, and the helpers both use to wait for a
//! partner that is between its reserving CAS and its publishing store.
//!
//! Python's `unfinished_tasks` is not a counter of its own (an RMW per `put`): it is the
//! number of `put`s (read off the store's tail position) minus `done`; `task_done` moves
//! `done` by CAS, never past the `put` count. `done` is `SeqCst` like the stores' tails: it is
//! the publication of the `all_done` sleepers' handshake (see `sleepers.rs`).

use super::error::{GetError, PutError};
use crate::rt::{AtomicUsize, nap, spin_hint};
use std::sync::atomic::Ordering::SeqCst;

/// Busy-wait rounds (1, 2, 4, .. steps) on a partner's in-flight store before napping (see
/// `rt::nap`): the partner is a few instructions from its store unless it lost its CPU.
const IN_FLIGHT_SPINS: u32 = 6;

/// Keeps a hot word on cache lines of its own (two lines: adjacent-line prefetch).
#[repr(align(128))]
pub(super) struct Padded<T>(pub(super) T);

/// Waits for a partner's in-flight store: spins, then naps ever longer (see
/// [`IN_FLIGHT_SPINS`] and `rt::nap`).
#[inline]
pub(super) fn backoff(step: &mut u32) {
    if cfg!(threadkit_loom) || *step >= IN_FLIGHT_SPINS {
        nap(step.saturating_sub(IN_FLIGHT_SPINS));
        *step = step.saturating_add(1);
        return;
    }
    spin_pow2(*step);
    *step += 1;
}

/// 2^`exp` busy-wait steps.
#[inline]
fn spin_pow2(exp: u32) {
    for _ in 0..1u32 << exp {
        spin_hint();
    }
}

/// The longest [`contention`] backoff: 2^6 = 64 steps (about 2 us here).
const CONTENTION_MAX: u32 = 6;

/// Backs off after a lost compare-and-swap on a head or tail: 1, 2, 4, ... 64 busy-wait
/// steps (then 64 each time), so that the threads racing for the word do not all come back
/// at once and pass its cache line round again before any of them can win. Without it, 4
/// producers and 4 consumers on an unbounded queue (2 CPUs, quiet) took 42-54 ns an item
/// against crossbeam-channel's 15-17 (which backs off the same way); with it 17 ns
/// (figures: docs/benchmarks-history.md). Never a yield or a sleep: the winner is running. Under
/// loom, nothing (the retry is what the model explores).
#[inline]
pub(super) fn contention(step: &mut u32) {
    if cfg!(threadkit_loom) {
        return;
    }
    spin_pow2((*step).min(CONTENTION_MAX));
    *step = step.saturating_add(1);
}

/// A lock-free FIFO store with Python's shutdown flag and task count.
pub(super) trait Slots {
    type Item;
    /// `maxsize` (0: unbounded).
    fn maxsize(&self) -> usize;
    /// Puts `item` if there is room now (waiting only for an in-flight partner).
    fn try_put(&self, item: Self::Item) -> Result<(), PutError<Self::Item>>;
    /// Takes the next item if there is one now (waiting only for an in-flight `put` of it).
    fn try_get(&self) -> Result<Self::Item, GetError>;
    /// Sets the shutdown mark: every later `put` fails (a `SeqCst` publication).
    fn shut_down(&self);
    fn is_shut_down(&self) -> bool;
    /// The number of items (a snapshot, at most `maxsize` when bounded).
    fn qsize(&self) -> usize;
    /// For a sleeping getter's last look (`SeqCst` loads): an item is there or on its way,
    /// or shut down.
    fn has_item(&self) -> bool;
    /// For a sleeping putter's last look (`SeqCst` loads): room is there or being made, or
    /// shut down.
    fn has_room(&self) -> bool;
    /// What a full queue's spinning putter looks for: room for `batch` more items (see
    /// `fifo.rs`, `room_batch`), or shut down. A hint only: the `put` that follows takes
    /// whatever room there is.
    #[inline]
    fn room_ready(&self, batch: usize) -> bool {
        if batch <= 1 {
            return self.has_room();
        }
        self.is_shut_down() || self.qsize() + batch <= self.maxsize()
    }
    /// How many `put`s succeeded (a `SeqCst` load of the tail).
    fn puts(&self) -> usize;
    /// Tasks done: `task_done` calls plus the items an immediate shutdown counted done.
    fn done(&self) -> &AtomicUsize;

    /// Python's `unfinished_tasks` (a snapshot).
    #[inline]
    fn unfinished(&self) -> usize {
        // `done` first: never more than the `put` count read after it.
        let done = self.done().load(SeqCst);
        self.puts() - done
    }

    /// Counts up to `n` tasks done (no more than are unfinished); `None` if none was
    /// unfinished, else whether none is left (as far as this call saw).
    fn finish(&self, n: usize) -> Option<bool> {
        let mut done = self.done().load(SeqCst);
        loop {
            let left = self.puts() - done;
            if left == 0 {
                return None;
            }
            let k = n.min(left);
            // Transition: done d -> d + k, never past the puts (read after d).
            match self.done().compare_exchange(done, done + k, SeqCst, SeqCst) {
                Ok(_) => return Some(left == k),
                Err(now) => done = now,
            }
        }
    }
}
