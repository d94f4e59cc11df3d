//! [`Condvar`]: the data layer's condition variable, in the shape of std's, over
//! [`Mutex`](crate::Mutex).
//!
//! It is the same machinery as [`Condition`](crate::Condition) (the queue of stack nodes in
//! `waitqueue/mod.rs`, see there for the node word's states, diagram and memory ordering),
//! waiting with a [`MutexGuard`](crate::MutexGuard) instead of Python's acquire/release. As with
//! std, `notify_*` may be called without holding the mutex: the queue's own lock guards the
//! list; a waiter notified while the mutex is held is counted on it and requeued onto its futex
//! (Linux), so it wakes only when the unlock lets it in; a waiter notified while the mutex is
//! free is simply woken; `notify_all` releases the oldest waiter so and chains the rest behind
//! it, each woken by the one before (no herd, one system call). `notify_one` releases the
//! oldest waiter, or, if that one sleeps, the newest while it is still awake (spinning before
//! it sleeps: no system call), at most 64 times in a row past the same sleeper (see "Awake
//! first" in `waitqueue/notify.rs`). The waiters' mutex (whose address the nodes carry, and
//! which is alive while any node is linked) is remembered while any wait: a wait with another
//! mutex then panics (a bug in the caller, as in std) instead of corrupting anything.

#[cfg(not(threadkit_loom))]
mod imp {
    use crate::rt::deadline_after;
    use crate::sync::waitqueue::{Order, WaitQueue, Woken};
    use crate::{Lock, MutexGuard};
    use std::fmt;
    use std::time::{Duration, Instant};

    /// A condition variable for [`Mutex`](crate::Mutex): waits with a [`MutexGuard`].
    /// The data-layer form of Python's `threading.Condition`.
    ///
    /// `wait` never returns spuriously. `notify_all` wakes every waiter; `notify_one` wakes the
    /// oldest, unless it is asleep and a newer waiter is still awake (it began its wait a few
    /// microseconds ago and has not gone to sleep yet): that one is cheaper to wake and is
    /// released instead, but never more than 64 times in a row past the same sleeper. (Condition
    /// variables in general promise no order; `Condition::notify(n)` wakes strictly the oldest.)
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// use std::sync::Arc;
    /// use threadkit::{spawn, Condvar, Mutex};
    /// let pair = Arc::new((Mutex::new(VecDeque::new()), Condvar::new()));
    /// let p = Arc::clone(&pair);
    /// let consumer = spawn(move || {
    ///     let (queue, cv) = &*p;
    ///     let mut q = queue.lock();
    ///     cv.wait_while(&mut q, |q| q.is_empty());
    ///     q.pop_front().unwrap()
    /// });
    /// pair.0.lock().push_back(7);
    /// pair.1.notify_one();
    /// assert_eq!(consumer.join().unwrap(), 7);
    /// ```
    pub struct Condvar {
        queue: WaitQueue,
    }

    impl Condvar {
        /// A condition variable with no waiters.
        ///
        /// ```
        /// static CV: threadkit::Condvar = threadkit::Condvar::new();
        /// assert!(!CV.notify_one());
        /// ```
        pub const fn new() -> Condvar {
            Condvar {
                queue: WaitQueue::new(()),
            }
        }

        /// Releases the guard's mutex, waits until notified, and locks it again.
        /// Python: `cond.wait()`.
        ///
        /// # Panics
        /// If other threads are waiting on this condvar with a different mutex.
        ///
        /// ```
        /// use threadkit::{spawn, Condvar, Mutex};
        /// use std::sync::Arc;
        /// let pair = Arc::new((Mutex::new(false), Condvar::new()));
        /// let p = Arc::clone(&pair);
        /// let t = spawn(move || {
        ///     *p.0.lock() = true;
        ///     p.1.notify_all();
        /// });
        /// let mut ready = pair.0.lock();
        /// while !*ready {
        ///     pair.1.wait(&mut ready);
        /// }
        /// drop(ready);
        /// t.join().unwrap();
        /// ```
        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            self.wait_deadline(guard, None);
        }

