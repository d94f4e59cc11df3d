//! [`List`]: the lock-free store of an unbounded FIFO [`Queue`](crate::Queue) (and of a
//! bounded one too large for the ring): a linked list of segments of [`SLOTS`] slots each,
//! laid out as crossbeam-channel's list flavour, plus Python's shutdown flag and task count.
//! A segment is needed once per [`SLOTS`] puts, never per item (the first one at the first
//! put: an idle queue holds none), and handed back by the `get` that completes its read count
//! (no epoch collector): kept, reset, for the tail's next step if none is kept yet
//! ([`Spare`]), else freed. So a queue whose gets keep up allocates nothing.
//!
//! | word   | meaning                                                                          |
//! |--------|----------------------------------------------------------------------------------|
//! | `head.index` | position of the next `get`, shifted left by one; bit 0 (`MARK`): the tail is known to be in a later segment, so this segment's slots all hold or await items |
//! | `tail.index` | position of the next `put`, the same form; bit 0 (`MARK`): shut down       |
//! | `*.seg`      | the segment that position lies in                                          |
//! | `done`       | tasks done (see `lockfree.rs`)                                             |
//! | slot `state` | `WRITE`: the item is written                                                |
//! | seg `reads`  | gets done with the segment's slots: the one that completes it owns the segment |
//!
//! A position `p` lies in lap `p / LAP`, at offset `p % LAP`; offsets `0..SLOTS` are slots,
//! offset `SLOTS` is the step to the next segment (`LAP = SLOTS + 1`), so the number of
//! operations a position stands for is `p - p / LAP`.
//!
//! ```text
//!  put at tail t: marked? ShutDown ; offset SLOTS? wait for the link ; bounded and full? Full
//!                 no segment yet? install the first (tail's, then head's: `Spare::install`)
//!                 CAS tail t -> t + 1 ; last slot? seg = the kept segment or a new one
//!                 (taken before the CAS, handed back if the put ends without linking it),
//!                 tail += 1 (past the step), old.next = seg ; write ; state |= WRITE
//!  get at head h: offset SLOTS? wait for the move ; unmarked, its item not seen written by a
//!                 look (`ends.rs`), and h == tail? Empty (ShutDown if the tail is marked) ;
//!                 no head segment yet? wait for the first put's store
//!                 CAS head h -> h + 1 (marked when the tail is in a later segment) ; last
//!                 slot? head = first slot of old.next ; wait for WRITE ; read ; reads += 1 ;
//!                 it completed the count? keep the segment for the tail's next step (none
//!                 kept yet) or dealloc it, once no look at the head is under way
//!  either, on a lost CAS: spin 1, 2, 4, ... 64 steps before the next try (`contention`)
//! ```
//!
//! A `put` is done once its CAS succeeded, so a `get` that reserved its slot waits for the
//! `WRITE` bit (a few spins, then naps: `lockfree::backoff`), and so do the puts and gets that
//! find the position at a segment's step while the partner who took the last slot links or
//! moves to the next segment. The shutdown mark in `tail` makes every later `put`'s CAS fail,
//! so an immediate shutdown's drain (`try_get` until `ShutDown`) sees every item. Python's
//! `unfinished_tasks` is the puts read off `tail` minus `done`.
//!
//! In a `fork()` child, a thread of the parent that vanished between its CAS and its store
//! never completes: a `get` that reaches a slot it reserved and did not write waits forever,
//! and so does every `put` (every `get`) at a segment step whose link (move) it did not make,
//! as on a queue whose lock a vanished thread held. An item a vanished `get` had reserved is
//! never dropped, and its segment never freed.
//!
//! # Memory ordering
//!
//! The `WRITE` bit (`Release` store, `Acquire` load) orders an item's write before its read.
//! The adds to a segment's `reads` are `AcqRel`, so every reader's last access to its slot
//! happens before the freeing of the segment, by whichever reader completes the count. A
//! segment's zeroed slots and its link are published by `Release` stores (and CAS) of `seg`
//! and of `next` (and the `tail` add after the first), read back by `Acquire` loads of the
//! index before `seg`, so a position's `seg` is never an older segment than the position's:
//! but for the first segment, whose `head.seg` a get that saw the first item may find still
//! null (it waits, as at a step). The CASes on `head` and `tail` and the shutdown mark are
//! `SeqCst`: they are the publications of the sleepers' handshake (see `sleepers.rs`), whose
//! waiters read them back with `SeqCst` loads (`has_item`, `has_room`, `puts`). A `get`'s look
//! at `tail` (`Empty`) comes after a `SeqCst` fence, as in the ring.

