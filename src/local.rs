//! [`Local`]: per-object thread-local storage, Python's `threading.local`.
//!
//! # Design
//!
//! Every thread that touches any `Local` gets a small **thread index** (0, 1, 2, ...), held in
//! a `thread_local!` and given back when the thread exits, so indexes are recycled and stay
//! below the largest number of threads alive at once. Each `Local` owns a table of buckets:
//! bucket `b` holds `2^b` entries and is allocated on first need, so index `i` lives in bucket
//! `log2(i + 1)`. Looking a value up is: read the thread index, load the bucket pointer
//! (acquire), check the entry's `present` flag: no lock and no read-modify-write.
//!
//! | item                     | written by                          | guarded by            |
//! |--------------------------|-------------------------------------|-----------------------|
//! | bucket pointer           | first thread needing it (CAS null→p)| atomic                |
//! | entry `present`/`value`  | the thread owning that index, and the `Local`'s drop | ownership |
//! | `TABLES.locals` (live)   | `Local::new`/`drop`, thread exit    | `Lock`                |
//! | `TABLES` (free indexes)  | first use / thread exit             | `Lock`                |
//! | `Shared::exiting`        | exiting threads (futex word)        | atomic                |
//!
//! ```text
//!  entry: absent --first with(): init()--> present --thread exit / Local drop--> absent
//! ```
//!
//! A thread's exit (its `thread_local!` destructor, or explicitly at the end of a threadkit
//! thread, before `join` returns) takes its index out of the `thread_local!` first, then, one
//! live `Local` at a time, increments that `Local`'s `exiting` count under the `TABLES` lock,
//! drops the value outside the lock (user `Drop` code may use threadkit), decrements
//! `exiting`, and finally frees the index. Limitation: a value that owns the last handle to
//! its own `Local` (a reference cycle through the `Local`) deadlocks that thread's exit. `Local::drop` unlinks itself under the
//! same lock and waits for `exiting` to reach 0 before dropping the remaining values, so the
//! two never drop the same value and the table outlives every exiting thread using it.
//!
//! The main thread's `thread_local!` destructors do not run when the process exits, so its
//! values are dropped only when the `Local` is (a `static` one never is).
//!
//! Memory ordering: a bucket is published with a release CAS and read with acquire, so its
//! zeroed entries are visible. An entry is only ever read by its owning thread, or by the
//! `Local`'s drop, which owns the `Local` (all borrows ended) and waits on `exiting` with
//! acquire after the exiting threads' release decrements.

use crate::registry::Locked;
use crate::registry::rt::{AtomicBool, AtomicPtr, AtomicU32, wait, wake_all};
use core::cell::{Cell, UnsafeCell};
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// Enough buckets for every possible index.
const BUCKETS: usize = usize::BITS as usize;

struct Entry<T> {
    present: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

struct Shared<T> {
    buckets: [AtomicPtr<Entry<T>>; BUCKETS],
    init: Init<T>,
    /// Threads currently dropping their value of this `Local` (futex word).
    exiting: AtomicU32,
}

/// How values are made: a user closure, or `T::default` (a plain fn pointer, which needs no
/// `'static` bound on `T`).
enum Init<T> {
    Boxed(Box<dyn Fn() -> T + Send + Sync>),
    Plain(fn() -> T),
}

impl<T> Init<T> {
    fn make(&self) -> T {
        match self {
            Init::Boxed(f) => f(),
            Init::Plain(f) => f(),
        }
    }
}

/// A type-erased pointer to a live `Shared<T>` in the `TABLES` table.
#[derive(Clone, Copy)]
struct Erased {
    shared: *const (),
    /// Whether thread index `idx` has a value here. Called only by the owner of `idx`.
    has: unsafe fn(*const (), usize) -> bool,
    /// Drops thread index `idx`'s value. Called only by the owner of `idx`.
    drop_value: unsafe fn(*const (), usize),
    exiting: *const AtomicU32,
}

// SAFETY: the pointers are only dereferenced under the protocol in the module docs (the
// `Shared` outlives every use thanks to the `exiting` count); they are plain addresses.
unsafe impl Send for Erased {}

struct Tables {
    locals: Vec<Option<Erased>>,
    free_locals: Vec<usize>,
    next_index: usize,
    free_indexes: Vec<usize>,
}

static TABLES: Locked<Tables> = Locked::new(Tables {
    locals: Vec::new(),
    free_locals: Vec::new(),
    next_index: 0,
    free_indexes: Vec::new(),
});

/// `INDEX` before the thread's first `Local` access (or after `thread_exit`).
const UNASSIGNED: usize = usize::MAX;
/// `INDEX` once the thread's `thread_local!` destructors have released it.
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

/// Releases the calling thread's index when the thread's `thread_local!`s are destroyed.
/// Registered (by its first access) only when an index is assigned, so the fast path reads a
/// plain `Cell` with no destructor state to check.
struct IndexGuard;

impl Drop for IndexGuard {
    fn drop(&mut self) {
        let loc = INDEX.with(|i| i.replace(DYING));
        if loc < DYING {
            release(index_of(loc));
        }
    }
}

thread_local! {
    /// The calling thread's index (packed: see [`pack`]), or `UNASSIGNED` / `DYING`.
    static INDEX: Cell<usize> = const { Cell::new(UNASSIGNED) };
    static GUARD: IndexGuard = const { IndexGuard };
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
        release(index_of(loc));
    }
}

