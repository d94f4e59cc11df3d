//! [`Ring`]: the lock-free store of a bounded FIFO [`Queue`](crate::Queue), a bounded MPMC
//! ring of slots with per-slot stamps (Dmitry Vyukov's, laid out as crossbeam-channel's array
//! flavour), plus Python's shutdown flag and task count, without a lock.
//!
//! | word   | meaning                                                                        |
//! |--------|--------------------------------------------------------------------------------|
//! | `head` | position of the next `get`: `lap + index` (`lap` a multiple of `one_lap`)      |
//! | `tail` | position of the next `put`, same form, plus `mark`: shut down                  |
//! | `done` | tasks done: `task_done` calls plus items an immediate shutdown counted done   |
//! | slot `stamp` | `pos`: free for the `put` at `pos`; `pos + 1`: holds the item for the `get` at `pos` |
//!
//! ```text
//!  put at tail t: slot.stamp == t ? CAS tail t -> next(t) ; write ; stamp = t + 1
//!                 slot.stamp == t + 1 - one_lap (last lap's item) and head + one_lap == t ? Full
//!                 tail has mark ? ShutDown
//!  get at head h: slot.stamp == h + 1 ? CAS head h -> next(h) ; read ; stamp = h + one_lap
//!                 slot.stamp == h and tail == h ? Empty (ShutDown if marked)
//! ```
//!
//! A `put` or `get` that finds its slot reserved by a partner that has not written its stamp
//! yet (the partner is between its CAS and its store) waits for it, as crossbeam does: a `put`
//! is done once its CAS succeeded, so a later `get` must find its item (no `Empty` while a
//! completed later `put` sits behind it). It busy-waits a few steps, then naps ever longer
//! (`rt::nap`, never a `sched_yield`): a partner that is not done within a few steps lost
//! its CPU. In a `fork()` child, a slot that a vanished parent thread had reserved and not
//! written never completes: the `get` that reaches it waits forever, as on a queue whose lock
//! a vanished thread held. The shutdown mark in `tail` makes every `put`'s CAS
//! fail once set, so no item enters after a shutdown and an immediate shutdown's drain sees
//! every item.
//!
//! Python's `unfinished_tasks` is the number of `put`s read off `tail` minus `done` (see
//! `lockfree.rs`, which holds what the ring shares with the unbounded `list.rs`).
//!
//! # A full ring's putter
//!
//! A putter that found the ring full spins on the stamp of the slot where its batch of room
//! ends (`room_ready`), not on `head`: a spinner looks at every step, and each look at `head`
//! pulled its line away from the getters, who move it at every item, so that each of their
//! CASes missed the cache. On the 2-CPU AMD EPYC VM of `docs/benchmarks-history.md` with two `yes`
//! processes running, `perf` put 32% of a getter's samples on that CAS; medians of 6-8
//! alternated runs of a scratch binary: SPSC bounded(1024) (pinned) 32-53 against 34-90 ns of
//! CPU per item, 2 producers / 2 consumers bounded(64) 49-102 against 104-226 (where the
//! threads rarely slept; see docs/benchmarks-history.md). A getter's spin still reads `tail`
//! (`has_item`): on the slot's own stamp it made the putter's item and stamp stores two
//! transfers of the line, and a ping-pong over two one-slot queues took 330-360 ns a round
//! trip against 245-255.
//!
//! # Memory ordering
//!
//! A slot's stamp store (`Release`) and its load (`Acquire`) order the item's write before its
//! read, and the read before the next lap's write. The CASes on `head`, `tail` and `done` are
//! `SeqCst`: they are the publications of the sleepers' handshake (see `sleepers.rs`), whose
//! waiters read them back with `SeqCst` loads (`has_item`, `has_room`, `unfinished`).

use super::error::{GetError, PutError};
use super::lockfree::{Padded, Slots, backoff};
use crate::rt::{AtomicUsize, UnsafeCell, fence};
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// A fresh look at `a` after a [`backoff`]. Under loom an RMW, which reads the latest value:
/// a load may return any older one again, and the model would branch on each (only progress
/// depends on this value: every decision is made by a CAS or by the fenced loads).
#[inline]
fn reload(a: &AtomicUsize) -> usize {
    #[cfg(threadkit_loom)]
    return a.fetch_add(0, Relaxed);
    #[cfg(not(threadkit_loom))]
    a.load(Relaxed)
}

