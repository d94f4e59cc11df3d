//! [`SimpleQueue`]: Python's `queue.SimpleQueue`, an unbounded FIFO without task tracking or
//! shutdown, on the same engine as an unbounded [`Queue`](super::Queue) (the lock-free list),
//! whose task count it never reads and whose shutdown it never calls.

use super::block::Block;
use super::error::GetError;
use super::fifo::FifoEngine;
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

/// Python's `queue.SimpleQueue`: unbounded, first in, first out; `put` never blocks and never
/// fails, and there is no `task_done`/`join`/`shutdown`.
///
/// ```
/// use std::sync::Arc;
/// let q = Arc::new(threadkit::SimpleQueue::new()); // Python: queue.SimpleQueue()
/// let q2 = q.clone();
/// let t = threadkit::spawn(move || q2.get().unwrap() * 2);
/// q.put(21);
/// assert_eq!(t.join().unwrap(), 42);
/// ```
pub struct SimpleQueue<T> {
    e: FifoEngine<T>,
}

impl<T> SimpleQueue<T> {
    /// An empty queue. Python: `queue.SimpleQueue()`.
    ///
    /// ```
    /// let q = threadkit::SimpleQueue::<u8>::new();
    /// assert!(q.empty());
    /// ```
    pub fn new() -> Self {
        SimpleQueue {
            e: FifoEngine::new(0, false),
        }
    }

    /// Puts `item`; never blocks, never fails. Python: `q.put(item)`.
    ///
    /// ```
    /// let q = threadkit::SimpleQueue::new();
    /// q.put("x");
    /// assert_eq!(q.qsize(), 1);
    /// ```
    #[inline]
    pub fn put(&self, item: T) {
        if self.e.put(item, Block::No).is_err() {
            // Unbounded and never shut down: `put` cannot fail.
            unreachable!("SimpleQueue::put failed");
        }
    }

    /// Takes the next item, blocking while the queue is empty; never `Err`. Python: `q.get()`.
    ///
    /// ```
    /// let q = threadkit::SimpleQueue::new();
    /// q.put(1);
    /// assert_eq!(q.get(), Ok(1));
    /// ```
    #[inline]
    pub fn get(&self) -> Result<T, GetError> {
        self.e.get(Block::Forever)
    }

    /// Takes the next item, blocking for at most `timeout`: [`GetError::Empty`] if none came.
    /// Zero behaves like [`get_nowait`](Self::get_nowait). Python: `q.get(timeout=t)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = threadkit::SimpleQueue::<u8>::new();
    /// assert_eq!(q.get_timeout(Duration::from_millis(1)), Err(threadkit::GetError::Empty));
    /// ```
    #[inline]
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.e.get(Block::timeout(timeout))
    }

    /// Takes the next item, blocking until `deadline` at the latest.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let q = threadkit::SimpleQueue::<u8>::new();
    /// assert!(q.get_until(Instant::now() + Duration::from_millis(1)).is_err());
    /// ```
    #[inline]
    pub fn get_until(&self, deadline: Instant) -> Result<T, GetError> {
        self.e.get(Block::Until(deadline))
    }

    /// Takes the next item only if one is there now. Python: `q.get_nowait()`.
    ///
    /// ```
    /// let q = threadkit::SimpleQueue::<u8>::new();
    /// assert_eq!(q.get_nowait(), Err(threadkit::GetError::Empty));
    /// ```
    #[inline]
    pub fn get_nowait(&self) -> Result<T, GetError> {
        self.e.get(Block::No)
    }

    /// How many items are in the queue (a snapshot). O(1). Python: `q.qsize()`.
    ///
    /// ```
    /// let q = threadkit::SimpleQueue::new();
    /// q.put(());
    /// assert_eq!(q.qsize(), 1);
    /// ```
    #[inline]
    pub fn qsize(&self) -> usize {
        self.e.qsize()
    }

    /// Whether the queue holds no item (a snapshot). Python: `q.empty()`.
    ///
    /// ```
    /// assert!(threadkit::SimpleQueue::<u8>::new().empty());
    /// ```
    #[inline]
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }
}

impl<T> Default for SimpleQueue<T> {
    /// An empty queue.
    ///
    /// ```
    /// let q: threadkit::SimpleQueue<u8> = Default::default();
    /// assert!(q.empty());
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

/// Shows the size, never the items.
impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleQueue")
            .field("qsize", &self.qsize())
            .finish_non_exhaustive()
    }
}

// As for `Queue`: no lock, no user code run inside the queue, nothing to poison.
impl<T> UnwindSafe for SimpleQueue<T> {}
impl<T> RefUnwindSafe for SimpleQueue<T> {}
