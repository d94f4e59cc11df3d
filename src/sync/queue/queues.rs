//! [`Queue`], [`LifoQueue`] and [`PriorityQueue`]: one engine, three orders, the same methods
//! (written once, by the macro below).

use super::engine::{Block, Engine};
use super::error::{GetError, PutError};
use super::fifo::FifoEngine;
use super::store::{Heap, Lifo};
use crate::Error;
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

macro_rules! python_queue {
    (
        $(#[$doc:meta])*
        $name:ident<T $(: $bound:path)?>, $engine:ty, $python:literal
    ) => {
        $(#[$doc])*
        pub struct $name<T $(: $bound)?> {
            e: $engine,
        }

        impl<T $(: $bound)?> $name<T> {
            #[doc = concat!("An unbounded queue. Python: `", $python, "()`.")]
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::<u32>::new();")]
            /// assert_eq!(q.maxsize(), 0);
            /// assert!(q.empty());
            /// ```
            pub fn new() -> Self {
                Self::with_maxsize(0)
            }

            /// A queue that holds at most `maxsize` items (`put` blocks while it is full); 0
            #[doc = concat!("means unbounded. Python: `", $python, "(maxsize)`.")]
            ///
            /// The buffer grows as items arrive (never past `maxsize`) and never shrinks, so
            /// once the queue has been full, `put` and `get` allocate nothing. (A bounded
            /// [`Queue`] of at most 65,536 slots and 1 MiB allocates its whole ring here.)
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::with_maxsize(2);")]
            /// q.put_nowait(1).unwrap();
            /// q.put_nowait(2).unwrap();
            /// assert!(q.full());
            /// ```
            pub fn with_maxsize(maxsize: usize) -> Self {
                $name { e: <$engine>::new(maxsize, true) }
            }

            /// The bound given at creation (0: unbounded). Python: `q.maxsize`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::<u8>::with_maxsize(3);")]
            /// assert_eq!(q.maxsize(), 3);
            /// ```
            pub fn maxsize(&self) -> usize {
                self.e.maxsize()
            }

            /// How many items are in the queue (a snapshot: other threads may change it at
            /// once). O(1), never blocks. Python: `q.qsize()`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::new();")]
            /// q.put(1).unwrap();
            /// assert_eq!(q.qsize(), 1);
            /// ```
            #[inline]
            pub fn qsize(&self) -> usize {
                self.e.qsize()
            }

            /// Whether the queue holds no item (a snapshot). Python: `q.empty()`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::<u8>::new();")]
            /// assert!(q.empty());
            /// ```
            #[inline]
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// Whether a bounded queue holds `maxsize` items (a snapshot; always `false` when
            /// unbounded). Python: `q.full()`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::with_maxsize(1);")]
            /// q.put(1).unwrap();
            /// assert!(q.full());
            /// ```
            #[inline]
            pub fn full(&self) -> bool {
                self.e.full()
            }

            /// Puts `item`, blocking while the queue is full. Fails only after a
            /// [`shutdown`](Self::shutdown), with the item inside [`PutError::ShutDown`].
            /// Python: `q.put(item)`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::new();")]
            /// q.put(5).unwrap();
            /// assert_eq!(q.get(), Ok(5));
            /// ```
            #[inline]
            pub fn put(&self, item: T) -> Result<(), PutError<T>> {
                self.e.put(item, Block::Forever)
            }

            /// Puts `item`, blocking for at most `timeout` while the queue is full:
            /// [`PutError::Full`] if it stayed full. Zero behaves like
            /// [`put_nowait`](Self::put_nowait); more than [`TIMEOUT_MAX`](crate::TIMEOUT_MAX)
            /// waits without a timeout. Python: `q.put(item, timeout=t)`.
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let q = threadkit::", stringify!($name), "::with_maxsize(1);")]
            /// q.put(1).unwrap();
            /// let err = q.put_timeout(2, Duration::from_millis(1)).unwrap_err();
            /// assert_eq!(err, threadkit::PutError::Full(2));
            /// ```
            #[inline]
            pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
                self.e.put(item, Block::timeout(timeout))
            }

            /// Puts `item`, blocking until `deadline` at the latest while the queue is full.
            ///
            /// ```
            /// use std::time::{Duration, Instant};
            #[doc = concat!("let q = threadkit::", stringify!($name), "::with_maxsize(1);")]
            /// q.put_until(1, Instant::now() + Duration::from_secs(1)).unwrap();
            /// ```
            #[inline]
            pub fn put_until(&self, item: T, deadline: Instant) -> Result<(), PutError<T>> {
                self.e.put(item, Block::Until(deadline))
            }

            /// Puts `item` only if there is room now. Python: `q.put_nowait(item)`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::with_maxsize(1);")]
            /// q.put_nowait(1).unwrap();
            /// assert_eq!(q.put_nowait(2).unwrap_err().into_inner(), 2); // Python: queue.Full
            /// ```
            #[inline]
            pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
                self.e.put(item, Block::No)
            }

            /// Takes the next item, blocking while the queue is empty. After a
            /// [`shutdown`](Self::shutdown) it still drains the items left, then fails with
            /// [`GetError::ShutDown`]. Python: `q.get()`.
            ///
            /// ```
            #[doc = concat!("let q = std::sync::Arc::new(threadkit::", stringify!($name), "::new());")]
            /// let q2 = q.clone();
            /// let t = threadkit::spawn(move || q2.get());
            /// q.put(7).unwrap();
            /// assert_eq!(t.join().unwrap(), Ok(7));
            /// ```
            #[inline]
            pub fn get(&self) -> Result<T, GetError> {
                self.e.get(Block::Forever)
            }

            /// Takes the next item, blocking for at most `timeout` while the queue is empty:
            /// [`GetError::Empty`] if it stayed empty. Zero behaves like
            /// [`get_nowait`](Self::get_nowait). Python: `q.get(timeout=t)`.
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let q = threadkit::", stringify!($name), "::<u8>::new();")]
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
            #[doc = concat!("let q = threadkit::", stringify!($name), "::<u8>::new();")]
            /// assert!(q.get_until(Instant::now() + Duration::from_millis(1)).is_err());
            /// ```
            #[inline]
            pub fn get_until(&self, deadline: Instant) -> Result<T, GetError> {
                self.e.get(Block::Until(deadline))
            }

            /// Takes the next item only if one is there now. Python: `q.get_nowait()`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::new();")]
            /// assert_eq!(q.get_nowait(), Err(threadkit::GetError::Empty)); // Python: queue.Empty
            /// q.put(1).unwrap();
            /// assert_eq!(q.get_nowait(), Ok(1));
            /// ```
            #[inline]
            pub fn get_nowait(&self) -> Result<T, GetError> {
                self.e.get(Block::No)
            }

            /// Marks one item taken with `get` as processed. More calls than items were put
            /// fail with [`Error::TooManyTaskDone`] and change nothing. Python:
            /// `q.task_done()`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::new();")]
            /// q.put(1).unwrap();
            /// q.get().unwrap();
            /// q.task_done().unwrap();
            /// assert!(matches!(q.task_done(), Err(threadkit::Error::TooManyTaskDone)));
            /// ```
            pub fn task_done(&self) -> Result<(), Error> {
                if self.e.task_done() { Ok(()) } else { Err(Error::TooManyTaskDone) }
            }

            /// Blocks until every item ever put has been marked done with
            /// [`task_done`](Self::task_done) (or removed by an immediate shutdown). Python:
            /// `q.join()`.
            ///
            /// ```
            #[doc = concat!("let q = std::sync::Arc::new(threadkit::", stringify!($name), "::new());")]
            /// let q2 = q.clone();
            /// let worker = threadkit::spawn(move || {
            ///     while let Ok(_item) = q2.get() {
            ///         q2.task_done().unwrap();
            ///     }
            /// });
            /// for i in 0..10 {
            ///     q.put(i).unwrap();
            /// }
            /// q.join();
            /// assert!(q.empty());
            /// q.shutdown(false);
            /// worker.join().unwrap();
            /// ```
            pub fn join(&self) {
                self.e.join(Block::Forever);
            }

            /// [`join`](Self::join) for at most `timeout`; `false` if tasks were still
            /// unfinished when it passed. (Python's `join()` has no timeout.)
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let q = threadkit::", stringify!($name), "::new();")]
            /// q.put(1).unwrap();
            /// assert!(!q.join_timeout(Duration::from_millis(1)));
            /// ```
            #[must_use]
            pub fn join_timeout(&self, timeout: Duration) -> bool {
                self.e.join(Block::timeout(timeout))
            }

            /// Shuts the queue down (Python 3.13's `q.shutdown(immediate)`): every later
            /// `put` fails with `ShutDown`, blocked putters wake with it, gets drain what is
            /// left and then fail with `ShutDown`. With `immediate`, the items left are removed
            /// and returned (in the order `get` would have returned them), each counts as done
            /// (which may release `join`), and blocked getters fail at once. Without it the
            /// returned vector is empty.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::new();")]
            /// q.put(1).unwrap();
            /// assert_eq!(q.shutdown(true), vec![1]);
            /// assert!(q.is_shutdown());
            /// assert_eq!(q.get(), Err(threadkit::GetError::ShutDown));
            /// q.join(); // the removed item counts as done
            /// ```
            pub fn shutdown(&self, immediate: bool) -> Vec<T> {
                self.e.shutdown(immediate)
            }

            /// Whether [`shutdown`](Self::shutdown) has been called. Python: `q.is_shutdown`.
            ///
            /// ```
            #[doc = concat!("let q = threadkit::", stringify!($name), "::<u8>::new();")]
            /// q.shutdown(false);
            /// assert!(q.is_shutdown());
            /// ```
            #[inline]
            pub fn is_shutdown(&self) -> bool {
                self.e.is_shutdown()
            }
        }

        impl<T $(: $bound)?> Default for $name<T> {
            /// An unbounded queue.
            ///
            /// ```
            #[doc = concat!("let q: threadkit::", stringify!($name), "<u8> = Default::default();")]
            /// assert_eq!(q.maxsize(), 0);
            /// ```
            fn default() -> Self {
                Self::new()
            }
        }

        /// Shows the sizes and the shutdown flag, never the items.
        impl<T $(: $bound)?> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("maxsize", &self.maxsize())
                    .field("qsize", &self.qsize())
                    .field("is_shutdown", &self.is_shutdown())
                    .finish_non_exhaustive()
            }
        }

        // A panic in `T`'s code leaves the queue consistent (see the module docs): nothing a
        // caller can observe is half-done, so there is no poisoning to opt out of.
        impl<T $(: $bound)?> UnwindSafe for $name<T> {}
        impl<T $(: $bound)?> RefUnwindSafe for $name<T> {}
    };
}

