//! The first and last thing a threadkit thread does: the body handed to the OS thread, and the
//! OS thread's handle, which the first joiner joins.
//!
//! ```text
//!  (start(): listed, STARTING -> STARTED) -> set TLS handle, ids, the OS name if one was
//!  given -> RUNNING (ids seen)
//!  -> trace hook, profile Start -> target (panics caught) -> excepthook if it panicked
//!  -> profile Exit -> drop this thread's Local values -> unlisted + FINISHED (joins go on)
//!  -> the OS thread ends (its thread_local! destructors run) -> the OS join returns
//! ```
//!
//! Nothing here unwinds into the OS entry: the hooks and the target run inside
//! `catch_unwind`, and so do the drops of panic payloads.
//!
//! # The OS handle's state word (`OsThread::state`)
//!
//! | value       | meaning                                                              |
//! |-------------|----------------------------------------------------------------------|
//! | `NO_HANDLE` | not spawned yet, or `start()` has not stored the handle yet          |
//! | `JOINABLE`  | the handle is stored; nobody has claimed it                          |
//! | `JOINING`   | one joiner took the handle and waits in the OS join                  |
//! | `JOINED`    | the OS thread is joined: every later join returns at once            |
//! | `WAITERS`   | (bit, with `NO_HANDLE` or `JOINING`) someone sleeps on the word      |
//!
//! ```text
//!  NO_HANDLE --start() stores the handle--> JOINABLE --first joiner CAS--> JOINING
//!                                                                             |
//!                                                     JOINED <--OS join done--+
//! ```
//!
//! A joiner that finds `NO_HANDLE` (it saw `FINISHED` before `start()` got back from the OS)
//! or `JOINING` sets `WAITERS` and sleeps until the word moves on; the two transitions that
//! move it on wake all sleepers when the bit was set, so the common case makes no extra system
//! call. If nobody ever joins, the handle is detached when the last `Thread` handle drops
//! (possibly on the thread itself, as its `thread_local!`s are destroyed).
//!
//! In a fork child the parent's OS threads do not exist: a handle spawned in another fork
//! generation (see `lifecycle/fork.rs`) is never joined or detached there, only forgotten.
//!
//! Memory ordering: the handle is written before the release transition to `JOINABLE` and
//! read after the acquire CAS that claims it; the OS join orders the thread's whole life
//! before the joiner's release store of `JOINED`, which later joiners read with acquire.

use super::{Inner, RUNNING, Thread};
use crate::rt::os::{self, AtomicU32, RawThread, wait, wake_all};
use core::cell::UnsafeCell;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

impl os::SharedMain for Inner {
    fn main(self: std::sync::Arc<Self>) {
        run(Thread { inner: self });
    }
}

/// The new thread's whole life. Never unwinds: the target's panic is caught here.
fn run(me: Thread) {
    super::current::run_as(&me, || live(&me));
}

/// [`run`], while [`current_thread`](crate::current_thread) knows the thread as `me`.
fn live(me: &Thread) {
    let inner = &*me.inner;
    inner.native.store(os::native_id(), Relaxed);
    inner.ident.store(os::current_id(), Relaxed);
    // The OS name, for a thread that was given a name. A "Thread-N" thread keeps the one it
    // inherited, as std's unnamed threads do: one system call less per start.
    if let Some(name) = inner.given_name() {
        os::set_current_name(&name);
    }
    // Transition STARTING or STARTED -> RUNNING: the ids can be read.
    inner.set_state(RUNNING);
    inner.wake_state();

    // SAFETY: only this thread takes the target (see `Inner::target`), after the spawn
    // synchronised with the `Thread::new` that wrote it.
    let target = unsafe { (*inner.target.get()).take() };
    let profile = super::hooks::getprofile();
    let wall = profile.is_some().then(Instant::now);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(trace) = super::hooks::gettrace() {
            trace(me);
        }
        if let Some(p) = &profile {
            p(me, super::hooks::ThreadEvent::Start);
        }
        if let Some(f) = target {
            f();
        }
    }));
    if let Err(payload) = result {
        inner.panicked.store(true, Release);
        super::hooks::report_panic(me, &*payload);
        if inner.keep_payload.load(Relaxed) {
            // SAFETY: only this thread writes the payload, before `FINISHED`.
            unsafe { *inner.payload.get() = Some(payload) };
        } else {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload)));
        }
    }
    if let Some(p) = profile {
        let event = super::hooks::ThreadEvent::Exit {
            wall: wall.map_or(Duration::ZERO, |w| w.elapsed()),
            cpu: os::thread_cpu_time(),
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p(me, event)));
    }
    super::local::thread_exit();
    // Transition RUNNING -> FINISHED (and unlisted): joiners go on to the OS join.
    super::registry::finish(&me.inner);
}

