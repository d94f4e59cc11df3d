//! [`Timer`]: a [`Thread`] that runs a function after an interval unless cancelled. Python's
//! `threading.Timer`.
//!
//! # State word (`word`)
//!
//! | value       | meaning                                       |
//! |-------------|-----------------------------------------------|
//! | `WAITING`   | the interval is running (or not started yet)  |
//! | `CANCELLED` | `cancel()` won: the function will never run   |
//! | `FIRED`     | the interval passed: the function runs/ran    |
//!
//! ```text
//!  WAITING --cancel() CAS--> CANCELLED      (wakes the sleeping thread)
//!  WAITING --deadline passed, thread CAS--> FIRED --> function()
//! ```
//!
//! The two CASes decide the race between `cancel` and the deadline: exactly one wins.
//! Memory ordering: `cancel` needs no data hand-off, so relaxed would do; the CASes use
//! acquire/release so that a cancel that returns after `FIRED` was seen is ordered after it.

use super::Thread;
use crate::error::Error;
use crate::rt::os::{AtomicU32, deadline_after, wait, wake_all};
use core::fmt;
use core::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::Arc;
use std::time::Duration;

const WAITING: u32 = 0;
const CANCELLED: u32 = 1;
const FIRED: u32 = 2;

/// A thread that runs `function` once `interval` has passed, unless [`cancel`](Timer::cancel)
/// is called first. Python: `threading.Timer(interval, function)`.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// let t = threadkit::Timer::new(Duration::from_millis(10), move || r.store(true, Ordering::SeqCst));
/// t.start().unwrap();
/// t.thread().join().unwrap();
/// assert!(ran.load(Ordering::SeqCst));
/// ```
pub struct Timer {
    thread: Thread,
    /// `WAITING -> CANCELLED` or `WAITING -> FIRED` (see the module docs).
    word: Arc<AtomicU32>,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("thread", &self.thread)
            .field("state", &self.word.load(Acquire))
            .finish()
    }
}

impl Timer {
    /// A timer (not started) for `function` after `interval`.
    ///
    /// ```
    /// let t = threadkit::Timer::new(std::time::Duration::from_secs(1), || {});
    /// assert!(!t.thread().is_alive());
    /// ```
    pub fn new(interval: Duration, function: impl FnOnce() + Send + 'static) -> Timer {
        let word = Arc::new(AtomicU32::new(WAITING));
        let w = word.clone();
        let thread = Thread::new(move || {
            let deadline = deadline_after(interval);
            while w.load(Acquire) == WAITING {
                if !wait(&w, WAITING, deadline) {
                    break; // the deadline passed
                }
            }
            // Transition WAITING -> FIRED: the deadline beat any cancel.
            if w.compare_exchange(WAITING, FIRED, AcqRel, Acquire).is_ok() {
                function();
            }
        });
        Timer { thread, word }
    }

    /// Starts the timer's thread. Python: `Timer.start()`.
    ///
    /// ```
    /// let t = threadkit::Timer::new(std::time::Duration::ZERO, || {});
    /// t.start().unwrap();
    /// t.thread().join().unwrap();
    /// ```
    pub fn start(&self) -> Result<(), Error> {
        self.thread.start()
    }

    /// Stops the timer if the function has not started; the waiting thread wakes and ends at
    /// once. Harmless before start and after the function ran. Python: `Timer.cancel()`.
    ///
    /// ```
    /// let t = threadkit::Timer::new(std::time::Duration::from_secs(3600), || unreachable!());
    /// t.start().unwrap();
    /// t.cancel();
    /// t.thread().join().unwrap();
    /// ```
    pub fn cancel(&self) {
        // Transition WAITING -> CANCELLED: the function will never run.
        if self
            .word
            .compare_exchange(WAITING, CANCELLED, AcqRel, Acquire)
            .is_ok()
        {
            wake_all(&*self.word);
        }
    }

    /// The timer's thread: join it, name it, make it a daemon... through this. Its `join`
    /// is [`Thread::join`]: it returns once the OS thread has ended.
    ///
    /// ```
    /// let t = threadkit::Timer::new(std::time::Duration::ZERO, || {});
    /// t.thread().set_daemon(true).unwrap();
    /// ```
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Waits until the timer's thread has finished (the function ran, or the timer was
    /// cancelled). Python: `Timer.join()`. Errors as [`Thread::join`] (`NotStarted`).
    ///
    /// ```
    /// let t = threadkit::Timer::new(std::time::Duration::from_millis(1), || {});
    /// t.start().unwrap();
    /// t.join().unwrap();
    /// assert!(!t.is_alive());
    /// ```
    pub fn join(&self) -> Result<(), Error> {
        self.thread.join()
    }

    /// Whether the timer's thread has started and not finished. Python: `Timer.is_alive()`.
    ///
    /// ```
    /// let t = threadkit::Timer::new(std::time::Duration::from_secs(3600), || {});
    /// assert!(!t.is_alive());
    /// t.start().unwrap();
    /// assert!(t.is_alive());
    /// t.cancel();
    /// t.join().unwrap();
    /// ```
    pub fn is_alive(&self) -> bool {
        self.thread.is_alive()
    }
}
