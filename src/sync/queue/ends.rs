//! [`End`]: the head or the tail of a list (`list.rs`): a position and the segment it lies
//! in, and at the head [`Peeks`], which lets a `get` look at the slot at the head before it
//! reserves it, so that it need not read the tail to learn that an item is there.
//!
//! Why: when the consumer runs right behind the producer (one to five items apart), a `get`
//! that reads `tail` pulls that cache line over at every item and the producer pulls it back
//! at its next `put`, besides the slot's own line, which both touch anyway. On the 2-CPU Intel
//! Xeon VM of `docs/benchmarks.md` a producer and a consumer of 5,000,000 items fell into that
//! mode in 7-11 of 20 runs and then took 40-99 ns an item instead of 17-20 (`docs/benchmarks.md`,
//! "This session"). A `get` that finds the head's item written (its `WRITE` bit, on the line it
//! is about to read) skips the tail: no run fell into the slow mode in 40.
//!
//! The hazard: the head's segment can be kept for reuse (reset) or freed by the `get` that
//! completes its read count while a slower `get` still holds a stale head and its segment.
//! So looks and disposals exclude each other through one word on the head's line:
//!
//! | bits    | meaning                                                                     |
//! |---------|-----------------------------------------------------------------------------|
//! | `0`     | `DISPOSING`: a `get` is keeping or freeing a segment whose reads completed  |
//! | `1..`   | looks under way (each adds [`LOOK`])                                        |
//!
//! ```text
//!  look:    off (the last look found nothing, no item found since)? no answer (read the tail)
//!           += LOOK ─ DISPOSING? ─> -= LOOK ; no answer
//!             │ no
//!             └─> read the head again ─ moved? ─> -= LOOK ; no answer
//!                   │ same position
//!                   └─> read the slot's WRITE ; -= LOOK ; answer (not written: looks off)
//!  dispose: |= DISPOSING (wait while another disposal holds it) ; wait for no LOOK ;
//!           keep or free the segment ; -= DISPOSING
//! ```
//!
//! Why a look that saw the head unmoved reads a live segment: a segment is disposed of only
//! after every one of its slots was read, so after the head left it. A disposal that ended
//! before the look's add is acquired by the add (the word's read-modify-writes form a release
//! sequence), so the look's second read of the head sees it moved and the look gives up. A
//! disposal that starts after the add waits for the look to subtract (`Release`, acquired by
//! the disposal's wait), so the slot is read before the segment is reset or freed. A look
//! never waits; a disposal waits for looks already under way only (new ones see `DISPOSING`
//! and back out), each a few instructions long. Under loom, a model's list has segments of
//! two slots, so its models dispose of segments all the time.
//!
//! After a `fork()`, a thread of the parent that vanished in the middle of a look leaves its
//! `LOOK` counted: the child's next disposal waits forever, as a `get` waits for a slot that a
//! vanished `put` reserved and never wrote (see `list.rs`).

use super::lockfree::backoff;
use super::segment::Segment;
use crate::rt::{AtomicBool, AtomicPtr, AtomicUsize};
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// An end of the list: a position and the segment it lies in.
pub(super) struct End<T> {
    pub(super) index: AtomicUsize,
    pub(super) seg: AtomicPtr<Segment<T>>,
    /// The head's looks and disposals (unused at the tail; the end's padding holds it).
    pub(super) peeks: Peeks,
}

impl<T> End<T> {
    /// Position 0, no segment yet.
    pub(super) fn new() -> Self {
        End {
            index: AtomicUsize::new(0),
            seg: AtomicPtr::new(ptr::null_mut()),
            peeks: Peeks::new(),
        }
    }

    /// The position, then the segment it lies in (`Acquire` both: the segment is never older
    /// than the position's, see `list.rs`, "Memory ordering").
    #[inline]
    pub(super) fn load(&self) -> (usize, *mut Segment<T>) {
        let index = self.index.load(Acquire);
        (index, self.seg.load(Acquire))
    }
}

/// A disposal is under way.
const DISPOSING: usize = 1;
/// One look under way.
const LOOK: usize = 2;

/// Looks at the head's segment and disposals of segments (see the module docs).
pub(super) struct Peeks {
    /// `DISPOSING` and the looks under way.
    word: AtomicUsize,
    /// Whether a look may pay: the last one found the item written, or a `get` found an item
    /// at the head since. A hint only (see [`look`](Self::look)).
    pays: AtomicBool,
}

impl Peeks {
    fn new() -> Self {
        Peeks {
            word: AtomicUsize::new(0),
            pays: AtomicBool::new(true),
        }
    }

