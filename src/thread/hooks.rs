//! Thread hooks: `settrace`/`gettrace`, `setprofile`/`getprofile` and `set_excepthook`, the
//! process-wide functions Python's `threading` module calls around every thread's target.
//!
//! # State
//!
//! | slot        | type                    | set by           | read by                         |
//! |-------------|-------------------------|------------------|---------------------------------|
//! | `TRACE`     | `Option<TraceHook>`     | [`settrace`]     | each new thread, before target  |
//! | `PROFILE`   | `Option<ProfileHook>`   | [`setprofile`]   | each new thread, start and exit |
//! | `EXCEPT`    | `Option<ExceptHook>`    | [`set_excepthook`] | a thread whose target panicked |
//!
//! Each slot is an `Arc` behind the thread layer's small lock: a reader clones the `Arc` with
//! the lock held and calls it after releasing the lock, so a hook may call any threadkit
//! function (including the setters) without deadlock. A flag per slot lets a thread skip the
//! lock entirely when no hook was ever set (the common case). The slots' locks are among the
//! internal locks that the fork handlers take and, in a fork child, reset (see
//! `lifecycle/fork.rs`).

use super::Thread;
use super::lifecycle::{InternalLock, Locked};
use crate::rt::os::AtomicBool;
use core::sync::atomic::Ordering::{Acquire, Release};
use std::any::Any;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// A function run in every new thread before its target. Python: `threading.settrace(func)`.
pub type TraceHook = Arc<dyn Fn(&Thread) + Send + Sync>;
/// A function run at the start and at the exit of every new thread. Python:
/// `threading.setprofile(func)`.
pub type ProfileHook = Arc<dyn Fn(&Thread, ThreadEvent) + Send + Sync>;
/// A function called when a thread's target panics. Python: `threading.excepthook`.
pub type ExceptHook = Arc<dyn Fn(&ExceptHookArgs<'_>) + Send + Sync>;

/// What a [`ProfileHook`] is told about a thread.
///
/// ```
/// use threadkit::ThreadEvent;
/// let e = ThreadEvent::Exit { wall: std::time::Duration::ZERO, cpu: std::time::Duration::ZERO };
/// assert_ne!(e, ThreadEvent::Start);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadEvent {
    /// The thread is about to run its target.
    Start,
    /// The target has returned (or panicked).
    Exit {
        /// Wall-clock time since the target started.
        wall: Duration,
        /// CPU time the thread consumed, from the OS.
        cpu: Duration,
    },
}

/// What an [`ExceptHook`] receives: the thread and the panic payload. Python:
/// `threading.ExceptHookArgs`.
///
/// ```
/// let t = threadkit::current_thread();
/// let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
/// let args = threadkit::ExceptHookArgs { thread: &t, payload: &*payload };
/// assert_eq!(args.message(), Some("boom"));
/// ```
#[derive(Debug)]
pub struct ExceptHookArgs<'a> {
    /// The thread whose target panicked.
    pub thread: &'a Thread,
    /// The panic payload (`&str` or `String` for `panic!` with a message).
    pub payload: &'a (dyn Any + Send),
}

impl ExceptHookArgs<'_> {
    /// The panic message, if the payload is text.
    ///
    /// ```
    /// let t = threadkit::current_thread();
    /// let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("bad"));
    /// assert_eq!(threadkit::ExceptHookArgs { thread: &t, payload: &*payload }.message(), Some("bad"));
    /// ```
    pub fn message(&self) -> Option<&str> {
        if let Some(s) = self.payload.downcast_ref::<&'static str>() {
            Some(s)
        } else {
            self.payload.downcast_ref::<String>().map(String::as_str)
        }
    }
}

struct Slot<H> {
    ever_set: AtomicBool,
    hook: Locked<Option<H>>,
}

impl<H: Clone> Slot<H> {
    const fn new() -> Self {
        Slot {
            ever_set: AtomicBool::new(false),
            hook: Locked::new(None),
        }
    }
    fn set(&self, hook: Option<H>) {
        self.ever_set.store(true, Release);
        let old = self.hook.with(|h| core::mem::replace(h, hook));
        drop(old); // outside the lock: dropping a hook may run user code
    }
    #[inline]
    fn get(&self) -> Option<H> {
        if !self.ever_set.load(Acquire) {
            return None;
        }
        self.hook.with(|h| h.clone())
    }
}

static TRACE: Slot<TraceHook> = Slot::new();
static PROFILE: Slot<ProfileHook> = Slot::new();
static EXCEPT: Slot<ExceptHook> = Slot::new();

/// The slots' locks, for the fork handlers (in the order they take them).
pub(crate) fn fork_locks() -> [&'static InternalLock; 3] {
    [TRACE.hook.lock(), PROFILE.hook.lock(), EXCEPT.hook.lock()]
}

/// Sets (or with `None` clears) the hook run in every thread started afterwards, before its
/// target. Python: `threading.settrace(func)`.
///
/// ```
/// use std::sync::Arc;
/// threadkit::settrace(Some(Arc::new(|t: &threadkit::Thread| { let _ = t.name(); })));
/// assert!(threadkit::gettrace().is_some());
/// threadkit::settrace(None);
/// ```
pub fn settrace(hook: Option<TraceHook>) {
    TRACE.set(hook)
}

/// The current trace hook. Python: `threading.gettrace()`.
///
/// ```
/// let _ = threadkit::gettrace();
/// ```
pub fn gettrace() -> Option<TraceHook> {
    TRACE.get()
}

/// Sets (or clears) the hook told [`ThreadEvent::Start`] and [`ThreadEvent::Exit`] by every
/// thread started afterwards. Python: `threading.setprofile(func)`.
///
/// ```
/// use std::sync::Arc;
/// threadkit::setprofile(Some(Arc::new(|_: &threadkit::Thread, _e: threadkit::ThreadEvent| {})));
/// assert!(threadkit::getprofile().is_some());
/// threadkit::setprofile(None);
/// ```
pub fn setprofile(hook: Option<ProfileHook>) {
    PROFILE.set(hook)
}

/// The current profile hook. Python: `threading.getprofile()`.
///
/// ```
/// let _ = threadkit::getprofile();
/// ```
pub fn getprofile() -> Option<ProfileHook> {
    PROFILE.get()
}

/// Replaces the function told about a thread whose target panicked; `None` restores the
/// default, which prints "Exception in thread NAME:" and the message to stderr. Python:
/// `threading.excepthook = func`.
///
/// ```
/// use std::sync::Arc;
/// threadkit::set_excepthook(Some(Arc::new(|a: &threadkit::ExceptHookArgs<'_>| {
///     eprintln!("{} failed: {:?}", a.thread.name(), a.message());
/// })));
/// threadkit::set_excepthook(None);
/// ```
pub fn set_excepthook(hook: Option<ExceptHook>) {
    EXCEPT.set(hook)
}

/// Python's default `threading.excepthook`.
fn default_excepthook(args: &ExceptHookArgs<'_>) {
    let msg = args.message().unwrap_or("Box<dyn Any>");
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "Exception in thread {}:\n{msg}", args.thread.name());
}

/// Reports a target's panic through the hook. A panicking hook is reported like Python's
/// "Exception in threading.excepthook" and otherwise ignored.
pub(crate) fn report_panic(thread: &Thread, payload: &(dyn Any + Send)) {
    let args = ExceptHookArgs { thread, payload };
    let hook = EXCEPT.get();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &hook {
        Some(h) => h(&args),
        None => default_excepthook(&args),
    }));
    if let Err(p) = r {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "Exception in threadkit excepthook:");
        drop(err);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(p)));
    }
}
