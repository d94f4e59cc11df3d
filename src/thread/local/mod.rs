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
//! Memory ordering: a bucket is published with a release CAS and read with acquire, so its
//! zeroed entries are visible. An entry is read by its owning thread, or by whoever claims it:
//! the owner itself at its exit, or the `Local`'s drop, which owns the `Local` (so every
//! owner's `with` happened before it) and claims with an acquire swap. The `Arc`'s counts order
//! every use of a table before it is freed.
//!
//! # Thread indexes
//!
//! The thread indexes (handing them out and recycling them, a thread's exit, the main
//! thread's end in the shutdown hook, the lock the fork handlers take) are in `index.rs`.

use crate::rt::os::{AtomicBool, AtomicPtr};
use core::cell::UnsafeCell;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::{Arc, Weak};

mod index;

pub(crate) use index::{fork_lock, main_thread_exit, thread_exit};
use index::{index_of, list_table, locate, thread_loc, unpack};

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
            if !list_table(weak) {
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