/// One slot: a stamp (see the module docs) and room for an item.
struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The ring (see the module docs).
pub(super) struct Ring<T> {
    head: Padded<AtomicUsize>,
    tail: Padded<AtomicUsize>,
    done: Padded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// `maxsize`.
    cap: usize,
    /// The shutdown bit of `tail`, above every index: `(cap + 1).next_power_of_two()`.
    mark: usize,
    /// `2 * mark`: the positions of one lap.
    one_lap: usize,
    /// `log2(one_lap)`.
    lap_shift: u32,
}

// SAFETY: items move between threads only through slots, each owned by the one thread whose
// CAS reserved it until its stamp store hands it on (module docs), so sharing `&Ring<T>` moves
// `T`s between threads: `T: Send` suffices, as for a channel.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `cap` slots (`1 <= cap`, and `cap` small enough that `2 * mark` fits).
    pub(super) fn new(cap: usize) -> Self {
        debug_assert!(cap >= 1);
        let mark = (cap + 1).next_power_of_two();
        let one_lap = mark * 2;
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            done: Padded(AtomicUsize::new(0)),
            slots,
            cap,
            mark,
            one_lap,
            lap_shift: one_lap.trailing_zeros(),
        }
    }

    /// The position after `pos` (without the mark).
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// How many operations a position (without the mark) stands for since the start.
    #[inline]
    fn count(&self, pos: usize) -> usize {
        (pos >> self.lap_shift) * self.cap + (pos & (self.mark - 1))
    }
}

impl<T> Slots for Ring<T> {
    type Item = T;

    fn maxsize(&self) -> usize {
        self.cap
    }

