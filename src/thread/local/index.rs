//! The thread indexes behind every [`Local`](super::Local): each thread's small index, handed
//! out on its first `Local` access and recycled at its exit, the list of tables the thread has
//! values in, and the exits that drop those values (a threadkit thread's end, a thread's
//! `thread_local!` destructor, the main thread's end in the shutdown hook). A part of
//! `local/mod.rs`, whose module docs hold the design, the state table and the memory ordering.
//!
//! # The main thread
//!
//! The main thread's values are dropped at the end of the shutdown hook (the one that joins
//! non-daemon threads when `main` returns), after those joins, so that they outlive every
//! non-daemon thread as in Python, on every OS: glibc's `exit` runs the main thread's
//! `thread_local!` destructors *before* the `atexit` hooks, and other C libraries may never run
//! them. The main thread's destructor leaves its values alone when that hook is registered
//! (it is, from the main thread's first `Local` use); the hook runs only there, so a value is
//! never dropped twice. If the process exits from another thread (`std::process::exit`), the
//! main thread's values are not dropped at all (it may still be using them). Under Miri, which
//! has no `atexit`, the main thread's destructor drops them.
//!
//! # fork()
//!
//! The fork handlers take and reset the `TABLES` lock (see `lifecycle/fork.rs`). In the child, the
//! indexes of the threads that vanished are not reused, and their values are dropped when
//! their `Local` drops.

use super::Slots;
use crate::rt::os;
use crate::thread::lifecycle::{InternalLock, Locked, at_exit_registered, ensure_at_exit};
use core::cell::{Cell, RefCell};
use std::sync::Weak;

struct Tables {
    next_index: usize,
    free_indexes: Vec<usize>,
    /// The main thread's tables, kept by its `thread_local!` destructor for `main_thread_exit`.
    main_touched: Vec<Weak<dyn Slots>>,
}

static TABLES: Locked<Tables> = Locked::new(Tables {
    next_index: 0,
    free_indexes: Vec::new(),
    main_touched: Vec::new(),
});

/// The lock behind the index tables, for the fork handlers.
pub(crate) fn fork_lock() -> &'static InternalLock {
    TABLES.lock()
}

/// `INDEX` before the thread's first `Local` access (or after `thread_exit`).
const UNASSIGNED: usize = usize::MAX;
/// `INDEX` once the thread's values have been dropped for good.
const DYING: usize = usize::MAX - 1;

/// `INDEX` holds the thread's index already split into bucket and offset (see [`locate`]), so
/// the fast path does no arithmetic: the bucket in the top bits, the offset below this shift.
/// (The two special values above have bucket 63, which no index reaches.)
const BUCKET_SHIFT: u32 = usize::BITS - 6;

/// `idx` in `INDEX`'s form.
#[inline]
fn pack(idx: usize) -> usize {
    let (b, off) = locate(idx);
    (b << BUCKET_SHIFT) | off
}

/// The bucket and offset of an `INDEX` value below `DYING`.
#[inline]
pub(super) fn unpack(loc: usize) -> (usize, usize) {
    (loc >> BUCKET_SHIFT, loc & ((1 << BUCKET_SHIFT) - 1))
}

/// The index of an `INDEX` value below `DYING`.
#[inline]
pub(super) fn index_of(loc: usize) -> usize {
    let (b, off) = unpack(loc);
    (1 << b) - 1 + off
}

/// The tables this thread has values in; releases the thread's index when the thread's
/// `thread_local!`s are destroyed. Registered (by its first access) only when an index is
/// assigned, so the fast path reads a plain `Cell` with no destructor state to check.
struct ThreadGuard {
    touched: RefCell<Vec<Weak<dyn Slots>>>,
    /// Prune dead entries when `touched` reaches this length.
    prune_at: Cell<usize>,
    /// Whether this is the main thread (as of its first `Local` use).
    main: Cell<bool>,
}

/// `ThreadGuard::prune_at` at first.
const PRUNE_MIN: usize = 8;

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        let loc = INDEX.with(Cell::get);
        if loc >= DYING {
            return;
        }
        let touched = core::mem::take(self.touched.get_mut());
        if self.main.get() && at_exit_registered() {
            // The shutdown hook drops these after joining the non-daemon threads; meanwhile
            // the main thread may go on using them (`INDEX` stays).
            TABLES.with(|t| t.main_touched.extend(touched));
            return;
        }
        INDEX.with(|i| i.set(DYING));
        release(index_of(loc), touched);
    }
}

