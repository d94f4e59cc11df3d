//! The calling thread: how a thread finds its own [`Thread`] handle, and which thread is the
//! main thread. The registry's state table is in `registry.rs`.
//!
//! A threadkit thread finds its handle in `STARTED`, a destructor-free thread-local pointer
//! that `entry::run` sets for the whole run (see [`run_as`]). Any other thread finds it
//! in `CURRENT`, which the first [`current_thread`] call fills: with "MainThread" on the main
//! thread, else with a new "Dummy-N", registered until that thread's TLS is destroyed.
//!
//! Which thread is the main thread is `threadkit_sys::is_main_thread` (the main thread's kernel
//! thread id is the process id on Linux and Android; elsewhere a constructor in the init section
//! records it before `main`). The "MainThread" handle gets its ids when the main thread
//! first calls into threadkit (starting a thread or asking for `current_thread`); a handle
//! obtained earlier from another thread shows `ident() == None` until then.

use super::names::new_name;
use super::registry::{finish, main_handle, register};
use super::{Inner, Kind, Thread};
use crate::rt::os::{self, AtomicU64, is_main_thread};
use core::cell::RefCell;
use core::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// This thread's handle; for a dummy, dropping it unregisters the thread.
struct CurrentSlot(RefCell<Option<Thread>>);

impl Drop for CurrentSlot {
    fn drop(&mut self) {
        if let Some(t) = self.0.get_mut().take() {
            if t.inner.kind() == Kind::Dummy {
                finish(&t.inner);
            }
        }
    }
}

thread_local! {
    static CURRENT: CurrentSlot = const { CurrentSlot(RefCell::new(None)) };
    /// The calling threadkit thread's `Inner` while `entry::run` runs (it holds a
    /// handle for that whole time), else null. No destructor: a thread that sets it registers
    /// nothing with the C runtime's TLS-destructor list, which would allocate (and make the
    /// thread set up the allocator's per-thread cache). Once `run` returns, the thread is no
    /// longer its `Thread`'s: a late TLS destructor that asks gets a "Dummy-N", as code
    /// running after `_bootstrap_inner` does in CPython.
    static STARTED: core::cell::Cell<*const Inner> = const { core::cell::Cell::new(core::ptr::null()) };
}

/// Records `t` as the calling thread's handle, kept until the thread's TLS is destroyed.
pub(crate) fn set_current(t: &Thread) {
    let _ = CURRENT.try_with(|c| *c.0.borrow_mut() = Some(t.clone()));
}

/// Runs `f` as the threadkit thread `me`: [`current_thread`] returns `me` until `f` returns.
pub(crate) fn run_as<R>(me: &Thread, f: impl FnOnce() -> R) -> R {
    STARTED.with(|s| s.set(Arc::as_ptr(&me.inner)));
    let r = f();
    STARTED.with(|s| s.set(core::ptr::null()));
    r
}

/// Runs `f` on the calling thread's `Inner` if it is already known (a running threadkit
/// thread's, or the one kept in `CURRENT`), without touching its reference count.
fn with_known<R>(f: impl FnOnce(&Inner) -> R) -> Option<R> {
    let p = STARTED.with(core::cell::Cell::get);
    if !p.is_null() {
        // SAFETY: a non-null `STARTED` was set by `run_as` on this very thread from a live
        // `Thread`, which `run_as`'s caller keeps alive until `run_as` resets it to null.
        return Some(f(unsafe { &*p }));
    }
    CURRENT
        .try_with(|c| c.0.borrow().as_ref().map(|t| f(&t.inner)))
        .ok()
        .flatten()
}

/// The calling thread's handle if it is already known: a running threadkit thread's, or the
/// one kept in `CURRENT`. (Not through [`with_known`]: `Arc::from_raw` needs the pointer that
/// `Arc::as_ptr` gave, whose provenance covers the reference counts, not one re-derived from
/// a `&Inner`.)
pub(crate) fn known_current() -> Option<Thread> {
    let p = STARTED.with(core::cell::Cell::get);
    if !p.is_null() {
        // SAFETY: a non-null `STARTED` was set by `run_as` on this very thread from a live
        // `Thread`, which `run_as`'s caller keeps alive until `run_as` resets it to null; so
        // `p` comes from `Arc::as_ptr` of an `Arc` with a count of at least one, and adding
        // one before `from_raw` gives the new handle its own count.
        return Some(unsafe {
            Arc::increment_strong_count(p);
            Thread {
                inner: Arc::from_raw(p),
            }
        });
    }
    CURRENT.try_with(|c| c.0.borrow().clone()).ok().flatten()
}

/// The calling thread's daemon flag without creating a dummy: threadkit threads know theirs,
/// the main thread is not a daemon, any other thread would be a "Dummy-N" (a daemon).
pub(crate) fn current_daemon() -> bool {
    match with_known(Inner::is_daemon) {
        Some(daemon) => daemon,
        // The main thread's handle is kept in `CURRENT`, so that the next call makes no
        // system call (`is_main_thread` makes two on Linux).
        None if is_main_thread() => current_thread_slow().daemon(),
        None => true,
    }
}

pub(crate) fn store_ids(ident: &AtomicU64, native: &AtomicU64) {
    native.store(os::native_id(), Relaxed);
    ident.store(os::current_id(), Relaxed);
}

/// The [`Thread`] object of the calling thread. Python's `threading.current_thread()`.
///
/// A thread that threadkit did not start (a `std::thread`, a C library's thread) gets a
/// "Dummy-N" handle: a daemon, alive and listed by [`enumerate`](crate::enumerate) until that thread exits.
///
/// ```
/// let t = threadkit::spawn(|| threadkit::current_thread().name());
/// let name = t.join().unwrap();
/// assert!(name.starts_with("Thread-"));
/// ```
pub fn current_thread() -> Thread {
    known_current().unwrap_or_else(current_thread_slow)
}

#[cold]
pub(super) fn current_thread_slow() -> Thread {
    let t = if is_main_thread() {
        Thread::from_arc(main_handle(true))
    } else {
        let inner = Inner::existing(Kind::Dummy, new_name("Dummy"));
        store_ids(&inner.ident, &inner.native);
        let t = Thread::from_inner(inner);
        if CURRENT.try_with(|_| ()).is_ok() {
            register(&t.inner);
        }
        t
    };
    // If TLS is already torn down (a late destructor), the handle is returned unregistered.
    let _ = CURRENT.try_with(|c| *c.0.borrow_mut() = Some(t.clone()));
    t
}
