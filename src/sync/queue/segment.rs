//! [`Segment`]: one block of [`SLOTS`] slots of the unbounded queue's [`List`](super::list::List),
//! with the slot states that hand an item from its put to its get, and the count of gets done
//! with it that makes the last of them its owner (see `list.rs` for the protocol and its
//! memory ordering).
//!
//! | word           | written by                                                        |
//! |----------------|-------------------------------------------------------------------|
//! | slot `state`   | the put that reserved the slot: `WRITE` once the item is written (`Release` store) |
//! | `reads`        | every get, once it has moved its item out (`AcqRel` add)          |
//!
//! ```text
//!  read slot i:  wait for WRITE ; move the item out ; reads += 1 ; it was SLOTS - 1?
//!                then the segment is this get's: every slot is read, the head has moved
//!                past it, nobody can reach it again (the list keeps it for its next
//!                segment, or frees it)
//! ```
//!
//! The count replaced crossbeam-channel's scheme, in which each get set a `READ` bit in its
//! own slot's state and the reader of the last slot walked the others (a `DESTROY` bit
//! passing the freeing on to a get still reading): a get's read-modify-write then landed on
//! the cache line the producer was filling (four slots a line), and a put had to set `WRITE`
//! with a read-modify-write too, since `DESTROY` could come first. Now a put stores, and the
//! gets' adds go to the segment's first line, which the puts write only for its first three
//! slots and the link. Measured: docs/benchmarks-history.md.

use super::lockfree::{Padded, backoff};
use crate::rt::{AtomicPtr, AtomicUsize, UnsafeCell};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// Positions per segment: [`SLOTS`] slots and the step to the next segment. Under loom two
/// slots, so that small models cross segments.
///
/// 127 slots (crossbeam-channel has 31): a segment step costs the put of the last slot an
/// allocation or the kept segment and a link, the puts behind it a wait for that link, the
/// gets a wait for the head's move, and the last reader the segment's freeing, so fewer steps
/// per item pay off. `versus --runs 3`, 3 alternations, against crossbeam-channel (2-CPU AMD
/// VM): SPSC unbounded 0.71x -> 0.52x quiet, 4 producers / 4 consumers 1.18x -> 1.01x quiet
/// and 1.13x -> 0.97x with two busy processes (CPU 1.28x -> 1.10x); SPSC unbounded loaded
/// 31.8 -> 28.7 ns an item (CPU 29.8 -> 25.0), the ratio within the loaded spread. (63 slots:
/// 0.66x and 0.94x quiet, with the event counts of `fifo.rs` on lines of their own, which
/// helped these rows a little but cost the ring's loaded 2p/2c row 25% more CPU: not kept.)
/// The price is memory: a segment is `16 + 127 * (8 + size_of::<T>())` bytes (2 KiB for
/// 8-byte items), one from the queue's first put on (none before: an idle queue holds none),
/// one more kept once a get has left one.
pub(super) const LAP: usize = if cfg!(threadkit_loom) { 3 } else { 128 };
/// Items per segment.
pub(super) const SLOTS: usize = LAP - 1;

/// Slot `state`: the item is written (see the module docs).
const WRITE: usize = 1;

/// One slot: its state (0 or [`WRITE`]) and room for an item.
struct Slot<T> {
    state: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A segment of the list.
pub(super) struct Segment<T> {
    /// The next segment, linked by the put of this one's last slot (null until then).
    next: AtomicPtr<Segment<T>>,
    /// Gets done with their slot (moved their item out); the one that makes it [`SLOTS`]
    /// owns the segment.
    reads: AtomicUsize,
    slots: [Slot<T>; SLOTS],
    /// Under loom only: read by a look at the segment (`written`), written by its reset and
    /// its freeing, so that the model reports a look not ordered with them (`ends.rs`).
    #[cfg(threadkit_loom)]
    looked_at: UnsafeCell<()>,
    /// Under loom only: a freed segment is marked and left allocated (the model leaks it),
    /// so that a look after its freeing fails an assertion instead of reading freed memory.
    #[cfg(threadkit_loom)]
    freed: crate::rt::AtomicBool,
}

impl<T> Segment<T> {
    /// A segment of empty slots, not linked.
    pub(super) fn new() -> Box<Self> {
        #[cfg(not(threadkit_loom))]
        {
            use std::alloc::{Layout, alloc_zeroed, handle_alloc_error};
            let layout = Layout::new::<Self>();
            // SAFETY: the layout is not zero-sized (a segment holds a pointer).
            let p = unsafe { alloc_zeroed(layout) }.cast::<Self>();
            if p.is_null() {
                handle_alloc_error(layout);
            }
            // SAFETY: `p` was allocated with the global allocator and `Self`'s layout, and
            // all-zero bytes are a valid `Segment`: a null `next`, slot states 0 (core's
            // atomics are plain integers) and `MaybeUninit` items, which need nothing.
            unsafe { Box::from_raw(p) }
        }
        #[cfg(threadkit_loom)]
        Box::new(Segment {
            next: AtomicPtr::new(std::ptr::null_mut()),
            reads: AtomicUsize::new(0),
            slots: std::array::from_fn(|_| Slot {
                state: AtomicUsize::new(0),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            }),
            looked_at: UnsafeCell::new(()),
            freed: crate::rt::AtomicBool::new(false),
        })
    }