const NO_HANDLE: u32 = 0;
const JOINABLE: u32 = 1;
const JOINING: u32 = 2;
const JOINED: u32 = 3;
/// The state without the `WAITERS` bit.
const STATE: u32 = 3;
const WAITERS: u32 = 4;

/// The OS thread behind a started `Thread`: joined exactly once (see the module docs).
pub(crate) struct OsThread {
    /// The OS handle's state word: `NO_HANDLE`, `JOINABLE`, `JOINING`, `JOINED` + `WAITERS`
    /// (the table and the diagram are in the module docs).
    state: AtomicU32,
    /// Written once by `start()` before `JOINABLE`; taken by the joiner that wins `JOINING`.
    raw: UnsafeCell<Option<RawThread>>,
    /// The fork generation the thread was spawned in (written under the registry lock by the
    /// `start()` that owns the thread, before spawning it).
    generation: AtomicU32,
}

// SAFETY: `raw` follows the hand-off in the module docs: one writer (the owning `start()`)
// before a release transition, one taker after the acquire CAS that claims it, and `Drop`
// (exclusive). `RawThread` is `Send`.
unsafe impl Sync for OsThread {}

impl OsThread {
    pub(crate) const fn new() -> OsThread {
        OsThread {
            state: AtomicU32::new(NO_HANDLE),
            raw: UnsafeCell::new(None),
            generation: AtomicU32::new(0),
        }
    }

    pub(crate) fn set_generation(&self, generation: u32) {
        self.generation.store(generation, Relaxed);
    }

    /// Whether the thread was spawned by this process (not by the parent of a fork).
    fn ours(&self) -> bool {
        self.generation.load(Relaxed) == super::lifecycle::fork_generation()
    }

    /// Stores the spawned thread's handle. Called once, by the `start()` that spawned it.
    #[inline]
    pub(crate) fn set(&self, raw: RawThread) {
        // SAFETY: only the owning `start()` writes, once, while the state is `NO_HANDLE`, so
        // no joiner reads the cell yet (they claim it only from `JOINABLE`).
        unsafe { *self.raw.get() = Some(raw) };
        // Transition NO_HANDLE -> JOINABLE, waking joiners that came early.
        if self.state.swap(JOINABLE, Release) & WAITERS != 0 {
            wake_all(&self.state);
        }
    }

    /// Joins the OS thread, or waits for whoever is joining it. Returns once it has ended.
    /// The caller has seen the thread `FINISHED` and is not that thread.
    pub(crate) fn join(&self) {
        if !self.ours() {
            return; // a thread of the parent process: it does not exist in this fork child
        }
        let mut s = self.state.load(Acquire);
        loop {
            match s & STATE {
                JOINED => return,
                JOINABLE => {
                    // Transition JOINABLE -> JOINING: this caller joins the OS thread.
                    if let Err(now) = self
                        .state
                        .compare_exchange_weak(s, JOINING, Acquire, Acquire)
                    {
                        s = now;
                        continue;
                    }
                    // SAFETY: the CAS above made this caller the only one to touch the cell
                    // until `JOINED`; `set` wrote it before its release of `JOINABLE`.
                    if let Some(raw) = unsafe { (*self.raw.get()).take() } {
                        // Fails only for a thread that is not joinable, which cannot be.
                        let r = raw.join();
                        debug_assert!(r.is_ok(), "joining a thread failed: {r:?}");
                    }
                    // Transition JOINING -> JOINED: later joiners return at once.
                    if self.state.swap(JOINED, Release) & WAITERS != 0 {
                        wake_all(&self.state);
                    }
                    return;
                }
                _ => {
                    // NO_HANDLE or JOINING: sleep until the word moves on.
                    if s & WAITERS == 0 {
                        // Transition + WAITERS: the next move wakes us.
                        if let Err(now) =
                            self.state
                                .compare_exchange_weak(s, s | WAITERS, Relaxed, Acquire)
                        {
                            s = now;
                            continue;
                        }
                    }
                    wait(&self.state, s | WAITERS, None);
                    s = self.state.load(Acquire);
                }
            }
        }
    }
}

impl Drop for OsThread {
    fn drop(&mut self) {
        if let Some(raw) = self.raw.get_mut().take() {
            if self.ours() {
                raw.detach(); // nobody joined: the thread cleans up after itself
            } else {
                // The parent's thread: its handle means nothing in this fork child.
                core::mem::forget(raw);
            }
        }
    }
}