    #[inline]
    fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        let mut step = 0;
        let mut tail = self.tail.0.load(Relaxed);
        loop {
            if tail & self.mark != 0 {
                return Err(PutError::ShutDown(item));
            }
            let slot = &self.slots[tail & (self.mark - 1)];
            let stamp = slot.stamp.load(Acquire);
            if stamp == tail {
                // Transition: tail t -> next(t), reserving slot t for this put (fails once
                // shutdown has set the mark).
                match self
                    .tail
                    .0
                    .compare_exchange(tail, self.next(tail), SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the CAS reserved this slot for this thread alone: its stamp
                        // says free (the last `get` of it is done reading) and no other put
                        // can reserve position `tail` again.
                        slot.value.with_mut(|p| unsafe { (*p).write(item) });
                        slot.stamp.store(tail + 1, Release);
                        return Ok(());
                    }
                    Err(now) => tail = now,
                }
                continue;
            }
            if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot holds last lap's item: full, unless its get is under way.
                fence(SeqCst);
                if self.head.0.load(Relaxed).wrapping_add(self.one_lap) == tail {
                    return Err(PutError::Full(item));
                }
            }
            backoff(&mut step);
            tail = reload(&self.tail.0);
        }
    }

    #[inline]
    fn try_get(&self) -> Result<T, GetError> {
        let mut step = 0;
        let mut head = self.head.0.load(Relaxed);
        loop {
            let slot = &self.slots[head & (self.mark - 1)];
            let stamp = slot.stamp.load(Acquire);
            if stamp == head + 1 {
                // Transition: head h -> next(h), reserving the item at h for this get.
                match self
                    .head
                    .0
                    .compare_exchange(head, self.next(head), SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the stamp (acquired) says the put of position `head` wrote
                        // the item, and the CAS gave it to this thread alone.
                        let item = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                        slot.stamp.store(head.wrapping_add(self.one_lap), Release);
                        return Ok(item);
                    }
                    Err(now) => head = now,
                }
                continue;
            }
            if stamp == head {
                // No item here yet: empty, unless a put reserved it and is writing it.
                fence(SeqCst);
                let tail = self.tail.0.load(Relaxed);
                if tail & !self.mark == head {
                    return Err(if tail & self.mark != 0 {
                        GetError::ShutDown
                    } else {
                        GetError::Empty
                    });
                }
            }
            backoff(&mut step);
            head = reload(&self.head.0);
        }
    }

    fn shut_down(&self) {
        self.tail.0.fetch_or(self.mark, SeqCst);
    }

    #[inline]
    fn is_shut_down(&self) -> bool {
        self.tail.0.load(Relaxed) & self.mark != 0
    }

    #[inline]
    fn qsize(&self) -> usize {
        // `head` first: the later `tail` is at least the `head` it was read with.
        let head = self.head.0.load(SeqCst);
        let tail = self.tail.0.load(SeqCst) & !self.mark;
        self.count(tail)
            .wrapping_sub(self.count(head))
            .min(self.cap)
    }

    #[inline]
    fn has_item(&self) -> bool {
        let head = self.head.0.load(SeqCst);
        self.tail.0.load(SeqCst) != head
    }

    #[inline]
    fn has_room(&self) -> bool {
        let tail = self.tail.0.load(SeqCst);
        let head = self.head.0.load(SeqCst);
        tail & self.mark != 0 || head.wrapping_add(self.one_lap) != tail
    }

    /// The stamp of the slot `batch - 1` places past `tail`, not `head`: see "A full ring's
    /// putter" above. Slots free up in order, so that one free means `batch` free.
    #[inline]
    fn room_ready(&self, batch: usize) -> bool {
        let tail = self.tail.0.load(Relaxed);
        if tail & self.mark != 0 {
            return true;
        }
        let lap = tail & !(self.one_lap - 1);
        let k = (tail & (self.mark - 1)) + batch.clamp(1, self.cap) - 1;
        let (index, pos) = if k < self.cap {
            (k, lap + k)
        } else {
            (
                k - self.cap,
                lap.wrapping_add(self.one_lap) + (k - self.cap),
            )
        };
        self.slots[index].stamp.load(Relaxed) == pos
    }

    #[inline]
    fn puts(&self) -> usize {
        self.count(self.tail.0.load(SeqCst) & !self.mark)
    }

    fn done(&self) -> &AtomicUsize {
        &self.done.0
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        let tail = self.tail.0.load(Relaxed) & !self.mark;
        let mut head = self.head.0.load(Relaxed);
        while head != tail {
            let slot = &self.slots[head & (self.mark - 1)];
            // SAFETY: `&mut self`: no operation is in flight, so every position from head to
            // tail holds a written item that no get has taken; each is dropped once.
            slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            head = self.next(head);
        }
    }
}

/// A full ring's putter looks at a slot's stamp: it must agree with the ring's positions
/// wherever `head` and `tail` stand, laps and wrap-around included.
#[cfg(all(test, not(threadkit_loom)))]
mod tests {
    use super::Ring;
    use crate::sync::queue::lockfree::Slots;

    /// A ring of `cap` slots whose `head` and `tail` have moved `moved` positions.
    fn moved(cap: usize, moved: usize) -> Ring<usize> {
        let r = Ring::new(cap);
        for i in 0..moved {
            assert!(r.try_put(i).is_ok());
            assert_eq!(r.try_get().ok(), Some(i));
        }
        r
    }

    /// Capacities to try: a power of two, others (the index space is a power of two), one.
    const CAPS: &[usize] = if cfg!(miri) {
        &[1, 3, 4]
    } else {
        &[1, 3, 5, 60, 64]
    };

    #[test]
    fn the_putters_look_sees_a_batch_of_room_as_the_getters_free_it() {
        for &cap in CAPS {
            for start in 0..2 * cap + 1 {
                let r = moved(cap, start);
                for i in 0..cap {
                    assert!(r.try_put(i).is_ok());
                }
                for batch in 1..=cap {
                    assert!(!r.room_ready(batch), "full: cap {cap}, start {start}");
                }
                for taken in 1..=cap {
                    assert!(r.try_get().is_ok());
                    for batch in 1..=cap {
                        assert_eq!(
                            r.room_ready(batch),
                            taken >= batch,
                            "cap {cap}, start {start}, {taken} taken, batch {batch}"
                        );
                    }
                }
                r.shut_down();
                assert!(r.room_ready(cap), "a shut-down ring ends the spin");
            }
        }
    }
}