    /// Frees a segment that holds no item.
    ///
    /// # Safety
    /// `seg` came from `Box::into_raw` of a [`new`](Self::new) segment, holds no item (none
    /// written, or each moved out or dropped), and no other thread can reach it.
    pub(super) unsafe fn free(seg: *mut Self) {
        // Under loom, a write access to every item cell first: the model then reports a
        // freeing that does not happen after each put's write and each get's read.
        #[cfg(threadkit_loom)]
        {
            // SAFETY: forwarded precondition: `seg` is live.
            let seg = unsafe { &*seg };
            for slot in &seg.slots {
                slot.value.with_mut(|_| ());
            }
            seg.looked_at.with_mut(|_| ());
            seg.freed.store(true, Relaxed);
        }
        // SAFETY: forwarded preconditions; dropping the box drops no item (`MaybeUninit`).
        #[cfg(not(threadkit_loom))]
        drop(unsafe { Box::from_raw(seg) });
    }

    /// Links `next` behind `seg` (`Release`: the readers of the link see `next`'s slots).
    ///
    /// # Safety
    /// `seg` is live for the call.
    pub(super) unsafe fn link(seg: *mut Self, next: *mut Self) {
        // SAFETY: forwarded precondition.
        unsafe { (*seg).next.store(next, Release) };
    }

    /// The segment after `seg` as far as this thread knows (null: none linked yet).
    ///
    /// # Safety
    /// `seg` is live for the call.
    pub(super) unsafe fn next(seg: *const Self) -> *mut Self {
        // SAFETY: forwarded precondition.
        unsafe { (*seg).next.load(Relaxed) }
    }

    /// Waits until the put of `seg`'s last slot has linked the next segment.
    ///
    /// # Safety
    /// `seg` is live for the call.
    pub(super) unsafe fn wait_next(seg: *const Self) -> *mut Self {
        let mut step = 0;
        loop {
            // SAFETY: forwarded precondition.
            let next = unsafe { (*seg).next.load(Acquire) };
            if !next.is_null() {
                return next;
            }
            backoff(&mut step);
        }
    }

    /// The slot at `offset` of `seg`.
    ///
    /// # Safety
    /// `seg` is live for `'a`, and `offset < SLOTS`.
    #[inline]
    unsafe fn slot<'a>(seg: *const Self, offset: usize) -> &'a Slot<T> {
        // SAFETY: forwarded preconditions.
        unsafe { (*seg).slots.get_unchecked(offset) }
    }

    /// Whether slot `offset`'s item is written (a hint for a `get` that has not reserved the
    /// slot: see `ends.rs`; its reserving `get` reads `WRITE` again before the item).
    ///
    /// # Safety
    /// `seg` is live for the call, and `offset < SLOTS`.
    #[inline]
    pub(super) unsafe fn written(seg: *const Self, offset: usize) -> bool {
        #[cfg(threadkit_loom)]
        {
            // SAFETY: forwarded precondition: `seg` is live (under loom, never deallocated).
            let seg = unsafe { &*seg };
            seg.looked_at.with(|_| ());
            assert!(!seg.freed.load(Relaxed), "a look at a freed segment");
        }
        // SAFETY: forwarded preconditions.
        unsafe { Self::slot(seg, offset) }.state.load(Relaxed) & WRITE != 0
    }

