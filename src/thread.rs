//! [`Thread`]: Python's `threading.Thread` on a raw OS thread, plus the module's stack size.
//!
//! # State word (`Inner::state`)
//!
//! | value      | meaning                                                        |
//! |------------|----------------------------------------------------------------|
//! | `NEW`      | built, not started (or a start that the OS refused)            |
//! | `STARTING` | `start()` won the race and is creating the OS thread           |
//! | `RUNNING`  | the thread has its ids and is registered; `start()` returns    |
//! | `FINISHED` | the target returned or panicked; the thread is unregistered    |
//!
//! ```text
//!  NEW --start() CAS--> STARTING --new thread registered--> RUNNING --target done--> FINISHED
//!   ^                      |
//!   +--- OS refused -------+
//! ```
//!
//! `start()` sleeps on the word while it is `STARTING`; `join()` sleeps on it until `FINISHED`.
//! Dummy and main handles are born `RUNNING`; a dummy becomes `FINISHED` when its thread exits.
//!
//! Memory ordering: the new thread writes its ids, registers, then stores `RUNNING` with
//! release; `start()` reads it with acquire, so the ids are visible when `start()` returns.
//! Likewise everything the thread did (its result, its panic payload, its `Local` values being
//! dropped) happens before its release store of `FINISHED`, which `join()` reads with acquire.

use crate::error::Error;
use crate::registry::rt::AtomicUsize;
use crate::registry::rt::{AtomicBool, AtomicU32, AtomicU64, deadline_after, wait};
use crate::registry::{self, Locked};
use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const NEW: u32 = 0;
pub(crate) const STARTING: u32 = 1;
pub(crate) const RUNNING: u32 = 2;
pub(crate) const FINISHED: u32 = 3;

/// `Inner::stack_size` when no size was given: use the module default.
const STACK_DEFAULT: usize = usize::MAX;

/// Whether the shutdown hook is registered.
static AT_EXIT_SET: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// Started by threadkit.
    Normal,
    /// A foreign thread's "Dummy-N".
    Dummy,
    /// "MainThread".
    Main,
}

type Target = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct Inner {
    pub(crate) state: AtomicU32,
    pub(crate) kind: Kind,
    /// `get_ident()` of the thread, 0 before start.
    pub(crate) ident: AtomicU64,
    /// The OS thread id, 0 before start.
    pub(crate) native: AtomicU64,
    daemon: AtomicBool,
    pub(crate) panicked: AtomicBool,
    /// Requested stack size, or `STACK_DEFAULT`.
    stack_size: AtomicUsize,
    /// Position in the registry vector; read and written under the registry lock only.
    pub(crate) reg_index: AtomicUsize,
    name: Locked<String>,
    /// Set in `new`, taken by the new thread (only the thread whose `start()` won the
    /// `NEW -> STARTING` CAS spawns it, so exactly one thread takes it).
    pub(crate) target: UnsafeCell<Option<Target>>,
    /// Whether the panic payload is kept for a `JoinHandle` (else dropped after the hook).
    pub(crate) keep_payload: AtomicBool,
    /// Written by the thread before `FINISHED`, taken by `JoinHandle::join` after it.
    pub(crate) payload: UnsafeCell<Option<Box<dyn Any + Send>>>,
}

// SAFETY: the two `UnsafeCell`s follow a hand-off protocol: `target` is written before the
// handle is shared and taken by exactly one thread (the spawned one, after the spawn's
// synchronisation); `payload` is written by the thread before its release store of `FINISHED`
// and read only by the unique `JoinHandle` after an acquire load of `FINISHED`. Every other
// field is atomic or lock-guarded. The boxed contents are `Send`.
unsafe impl Sync for Inner {}
// SAFETY: as above; all contents are `Send`.
unsafe impl Send for Inner {}

