//! `Inner`, the state shared by every handle to one thread: the state word (the table and the
//! diagram are in `handle.rs`, with the public [`Thread`](super::Thread) API that drives it),
//! its sleeper count and wake-up, the ids, the name slot under `NAME_LOCK`, and
//! [`wait_state`], the spin-then-sleep wait on the word that `start()`, `join()` and the shutdown
//! hook use. A part of `handle.rs`, which re-exports what the crate uses.

use super::RUNNING;
use super::entry::OsThread;
use super::lifecycle::InternalLock;
use crate::rt::os::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, wait, wake_all};
use core::cell::UnsafeCell;
use core::sync::atomic::AtomicU8;
use core::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::any::Any;
use std::time::Instant;

/// `Inner::stack_size` when no size was given: use the module default (0 is also what
/// `with_stack_size(0)` means, so every other value, `usize::MAX` included, is a request).
pub(super) const STACK_DEFAULT: usize = 0;

/// Guards every thread's `Inner::name`.
static NAME_LOCK: InternalLock = InternalLock::new();

/// The lock behind thread names, for the fork handlers.
pub(crate) fn name_lock() -> &'static InternalLock {
    &NAME_LOCK
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Started by threadkit.
    Normal = 0,
    /// A foreign thread's "Dummy-N".
    Dummy = 1,
    /// "MainThread".
    Main = 2,
}

type Target = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct Inner {
    /// The state word, `NEW -> STARTING -> RUNNING -> FINISHED` (the table and the diagram
    /// are in `handle.rs`'s module docs); changed by [`Inner::set_state`] except for `NEW -> STARTING` (nobody
    /// waits for that) and in a fork child (nobody else is there).
    pub(crate) state: AtomicU32,
    /// Threads asleep (or about to sleep) on `state`: `start()` waiting for `RUNNING`,
    /// `join_timeout()` for `FINISHED`, the shutdown hook for the end of a start. A transition
    /// makes the wake-up system call only when it is not 0 (an untimed `join()` sleeps in the
    /// OS join instead, and a `start()` usually sees `RUNNING` while it spins).
    state_sleepers: AtomicU32,
    /// A `Kind`; changes only in a fork child (the forking dummy becomes the main thread).
    kind: AtomicU8,
    /// `get_ident()` of the thread, 0 before start.
    pub(crate) ident: AtomicU64,
    /// The OS thread id, 0 before start.
    pub(crate) native: AtomicU64,
    pub(super) daemon: AtomicBool,
    pub(crate) panicked: AtomicBool,
    /// Requested stack size, or `STACK_DEFAULT`.
    pub(super) stack_size: AtomicUsize,
    /// Position in the registry vector; read and written under the registry lock only.
    pub(crate) reg_index: AtomicUsize,
    /// `None` until a name is given or needed; read and written under `NAME_LOCK` only.
    name: UnsafeCell<Option<Name>>,
    /// Set in `new`, taken by the new thread (only the thread whose `start()` won the
    /// `NEW -> STARTING` CAS spawns it, so exactly one thread takes it).
    pub(crate) target: UnsafeCell<Option<Target>>,
    /// Whether the panic payload is kept for a `JoinHandle` (else dropped after the hook).
    pub(crate) keep_payload: AtomicBool,
    /// Written by the thread before `FINISHED`, taken by `JoinHandle::join` after it.
    pub(crate) payload: UnsafeCell<Option<Box<dyn Any + Send>>>,
    /// The OS thread, joined by the first `join()` that sees `FINISHED`, else detached when
    /// the last handle drops.
    pub(crate) os: OsThread,
}

// SAFETY: the `UnsafeCell`s follow a hand-off protocol: `target` is written before the
// handle is shared and taken by exactly one thread (the spawned one, after the spawn's
// synchronisation); `payload` is written by the thread before its release store of `FINISHED`
// and read only by the unique `JoinHandle` after an acquire load of `FINISHED`; `name` is only
// touched under `NAME_LOCK`. Every other field is atomic, lock-guarded or `Sync` (`os`). The
// boxed contents are `Send`.
unsafe impl Sync for Inner {}
// SAFETY: as above; all contents are `Send`.
unsafe impl Send for Inner {}

impl Inner {
    pub(super) fn new(
        target: Option<Target>,
        kind: Kind,
        name: Option<String>,
        daemon: bool,
        state: u32,
    ) -> Inner {
        Inner {
            state: AtomicU32::new(state),
            state_sleepers: AtomicU32::new(0),
            kind: AtomicU8::new(kind as u8),
            ident: AtomicU64::new(0),
            native: AtomicU64::new(0),
            daemon: AtomicBool::new(daemon),
            panicked: AtomicBool::new(false),
            stack_size: AtomicUsize::new(STACK_DEFAULT),
            reg_index: AtomicUsize::new(usize::MAX),
            name: UnsafeCell::new(name.map(Name::Given)),
            target: UnsafeCell::new(target),
            keep_payload: AtomicBool::new(false),
            payload: UnsafeCell::new(None),
            os: OsThread::new(),
        }
    }

    /// A handle for a thread threadkit did not start (main or dummy), already running.
    pub(crate) fn existing(kind: Kind, name: String) -> Inner {
        Inner::new(None, kind, Some(name), kind == Kind::Dummy, RUNNING)
    }