use super::ends::End;
use super::error::{GetError, PutError};
use super::lockfree::{Padded, Slots, backoff, contention};
use super::segment::{LAP, SLOTS, Segment, Spare};
use crate::rt::{AtomicUsize, fence};
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// Positions are shifted left by one: bit 0 is [`MARK`].
const SHIFT: u32 = 1;
/// One position.
const ONE: usize = 1 << SHIFT;
/// `tail`: shut down. `head`: the tail is in a later segment.
const MARK: usize = 1;

/// The list (see the module docs).
pub(super) struct List<T> {
    head: Padded<End<T>>,
    tail: Padded<End<T>>,
    done: Padded<AtomicUsize>,
    /// A segment whose items were all read, kept for the tail's next step.
    kept: Spare<T>,
    /// `maxsize` (0: unbounded).
    maxsize: usize,
    /// The most items: `maxsize`, or `usize::MAX` when unbounded.
    cap: usize,
    /// The list owns the items in its segments.
    _items: PhantomData<T>,
}

// SAFETY: items move between threads only through slots, each written by the one put whose
// CAS reserved it and read by the one get whose CAS reserved it (module docs), so sharing
// `&List<T>` moves `T`s between threads: `T: Send` suffices, as for a channel.
unsafe impl<T: Send> Sync for List<T> {}

/// How many operations a position stands for (see the module docs).
#[inline]
fn count(pos: usize) -> usize {
    let p = pos >> SHIFT;
    p - p / LAP
}

impl<T> List<T> {
    /// An empty list, without a segment until the first put; `maxsize` 0 is unbounded.
    pub(super) fn new(maxsize: usize) -> Self {
        List {
            head: Padded(End::new()),
            tail: Padded(End::new()),
            done: Padded(AtomicUsize::new(0)),
            kept: Spare::new(),
            maxsize,
            cap: if maxsize == 0 { usize::MAX } else { maxsize },
            _items: PhantomData,
        }
    }

    /// After the CAS that reserved the last slot of `seg`: links `next` behind it, and moves
    /// the tail past the segment step.
    fn link(&self, seg: *mut Segment<T>, next: Box<Segment<T>>) {
        let next = Box::into_raw(next);
        self.tail.0.seg.store(next, Release);
        // Transition: tail (lap, SLOTS) -> (lap + 1, 0), keeping a shutdown mark.
        self.tail.0.index.fetch_add(ONE, Release);
        // SAFETY: this put reserved a slot of `seg` and has not written it, so its get has
        // not freed `seg`.
        unsafe { Segment::link(seg, next) };
    }

    /// After the CAS that moved the head from `offset` of `seg` to `new`: takes the item.
    ///
    /// # Safety
    /// The CAS reserved slot `offset` of `seg` for this thread (so `seg` is live until this
    /// thread reads it).
    #[inline]
    unsafe fn take(&self, seg: *mut Segment<T>, offset: usize, new: usize) -> T {
        if offset + 1 == SLOTS {
            // SAFETY: `seg` is live (precondition).
            let next = unsafe { Segment::wait_next(seg) };
            let mut index = (new & !MARK) + ONE;
            // SAFETY: `next` is the head's next segment; no get can reserve its slots before
            // the store below, so nobody frees it meanwhile.
            if !unsafe { Segment::next(next) }.is_null() {
                index |= MARK;
            }
            self.head.0.seg.store(next, Release);
            // Transition: head (lap, SLOTS) -> (lap + 1, 0), marked if the tail is beyond.
            self.head.0.index.store(index, Release);
        }
        // SAFETY: the CAS reserved the slot (precondition); `offset < SLOTS`; if it is the
        // last slot, the head moved on above.
        let (item, last) = unsafe { Segment::read(seg, offset) };
        if last {
            // SAFETY: the last reader owns the segment (`Segment::read`), which came from
            // `Box::into_raw` (`link` or `new`); no look at it is under way (`ends.rs`).
            self.head.0.peeks.dispose(|| unsafe { self.kept.keep(seg) });
        }
        item
    }

