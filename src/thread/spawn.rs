//! [`spawn`] and [`JoinHandle`]: the shape of std's `thread::spawn`, on a threadkit [`Thread`].
//!
//! The value travels through a one-shot cell: the thread writes it before its release store
//! of `FINISHED`; the unique `JoinHandle` reads it after `join` observed `FINISHED` with
//! acquire. A panic's payload travels the same way, through the thread's own payload cell.

use super::Thread;
use crate::error::Error;
use core::cell::UnsafeCell;
use core::fmt;
use std::sync::Arc;

struct ResultCell<T>(UnsafeCell<Option<T>>);

// SAFETY: the cell is written once by the spawned thread before it finishes and read once by
// the `JoinHandle` after joining (see the module docs); `T: Send` lets the value cross.
unsafe impl<T: Send> Sync for ResultCell<T> {}

/// An owned permission to join a thread started by [`spawn`] and get its result.
///
/// ```
/// let h = threadkit::spawn(|| 6 * 7);
/// assert!(h.thread().name().starts_with("Thread-"));
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    thread: Thread,
    result: Arc<ResultCell<T>>,
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
        if let Err(e) = self.thread.join() {
            // Only reachable by joining a handle from inside its own thread.
            return Err(Box::new(e));
        }
        // SAFETY: `join` returned Ok, so `FINISHED` was observed with acquire; this handle is
        // the unique reader of the payload and of the result cell.
        if let Some(p) = unsafe { self.thread.take_payload() } {
            return Err(p);
        }
        // SAFETY: as above: the thread's write happened before, no one else touches the cell.
        match unsafe { (*self.result.0.get()).take() } {
            Some(v) => Ok(v),
            None => Err(Box::new("thread ended without a result")),
        }
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
/// `thread::spawn`.
///
/// # Panics
/// If the OS cannot start a thread (use [`try_spawn`] to get the error as a value).
///
/// ```
/// let h = threadkit::spawn(|| "done");
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
    let result = Arc::new(ResultCell(UnsafeCell::new(None)));
    let cell = result.clone();
    let thread = Thread::new(move || {
        let v = f();
        // SAFETY: this thread is the only writer, before it finishes (see the module docs).
        unsafe { *cell.0.get() = Some(v) };
    });
    thread.keep_payload();
    thread.start()?;
    Ok(JoinHandle { thread, result })
}