    /// Runs `look` (which reads the head again and, if it has not moved, the slot) unless a
    /// disposal is under way; `false` if it did not run. A look costs two read-modify-writes,
    /// which a `get` of an empty list would pay at every call (a `get_nowait` loop on an
    /// empty queue: 12-17 ns a call -> 24-34): so after a look that found nothing, none runs
    /// until a `get` finds an item at the head the other way ([`found`](Self::found)).
    #[inline]
    pub(super) fn look(&self, look: impl FnOnce() -> bool) -> bool {
        if !self.pays.load(Relaxed) {
            return false;
        }
        // Transition: one more look (`Acquire`: a disposal that ended before is seen).
        if self.word.fetch_add(LOOK, Acquire) & DISPOSING != 0 {
            // Transition: the look backs out; it read nothing.
            self.word.fetch_sub(LOOK, Relaxed);
            return false;
        }
        let seen = look();
        // Transition: the look is over (`Release`: its reads come before a later disposal).
        self.word.fetch_sub(LOOK, Release);
        if !seen {
            self.pays.store(false, Relaxed);
        }
        seen
    }

    /// A `get` found an item at the head by reading the tail: looks may pay again.
    #[inline]
    pub(super) fn found(&self) {
        if !self.pays.load(Relaxed) {
            self.pays.store(true, Relaxed);
        }
    }

    /// Runs `dispose` (which keeps or frees a segment that no head position lies in any
    /// more) once no look is under way.
    #[cold]
    pub(super) fn dispose(&self, dispose: impl FnOnce()) {
        let mut step = 0;
        // Transition: none disposing -> this thread disposing (another one first finishes).
        while self.word.fetch_or(DISPOSING, Acquire) & DISPOSING != 0 {
            backoff(&mut step);
        }
        // The looks that came before the mark leave within a few instructions; later ones
        // back out at once (`Acquire`: every look's read comes before the disposal).
        while self.word.load(Acquire) != DISPOSING {
            backoff(&mut step);
        }
        dispose();
        // Transition: this thread's disposal is over (`Release`: a look that comes after it
        // sees the head past the segment).
        self.word.fetch_sub(DISPOSING, Release);
    }
}

#[cfg(all(test, not(threadkit_loom)))]
mod tests {
    use super::{DISPOSING, Peeks};
    use crate::sync::queue::list::List;
    use crate::sync::queue::lockfree::Slots;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

    /// A look runs unless a disposal is under way; one that comes during a disposal backs out
    /// without running, and looks run again after it.
    #[test]
    fn a_look_during_a_disposal_backs_out() {
        let p = Peeks::new();
        assert!(p.look(|| true));
        let mut disposed = false;
        p.dispose(|| {
            assert!(!p.look(|| panic!("a look ran during a disposal")));
            disposed = true;
        });
        assert!(disposed);
        assert!(p.look(|| true));
    }

    /// After a look that found nothing, no look runs until an item is found the other way.
    #[test]
    fn a_look_that_found_nothing_stops_the_looks_until_an_item_is_found() {
        let p = Peeks::new();
        assert!(!p.look(|| false));
        assert!(!p.look(|| panic!("a look ran after one found nothing")));
        p.found();
        assert!(p.look(|| true));
        assert!(
            p.look(|| true),
            "a look that found the item keeps the looks on"
        );
    }

    /// A disposal waits for a look that is under way when it starts: the look sees the
    /// disposal's mark, lets the disposing thread run for a while, and finds it not done.
    #[test]
    fn a_disposal_waits_for_a_look_under_way() {
        let p = Peeks::new();
        let (in_look, disposed) = (AtomicBool::new(false), AtomicBool::new(false));
        let mut early = true;
        std::thread::scope(|s| {
            s.spawn(|| {
                p.look(|| {
                    in_look.store(true, SeqCst);
                    // The disposal has started: it is waiting for this look, or disposing.
                    while p.word.load(SeqCst) & DISPOSING == 0 {
                        std::thread::yield_now();
                    }
                    for _ in 0..1000 {
                        std::thread::yield_now();
                    }
                    early = disposed.load(SeqCst);
                    true
                })
            });
            while !in_look.load(SeqCst) {
                std::thread::yield_now();
            }
            s.spawn(|| p.dispose(|| disposed.store(true, SeqCst)));
        });
        assert!(!early, "disposed during a look");
        assert!(disposed.load(SeqCst));
    }

    /// The item at the head is seen written by a look with the head's position; a look with
    /// a stale position (the head moved on) or at an empty list sees nothing.
    #[test]
    fn a_look_sees_the_written_item_at_the_head_only() {
        let l = List::<u32>::new(0);
        assert!(
            !l.written_at_head(0, std::ptr::null_mut(), 0),
            "no segment yet"
        );
        assert!(l.try_put(7).is_ok());
        let (h, seg) = l.head();
        assert!(l.written_at_head(h, seg, 0));
        assert_eq!(l.try_get().ok(), Some(7));
        assert!(!l.written_at_head(h, seg, 0), "a stale head");
        // The failed look turned the looks off; an item found at the head turns them on.
        assert!(l.try_put(8).is_ok());
        let (h, seg) = l.head();
        assert!(!l.written_at_head(h, seg, 1), "looks are off");
        assert_eq!(l.try_get().ok(), Some(8));
        assert!(l.try_put(9).is_ok());
        let (h, seg) = l.head();
        assert!(
            l.written_at_head(h, seg, 2),
            "on again after a get read the tail"
        );
    }
}
