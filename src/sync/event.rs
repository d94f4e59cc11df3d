//! [`Event`]: Python's `threading.Event` in one 32-bit futex word.
//!
//! # State
//!
//! | bits   | name       | meaning                                                          |
//! |--------|------------|------------------------------------------------------------------|
//! | 0      | `SET`      | the flag (`is_set()`)                                            |
//! | 1      | `SLEEPERS` | a thread may sleep in `wait` on this word (only while `SET` = 0) |
//! | 2      | `SPUN`     | hint: the last waiter that had to wait was released soon (spin long) |
//! | 3..=31 | generation | bumped by every `set()` that turns the flag on (wraps)           |
//!
//! ```text
//!              set(): gen += 1, SLEEPERS cleared (wake_all if it was on)
//!    +-------------------+ --------------------------------> +---------+
//!    | unset, gen g      |                                   | set,    |
//!    | (SLEEPERS 0 or 1) | <-------------------------------- | gen g+1 |
//!    +-------------------+              clear()              +---------+
//!       |          ^
//!       | wait():  | (a waiter that finds SLEEPERS = 0 sets it before sleeping; once
//!       +----------+  released, it sets SPUN if its wait was short and clears it if not)
//! ```
//!
//! A waiter remembers the generation it saw with the flag off and returns `true` as soon as
//! the flag is on or the generation moved. So `set(); clear()` still releases every waiter with
//! `true` (CPython's rule), although the flag is off again by the time it runs. It returns
//! `false` only when its deadline passed and neither happened. (A waiter asleep across exactly
//! 2^29 set/clear cycles would miss its wake-up; that many cycles during one wait is not a
//! practical concern.) `set()` wakes only when `SLEEPERS` is on, so a `set()` with nobody
//! asleep makes no system call; a waiter that timed out may leave `SLEEPERS` on, which costs the
//! next `set()` one spurious `wake_all`.
//!
//! Spinning adapts per event (see `rt::spin`): a waiter spins up to 10 us if
//! `SPUN` is on (the event is being ping-ponged between running threads, so the `set()` is a
//! few hundred nanoseconds away, or one futex wake-up) and only a few steps otherwise (the
//! setter is probably not running: threads outnumber cores, or the wait is long), which keeps
//! a failed spin cheap when it cannot succeed. A waiter released while spinning turns `SPUN`
//! on; one that had to sleep turns it on if its whole wait was short enough for a long spin to
//! have caught the `set()`, and off otherwise.
//!
//! # Memory ordering
//!
//! `set()` is a `Release` read-modify-write (also when the flag is already on), `clear()` a
//! read-modify-write, and every load that decides a `true` return is `Acquire`. Since
//! read-modify-writes continue a release sequence, a waiter that returns `true`, even after a
//! `clear()`, synchronizes with the `set()` that released it: what the setter wrote before
//! `set()` is visible after `wait()`. The `SLEEPERS` handshake needs no fence: a waiter's CAS
//! that turns `SLEEPERS` on and a setter's CAS are read-modify-writes of the same word, so one
//! of them sees the other (the setter wakes, or the waiter's CAS fails and it re-reads), and the
//! kernel's compare in `wait` closes the window between that CAS and the sleep. `SPUN` is only a
//! hint (`Relaxed`); it never decides a return value.

use crate::rt::{
    AtomicU32, deadline_after, loom_const_fn, passed, set_hint, spin, wait, wake_all, woke_partner,
};
use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

/// The flag.
const SET: u32 = 1;
/// Someone may sleep on the word.
const SLEEPERS: u32 = 2;
/// Hint: the last waiter that had to wait was released while spinning.
const SPUN: u32 = 4;
/// One step of the generation counter (bits 3..=31).
const GEN_ONE: u32 = 8;
/// The generation bits.
const GEN_MASK: u32 = !(SET | SLEEPERS | SPUN);

/// Python's `threading.Event`: a flag that threads can wait for. 4 bytes, no heap, `const`
/// constructor.
///
/// `set()` makes a system call only if a thread sleeps; `wait*` return `true` if the flag was
/// set on entry or a `set()` woke the waiter (even if a `clear()` followed), `false` only on
/// timeout.
///
/// ```
/// use threadkit::Event;
/// use std::sync::Arc;
/// let ready = Arc::new(Event::new()); // Python: ready = Event()
/// let r = ready.clone();
/// let t = threadkit::spawn(move || r.wait()); // Python: ready.wait()
/// ready.set();
/// t.join().unwrap();
/// assert!(ready.is_set());
/// ```
pub struct Event {
    /// See the module docs: `SET`, `SLEEPERS` and the generation.
    state: AtomicU32,
}

impl Event {
    loom_const_fn! {
        /// A new event with the flag off. Python: `Event()`.
        ///
        /// ```
        /// static DONE: threadkit::Event = threadkit::Event::new();
        /// assert!(!DONE.is_set());
        /// ```
        pub fn new() -> Event {
            Event { state: AtomicU32::new(0) }
        }
    }