impl Inner {
    fn new(target: Option<Target>, kind: Kind, name: String, daemon: bool, state: u32) -> Inner {
        Inner {
            state: AtomicU32::new(state),
            kind,
            ident: AtomicU64::new(0),
            native: AtomicU64::new(0),
            daemon: AtomicBool::new(daemon),
            panicked: AtomicBool::new(false),
            stack_size: AtomicUsize::new(STACK_DEFAULT),
            reg_index: AtomicUsize::new(usize::MAX),
            name: Locked::new(name),
            target: UnsafeCell::new(target),
            keep_payload: AtomicBool::new(false),
            payload: UnsafeCell::new(None),
        }
    }

    /// A handle for a thread threadkit did not start (main or dummy), already running.
    pub(crate) fn existing(kind: Kind, name: String) -> Inner {
        Inner::new(None, kind, name, kind == Kind::Dummy, RUNNING)
    }
}

/// A thread of execution, like Python's `threading.Thread`: build it with a target, start it,
/// join it. Cloning gives another handle to the same thread; `==` compares threads.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// let hits = Arc::new(AtomicUsize::new(0));
/// let h = hits.clone();
/// // Python: t = threading.Thread(target=f, name="worker"); t.start(); t.join()
/// let t = threadkit::Thread::new(move || { h.fetch_add(1, Ordering::SeqCst); }).with_name("worker");
/// t.start().unwrap();
/// t.join().unwrap();
/// assert_eq!(hits.load(Ordering::SeqCst), 1);
/// assert!(!t.is_alive());
/// ```
#[derive(Clone)]
pub struct Thread {
    pub(crate) inner: Arc<Inner>,
}

impl PartialEq for Thread {
    fn eq(&self, other: &Thread) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
impl Eq for Thread {}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.inner.state.load(Acquire) {
            NEW | STARTING => "initial",
            RUNNING => "started",
            _ => "stopped",
        };
        f.debug_struct("Thread")
            .field("name", &self.name())
            .field("status", &status)
            .field("daemon", &self.daemon())
            .field("ident", &self.ident())
            .finish()
    }
}

impl Thread {
    pub(crate) fn from_inner(inner: Inner) -> Thread {
        Thread {
            inner: Arc::new(inner),
        }
    }

    /// A thread that will run `target` once started; named "Thread-N", daemon if the creating
    /// thread is. Python: `threading.Thread(target=target)`.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// assert!(t.name().starts_with("Thread-"));
    /// assert_eq!(t.ident(), None);
    /// ```
    pub fn new(target: impl FnOnce() + Send + 'static) -> Thread {
        let daemon = registry::current_daemon();
        let name = registry::new_name("Thread");
        Thread::from_inner(Inner::new(
            Some(Box::new(target)),
            Kind::Normal,
            name,
            daemon,
            NEW,
        ))
    }

    /// Sets the name (builder form of [`set_name`](Thread::set_name)). Python: `name=`.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {}).with_name("io");
    /// assert_eq!(t.name(), "io");
    /// ```
    pub fn with_name(self, name: impl Into<String>) -> Thread {
        self.set_name(name);
        self
    }

    /// Sets the daemon flag before start; no effect on a started thread. Python: `daemon=`.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {}).with_daemon(true);
    /// assert!(t.daemon());
    /// ```
    pub fn with_daemon(self, daemon: bool) -> Thread {
        let _ = self.set_daemon(daemon);
        self
    }

    /// Sets this thread's stack size in bytes (0: the module default of [`stack_size`](crate::stack_size)),
    /// checked by [`start`](Thread::start); no effect on a started thread.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {}).with_stack_size(64 * 1024);
    /// t.start().unwrap();
    /// t.join().unwrap();
    /// ```
    pub fn with_stack_size(self, bytes: usize) -> Thread {
        if self.inner.state.load(Acquire) == NEW {
            let v = if bytes == 0 { STACK_DEFAULT } else { bytes };
            self.inner.stack_size.store(v, Relaxed);
        }
        self
    }

