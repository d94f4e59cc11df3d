//! [`PutError`] and [`GetError`]: Python's `queue.Full`, `queue.Empty` and `queue.ShutDown`,
//! with the item that could not be put handed back inside the error.

use std::fmt;

/// Why a `put` failed; the item comes back inside, so nothing is lost.
///
/// Python raises `queue.Full` or `queue.ShutDown` and the item is simply not in the queue;
/// in Rust the caller gets it back with [`into_inner`](PutError::into_inner).
///
/// ```
/// use threadkit::{PutError, Queue};
/// let q = Queue::with_maxsize(1);
/// q.put_nowait("a").unwrap();
/// let err = q.put_nowait("b").unwrap_err(); // Python: queue.Full
/// assert_eq!(err, PutError::Full("b"));
/// assert_eq!(err.to_string(), "queue is full");
/// assert_eq!(err.into_inner(), "b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutError<T> {
    /// The queue stayed full (`put_nowait`, or a timeout passed). Python: `queue.Full`.
    Full(T),
    /// The queue has been shut down. Python: `queue.ShutDown`.
    ShutDown(T),
}

impl<T> PutError<T> {
    /// The item that could not be put.
    ///
    /// ```
    /// use threadkit::Queue;
    /// let q = Queue::new();
    /// q.shutdown(false);
    /// assert_eq!(q.put(7).unwrap_err().into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(item) | PutError::ShutDown(item) => item,
        }
    }
}

/// Shows the variant, never the item (so it works for every `T`).
impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutError::Full(_) => "Full(..)",
            PutError::ShutDown(_) => "ShutDown(..)",
        })
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutError::Full(_) => "queue is full",
            PutError::ShutDown(_) => "queue is shut down",
        })
    }
}

impl<T> std::error::Error for PutError<T> {}

/// Why a `get` failed. Python: `queue.Empty` or `queue.ShutDown`.
///
/// ```
/// use threadkit::{GetError, Queue};
/// let q: Queue<u8> = Queue::new();
/// assert_eq!(q.get_nowait(), Err(GetError::Empty)); // Python: queue.Empty
/// q.shutdown(false);
/// assert_eq!(q.get(), Err(GetError::ShutDown)); // Python: queue.ShutDown
/// assert_eq!(GetError::ShutDown.to_string(), "queue is shut down");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetError {
    /// The queue stayed empty (`get_nowait`, or a timeout passed). Python: `queue.Empty`.
    Empty,
    /// The queue has been shut down and (for a plain shutdown) drained. Python:
    /// `queue.ShutDown`.
    ShutDown,
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GetError::Empty => "queue is empty",
            GetError::ShutDown => "queue is shut down",
        })
    }
}

impl std::error::Error for GetError {}