thread_local! {
    /// The calling thread's index (packed: see [`pack`]), or `UNASSIGNED` / `DYING`.
    static INDEX: Cell<usize> = const { Cell::new(UNASSIGNED) };
    static GUARD: ThreadGuard = const {
        ThreadGuard {
            touched: RefCell::new(Vec::new()),
            prune_at: Cell::new(PRUNE_MIN),
            main: Cell::new(false),
        }
    };
}

/// Drops the calling thread's values in every `Local` and frees its index. Called by a
/// threadkit thread at the end of its life, so that `join` returns after the values dropped.
pub(crate) fn thread_exit() {
    let loc = INDEX.with(|i| {
        let loc = i.get();
        if loc < DYING {
            i.set(UNASSIGNED);
        }
        loc
    });
    if loc < DYING {
        let touched = GUARD
            .try_with(|g| core::mem::take(&mut *g.touched.borrow_mut()))
            .unwrap_or_default();
        release(index_of(loc), touched);
    }
}

/// The main thread's end, at the end of the shutdown hook (on the main thread): drops its
/// values, whether its `thread_local!` destructor already ran (glibc) or not yet (elsewhere);
/// `INDEX` becomes `DYING`, so neither runs it twice.
pub(crate) fn main_thread_exit() {
    let loc = INDEX.with(|i| i.replace(DYING));
    if loc >= DYING {
        return;
    }
    let mut touched = GUARD
        .try_with(|g| core::mem::take(&mut *g.touched.borrow_mut()))
        .unwrap_or_default();
    touched.extend(TABLES.with(|t| core::mem::take(&mut t.main_touched)));
    release(index_of(loc), touched);
}

/// Drops index `idx`'s value in each table of `touched` still alive, then frees `idx`. The
/// caller owns `idx`, and its `INDEX` no longer holds it, so no new value can appear meanwhile.
fn release(idx: usize, touched: Vec<Weak<dyn Slots>>) {
    for t in touched {
        if let Some(slots) = t.upgrade() {
            // SAFETY: the caller owns `idx` and has stopped using its values (its `INDEX` no
            // longer leads to them, and no `with` of this thread is running).
            unsafe { slots.drop_value(idx) };
        }
    }
    TABLES.with(|t| t.free_indexes.push(idx));
}

/// Puts `table` on the calling thread's list, so that the thread's exit finds its value there
/// (dead entries are pruned whenever the list doubles); `false` (not listed) once the thread's
/// `thread_local!`s are being destroyed.
pub(super) fn list_table(table: Weak<dyn Slots>) -> bool {
    GUARD
        .try_with(move |g| {
            let mut touched = g.touched.borrow_mut();
            if touched.len() >= g.prune_at.get() {
                touched.retain(|t| t.strong_count() > 0);
                g.prune_at.set((touched.len() * 2).max(PRUNE_MIN));
            }
            touched.push(table);
        })
        .is_ok()
}

/// The calling thread's index, allocated on first use (packed: see [`pack`]); `None` once the
/// thread's values are gone for good.
#[inline]
pub(super) fn thread_loc() -> Option<usize> {
    let loc = INDEX.with(Cell::get);
    if loc < DYING {
        Some(loc)
    } else {
        thread_loc_slow(loc)
    }
}

#[cold]
fn thread_loc_slow(loc: usize) -> Option<usize> {
    if loc == DYING {
        return None;
    }
    // Registers the guard's destructor; fails once the thread's TLS is being torn down.
    let main = os::is_main_thread();
    if GUARD.try_with(|g| g.main.set(main)).is_err() {
        return None;
    }
    if main {
        // The main thread's values are dropped by the shutdown hook.
        ensure_at_exit();
    }
    let loc = pack(new_index());
    INDEX.with(|i| i.set(loc));
    Some(loc)
}

#[cold]
fn new_index() -> usize {
    TABLES.with(|t| {
        t.free_indexes.pop().unwrap_or_else(|| {
            t.next_index += 1;
            t.next_index - 1
        })
    })
}

/// Bucket and offset of thread index `idx`.
#[inline]
pub(super) fn locate(idx: usize) -> (usize, usize) {
    let n = idx + 1;
    let b = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (b, n - (1 << b))
}