fn release(idx: usize) {
    // One `Local` at a time, so that a value whose `Drop` drops another `Local` never waits
    // for this thread's own count there. No new value for `idx` can appear meanwhile: the
    // thread's `INDEX` no longer holds `idx`.
    let mut cursor = 0;
    loop {
        let next = TABLES.with(|t| {
            for (i, e) in t.locals.iter().enumerate().skip(cursor) {
                let Some(e) = e else { continue };
                // SAFETY: `e.shared` is live while it is in the table (we hold the lock), and
                // this thread owns `idx`.
                if unsafe { (e.has)(e.shared, idx) } {
                    // SAFETY: same; the count keeps the `Shared` alive after the lock is
                    // released.
                    unsafe { (*e.exiting).fetch_add(1, Relaxed) };
                    return Some((i, *e));
                }
            }
            None
        });
        let Some((i, e)) = next else { break };
        cursor = i + 1;
        // SAFETY: the `exiting` count taken above keeps `e.shared` alive; this thread owns
        // `idx`, so no one else touches its entry.
        unsafe { (e.drop_value)(e.shared, idx) };
        // SAFETY: `exiting` is live until the count reaches 0, which this decrement may do.
        let left = unsafe { (*e.exiting).fetch_sub(1, Release) };
        if left == 1 {
            wake_all(e.exiting); // may dangle by now: allowed by the seam
        }
    }
    TABLES.with(|t| t.free_indexes.push(idx));
}

/// The calling thread's index, allocated on first use (packed: see [`pack`]); `None` while the
/// thread's `thread_local!`s are being destroyed.
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
    // Registers the guard's destructor; fails once the thread's TLS is being torn down.
    if loc == DYING || GUARD.try_with(|_| ()).is_err() {
        return None;
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

    /// # Safety
    /// `shared` points to a live `Shared<T>`; the caller owns thread index `idx`.
    unsafe fn has(shared: *const (), idx: usize) -> bool {
        // SAFETY: per the contract.
        let s = unsafe { &*shared.cast::<Shared<T>>() };
        s.entry(idx).is_some_and(|e| e.present.load(Relaxed))
    }

    /// # Safety
    /// `shared` points to a live `Shared<T>`; the caller owns thread index `idx`.
    unsafe fn drop_value(shared: *const (), idx: usize) {
        // SAFETY: per the contract.
        let s = unsafe { &*shared.cast::<Shared<T>>() };
        if let Some(e) = s.entry(idx) {
            if e.present.load(Relaxed) {
                e.present.store(false, Relaxed);
                // SAFETY: `present` was true, so the value is initialised; clearing the flag
                // first means nothing reads it again; we move it out before running `Drop`.
                let v = unsafe { (*e.value.get()).assume_init_read() };
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(v)));
            }
        }
    }
}

/// Thread-local data attached to an object: each thread sees its own `T`, made by `init` on
/// that thread's first [`with`](Local::with). Python: `threading.local()`.
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
pub struct Local<T: Send> {
    /// From `Box::into_raw`, freed in `drop`. A raw pointer rather than a `Box`, because the
    /// erased copy in the table aliases it (a `Box` asserts uniqueness when moved).
    shared: ptr::NonNull<Shared<T>>,
    id: usize,
}

// SAFETY: each thread only reaches its own `T` through `&Local` (so `T: Sync` is not needed),
// and the `Local`'s drop drops every thread's value on the dropping thread, which needs
// `T: Send`. The erased table entries are managed by the protocol in the module docs.
unsafe impl<T: Send> Sync for Local<T> {}
// SAFETY: as above: moving the `Local` moves ownership of `Send` values only.
unsafe impl<T: Send> Send for Local<T> {}

