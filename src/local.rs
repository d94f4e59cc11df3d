//! [`Local`]: per-object thread-local storage, Python's `threading.local`.
//!
//! # Design
//!
//! Every thread that touches any `Local` gets a small **thread index** (0, 1, 2, ...), held in
//! a `thread_local!` and given back when the thread exits, so indexes are recycled and stay
//! below the largest number of threads alive at once. Each `Local` shares (`Arc`) a table of
//! buckets: bucket `b` holds `2^b` entries and is allocated on first need, so index `i` lives in
//! bucket `log2(i + 1)`. Looking a value up is: read the thread index, load the bucket pointer
//! (acquire), check the entry's `present` flag: no lock and no read-modify-write.
//!
//! | item                          | written by                                   | guarded by |
//! |-------------------------------|----------------------------------------------|------------|
//! | bucket pointer                | first thread needing it (CAS null→p)         | atomic     |
//! | entry `present` true          | the thread owning that index (first `with`)  | ownership  |
//! | entry `present` false (claim) | the owner at its exit, or the `Local`'s drop | swap       |
//! | `ThreadGuard::touched`        | its own thread                               | TLS        |
//! | `TABLES` (free indexes)       | first use / thread exit                      | `Lock`     |
//!
//! ```text
//!  entry: absent --first with(): init()--> present --claim (swap to false), drop--> absent
//! ```
//!
//! A thread keeps a list of `Weak` pointers to the tables it has a value in (`touched`, pushed
//! by the cold first access; dead ones are pruned whenever the list doubles). Its exit (its
//! `thread_local!` destructor, or explicitly at the end of a threadkit thread, before `join`
//! returns) takes its index out of the `thread_local!` first, then for each table still alive
//! (`Weak::upgrade`) claims and drops its value, outside any lock (user `Drop` code may use
//! threadkit), and finally frees the index. So an exit costs one step per `Local` the thread
//! touched, whatever the number of `Local`s alive. `Local::drop` claims and drops every value
//! still present and lets go of its `Arc`. The claim is a swap of `present`, so each value is
//! dropped exactly once, by whoever claims it; the table is freed by whoever lets go of it
//! last, so nothing ever waits: a value may own the last handle to its own `Local` (CPython's
//! `test_derived_cycle_dealloc`).
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
//! The fork handlers take and reset the `TABLES` lock (see `registry.rs`). In the child, the
//! indexes of the threads that vanished are not reused, and their values are dropped when
//! their `Local` drops.
//!
//! Memory ordering: a bucket is published with a release CAS and read with acquire, so its
//! zeroed entries are visible. An entry is read by its owning thread, or by whoever claims it:
//! the owner itself at its exit, or the `Local`'s drop, which owns the `Local` (so every
//! owner's `with` happened before it) and claims with an acquire swap. The `Arc`'s counts order
//! every use of a table before it is freed.

use crate::registry::rt::{AtomicBool, AtomicPtr};
use crate::registry::{InternalLock, Locked};
use core::cell::{Cell, RefCell, UnsafeCell};
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::{Arc, Weak};

/// Enough buckets for every possible index.
const BUCKETS: usize = usize::BITS as usize;

