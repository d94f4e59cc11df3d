//! [`spawn`] and [`JoinHandle`]: the shape of std's `thread::spawn`, on a threadkit [`Thread`].
//!
//! The value travels through a one-shot cell: the thread writes it before its release store
//! of `FINISHED`; the unique `JoinHandle` reads it after `join` observed `FINISHED` with
//! acquire. A panic's payload travels the same way, through the thread's own payload cell.

use super::inner::{Inner, Kind};
use super::{NEW, STARTING, Thread};
use crate::error::Error;
use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::Arc;

pub(super) struct ResultCell<T>(UnsafeCell<Option<T>>);

// SAFETY: the cell is written once by the spawned thread before it finishes and read once by
// the `JoinHandle` after joining (see the module docs); `T: Send` lets the value cross.
unsafe impl<T: Send> Sync for ResultCell<T> {}

/// A thread (built, not started) whose target stores `f`'s value in the returned cell; its
/// panic payload is kept for the handle.
///
/// # Safety
/// Unless `'a` is `'static`, the caller makes sure the target is gone before `'a` ends: the
/// thread is joined (its target ran or was dropped by then), or, if it never started, the
/// target is dropped by [`discard_target`].
pub(super) unsafe fn packaged<'a, T: Send + 'a>(
    f: impl FnOnce() -> T + Send + 'a,
    daemon: bool,
) -> (Thread, Arc<ResultCell<T>>) {
    let result = Arc::new(ResultCell(UnsafeCell::new(None)));
    let cell = result.clone();
    let target: Box<dyn FnOnce() + Send + 'a> = Box::new(move || {
        let v = f();
        // SAFETY: this thread is the only writer, before it finishes (see the module docs).
        unsafe { *cell.0.get() = Some(v) };
    });
    // SAFETY: only the lifetime changes (same layout); per the contract the box is consumed
    // or dropped before `'a` ends, as std's `thread::scope` does with its closures.
    let target: Box<dyn FnOnce() + Send + 'static> = unsafe { core::mem::transmute(target) };
    let thread = Thread::from_inner(Inner::new(Some(target), Kind::Normal, None, daemon, NEW));
    thread.keep_payload();
    (thread, result)
}

/// Drops the target of a thread whose start failed (its closure may borrow from a scope that
/// is about to end). Nothing if someone else has started it meanwhile.
pub(super) fn discard_target(thread: &Thread) {
    let inner = &*thread.inner;
    // Transition NEW -> STARTING: claims the thread, so no `start()` can take the target now.
    if inner
        .state
        .compare_exchange(NEW, STARTING, Acquire, Relaxed)
        .is_ok()
    {
        // SAFETY: the claim above excludes the only other reader (the started thread).
        let target = unsafe { (*inner.target.get()).take() };
        // Transition STARTING -> NEW: as a refused start leaves it.
        inner.state.store(NEW, Release);
        drop(target);
    }
}

/// Joins `thread` and returns the value its packaged target stored (see [`packaged`]).
pub(super) fn join_packet<T>(thread: &Thread, result: &ResultCell<T>) -> std::thread::Result<T> {
    if let Err(e) = thread.join() {
        // Only reachable by joining a handle from inside its own thread.
        return Err(Box::new(e));
    }
    // SAFETY: `join` returned Ok, so `FINISHED` was observed with acquire; the caller's
    // handle is the unique reader of the payload and of the result cell.
    if let Some(p) = unsafe { thread.take_payload() } {
        return Err(p);
    }
    // SAFETY: as above: the thread's write happened before, no one else touches the cell.
    match unsafe { (*result.0.get()).take() } {
        Some(v) => Ok(v),
        None => Err(Box::new("thread ended without a result")),
    }
}

/// An owned permission to join a thread started by [`spawn`] and get its result.
///
/// ```
/// let h = threadkit::spawn(|| 6 * 7);
/// assert!(h.thread().name().starts_with("Thread-"));
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    pub(super) thread: Thread,
    pub(super) result: Arc<ResultCell<T>>,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("thread", &self.thread)
            .finish()
    }
}

impl<T> JoinHandle<T> {
    /// The thread.
    ///
    /// ```
    /// let h = threadkit::spawn(|| ());
    /// let t = h.thread().clone();
    /// h.join().unwrap();
    /// assert!(!t.is_alive());
    /// ```
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Waits for the thread and returns its value, or the payload of its panic (which was
    /// also reported through the excepthook). As std's `JoinHandle::join`, it returns once the
    /// OS thread has ended, its `thread_local!` destructors included (see [`Thread::join`]).
    ///
    /// ```
    /// let h = threadkit::spawn(|| -> u8 { panic!("oops") });
    /// assert!(h.join().is_err());
    /// ```
    pub fn join(self) -> std::thread::Result<T> {
        join_packet(&self.thread, &self.result)
    }

    /// Whether the thread has finished.
    ///
    /// ```
    /// let h = threadkit::spawn(|| ());
    /// let t = h.thread().clone();
    /// h.join().unwrap();
    /// assert!(!t.is_alive());
    /// ```
    pub fn is_finished(&self) -> bool {
        !self.thread.is_alive()
    }
}

/// Starts a thread running `f` and returns a handle to join it for its result, like std's
/// `thread::spawn`. The thread is a daemon thread (std's exit rule: it does not keep the
/// process alive once `main` returns); [`Builder::daemon`](crate::Builder::daemon)`(false)`
/// makes one that does.
///
/// # Panics
/// If the OS cannot start a thread (use [`try_spawn`] or [`Builder`](crate::Builder) to get
/// the error as a value).
///
/// ```
/// let h = threadkit::spawn(|| "done");
/// assert!(h.thread().daemon());
/// assert_eq!(h.join().unwrap(), "done");
/// ```
pub fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    match try_spawn(f) {
        Ok(h) => h,
        Err(e) => panic!("failed to spawn thread: {e}"),
    }
}

/// [`spawn`] that returns the OS's refusal as an error instead of panicking.
///
/// ```
/// let h = threadkit::try_spawn(|| 1).unwrap();
/// assert_eq!(h.join().unwrap(), 1);
/// ```
pub fn try_spawn<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, Error> {
    super::Builder::new().spawn(f)
}