    /// Whether the item at position `head`, slot `offset` of `seg` (the head's segment, read
    /// with it), is written: then a get need not read the tail (see `ends.rs`).
    #[inline]
    pub(super) fn written_at_head(&self, head: usize, seg: *mut Segment<T>, offset: usize) -> bool {
        !seg.is_null()
            && self.head.0.peeks.look(|| {
                // SAFETY: the head has not left `head`, so `seg` is live until the look ends
                // (`ends.rs`); `offset < SLOTS` (the caller has passed the segment step).
                self.head.0.load() == (head, seg) && unsafe { Segment::written(seg, offset) }
            })
    }

    /// The head's position and segment, for `ends.rs`'s tests.
    #[cfg(test)]
    pub(super) fn head(&self) -> (usize, *mut Segment<T>) {
        self.head.0.load()
    }

    /// With `&mut self`: drops the items left and frees the segments. If an item's `drop`
    /// panics, a later call goes on from the next item.
    fn free_rest(&mut self) {
        loop {
            let seg = self.head.0.seg.load(Relaxed);
            if seg.is_null() {
                return;
            }
            let head = self.head.0.index.load(Relaxed) & !MARK;
            let tail = self.tail.0.index.load(Relaxed) & !MARK;
            self.head.0.index.store(head + ONE, Relaxed);
            let offset = (head >> SHIFT) % LAP;
            if head != tail && offset < SLOTS {
                // SAFETY: `&mut self`: no operation is in flight; `seg` is the head's segment,
                // and the head moved past this slot above, so it is dropped once even if the
                // drop panics.
                unsafe { Segment::drop_item(seg, offset) };
                continue;
            }
            let next = if head == tail {
                ptr::null_mut()
            } else {
                // SAFETY: `&mut self`: no operation is in flight; `seg` is the head's.
                unsafe { Segment::next(seg) }
            };
            self.head.0.seg.store(next, Relaxed);
            // SAFETY: the head has left `seg` (no later call sees it), which came from
            // `Box::into_raw`; the items in it were dropped or taken before.
            unsafe { Segment::free(seg) };
        }
    }
}

impl<T> Slots for List<T> {
    type Item = T;

    fn maxsize(&self) -> usize {
        self.maxsize
    }

    #[inline]
    fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        let mut step = 0;
        let mut lost = 0;
        let (mut tail, mut seg) = self.tail.0.load();
        let mut next_seg = None;
        loop {
            if tail & MARK != 0 {
                self.kept.give_back(next_seg);
                return Err(PutError::ShutDown(item));
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == SLOTS {
                // The put of the last slot is linking the next segment.
                backoff(&mut step);
                (tail, seg) = self.tail.0.load();
                continue;
            }
            if self.cap != usize::MAX {
                // A stale head only overstates the size: never past `maxsize`.
                let head = self.head.0.index.load(Relaxed);
                if count(tail).saturating_sub(count(head)) >= self.cap {
                    self.kept.give_back(next_seg);
                    return Err(PutError::Full(item));
                }
            }
            if seg.is_null() {
                // No segment yet (the list allocates its first one lazily, as crossbeam's).
                seg = self.kept.install(&self.tail.0.seg, &self.head.0.seg);
            }
            if offset + 1 == SLOTS && next_seg.is_none() {
                // Allocated before the CAS: the puts waiting for the link wait less.
                next_seg = Some(self.kept.take());
            }
            // Transition: tail t -> t + 1, reserving slot t for this put (fails once shutdown
            // has set the mark).
            match self
                .tail
                .0
                .index
                .compare_exchange(tail, tail + ONE, SeqCst, Acquire)
            {
                Ok(_) => {
                    match next_seg {
                        Some(next) if offset + 1 == SLOTS => self.link(seg, next),
                        // Taken for a last slot that another put reserved first.
                        other => self.kept.give_back(other),
                    }
                    // SAFETY: the CAS reserved slot `offset` of `seg` (the tail's segment,
                    // read after the index it lies at) for this thread alone; `offset < SLOTS`.
                    unsafe { Segment::write(seg, offset, item) };
                    return Ok(());
                }
                Err(now) => {
                    contention(&mut lost);
                    tail = now;
                    seg = self.tail.0.seg.load(Acquire);
                }
            }
        }
    }

