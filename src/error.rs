//! [`Error`]: every way a threadkit call can fail, with messages that read like Python's.

use std::fmt;

/// Every error a threadkit operation can report. Each variant names the Python exception it
/// stands for, and its `Display` text is CPython's message for that exception (where CPython
/// has one: see each variant).
///
/// The error of the operating system inside [`Error::Os`] is part of the `Display` text, and
/// [`source()`](std::error::Error::source) is `None` for every variant: an error-chain printer
/// (`anyhow`, `eyre`, ...) shows it once, not twice. Match `Error::Os(e)` to reach the
/// [`std::io::Error`] itself.
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
    /// `Lock::release` on an unlocked lock (Python `RuntimeError`): "release unlocked lock".
    NotLocked,
    /// An `RLock` or `Condition` used by a thread that does not hold it (Python
    /// `RuntimeError`): "cannot release un-acquired lock". CPython words it "cannot wait on
    /// un-acquired lock" / "cannot notify on un-acquired lock" for `Condition.wait` /
    /// `Condition.notify`; this one variant keeps the `release` wording for all three.
    NotOwner,
    /// A `BoundedSemaphore` released above its initial value (Python `ValueError`):
    /// "Semaphore released too many times".
    TooManyReleases,
    /// A `Semaphore` release would pass `Semaphore::MAX_VALUE` (Python has no limit, so no
    /// message to copy).
    Overflow,
    /// The `Barrier` is broken, aborted, reset or timed out (Python `BrokenBarrierError`, which
    /// CPython raises with no message: the text here is threadkit's).
    BrokenBarrier,
    /// `Thread::start` called twice (Python `RuntimeError`): "threads can only be started
    /// once".
    AlreadyStarted,
    /// `join()` before `start()` (Python `RuntimeError`): "cannot join thread before it is
    /// started".
    NotStarted,
    /// `join()` of the calling thread (Python `RuntimeError`): "cannot join current thread".
    JoinSelf,
    /// `set_daemon()` on a started thread (Python `RuntimeError`): "cannot set daemon status
    /// of active thread".
    ThreadActive,
    /// `join()` of a thread threadkit did not start (Python `RuntimeError`): "cannot join a
    /// dummy thread".
    DummyThread,
    /// A stack size below the minimum (Python `ValueError`): "size not valid: N bytes".
    InvalidStackSize(usize),
    /// The operating system refused to create a thread (Python `RuntimeError`: "can't start
    /// new thread"). The OS error follows the message in the `Display` text, and is not
    /// repeated as the [`source`](std::error::Error::source).
    Os(std::io::Error),
    /// `Queue::task_done` called more times than items were put (Python `ValueError`):
    /// "task_done() called too many times".
    TooManyTaskDone,
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
            Error::TooManyTaskDone => f.write_str("task_done() called too many times"),
        }
    }
}

/// `source()` is `None` for every variant, [`Error::Os`] included: its OS error is already
/// in the `Display` text (see [`Error`]).
impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Os(e)
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// Each variant's text against CPython 3.13's message for the same error (printed by
    /// CPython itself: `threading.Lock().release()`, `threading.RLock().release()`,
    /// `threading.BoundedSemaphore(1).release()`, `t.start()` twice, `Thread().join()`,
    /// `current_thread().join()`, `main_thread().daemon = True`, the `join()` of a
    /// `_DummyThread`, `threading.stack_size(1000)`; "can't start new thread" is
    /// `_thread.start_joinable_thread`'s).
    #[test]
    fn display_matches_cpython() {
        let cases = [
            (Error::NotLocked, "release unlocked lock"),
            (Error::NotOwner, "cannot release un-acquired lock"),
            (Error::TooManyReleases, "Semaphore released too many times"),
            (Error::AlreadyStarted, "threads can only be started once"),
            (Error::NotStarted, "cannot join thread before it is started"),
            (Error::JoinSelf, "cannot join current thread"),
            (
                Error::ThreadActive,
                "cannot set daemon status of active thread",
            ),
            (Error::DummyThread, "cannot join a dummy thread"),
            (Error::InvalidStackSize(1000), "size not valid: 1000 bytes"),
            (Error::TooManyTaskDone, "task_done() called too many times"),
        ];
        for (e, cpython) in cases {
            assert_eq!(e.to_string(), cpython, "{e:?}");
        }
    }

    /// The variants CPython has no message for: threadkit's own text.
    #[test]
    fn display_without_a_cpython_message() {
        // `BrokenBarrierError()` is raised bare in CPython (its `str` is empty).
        assert_eq!(Error::BrokenBarrier.to_string(), "the barrier is broken");
        // Python's integers do not overflow.
        assert_eq!(
            Error::Overflow.to_string(),
            "Semaphore value would exceed Semaphore::MAX_VALUE"
        );
    }

    /// `Os`: CPython's message, then the OS error, shown once: `source()` is `None`.
    #[test]
    fn os_error_is_shown_once() {
        let io = std::io::Error::from_raw_os_error(11);
        let io_text = io.to_string();
        let e = Error::from(io);
        assert_eq!(e.to_string(), format!("can't start new thread: {io_text}"));
        assert!(std::error::Error::source(&e).is_none());
        // An error-chain printer (Display, then each source) prints the OS error once.
        let mut chain = e.to_string();
        let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = cur {
            chain.push_str(&format!(": {s}"));
            cur = s.source();
        }
        assert_eq!(chain.matches(&io_text).count(), 1, "{chain}");
        assert!(matches!(e, Error::Os(ref inner) if inner.raw_os_error() == Some(11)));
    }

    /// No other variant has a source either.
    #[test]
    fn no_variant_has_a_source() {
        for e in [Error::NotLocked, Error::NotOwner, Error::BrokenBarrier] {
            assert!(std::error::Error::source(&e).is_none());
        }
    }
}
