//! [`Thread`]: Python's `threading.Thread` on a raw OS thread, plus the module's stack size.
//!
//! The handles' shared state (`Inner`: this state word, its sleeper count, the ids, the name
//! slot) and the wait on the word (`wait_state`) are in `inner.rs`.
//!
//! # State word (`Inner::state`)
//!
//! | value      | meaning                                                          |
//! |------------|------------------------------------------------------------------|
//! | `NEW`      | built, not started (or a start that the OS refused)              |
//! | `STARTING` | `start()` won the race, listed the thread, creates the OS thread |
//! | `STARTED`  | the OS thread exists (`start()` returns); it has not run yet     |
//! | `RUNNING`  | the thread has its ids and runs                                   |
//! | `FINISHED` | the target returned or panicked; the thread is unlisted          |
//!
//! ```text
//!  NEW --start(): CAS + listed--> STARTING --OS thread created--> STARTED
//!   ^                                |    \                           | has its ids
//!   +------ OS refused: unlisted ----+     +---- has its ids ----> RUNNING
//!                                                                     | target done
//!                                                      FINISHED + unlisted
//! ```
//!
//! `start()` (in `start.rs`) returns as soon as the OS has the thread (`STARTING -> STARTED`, a CAS that
//! fails, harmlessly, if the thread itself got to `RUNNING` or further first): it does not
//! wait for the new thread to be scheduled, which would cost a sleep and a wake-up per start.
//! The thread is listed, alive and joinable from then on, as after CPython's `start()`; only
//! its ids are written by the thread itself, so [`Thread::ident`] and [`Thread::native_id`]
//! of a `STARTED` thread wait (briefly: it is about to run) until it is `RUNNING`, and return
//! exactly what CPython's would after `start()`. `join()` joins the OS thread
//! (`Inner::os`, whose own state word is described in `entry.rs`), which ends after
//! storing `FINISHED`, so that `join()` returns after the thread's `thread_local!` destructors
//! ran, as std's `JoinHandle::join` and CPython 3.13 do; `join_timeout()` sleeps on the word
//! until `FINISHED` (or the deadline), then joins the OS thread. Dummy and main handles are born
//! `RUNNING`; a dummy becomes `FINISHED` when its thread exits. In a fork child, every thread
//! but the caller is made `FINISHED` (see `lifecycle/fork.rs`).
//!
//! Memory ordering: the new thread writes its ids, then stores `RUNNING` with release;
//! `ident()` and `native_id()` read the word with acquire before the ids. Likewise
//! everything the thread did (its result, its panic payload, its `Local` values being dropped)
//! happens before its release store of `FINISHED`, which `join()` reads with acquire; the OS
//! join then orders everything up to the thread's very end. Those stores are `SeqCst` (see
//! `Inner::set_state`): a sleeper on the word is counted in `Inner::state_sleepers`, and a
//! transition makes the wake-up system call only when that count is not 0.
//!
//! Names are kept under one internal lock (`NAME_LOCK`) rather than one per thread, so that the
//! fork handlers can take it; a default name ("Thread-N") is made the first time it is needed
//! (by [`Thread::name`], or by the thread as it starts), so that, as in Python,
//! `Thread::new(f).with_name("a")` takes no number.

