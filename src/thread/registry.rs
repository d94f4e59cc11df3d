//! The thread registry: every live [`Thread`] object (Python's `threading._active` and
//! `_limbo`) and the "MainThread" handle. The module functions that read it
//! ([`main_thread`](crate::main_thread), [`enumerate`](crate::enumerate),
//! [`active_count`](crate::active_count)) are in `thread/mod.rs`, the calling thread's handle
//! in `current.rs`, the thread names in `names.rs`, the shutdown rule and what a `fork()` child
//! does to all of it in `lifecycle/`.
//!
//! # State
//!
//! | item                     | guarded by      | meaning                                        |
//! |--------------------------|-----------------|------------------------------------------------|
//! | `threads: Vec<Arc<Inner>>` | `REGISTRY.lock` | live and starting threads, at `reg_index`    |
//! | `main: Option<Arc<Inner>>` | `REGISTRY.lock` | the "MainThread" handle's state, created on first use |
//! | `STARTED` (TLS)          | its own thread  | a running threadkit thread's `Inner`           |
//! | `CURRENT` (TLS)          | its own thread  | any other thread's handle once known           |
//! | `NAME_COUNTER` (`names.rs`) | atomic       | Python's `_counter` for "Thread-N"/"Dummy-N"   |
//! | `FORK_GEN` (`lifecycle/fork.rs`) | atomic          | how many `fork()`s this process is a child of  |
//!
//! ```text
//!  Thread::start: NEW -> STARTING + listed (one critical section) --OS refused--> NEW + unlisted
//!                                   |
//!                                   +--spawned--> RUNNING --target done--> FINISHED + unlisted
//!  foreign thread: current_thread() ──> register "Dummy-N"
//!                  ──> TLS destructor: FINISHED + unlisted
//! ```
//!
//! A thread is listed *before* its OS thread exists, as Python puts it in `_limbo`: so the
//! shutdown hook, which may run while a daemon thread is inside `start()` of a non-daemon one,
//! never misses it. Listing and the state changes `NEW -> STARTING` and `-> FINISHED` happen in
//! the same critical section, so whoever holds the lock (shutdown, a fork) sees every thread
//! either listed and not finished, or unlisted and not running.
//!
//! Memory ordering: every access to the vectors happens under the registry lock, whose
//! acquire/release orders them. User hooks are never called with the lock held, so a hook may
//! call [`enumerate`](crate::enumerate) or [`current_thread`](crate::current_thread) freely.
//!
//! # The calling thread
//!
//! How a thread finds its own handle (`current_thread`, the `STARTED` and `CURRENT`
//! thread-locals, dummies of foreign threads): `current.rs`; which thread is the main thread:
//! `threadkit_sys::is_main_thread`.
//!
//! # fork()
//!
//! What a `fork()` child does to all of this (the fork handlers, `FORK_GEN`, CPython's
//! `_after_fork`) is in `lifecycle/fork.rs`; the internal locks those handlers take
//! (`InternalLock`, `Locked`) are in `lifecycle/internal_lock.rs`.

use super::current::store_ids;
use super::lifecycle::{Locked, fork_generation};
use super::{FINISHED, Inner, Kind, NEW, STARTING};
use crate::rt::os;
use core::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;

/// What the registry holds of a thread is its shared state, `Inner` (a `Thread` handle is
/// nothing but an `Arc` of it): the registry never names the handle type; callers make
/// handles of what it returns (`Thread::from_arc`).
pub(super) struct Registry {
    /// Live and starting threads; each at its `Inner::reg_index`.
    pub(super) threads: Vec<Arc<Inner>>,
    /// The "MainThread" state, created on first use.
    pub(super) main: Option<Arc<Inner>>,
}

pub(super) static REGISTRY: Locked<Registry> = Locked::new(Registry {
    threads: Vec::new(),
    main: None,
});

pub(super) fn push(r: &mut Registry, t: &Arc<Inner>) {
    t.reg_index.store(r.threads.len(), Relaxed);
    r.threads.push(Arc::clone(t));
}