    /// Starts the thread and returns once it runs (has its ids and is registered).
    /// Python: `Thread.start()`.
    ///
    /// Errors: [`Error::AlreadyStarted`] on a second call, [`Error::InvalidStackSize`] for a
    /// stack below 32 KiB, [`Error::Os`] when the OS refuses (then nothing changed and the
    /// thread may be started again).
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// t.start().unwrap();
    /// assert!(matches!(t.start(), Err(threadkit::Error::AlreadyStarted)));
    /// t.join().unwrap();
    /// ```
    pub fn start(&self) -> Result<(), Error> {
        let inner = &self.inner;
        // Transition NEW -> STARTING: this call owns the start.
        if inner.kind != Kind::Normal
            || inner
                .state
                .compare_exchange(NEW, STARTING, Acquire, Acquire)
                .is_err()
        {
            return Err(Error::AlreadyStarted);
        }
        let requested = match inner.stack_size.load(Relaxed) {
            STACK_DEFAULT => crate::stack::stack_size(),
            n => n,
        };
        let size = match crate::stack::round_stack(requested) {
            Ok(s) => s,
            Err(e) => {
                inner.state.store(NEW, Release);
                return Err(e);
            }
        };
        // Miri has no `atexit`; the shutdown rule is tested in a real process instead.
        if !cfg!(miri) && !AT_EXIT_SET.swap(true, AcqRel) {
            threadkit_sys::at_exit(registry::shutdown);
        }
        let me = self.clone();
        match threadkit_sys::spawn(size, Box::new(move || crate::thread_entry::run(me))) {
            Ok(raw) => raw.detach(),
            Err(e) => {
                // The closure (and its handle) were dropped by `spawn`.
                inner.state.store(NEW, Release);
                return Err(Error::Os(e));
            }
        }
        wait_state(&inner.state, |s| s != STARTING, None);
        Ok(())
    }

    /// Waits until the thread finishes. Any number of threads may join, any number of times.
    /// Python: `Thread.join()`.
    ///
    /// Errors: [`Error::NotStarted`], [`Error::JoinSelf`], [`Error::DummyThread`] (main and
    /// foreign threads cannot be joined).
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// assert!(matches!(t.join(), Err(threadkit::Error::NotStarted)));
    /// t.start().unwrap();
    /// t.join().unwrap();
    /// t.join().unwrap();
    /// ```
    pub fn join(&self) -> Result<(), Error> {
        self.join_deadline(None).map(|_| ())
    }