    #[inline]
    fn try_get(&self) -> Result<T, GetError> {
        let mut step = 0;
        let mut lost = 0;
        let (mut head, mut seg) = self.head.0.load();
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == SLOTS {
                // The get of the last slot is moving the head to the next segment.
                backoff(&mut step);
                (head, seg) = self.head.0.load();
                continue;
            }
            let mut new = head + ONE;
            if head & MARK == 0 && !self.written_at_head(head, seg, offset) {
                // Not known to be before the tail's segment, nor its item known to be
                // written: look at the tail.
                fence(SeqCst);
                let tail = self.tail.0.index.load(Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    return Err(if tail & MARK != 0 {
                        GetError::ShutDown
                    } else {
                        GetError::Empty
                    });
                }
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new |= MARK;
                }
                self.head.0.peeks.found();
            }
            if seg.is_null() {
                // An item is there but the first put has not stored the head's segment yet.
                backoff(&mut step);
                (head, seg) = self.head.0.load();
                continue;
            }
            // Transition: head h -> h + 1, reserving the item at h for this get.
            match self
                .head
                .0
                .index
                .compare_exchange(head, new, SeqCst, Acquire)
            {
                // SAFETY: the CAS reserved slot `offset` of `seg` (the head's segment, read
                // after the index it lies at) for this thread.
                Ok(_) => return Ok(unsafe { self.take(seg, offset, new) }),
                Err(now) => {
                    contention(&mut lost);
                    head = now;
                    seg = self.head.0.seg.load(Acquire);
                }
            }
        }
    }

    fn shut_down(&self) {
        self.tail.0.index.fetch_or(MARK, SeqCst);
    }

    #[inline]
    fn is_shut_down(&self) -> bool {
        self.tail.0.index.load(Relaxed) & MARK != 0
    }

    #[inline]
    fn qsize(&self) -> usize {
        // `head` first: the later `tail` is at least the `head` it was read with. Gets and puts
        // between the two loads can make the difference overstate the size: never past
        // `maxsize`.
        let head = self.head.0.index.load(SeqCst);
        count(self.tail.0.index.load(SeqCst))
            .saturating_sub(count(head))
            .min(self.cap)
    }

    #[inline]
    fn has_item(&self) -> bool {
        let head = self.head.0.index.load(SeqCst);
        let tail = self.tail.0.index.load(SeqCst);
        tail & MARK != 0 || head >> SHIFT != tail >> SHIFT
    }

    #[inline]
    fn has_room(&self) -> bool {
        let tail = self.tail.0.index.load(SeqCst);
        let head = self.head.0.index.load(SeqCst);
        tail & MARK != 0 || count(tail).saturating_sub(count(head)) < self.cap
    }

    #[inline]
    fn puts(&self) -> usize {
        count(self.tail.0.index.load(SeqCst))
    }

    fn done(&self) -> &AtomicUsize {
        &self.done.0
    }
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        /// Goes on freeing when an item's `drop` panics (the unwind drops it).
        struct Rest<'a, T>(&'a mut List<T>);
        impl<T> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                self.0.free_rest();
            }
        }
        let rest = Rest(self);
        rest.0.free_rest();
    }
}