/// Takes `t` out of the list (`None` when absent).
fn remove(r: &mut Registry, t: &Arc<Inner>) -> Option<Arc<Inner>> {
    let i = t.reg_index.load(Relaxed);
    if i < r.threads.len() && Arc::ptr_eq(&r.threads[i], t) {
        let old = r.threads.swap_remove(i);
        if let Some(moved) = r.threads.get(i) {
            moved.reg_index.store(i, Relaxed);
        }
        Some(old)
    } else {
        None
    }
}

/// Adds a running thread (a foreign thread's dummy) to the live set.
pub(super) fn register(t: &Arc<Inner>) {
    REGISTRY.with(|r| push(r, t));
}

/// The start of `Thread::start`: makes the transition `NEW -> STARTING` and lists `t`, in one
/// critical section, and records the fork generation its OS thread will belong to. `false`
/// (nothing changed) if `t` was not `NEW`.
pub(crate) fn register_starting(t: &Arc<Inner>) -> bool {
    REGISTRY.with(|r| {
        // Transition NEW -> STARTING: this caller owns the start.
        if t.state
            .compare_exchange(NEW, STARTING, Acquire, Relaxed)
            .is_err()
        {
            return false;
        }
        t.os.set_generation(fork_generation());
        push(r, t);
        true
    })
}

/// The OS refused `t`'s thread: unlisted and back to `NEW` (transition `STARTING -> NEW`).
pub(crate) fn unregister_unstarted(t: &Arc<Inner>) {
    let removed = REGISTRY.with(|r| {
        let removed = remove(r, t);
        // Transition STARTING -> NEW: the thread may be started again.
        t.set_state(NEW);
        removed
    });
    t.wake_state(); // `shutdown` may wait for the start to end
    drop(removed); // outside the lock: never the last handle, but keep drops out anyway
}

/// The end of a thread (a threadkit thread after its target and its `Local` values, or a
/// dummy's TLS destructor): unlisted and `FINISHED` in one critical section, then joiners
/// woken. (Apart, a fork in between would leave the thread unlisted and running forever in
/// the child.)
pub(crate) fn finish(t: &Arc<Inner>) {
    let removed = REGISTRY.with(|r| {
        let removed = remove(r, t);
        // Transition RUNNING -> FINISHED: joiners may return.
        t.set_state(FINISHED);
        removed
    });
    t.wake_state();
    drop(removed);
}

/// The "MainThread" handle, created and registered on first use; its ids are filled in then
/// (from the caller when `on_main`, else as recorded before `main`).
pub(super) fn main_handle(on_main: bool) -> Arc<Inner> {
    REGISTRY.with(|r| {
        let t = match &r.main {
            Some(t) => Arc::clone(t),
            None => {
                let t = Arc::new(Inner::existing(Kind::Main, "MainThread".into()));
                push(r, &t);
                r.main = Some(Arc::clone(&t));
                t
            }
        };
        if t.ident.load(Relaxed) == 0 {
            if on_main {
                store_ids(&t.ident, &t.native);
            } else if let Some((id, native)) = os::main_thread_ids() {
                // Recorded before `main` by `threadkit_sys`'s init-section constructor, so the
                // ids are known whichever thread asks first (as in CPython).
                t.native.store(native, Relaxed);
                t.ident.store(id, Relaxed);
            }
        }
        t
    })
}

/// The start of the shutdown, on the main thread: "MainThread" is done (unlisted and
/// `FINISHED`), so that threads joining it return before the non-daemon threads are joined,
/// as CPython's `_shutdown` marks its handle done first.
pub(crate) fn main_finished() {
    let t = main_handle(true);
    if t.state.load(Acquire) != FINISHED {
        finish(&t);
    }
}

/// A copy of the live set (for [`enumerate`](crate::enumerate)).
pub(super) fn snapshot() -> Vec<Arc<Inner>> {
    REGISTRY.with(|r| r.threads.clone())
}

/// How many threads are live (for [`active_count`](crate::active_count)).
pub(super) fn count() -> usize {
    REGISTRY.with(|r| r.threads.len())
}

/// The first listed thread that `pick` accepts (for the shutdown hook).
pub(super) fn find(mut pick: impl FnMut(&Inner) -> bool) -> Option<Arc<Inner>> {
    REGISTRY.with(|r| r.threads.iter().find(|t| pick(t)).cloned())
}