    /// Waits at most `timeout` for the thread to finish: `Ok(true)` if it has. Python:
    /// `t.join(timeout); not t.is_alive()`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = threadkit::Thread::new(|| {});
    /// t.start().unwrap();
    /// assert!(t.join_timeout(Duration::from_secs(10)).unwrap());
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.join_deadline(Some(deadline_after(timeout)))
    }

    /// `deadline`: `None` = no timeout; `Some(None)` = a timeout too large for the clock.
    fn join_deadline(&self, deadline: Option<Option<Instant>>) -> Result<bool, Error> {
        let inner = &self.inner;
        let s = inner.state.load(Acquire);
        if s == NEW || s == STARTING {
            return Err(Error::NotStarted);
        }
        if s != FINISHED && inner.ident.load(Relaxed) == threadkit_sys::current_id() {
            return Err(Error::JoinSelf);
        }
        if inner.kind != Kind::Normal {
            return Err(Error::DummyThread);
        }
        Ok(wait_state(
            &inner.state,
            |s| s == FINISHED,
            deadline.flatten(),
        ))
    }

    /// Whether the thread has started and not finished. Python: `Thread.is_alive()`.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// assert!(!t.is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        self.inner.state.load(Acquire) == RUNNING
    }

    /// The thread's name. Python: `Thread.name`.
    ///
    /// ```
    /// assert_eq!(threadkit::main_thread().name(), "MainThread");
    /// ```
    pub fn name(&self) -> String {
        self.inner.name.with(|n| n.clone())
    }

    /// Renames the thread (the OS name is set once, when the thread starts). Python:
    /// `Thread.name = ...`.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// t.set_name("renamed");
    /// assert_eq!(t.name(), "renamed");
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        let new = name.into();
        let old = self.inner.name.with(|n| core::mem::replace(n, new));
        drop(old);
    }

    /// The thread's [`get_ident`](crate::get_ident) value; `None` before start. Python:
    /// `Thread.ident`.
    ///
    /// ```
    /// assert!(threadkit::current_thread().ident().is_some());
    /// ```
    pub fn ident(&self) -> Option<u64> {
        let _ = self.inner.state.load(Acquire);
        Some(self.inner.ident.load(Relaxed)).filter(|&i| i != 0)
    }

    /// The OS thread id; `None` before start. Python: `Thread.native_id`.
    ///
    /// ```
    /// assert!(threadkit::current_thread().native_id().is_some());
    /// ```
    pub fn native_id(&self) -> Option<u64> {
        let _ = self.inner.state.load(Acquire);
        Some(self.inner.native.load(Relaxed)).filter(|&i| i != 0)
    }

    /// Whether this is a daemon thread (abandoned at exit). Python: `Thread.daemon`.
    ///
    /// ```
    /// assert!(!threadkit::main_thread().daemon());
    /// ```
    pub fn daemon(&self) -> bool {
        self.inner.daemon.load(Relaxed)
    }

    /// Sets the daemon flag; [`Error::ThreadActive`] once started. Python: `Thread.daemon = x`.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// t.set_daemon(true).unwrap();
    /// t.start().unwrap();
    /// assert!(t.set_daemon(false).is_err());
    /// t.join().unwrap();
    /// ```
    pub fn set_daemon(&self, daemon: bool) -> Result<(), Error> {
        if self.inner.kind != Kind::Normal || self.inner.state.load(Acquire) != NEW {
            return Err(Error::ThreadActive);
        }
        self.inner.daemon.store(daemon, Relaxed);
        Ok(())
    }

    /// Whether the target ended with a panic (reported through the excepthook).
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// t.start().unwrap();
    /// t.join().unwrap();
    /// assert!(!t.panicked());
    /// ```
    pub fn panicked(&self) -> bool {
        self.inner.panicked.load(Acquire)
    }

    pub(crate) fn keep_payload(&self) {
        self.inner.keep_payload.store(true, Relaxed);
    }

    /// Takes the panic payload of a finished thread.
    ///
    /// # Safety
    /// The caller is the unique owner of the payload (the `JoinHandle`), and has observed
    /// `FINISHED` with acquire (after a successful `join`).
    pub(crate) unsafe fn take_payload(&self) -> Option<Box<dyn Any + Send>> {
        // SAFETY: per the contract, the thread's write happened before the acquire load of
        // `FINISHED`, and no one else reads or writes the cell any more.
        unsafe { (*self.inner.payload.get()).take() }
    }
}

/// Spin hint shared by every `start()` and `join()` wait (each `Thread` is new, so a hint per
/// thread would never learn): on while thread starts and ends come soon after the wait began.
static STATE_SPUN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Waits until `done` holds for the thread's `state` word, or `deadline` passes (`false`):
/// spins first (`wait::spin`; a thread that does little starts and ends within a few
/// microseconds, less than a futex sleep and wake-up), then sleeps on the word.
fn wait_state(state: &AtomicU32, done: impl Fn(u32) -> bool, deadline: Option<Instant>) -> bool {
    let long = STATE_SPUN.load(Relaxed);
    let spun = match crate::wait::spin(long, deadline, || done(state.load(Acquire))) {
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
            let short = spun.was_short();
            if short != long {
                STATE_SPUN.store(short, Relaxed);
            }
            return true;
        }
        if !wait(state, s, deadline) {
            return done(state.load(Acquire));
        }
    }
}