        /// Waits while `condition` holds for the protected data.
        /// Python: `cond.wait_for(lambda: not condition)`.
        ///
        /// ```
        /// let (m, cv) = (threadkit::Mutex::new(3), threadkit::Condvar::new());
        /// let mut g = m.lock();
        /// cv.wait_while(&mut g, |n| *n == 0); // already false: returns at once
        /// ```
        pub fn wait_while<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            mut condition: impl FnMut(&mut T) -> bool,
        ) {
            while condition(&mut *guard) {
                self.wait(guard);
            }
        }

        /// Like [`wait`](Condvar::wait) for at most `timeout`: `false` if it timed out.
        /// Python: `cond.wait(timeout)`.
        ///
        /// ```
        /// use std::time::Duration;
        /// let (m, cv) = (threadkit::Mutex::new(()), threadkit::Condvar::new());
        /// let mut g = m.lock();
        /// assert!(!cv.wait_timeout(&mut g, Duration::from_millis(1)));
        /// ```
        #[must_use = "false means the wait timed out"]
        pub fn wait_timeout<T>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> bool {
            self.wait_deadline(guard, deadline_after(timeout))
        }

        /// Like [`wait`](Condvar::wait) until `deadline`: `false` if it passed.
        ///
        /// ```
        /// let (m, cv) = (threadkit::Mutex::new(()), threadkit::Condvar::new());
        /// let mut g = m.lock();
        /// assert!(!cv.wait_until(&mut g, std::time::Instant::now()));
        /// ```
        #[must_use = "false means the wait timed out"]
        pub fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> bool {
            self.wait_deadline(guard, Some(deadline))
        }

        fn wait_deadline<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            deadline: Option<Instant>,
        ) -> bool {
            // SAFETY: we unlock the raw lock only inside `queue.wait` and lock it again before
            // returning, while holding `&mut guard`, so nobody can reach the data through this
            // guard meanwhile, and the guard's unlock on drop finds the lock held again. Nothing
            // between the unlock and the relock can panic.
            let raw: &Lock = unsafe { lock_api::MutexGuard::mutex(guard).raw() };
            // `release` cannot fail: the guard holds the lock.
            let reacquire = |counted: bool| {
                if counted {
                    raw.lock_counted();
                } else {
                    raw.acquire();
                }
            };
            match self.queue.wait(
                raw,
                deadline,
                || raw.release().is_ok(),
                reacquire,
                Order::AwakeFirst,
            ) {
                Some(Woken::Notified | Woken::NotifiedUncounted) => true,
                Some(Woken::TimedOut) => false,
                None => panic!("threadkit::Condvar used with two different mutexes at once"),
            }
        }

        /// Wakes one waiter; `true` if there was one. Python: `cond.notify()`. Which one: the
        /// oldest, or a newer one still awake (see [`Condvar`]).
        ///
        /// ```
        /// assert!(!threadkit::Condvar::new().notify_one());
        /// ```
        #[inline]
        pub fn notify_one(&self) -> bool {
            self.queue.notify_one_awake_first()
        }

        /// Wakes every waiter; returns how many. Python: `cond.notify_all()`.
        ///
        /// ```
        /// assert_eq!(threadkit::Condvar::new().notify_all(), 0);
        /// ```
        #[inline]
        pub fn notify_all(&self) -> usize {
            self.queue.notify(usize::MAX, None)
        }
    }

    // The layout promised in `waitqueue/mod.rs`: a pointer and a word (16 bytes on 64-bit).
    const _: () = assert!(size_of::<Condvar>() == 2 * size_of::<usize>());
    const _: () = assert!(size_of::<crate::Condition<Lock>>() == size_of::<usize>() + 8);

    impl Default for Condvar {
        fn default() -> Condvar {
            Condvar::new()
        }
    }

    impl fmt::Debug for Condvar {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // Nothing to show that would not be stale at once (the usual condvar Debug).
            f.debug_struct("Condvar").finish_non_exhaustive()
        }
    }
}
#[cfg(not(threadkit_loom))]
pub use imp::*;