    /// Whether the flag is on. Python: `event.is_set()`.
    ///
    /// ```
    /// let e = threadkit::Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    #[inline]
    pub fn is_set(&self) -> bool {
        self.state.load(Acquire) & SET != 0
    }

    /// Turns the flag on and wakes every waiter. Python: `event.set()`.
    ///
    /// ```
    /// let e = threadkit::Event::new();
    /// e.set();
    /// e.wait(); // returns at once
    /// ```
    #[inline]
    pub fn set(&self) {
        let mut s = self.state.load(Relaxed);
        loop {
            let new = if s & SET != 0 {
                // Transition: set -> set (a Release write all the same, see the module docs).
                s
            } else {
                // Transition: unset, gen g -> set, gen g + 1, SLEEPERS off.
                ((s & !SLEEPERS).wrapping_add(GEN_ONE)) | SET
            };
            match self.state.compare_exchange_weak(s, new, Release, Relaxed) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        if s & SLEEPERS != 0 {
            self.wake();
        }
    }

    #[cold]
    fn wake(&self) {
        wake_all(&self.state);
        woke_partner();
    }

    /// Turns the flag off. Python: `event.clear()`.
    ///
    /// ```
    /// let e = threadkit::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    #[inline]
    pub fn clear(&self) {
        // Transition: set -> unset (the generation and SLEEPERS stay).
        self.state.fetch_and(!SET, Release);
    }

    /// Blocks until the flag is on. Python: `event.wait()`.
    ///
    /// ```
    /// let e = threadkit::Event::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| e.set());
    ///     e.wait();
    /// });
    /// ```
    #[inline]
    pub fn wait(&self) {
        let s = self.state.load(Acquire);
        if s & SET == 0 {
            self.wait_slow(s, None);
        }
    }

    /// Blocks for at most `timeout` until the flag is on; `false` only if the timeout passed.
    /// Zero just reads the flag; more than [`TIMEOUT_MAX`](crate::TIMEOUT_MAX) waits without a
    /// timeout. Python: `event.wait(timeout)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = threadkit::Event::new();
    /// assert!(!e.wait_timeout(Duration::from_millis(1)));
    /// e.set();
    /// assert!(e.wait_timeout(Duration::ZERO));
    /// ```
    #[inline]
    #[must_use = "false means the wait timed out"]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let s = self.state.load(Acquire);
        if s & SET != 0 {
            return true;
        }
        !timeout.is_zero() && self.wait_slow(s, deadline_after(timeout))
    }

    /// Blocks until the flag is on or `deadline` passed; `false` only in the second case.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let e = threadkit::Event::new();
    /// assert!(!e.wait_until(Instant::now() + Duration::from_millis(1)));
    /// ```
    #[inline]
    #[must_use = "false means the wait timed out"]
    pub fn wait_until(&self, deadline: Instant) -> bool {
        let s = self.state.load(Acquire);
        s & SET != 0 || self.wait_slow(s, Some(deadline))
    }

    /// Whether a waiter has announced that it sleeps (for the loom models only: they wait for
    /// this before `set(); clear()`, so the waiter provably started waiting first).
    #[cfg(threadkit_loom)]
    #[doc(hidden)]
    pub fn loom_has_sleepers(&self) -> bool {
        self.state.load(Relaxed) & SLEEPERS != 0
    }

    /// `s` was read with the flag off; waits until it is on or its generation moved.
    #[cold]
    fn wait_slow(&self, mut s: u32, deadline: Option<Instant>) -> bool {
        let generation = s & GEN_MASK;
        let released = |s: u32| s & SET != 0 || s & GEN_MASK != generation;
        let spun = match spin(s & SPUN != 0, deadline, || {
            s = self.state.load(Acquire);
            released(s)
        }) {
            Ok(()) => {
                set_hint(&self.state, SPUN, s & SPUN != 0, true);
                return true;
            }
            Err(spun) => spun,
        };
        if deadline.is_some_and(passed) {
            // Already too late: do not leave SLEEPERS on for nothing.
            return released(self.state.load(Acquire));
        }
        loop {
            if s & SLEEPERS == 0 {
                // Transition: unset -> unset, SLEEPERS on.
                match self
                    .state
                    .compare_exchange(s, s | SLEEPERS, Relaxed, Acquire)
                {
                    Ok(_) => s |= SLEEPERS,
                    Err(now) => {
                        s = now;
                        if released(s) {
                            set_hint(&self.state, SPUN, s & SPUN != 0, spun.after_sleep());
                            return true;
                        }
                        continue;
                    }
                }
            }
            if !wait(&self.state, s, deadline) {
                // The deadline passed; a set() just before it still counts.
                return released(self.state.load(Acquire));
            }
            s = self.state.load(Acquire);
            if released(s) {
                set_hint(&self.state, SPUN, s & SPUN != 0, spun.after_sleep());
                return true;
            }
        }
    }
}

impl Default for Event {
    /// An event with the flag off, like Python's `Event()`.
    ///
    /// ```
    /// assert!(!threadkit::Event::default().is_set());
    /// ```
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}