struct Entry<T> {
    present: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// One `Local`'s table. (Automatically `Send + Sync` whatever `T`: only the `Local<T>` that
/// owns it, whose `T: Send + 'static`, or a thread exiting, reaches the values.)
struct Shared<T> {
    buckets: [AtomicPtr<Entry<T>>; BUCKETS],
    init: Box<dyn Fn() -> T + Send + Sync>,
}

/// What a thread's exit sees of a table: the value of one thread index.
trait Slots: Send + Sync {
    /// Drops thread index `idx`'s value, if present and not claimed already.
    ///
    /// # Safety
    /// The caller owns `idx` (it is the exiting thread of that index), and no borrow of that
    /// index's value is live.
    unsafe fn drop_value(&self, idx: usize);
}

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
fn unpack(loc: usize) -> (usize, usize) {
    (loc >> BUCKET_SHIFT, loc & ((1 << BUCKET_SHIFT) - 1))
}

/// The index of an `INDEX` value below `DYING`.
#[inline]
fn index_of(loc: usize) -> usize {
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
        if self.main.get() && crate::registry::at_exit_registered() {
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

/// The calling thread's index, allocated on first use (packed: see [`pack`]); `None` once the
/// thread's values are gone for good.
#[inline]
fn thread_loc() -> Option<usize> {
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
    let main = crate::registry::is_main_thread();
    if GUARD.try_with(|g| g.main.set(main)).is_err() {
        return None;
    }
    if main {
        // The main thread's values are dropped by the shutdown hook.
        crate::registry::ensure_at_exit();
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
fn locate(idx: usize) -> (usize, usize) {
    let n = idx + 1;
    let b = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (b, n - (1 << b))
}

impl<T> Shared<T> {
    /// The entry of `idx` if its bucket exists.
    #[inline]
    fn entry(&self, idx: usize) -> Option<&Entry<T>> {
        let (b, off) = locate(idx);
        self.entry_at(b, off)
    }

    /// The entry at offset `off` of bucket `b` (as [`locate`] gives them) if the bucket exists.
    #[inline]
    fn entry_at(&self, b: usize, off: usize) -> Option<&Entry<T>> {
        // (`b < BUCKETS` for every located index: `get` keeps that checked, and the compiler
        // drops the check when it can see it.)
        let p = self.buckets.get(b)?.load(Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null bucket pointer is an allocation of `1 << b` entries that lives
        // as long as `self`, and `off < 1 << b`.
        Some(unsafe { &*p.add(off) })
    }

    #[cold]
    fn entry_or_alloc(&self, idx: usize) -> &Entry<T> {
        if let Some(e) = self.entry(idx) {
            return e;
        }
        let (b, off) = locate(idx);
        let fresh: Box<[Entry<T>]> = (0..1usize << b)
            .map(|_| Entry {
                present: AtomicBool::new(false),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        let fresh = Box::into_raw(fresh).cast::<Entry<T>>();
        // Transition null -> fresh bucket; the loser frees its copy.
        let p = match self.buckets[b].compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => fresh,
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` of a `1 << b` slice just above
                // and was never published.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, 1 << b)) });
                winner
            }
        };
        // SAFETY: `p` is a published bucket of `1 << b` entries, `off < 1 << b`.
        unsafe { &*p.add(off) }
    }
}

impl<T> Entry<T> {
    /// Takes the value out if present: the claim (transition present -> absent) that makes the
    /// caller the only one to drop it.
    ///
    /// # Safety
    /// No borrow of the value is live (its owner is exiting, or the `Local` is being dropped).
    unsafe fn claim(&self) -> Option<T> {
        if !self.present.load(Relaxed) || !self.present.swap(false, Acquire) {
            return None;
        }
        // SAFETY: `present` was true, so the value is initialised; the swap made us its only
        // reader, and per the contract nobody borrows it.
        Some(unsafe { (*self.value.get()).assume_init_read() })
    }
}

impl<T: Send + 'static> Slots for Shared<T> {
    unsafe fn drop_value(&self, idx: usize) {
        if let Some(e) = self.entry(idx) {
            // SAFETY: per the contract, the exiting owner borrows the value no more.
            if let Some(v) = unsafe { e.claim() } {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(v)));
            }
        }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Every value was claimed by then (see `Local::drop`): only the buckets remain.
        for (b, bucket) in self.buckets.iter_mut().enumerate() {
            let p = *bucket.get_mut();
            if !p.is_null() {
                // SAFETY: `p` was made by `Box::into_raw` of a `1 << b` slice in
                // `entry_or_alloc`; this is the last reference to the table.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, 1 << b)) });
            }
        }
    }
}

/// Thread-local data attached to an object: each thread sees its own `T`, made by `init` on
/// that thread's first [`with`](Local::with). Python: `threading.local()`.
///
/// A thread's value is dropped when that thread exits (a threadkit thread: before `join`
/// returns; the main thread: when the process exits, after the non-daemon threads are
/// joined), and every value still there when the `Local` drops. A value may own the last
/// handle to its own `Local`.
///
/// `T: 'static` because a value can outlive every borrow the type system can see: a thread
/// drops its value when it exits, which for a `Local` that was leaked (`mem::forget`) may be
/// after the data a non-`'static` `T` borrowed is gone.
///
/// ```
/// use std::cell::Cell;
/// use std::sync::Arc;
/// let local = Arc::new(threadkit::Local::new(|| Cell::new(0)));
/// local.with(|v| v.set(1));
/// let l = local.clone();
/// let h = threadkit::spawn(move || l.with(|v| v.get())); // a new thread sees a fresh value
/// assert_eq!(h.join().unwrap(), 0);
/// assert_eq!(local.with(|v| v.get()), 1);
/// ```
///
/// A value that borrows shorter-lived data is refused. (Without the bound this compiled, and
/// the scoped thread's exit could drop the value, whose `Drop` may read the borrow, after
/// `scope` returned and `text` was gone.)
///
/// ```compile_fail,E0597
/// use std::cell::Cell;
/// struct Holder<'a>(Cell<Option<&'a String>>);
/// let text = String::from("borrowed");
/// let local = threadkit::Local::new(|| Holder(Cell::new(None)));
/// std::thread::scope(|s| {
///     s.spawn(|| local.with(|h| h.0.set(Some(&text)))); // error: `text` does not live long enough
/// });
/// std::mem::forget(local);
/// ```
pub struct Local<T: Send + 'static> {
    shared: Arc<Shared<T>>,
}

// `Local<T>` is `Send + Sync` through `Arc<Shared<T>>`, which is right: each thread only
// reaches its own `T` through `&Local` (so `T: Sync` is not needed), and the `Local`'s drop
// drops every thread's value on the dropping thread, which the `T: Send` bound allows.

impl<T: Send + 'static> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("table", &Arc::as_ptr(&self.shared))
            .finish_non_exhaustive()
    }
}

impl<T: Send + Default + 'static> Default for Local<T> {
    fn default() -> Self {
        Local::new(T::default)
    }
}

impl<T: Send + 'static> Local<T> {
    /// A `Local` whose value in each thread is made by `init` on first use.
    ///
    /// ```
    /// let l = threadkit::Local::new(|| String::from("hi"));
    /// assert_eq!(l.with(|s| s.len()), 2);
    /// ```
    pub fn new(init: impl Fn() -> T + Send + Sync + 'static) -> Local<T> {
        Local {
            shared: Arc::new(Shared {
                buckets: [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS],
                init: Box::new(init),
            }),
        }
    }

    /// Runs `f` with the calling thread's value, creating it with `init` on first use.
    /// Lock-free after the first call on each thread.
    ///
    /// ```
    /// let l = threadkit::Local::new(|| std::cell::Cell::new(0u32));
    /// l.with(|c| c.set(c.get() + 1));
    /// assert_eq!(l.with(|c| c.get()), 1);
    /// ```
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let Some(loc) = thread_loc() else {
            return self.with_dying_thread(f);
        };
        let (b, off) = unpack(loc);
        if let Some(e) = self.shared.entry_at(b, off) {
            if e.present.load(Relaxed) {
                // SAFETY: `present` means initialised; it is cleared only by a claim, which
                // this thread (the owner of the index) makes at its exit, not while `f` borrows
                // the value, and the `Local`'s drop, which cannot run while `&self` is held.
                return f(unsafe { (*e.value.get()).assume_init_ref() });
            }
        }
        self.with_first(index_of(loc), f)
    }

    #[cold]
    fn with_first<R>(&self, idx: usize, f: impl FnOnce(&T) -> R) -> R {
        let v = (self.shared.init)();
        let e = self.shared.entry_or_alloc(idx);
        if e.present.load(Relaxed) {
            // `init` itself used this `Local` and stored (and listed) a value: keep that one.
            drop(v);
        } else {
            // The table goes on the thread's list, so that its exit finds the value.
            let weak = Arc::downgrade(&self.shared) as Weak<dyn Slots>;
            let listed = GUARD.try_with(move |g| {
                let mut touched = g.touched.borrow_mut();
                if touched.len() >= g.prune_at.get() {
                    touched.retain(|t| t.strong_count() > 0);
                    g.prune_at.set((touched.len() * 2).max(PRUNE_MIN));
                }
                touched.push(weak);
            });
            if listed.is_err() {
                // Its `thread_local!`s are being destroyed: a stored value would never be
                // dropped, so this one is temporary.
                return f(&v);
            }
            // SAFETY: the entry is absent and owned by this thread: nobody else writes it.
            unsafe { (*e.value.get()).write(v) };
            e.present.store(true, Relaxed);
        }
        // SAFETY: just made present; see `with`.
        f(unsafe { (*e.value.get()).assume_init_ref() })
    }

    /// A thread whose values are gone for good gets a temporary value.
    #[cold]
    fn with_dying_thread<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let v = (self.shared.init)();
        f(&v)
    }
}

impl<T: Send + 'static> Drop for Local<T> {
    fn drop(&mut self) {
        // Nobody else holds `&self`, so the only other users of the table are exiting
        // threads, which claim their own value: each value is dropped once, by its claimer.
        for (b, bucket) in self.shared.buckets.iter().enumerate() {
            let p = bucket.load(Acquire);
            if p.is_null() {
                continue;
            }
            for off in 0..1usize << b {
                // SAFETY: `p` is a published bucket of `1 << b` entries that lives as long as
                // the table, which our `Arc` keeps alive.
                let e = unsafe { &*p.add(off) };
                // SAFETY: no `with` can be running (we own the `Local`).
                if let Some(v) = unsafe { e.claim() } {
                    drop(v);
                }
            }
        }
        // The `Arc` goes next: the table is freed now, or by the last exiting thread.
    }
}