python_queue! {
    /// Python's `queue.Queue`: first in, first out, optionally bounded, with task tracking
    /// (`task_done` / `join`) and 3.13's `shutdown`.
    ///
    /// Bounded (up to 65,536 slots and 1 MiB), a lock-free ring allocated at construction;
    /// otherwise a lock over a growable ring buffer. Either way a `put` or `get` that does not
    /// have to wait makes no system call, and one that must first spins briefly.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use threadkit::Queue;
    /// let q = Arc::new(Queue::with_maxsize(8)); // Python: q = queue.Queue(8)
    /// let consumer = {
    ///     let q = q.clone();
    ///     threadkit::spawn(move || {
    ///         let mut sum = 0;
    ///         while let Ok(x) = q.get() { // Err(ShutDown) once shut down and drained
    ///             sum += x;
    ///         }
    ///         sum
    ///     })
    /// };
    /// for i in 1..=100 {
    ///     q.put(i).unwrap();
    /// }
    /// q.shutdown(false);
    /// assert_eq!(consumer.join().unwrap(), 5050);
    /// ```
    Queue<T>, FifoEngine<T>, "queue.Queue"
}

python_queue! {
    /// Python's `queue.LifoQueue`: the same methods as [`Queue`], last in, first out.
    ///
    /// ```
    /// let q = threadkit::LifoQueue::new(); // Python: queue.LifoQueue()
    /// for i in 0..3 {
    ///     q.put(i).unwrap();
    /// }
    /// assert_eq!(q.get(), Ok(2));
    /// assert_eq!(q.get(), Ok(1));
    /// ```
    LifoQueue<T>, Engine<Lifo<T>>, "queue.LifoQueue"
}

python_queue! {
    /// Python's `queue.PriorityQueue`: the same methods as [`Queue`], smallest item first
    /// (ordered by `T`'s `Ord`, as Python's `heapq` orders by `<`; wrap items in
    /// [`std::cmp::Reverse`] for largest first). Equal items come out in no particular order.
    ///
    /// ```
    /// let q = threadkit::PriorityQueue::new(); // Python: queue.PriorityQueue()
    /// for job in [(3, "low"), (1, "urgent"), (2, "normal")] {
    ///     q.put(job).unwrap();
    /// }
    /// assert_eq!(q.get(), Ok((1, "urgent")));
    /// assert_eq!(q.get(), Ok((2, "normal")));
    /// ```
    PriorityQueue<T: Ord>, Engine<Heap<T>>, "queue.PriorityQueue"
}