    /// Writes `item` into slot `offset` of `seg` and hands it on to its get.
    ///
    /// # Safety
    /// A put's CAS reserved this slot for the caller (so its get, which waits for `WRITE`,
    /// has not freed `seg`), and `offset < SLOTS`.
    #[inline]
    pub(super) unsafe fn write(seg: *const Self, offset: usize, item: T) {
        // SAFETY: `seg` is live until `WRITE` is set below (precondition).
        let slot = unsafe { Self::slot(seg, offset) };
        // SAFETY: the slot is the caller's alone until `WRITE` hands it on.
        slot.value.with_mut(|p| unsafe { (*p).write(item) });
        slot.state.store(WRITE, Release);
    }

    /// Takes the item of slot `offset` of `seg` (waiting for its put to write it), and says
    /// whether this get is the last to leave the segment: then the caller owns `seg` (every
    /// slot read, nobody can reach it again) and must [`free`](Self::free) or reuse it.
    ///
    /// # Safety
    /// A get's CAS reserved this slot for the caller, and `offset < SLOTS`; if it is the last
    /// slot, the head has moved to the next segment (so, whichever get completes the count,
    /// the head left `seg` before: that move came before the last slot's add).
    #[inline]
    pub(super) unsafe fn read(seg: *mut Self, offset: usize) -> (T, bool) {
        // SAFETY: `seg` is not freed or reused before this get's add to `reads`
        // (precondition: the count cannot reach SLOTS without it).
        let slot = unsafe { Self::slot(seg, offset) };
        let mut step = 0;
        while slot.state.load(Acquire) & WRITE == 0 {
            backoff(&mut step);
        }
        // SAFETY: WRITE (acquired) says the put wrote the item, and the CAS gave it to this
        // thread alone: it is moved out once.
        let item = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        // Transition: one more get done with `seg`. `AcqRel`: the adds form a chain, so the
        // get that completes the count acquires every other get's accesses (and the put
        // accesses each of them acquired through WRITE) before it frees or reuses `seg`.
        // SAFETY: `seg` is live until the count is complete, which needs this add.
        let last = unsafe { (*seg).reads.fetch_add(1, AcqRel) } + 1 == SLOTS;
        (item, last)
    }

    /// Makes a segment that its last reader handed over (see [`read`](Self::read)) as good as
    /// [`new`](Self::new): no link, every slot empty.
    ///
    /// # Safety
    /// The caller owns `seg` (no other thread can reach it, and every earlier access to it
    /// happened-before this call), and it holds no item.
    pub(super) unsafe fn reset(seg: *mut Self) {
        #[cfg(not(threadkit_loom))]
        // SAFETY: `seg` is live and this thread's alone (precondition); all-zero bytes are
        // an empty unlinked segment (see `new`), and no item is overwritten.
        unsafe {
            ptr::write_bytes(seg, 0, 1)
        };
        #[cfg(threadkit_loom)]
        {
            // SAFETY: `seg` is live and this thread's alone (precondition).
            let seg = unsafe { &*seg };
            seg.looked_at.with_mut(|_| ());
            seg.next.store(ptr::null_mut(), Relaxed);
            seg.reads.store(0, Relaxed);
            for slot in &seg.slots {
                // A write access: the model reports a reuse that does not happen after each
                // put's write and each get's read of the old items.
                slot.value.with_mut(|_| ());
                slot.state.store(0, Relaxed);
            }
        }
    }

