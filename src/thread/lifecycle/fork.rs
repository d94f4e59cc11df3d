//! What a `fork()` does to the thread layer: the fork handlers, the fork generation
//! (`FORK_GEN`) and CPython's `_after_fork`. The registry the child rebuilds is described in
//! `thread/registry.rs`; the internal locks the handlers take are in
//! `internal_lock.rs`.
//!
//! # fork()
//!
//! The first use of any internal lock registers fork handlers (`threadkit_sys::at_fork`):
//!
//! * prepare (parent, before the fork): takes every internal lock, in the order of
//!   [`fork_locks`] (hook slots, names, registry, `Local` indexes), so that no list is caught
//!   half-changed; no code holds two of them, so the order cannot deadlock.
//! * parent (after the fork): releases them.
//! * child: replaces each lock word by a fresh unlocked one (the waiter counts in it belong
//!   to threads that do not exist there), increments `FORK_GEN`, and does what CPython's
//!   `threading._after_fork` does: the calling thread is the only one left and becomes the
//!   main thread (a foreign thread's "Dummy-N" turns into "MainThread", non-daemon; one that
//!   never met threadkit gets a new "MainThread" handle); every other listed thread, and the
//!   old main thread, is marked `FINISHED`, so joins return and `is_alive()` is false. OS
//!   handles of the parent's threads are never joined or detached in the child (their
//!   generation differs: see `entry::OsThread`), and `Local` values of vanished threads
//!   are dropped when their `Local` drops.

use super::internal_lock::InternalLock;
use crate::rt::os::{self, AtomicBool, AtomicU32};
use crate::thread::current::{set_current, store_ids};
use crate::thread::registry::{REGISTRY, push};
use crate::thread::{FINISHED, Inner, Kind, Thread};
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::Arc;

/// Whether the fork handlers are registered.
static FORK_SET: AtomicBool = AtomicBool::new(false);
/// Incremented in each fork child: OS handles of an older generation belong to the parent.
static FORK_GEN: AtomicU32 = AtomicU32::new(0);

/// The fork generation of this process (0 unless it is the child of a `fork`).
pub(crate) fn fork_generation() -> u32 {
    FORK_GEN.load(Relaxed)
}

/// Registers the fork handlers before the first use of an internal lock.
#[inline]
pub(super) fn ensure_fork_handlers() {
    if !FORK_SET.load(Acquire) {
        ensure_fork_handlers_slow();
    }
}

#[cold]
fn ensure_fork_handlers_slow() {
    if !FORK_SET.swap(true, AcqRel) && os::at_fork(fork_prepare, fork_parent, fork_child).is_err() {
        FORK_SET.store(false, Release); // out of memory: try again at the next use
    }
}

/// Every internal lock, in the order the prepare handler takes them.
fn fork_locks() -> [&'static InternalLock; 6] {
    let [trace, profile, except] = crate::thread::hooks::fork_locks();
    [
        trace,
        profile,
        except,
        crate::thread::name_lock(),
        REGISTRY.lock(),
        crate::thread::local::fork_lock(),
    ]
}

extern "C" fn fork_prepare() {
    for lock in fork_locks() {
        lock.get().acquire();
    }
}

extern "C" fn fork_parent() {
    for lock in fork_locks().into_iter().rev() {
        // Cannot fail: the prepare handler took it.
        let _ = lock.get().release();
    }
}

extern "C" fn fork_child() {
    FORK_GEN.fetch_add(1, Relaxed);
    for lock in fork_locks() {
        // SAFETY: this is the fork child, whose only thread is this one, and the prepare
        // handler took every lock on this thread.
        unsafe { lock.reset_in_child() };
    }
    after_fork_in_child();
}

/// Python's `threading._after_fork`: see the module docs.
fn after_fork_in_child() {
    os::record_main_thread();
    let known = super::known_current();
    let me = match &known {
        Some(t) => t.clone(),
        None => Thread::from_inner(Inner::existing(Kind::Main, "MainThread".into())),
    };
    let was_dummy = me.inner.kind() == Kind::Dummy;
    if was_dummy {
        me.inner.become_main();
    }
    store_ids(&me.inner.ident, &me.inner.native); // the native id is new in the child
    let (vanished, old_main) = REGISTRY.with(|r| {
        let vanished = core::mem::take(&mut r.threads);
        for t in vanished.iter().filter(|t| !Arc::ptr_eq(t, &me.inner)) {
            t.state.store(FINISHED, Release);
        }
        let old_main = r.main.replace(Arc::clone(&me.inner));
        if let Some(m) = old_main.as_ref().filter(|m| !Arc::ptr_eq(m, &me.inner)) {
            m.state.store(FINISHED, Release);
        }
        push(r, &me.inner);
        (vanished, old_main)
    });
    if was_dummy {
        me.inner.store_name("MainThread".into());
    }
    if known.is_none() {
        set_current(&me);
    }
    // Outside the lock. None is the last handle: the vanished threads still own theirs.
    drop((vanished, old_main));
}