    /// Stores a new state (`SeqCst`, which includes the release the state needs); then call
    /// [`wake_state`](Inner::wake_state). This store and the count's load there are both
    /// `SeqCst`, as are the sleeper's increment and second look in [`wait_state`], so one of
    /// the two sides sees the other: no lost wake-up.
    pub(crate) fn set_state(&self, state: u32) {
        self.state.store(state, SeqCst);
    }

    /// Wakes the sleepers of the state word, if any (after [`set_state`](Inner::set_state)).
    pub(crate) fn wake_state(&self) {
        if self.state_sleepers.load(SeqCst) != 0 {
            wake_all(&self.state);
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match self.kind.load(Relaxed) {
            0 => Kind::Normal,
            1 => Kind::Dummy,
            _ => Kind::Main,
        }
    }

    pub(crate) fn is_daemon(&self) -> bool {
        self.daemon.load(Relaxed)
    }

    /// In a fork child: the forking foreign thread's dummy becomes the (non-daemon) main thread.
    pub(crate) fn become_main(&self) {
        self.kind.store(Kind::Main as u8, Relaxed);
        self.daemon.store(false, Relaxed);
    }

    /// The name, taking the "Thread-N" number now if the thread has none yet. A default
    /// name stays a number: [`Name::with_str`] spells it out without allocating.
    pub(crate) fn name_now(&self) -> Name {
        NAME_LOCK.with(|| {
            // SAFETY: `name` is only reached under `NAME_LOCK`, held for the whole borrow.
            let name = unsafe { &mut *self.name.get() };
            name.get_or_insert_with(|| Name::Numbered(super::names::next_number()))
                .clone()
        })
    }

    /// Takes the "Thread-N" number now if the thread has no name yet (as [`name_now`]
    /// does, without copying the name out).
    ///
    /// [`name_now`]: Inner::name_now
    pub(crate) fn take_number(&self) {
        NAME_LOCK.with(|| {
            // SAFETY: `name` is only reached under `NAME_LOCK`, held for the whole borrow.
            let name = unsafe { &mut *self.name.get() };
            name.get_or_insert_with(|| Name::Numbered(super::names::next_number()));
        });
    }

    /// The name the thread was given (by its creator, or by a rename before it ran), if any;
    /// `None` for a "Thread-N" thread.
    pub(crate) fn given_name(&self) -> Option<String> {
        NAME_LOCK.with(|| {
            // SAFETY: `name` is only reached under `NAME_LOCK`, held for the whole borrow.
            match unsafe { &*self.name.get() } {
                Some(Name::Given(s)) => Some(s.clone()),
                _ => None,
            }
        })
    }

    /// Replaces the name (the OS name is not changed).
    pub(crate) fn store_name(&self, new: String) {
        let old = NAME_LOCK.with(|| {
            // SAFETY: `name` is only reached under `NAME_LOCK`, held for the whole borrow.
            unsafe { &mut *self.name.get() }.replace(Name::Given(new))
        });
        drop(old); // outside the lock
    }
}

/// A thread's name, once given or needed.
#[derive(Clone)]
pub(crate) enum Name {
    /// "Thread-N", the number taken on first need, as Python's `_newname()` would have at
    /// construction (a thread named by its creator takes none).
    Numbered(usize),
    /// Given by the user (or "MainThread", "Dummy-N").
    Given(String),
}

impl Name {
    /// Calls `f` with the name spelled out; "Thread-N" is written on the stack.
    pub(crate) fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            Name::Given(s) => f(s),
            Name::Numbered(n) => f(super::names::spell_name("Thread", *n, &mut [0; 32])),
        }
    }
}

/// Spin hint shared by every `start()` and `join()` wait (each `Thread` is new, so a hint per
/// thread would never learn): on while thread starts and ends come soon after the wait began.
static STATE_SPUN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Waits until `done` holds for the thread's state word, or `deadline` passes (`false`):
/// spins first (`rt::spin`; a thread that does little starts and ends within a few
/// microseconds, less than a futex sleep and wake-up), then sleeps on the word, counted in
/// `Inner::state_sleepers` (see [`Inner::set_state`]).
pub(crate) fn wait_state(
    inner: &Inner,
    done: impl Fn(u32) -> bool,
    deadline: Option<Instant>,
) -> bool {
    let state = &inner.state;
    let long = STATE_SPUN.load(Relaxed);
    let spun = match crate::rt::spin(long, deadline, || done(state.load(Acquire))) {
        Ok(()) => {
            if !long {
                STATE_SPUN.store(true, Relaxed);
            }
            return true;
        }
        Err(spun) => spun,
    };
    loop {
        let s = state.load(Acquire);
        if done(s) {
            let short = spun.after_sleep();
            if short != long {
                STATE_SPUN.store(short, Relaxed);
            }
            return true;
        }
        // Counted, then a second look: with both sides `SeqCst`, either the transition sees
        // the count (and wakes) or this load sees the transition (see `Inner::set_state`).
        inner.state_sleepers.fetch_add(1, SeqCst);
        let s = state.load(SeqCst);
        let timed_out = !done(s) && !wait(state, s, deadline);
        inner.state_sleepers.fetch_sub(1, Relaxed);
        if timed_out {
            return done(state.load(Acquire));
        }
    }
}