impl<T: Send> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<T: Send + Default> Default for Local<T> {
    fn default() -> Self {
        Local::with_init(Init::Plain(T::default))
    }
}

impl<T: Send> Local<T> {
    #[inline]
    fn shared(&self) -> &Shared<T> {
        // SAFETY: `shared` lives until `drop`, which needs `&mut self`.
        unsafe { self.shared.as_ref() }
    }

    /// A `Local` whose value in each thread is made by `init` on first use.
    ///
    /// ```
    /// let l = threadkit::Local::new(|| String::from("hi"));
    /// assert_eq!(l.with(|s| s.len()), 2);
    /// ```
    pub fn new(init: impl Fn() -> T + Send + Sync + 'static) -> Local<T> {
        Local::with_init(Init::Boxed(Box::new(init)))
    }

    fn with_init(init: Init<T>) -> Local<T> {
        let shared = Box::into_raw(Box::new(Shared {
            buckets: [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS],
            init,
            exiting: AtomicU32::new(0),
        }));
        // SAFETY: `Box::into_raw` never returns null.
        let shared = unsafe { ptr::NonNull::new_unchecked(shared) };
        let erased = Erased {
            shared: shared.as_ptr().cast_const().cast(),
            has: Shared::<T>::has,
            drop_value: Shared::<T>::drop_value,
            // SAFETY: `shared` is live; only the field's address is taken.
            exiting: unsafe { &raw const (*shared.as_ptr()).exiting },
        };
        let id = TABLES.with(|t| match t.free_locals.pop() {
            Some(id) => {
                t.locals[id] = Some(erased);
                id
            }
            None => {
                t.locals.push(Some(erased));
                t.locals.len() - 1
            }
        });
        Local { shared, id }
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
        if let Some(e) = self.shared().entry_at(b, off) {
            if e.present.load(Relaxed) {
                // SAFETY: `present` means initialised; only this thread (the owner of `idx`)
                // can clear it, and it does not while `f` borrows the value; the `Local`
                // cannot drop while `&self` is held.
                return f(unsafe { (*e.value.get()).assume_init_ref() });
            }
        }
        self.with_first(index_of(loc), f)
    }

    #[cold]
    fn with_first<R>(&self, idx: usize, f: impl FnOnce(&T) -> R) -> R {
        let v = self.shared().init.make();
        let e = self.shared().entry_or_alloc(idx);
        if e.present.load(Relaxed) {
            // `init` itself used this `Local` and stored a value: keep that one.
            drop(v);
        } else {
            // SAFETY: the entry is absent and owned by this thread: nobody else writes it.
            unsafe { (*e.value.get()).write(v) };
            e.present.store(true, Relaxed);
        }
        // SAFETY: just made present; see `with`.
        f(unsafe { (*e.value.get()).assume_init_ref() })
    }

    /// A thread whose `thread_local!`s are being destroyed gets a temporary value.
    #[cold]
    fn with_dying_thread<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let v = self.shared().init.make();
        f(&v)
    }
}

impl<T: Send> Drop for Local<T> {
    fn drop(&mut self) {
        TABLES.with(|t| {
            t.locals[self.id] = None;
            t.free_locals.push(self.id);
        });
        // Wait for exiting threads still dropping their value here.
        loop {
            let n = self.shared().exiting.load(Acquire);
            if n == 0 {
                break;
            }
            wait(&self.shared().exiting, n, None);
        }
        // SAFETY: from `Box::into_raw` in `with_init`; the table no longer refers to it and no
        // exiting thread uses it any more, so this is the only pointer in use.
        let shared = unsafe { Box::from_raw(self.shared.as_ptr()) };
        for (b, bucket) in shared.buckets.iter().enumerate() {
            let p = bucket.load(Acquire);
            if p.is_null() {
                continue;
            }
            // SAFETY: `p` was made by `Box::into_raw` of a `1 << b` slice in `entry_or_alloc`;
            // we own the `Local` and no exiting thread uses it any more.
            let mut entries = unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, 1 << b)) };
            for e in entries.iter_mut() {
                if *e.present.get_mut() {
                    // SAFETY: present means initialised; dropped once, then freed with the box.
                    unsafe { e.value.get_mut().assume_init_drop() };
                }
            }
        }
    }
}