    /// With no operation in flight: drops the item in slot `offset` of `seg`, if one was
    /// written there.
    ///
    /// # Safety
    /// `seg` is live, `offset < SLOTS`, no thread touches the segment during the call, and
    /// the slot's item (if written) was not taken and is not dropped again.
    pub(super) unsafe fn drop_item(seg: *const Self, offset: usize) {
        // SAFETY: forwarded preconditions.
        let slot = unsafe { Self::slot(seg, offset) };
        if slot.state.load(Relaxed) & WRITE != 0 {
            // SAFETY: a written item that nobody took, dropped once (precondition).
            slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

/// One segment whose items were all read, kept for the tail's next step: a queue that its gets
/// keep up with (never a whole segment behind) allocates nothing in its steady state, and its
/// segments do not travel from their readers' threads back to their writers' through the
/// allocator (whose lock, on a busy machine, a preempted thread can hold). Its last reader
/// resets a segment before keeping it, while the lines are still in its cache. What it
/// measured, and what it did not settle: docs/benchmarks-history.md.
pub(super) struct Spare<T>(Padded<AtomicPtr<Segment<T>>>);

impl<T> Spare<T> {
    pub(super) fn new() -> Self {
        Spare(Padded(AtomicPtr::new(ptr::null_mut())))
    }

    /// The kept segment, if there is one, else a new one.
    pub(super) fn take(&self) -> Box<Segment<T>> {
        // A plain look first: no read-modify-write when there is none to take.
        if !self.0.0.load(Relaxed).is_null() {
            // Transition: kept s -> none, taking s (`Acquire`: its last reader's accesses and
            // reset happened-before). Another put may have taken it since the look.
            let seg = self.0.0.swap(ptr::null_mut(), Acquire);
            if !seg.is_null() {
                // SAFETY: `keep` stored a segment from `Box::into_raw`, reset, that no other
                // thread can reach; the swap made it this thread's, after every earlier
                // access to it.
                return unsafe { Box::from_raw(seg) };
            }
        }
        Segment::new()
    }

    /// The first put's step (a list allocates its first segment lazily, as crossbeam's):
    /// installs the kept segment or a new one as `tail`'s, then as `head`'s, and returns it;
    /// a put that loses the race to install hands its segment back and returns the winner's.
    #[cold]
    pub(super) fn install(
        &self,
        tail: &AtomicPtr<Segment<T>>,
        head: &AtomicPtr<Segment<T>>,
    ) -> *mut Segment<T> {
        let new = Box::into_raw(self.take());
        // Transition: tail segment none -> the first (`Release`: its zeroed slots are
        // published; `Acquire` on failure: so are the winner's).
        match tail.compare_exchange(ptr::null_mut(), new, Release, Acquire) {
            Ok(_) => {
                // Before the put's index CAS: a get that finds an item finds the segment, or
                // waits for this store.
                head.store(new, Release);
                new
            }
            Err(winner) => {
                // SAFETY: `new` came from `Box::into_raw` above and no other thread saw it.
                self.give_back(Some(unsafe { Box::from_raw(new) }));
                winner
            }
        }
    }

    /// Keeps `seg`, reset, or frees it if a segment is kept already.
    ///
    /// # Safety
    /// The caller owns `seg` (see [`Segment::read`]), which came from `Box::into_raw` and
    /// holds no item.
    pub(super) unsafe fn keep(&self, seg: *mut Segment<T>) {
        // SAFETY: forwarded precondition.
        unsafe { self.offer(seg, true) };
    }

    /// Hands back a segment that [`take`](Self::take) gave and nothing used (its put ended
    /// without linking it): kept if none is, else freed. It is as new: no reset.
    pub(super) fn give_back(&self, seg: Option<Box<Segment<T>>>) {
        if let Some(seg) = seg {
            // SAFETY: `seg` comes from `Box::into_raw`, was never linked (no other thread can
            // reach it) and holds no item.
            unsafe { self.offer(Box::into_raw(seg), false) };
        }
    }

    /// Keeps `seg` if no segment is kept (first resetting it if `reset`), else frees it.
    ///
    /// # Safety
    /// As [`keep`](Self::keep).
    unsafe fn offer(&self, seg: *mut Segment<T>, reset: bool) {
        if self.0.0.load(Relaxed).is_null() {
            if reset {
                // SAFETY: forwarded precondition.
                unsafe { Segment::reset(seg) };
            }
            // Transition: kept none -> seg (`Release`: the reset and this thread's earlier
            // accesses come before the taker's).
            if self
                .0
                .0
                .compare_exchange(ptr::null_mut(), seg, Release, Relaxed)
                .is_ok()
            {
                return;
            }
        }
        // SAFETY: forwarded precondition.
        unsafe { Segment::free(seg) };
    }
}

impl<T> Drop for Spare<T> {
    fn drop(&mut self) {
        let seg = self.0.0.swap(ptr::null_mut(), Relaxed);
        if !seg.is_null() {
            // SAFETY: `&mut self`: the kept segment is this cell's alone; it came from
            // `Box::into_raw` and holds no item.
            unsafe { Segment::free(seg) };
        }
    }
}
