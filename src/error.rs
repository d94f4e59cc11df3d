//! [`Error`]: every way a threadkit call can fail, with messages that read like Python's.

use std::fmt;

/// Every error a threadkit operation can report. Each variant names the Python exception it
/// stands for.
///
/// ```
/// use threadkit::{Error, Lock};
/// let lock = Lock::new();
/// assert!(matches!(lock.release(), Err(Error::NotLocked)));
/// assert_eq!(Error::NotLocked.to_string(), "release unlocked lock");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `Lock::release` on an unlocked lock (Python `RuntimeError`).
    NotLocked,
    /// An `RLock` or `Condition` used by a thread that does not hold it (Python `RuntimeError`).
    NotOwner,
    /// A `BoundedSemaphore` released above its initial value (Python `ValueError`).
    TooManyReleases,
    /// A `Semaphore` release would pass `Semaphore::MAX_VALUE` (Python has no limit).
    Overflow,
    /// The `Barrier` is broken, aborted, reset or timed out (Python `BrokenBarrierError`).
    BrokenBarrier,
    /// `Thread::start` called twice (Python `RuntimeError`).
    AlreadyStarted,
    /// `join()` before `start()` (Python `RuntimeError`).
    NotStarted,
    /// `join()` of the calling thread (Python `RuntimeError`).
    JoinSelf,
    /// `set_daemon()` on a started thread (Python `RuntimeError`).
    ThreadActive,
    /// `join()` of a thread threadkit did not start (Python `RuntimeError`).
    DummyThread,
    /// A stack size below the minimum (Python `ValueError`).
    InvalidStackSize(usize),
    /// The operating system refused (thread creation, ...).
    Os(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotLocked => f.write_str("release unlocked lock"),
            Error::NotOwner => f.write_str("cannot release un-acquired lock"),
            Error::TooManyReleases => f.write_str("Semaphore released too many times"),
            Error::Overflow => f.write_str("Semaphore value would exceed Semaphore::MAX_VALUE"),
            Error::BrokenBarrier => f.write_str("the barrier is broken"),
            Error::AlreadyStarted => f.write_str("threads can only be started once"),
            Error::NotStarted => f.write_str("cannot join thread before it is started"),
            Error::JoinSelf => f.write_str("cannot join current thread"),
            Error::ThreadActive => f.write_str("cannot set daemon status of active thread"),
            Error::DummyThread => f.write_str("cannot join a dummy thread"),
            Error::InvalidStackSize(n) => write!(f, "size not valid: {n} bytes"),
            Error::Os(e) => write!(f, "can't start new thread: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Os(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Os(e)
    }
}