use super::current;
use super::inner::{Inner, Kind, wait_state};
use crate::error::Error;
use crate::rt::os::{self, deadline_after};
use core::fmt;
use core::sync::atomic::Ordering::{Acquire, Relaxed};
use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const NEW: u32 = 0;
pub(crate) const STARTING: u32 = 1;
pub(crate) const RUNNING: u32 = 2;
pub(crate) const FINISHED: u32 = 3;
pub(crate) const STARTED: u32 = 4;

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
            STARTED | RUNNING => "started",
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
        Thread::from_arc(Arc::new(inner))
    }

    /// The handle of a thread whose shared state is `inner` (as the registry holds it).
    pub(crate) fn from_arc(inner: Arc<Inner>) -> Thread {
        Thread { inner }
    }

    /// A thread that will run `target` once started; named "Thread-N", daemon if the creating
    /// thread is. Python: `threading.Thread(target=target)`.
    ///
    /// The number N is taken from the shared counter the first time the name is needed (by
    /// [`name`](Thread::name), or when the thread starts), so a thread given a name with
    /// [`with_name`](Thread::with_name) takes none, as in Python.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// assert!(t.name().starts_with("Thread-"));
    /// assert_eq!(t.ident(), None);
    /// ```
    pub fn new(target: impl FnOnce() + Send + 'static) -> Thread {
        let daemon = current::current_daemon();
        Thread::from_inner(Inner::new(
            Some(Box::new(target)),
            Kind::Normal,
            None,
            daemon,
            NEW,
        ))
    }

    /// Sets the name (builder form of [`set_name`](Thread::set_name)). Python: `name=`; as
    /// there (`name or _newname()`), an empty name gives the automatic "Thread-N".
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {}).with_name("io");
    /// assert_eq!(t.name(), "io");
    /// assert!(threadkit::Thread::new(|| {}).with_name("").name().starts_with("Thread-"));
    /// ```
    pub fn with_name(self, name: impl Into<String>) -> Thread {
        let name = name.into();
        if !name.is_empty() {
            self.set_name(name);
        }
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
            // 0 is `STACK_DEFAULT`: the module default, as documented.
            self.inner.stack_size.store(bytes, Relaxed);
        }
        self
    }

    /// Waits until the thread finishes. Any number of threads may join, any number of times.
    /// Python: `Thread.join()`.
    ///
    /// Errors: [`Error::NotStarted`], [`Error::JoinSelf`], [`Error::DummyThread`] (foreign
    /// threads cannot be joined). The main thread can be joined from other threads: as in
    /// CPython, the join returns once `main` has returned and the shutdown has begun (before
    /// the non-daemon threads are joined).
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
    /// The timeout bounds the wait for the thread's target (and its `Local` values) to end.
    /// Once it has, the OS thread is joined as by [`join`](Thread::join), without a timeout:
    /// that waits only for the thread's own teardown (its `thread_local!` destructors), which
    /// has already begun. CPython 3.13 does the same.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = threadkit::Thread::new(|| {});
    /// t.start().unwrap();
    /// assert!(t.join_timeout(Duration::from_secs(10)).unwrap());
    /// ```
    #[must_use = "false means the wait timed out"]
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.join_deadline(Some(deadline_after(timeout)))
    }

    /// Whether the thread has started and not finished. Python: `Thread.is_alive()`.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// assert!(!t.is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        matches!(self.inner.state.load(Acquire), STARTED | RUNNING)
    }

    /// The thread's name. Python: `Thread.name`.
    ///
    /// ```
    /// assert_eq!(threadkit::main_thread().name(), "MainThread");
    /// ```
    pub fn name(&self) -> String {
        self.inner.name_now().with_str(str::to_owned)
    }

    /// Renames the thread. The OS thread name (seen by `ps`, `top` and debuggers) is set from
    /// a given name when the thread begins to run (before its ids can be read), and again when
    /// a running thread renames itself, as CPython 3.14 does; renaming another running thread
    /// changes only this name (a rename that comes after `start()` but before the thread ran
    /// is the OS name it takes). A thread left with its automatic "Thread-N" name keeps the OS
    /// name it inherited from its creator, as std's unnamed threads and CPython 3.13's do
    /// (naming it would cost a system call per start). Python: `Thread.name = ...`.
    ///
    /// ```
    /// let t = threadkit::Thread::new(|| {});
    /// t.set_name("renamed");
    /// assert_eq!(t.name(), "renamed");
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        let new = name.into();
        // The thread itself: a running thread's ident is its own while it runs.
        if self.inner.state.load(Acquire) == RUNNING
            && self.inner.ident.load(Relaxed) == os::current_id()
        {
            os::set_current_name(&new);
        }
        self.inner.store_name(new);
    }

    /// The thread's [`get_ident`](crate::get_ident) value; `None` before start. Python:
    /// `Thread.ident`.
    ///
    /// ```
    /// assert!(threadkit::current_thread().ident().is_some());
    /// ```
    pub fn ident(&self) -> Option<u64> {
        self.await_ids();
        Some(self.inner.ident.load(Relaxed)).filter(|&i| i != 0)
    }

    /// The OS thread id; `None` before start. Python: `Thread.native_id`.
    ///
    /// ```
    /// assert!(threadkit::current_thread().native_id().is_some());
    /// ```
    pub fn native_id(&self) -> Option<u64> {
        self.await_ids();
        Some(self.inner.native.load(Relaxed)).filter(|&i| i != 0)
    }

    /// A `STARTED` thread has not written its ids yet: wait until it has (it is about to run).
    /// Then the ids are visible (the acquire load pairs with the thread's release of `RUNNING`).
    #[inline]
    fn await_ids(&self) {
        if self.inner.state.load(Acquire) == STARTED {
            wait_state(&self.inner, |s| s != STARTED, None);
        }
    }

    /// Whether this is a daemon thread (abandoned at exit). Python: `Thread.daemon`.
    ///
    /// ```
    /// assert!(!threadkit::main_thread().daemon());
    /// ```
    pub fn daemon(&self) -> bool {
        self.inner.is_daemon()
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
        if self.inner.kind() != Kind::Normal || self.inner.state.load(Acquire) != NEW {
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
