//! [`Barrier`]: Python's `threading.Barrier`, on two futex words and no lock.
//!
//! # State word (`state: AtomicU64`)
//!
//! | bits    | meaning                                                                  |
//! |---------|--------------------------------------------------------------------------|
//! | 0..24   | `count`: threads of the current round inside `wait` (arrived, not left)   |
//! | 24..26  | phase: `FILLING` 0, `RESETTING` 1, `BROKEN` 2                             |
//! | 26..64  | `round`: which round this is (38 bits, counting every release and reset) |
//!
//! `FILLING` with `count == parties` is the *releasing* sub-state: the last arrival is running
//! the action. Nothing else changes the word then (arrivals, `reset`, `abort` and timed-out
//! waiters wait for it to end), exactly as in CPython, where the action runs under the lock
//! (so `n_waiting()` is `parties` then, as CPython's, and the action must not call `wait`,
//! `reset` or `abort` on its own barrier: that deadlocks, as in CPython).
//!
//! A round is released by one store: `FILLING,parties` of round `r` becomes `FILLING,0` of
//! round `r + 1`. Its waiters learn it from `round` alone (it moved past theirs) and leave
//! without touching the word again, so the next round fills at once: there is no draining
//! phase, no second wake-up, and a thread that leaves a round and arrives again never waits
//! for the others to leave. Only a round that failed keeps its count: its waiters (`BROKEN`
//! or `RESETTING`, `round` still theirs) each take themselves off it as they leave, and the
//! last one out of a `RESETTING` round opens the next round. `round` can change while a
//! waiter is inside only through a release (a reset completes only when nobody is inside),
//! so "my round moved on" always means "my round was released".
//!
//! A timeout (`wait_timeout`, or the default timeout) starts once the thread has joined the
//! round (`FILLING,c -> FILLING,c+1`): waiting for a reset or an action to end does not count,
//! as in CPython, where `_enter` waits without a timeout.
//!
//! ```text
//!               arrive (CAS count+1)              last arrival: action ok
//!  FILLING,c,r ---------------------> FILLING,parties,r -------------------> FILLING,0,r+1
//!     ^   |                                   | action panicked
//!     |   | timeout / abort                   v
//!     |   +----------------------------> BROKEN,c,r --- leave: count-1 (stays BROKEN)
//!     |                                       | reset, c > 0
//!     |   reset with c > 0 (FILLING)          v
//!     |   ------------------------->   RESETTING,c,r --- last leaves ---> FILLING,0,r+1
//!     |   (reset with c == 0, from any phase, goes straight to FILLING,0,r+1;
//!     |    abort in RESETTING,c,r gives BROKEN,c,r)
//! ```
//!
//! The round counter wraps after 2^38 rounds; a waiter would have to sleep through all of them
//! (and wake into a round with its own number) to be confused.
//!
//! # Generation word (`generation: AtomicU32`)
//!
//! Bits 0..=29 count phase changes; bit 30 (`SPUN`) is the spin hint (a waiter spins up to 10 us
//! while it is on: see `rt::spin`; not in a barrier with more parties than CPUs, where a spin
//! could only hold a CPU that a party still to come needs: such a waiter yields its CPU to them
//! instead, `rt::yield_wait`, before it sleeps); bit 31 (`SLEEPERS`) says
//! someone sleeps on this value. Every phase change bumps the counter (clearing `SLEEPERS`) and,
//! only if `SLEEPERS` was set, wakes every sleeper; threads sleep on `generation`, never on
//! `state`, so arrivals (which only change `count`) wake nobody. A sleeper reads `generation`
//! before `state`, sets `SLEEPERS` with a CAS from the value it read (failing, it looks again) and
//! sleeps only while the word still holds that value, so a phase change between its check and its
//! sleep is never missed (the usual futex protocol; the counter wraps after 2^30 changes, which a
//! sleeper would have to miss entirely; a change of `SPUN` only makes a sleeper look again). A
//! waiter whose deadline has already passed (during its spin, say) does not set `SLEEPERS`: it goes
//! straight to breaking the round. A round with no sleeper makes no wake-up call.
//!
//! # Parties word (`parties: AtomicU32`)
//!
//! Bits 0..24 hold the number of parties (fixed at construction); bit 24 and bits 25..32 are
//! the fork generation's renewal flag and stamp (see below), packed here so that the barrier
//! stays at 24 bytes.
//!
//! # After `fork()`
//!
//! In a fork child the threads that were inside `wait` are gone, but `state` still counts
//! them. The parties word's stamp holds the fork generation (`rt::fork_generation`, low 7
//! bits) the two words belong to; every public method compares it first, and the first caller
//! in a child of a newer generation (others wait for it) puts the barrier back as if those
//! threads had never come: `FILLING,0` of a new round (a round they were filling, releasing or
//! resetting is over; their action, if one ran, is not run again), or `BROKEN,0` if it was
//! broken, with a new generation (their `SLEEPERS` dropped).
//!
//! # Memory ordering
//!
//! Arrivals are `AcqRel` read-modify-writes on `state`, a release sequence that the last
//! arrival reads; it publishes the next round with a `Release` store after running the action,
//! and waiters load `state` with `Acquire` (any later value they may read instead comes from
//! RMWs that continue that store's release sequence, or from threads that read it first):
//! everything each party did before `wait`, and the action, happens before every party
//! returns. `generation` is bumped with `Release` after the state change and read with
//! `Acquire` before `state`, so a sleeper that sees the new `generation` also sees the new state.

use crate::Error;
use crate::rt::{AtomicU32, AtomicU64, deadline_after, spin};
use std::fmt;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::time::Duration;

mod fork;
mod slow;
mod state;

use state::{
    BROKEN, COUNT_MASK, FILLING, GEN_MASK, PARTIES_MASK, RESETTING, SLEEPERS, SPUN, count,
    next_round, phase, round, with_phase,
};

type Action = Box<dyn Fn() + Send + Sync>;

/// The rarely used parts, boxed so that a plain barrier stays at 24 bytes.
struct Extra {
    action: Option<Action>,
    timeout: Option<Duration>,
}

/// A rendezvous point for a fixed number of threads, reusable for any number of rounds.
/// Python: `threading.Barrier(parties, action=None, timeout=None)`.
///
/// Each `wait` returns an index in `0..parties`, unique within the round; the last arrival gets
/// `parties - 1` and runs the action (if any) before anyone is released. A timeout, an
/// [`abort`](Barrier::abort), a [`reset`](Barrier::reset) or a panicking action *breaks* the
/// round: its waiters get [`Error::BrokenBarrier`]. The type is 24 bytes on 64-bit targets
/// (std's `Barrier` is 40); an action or a default timeout adds one heap block at construction.
///
/// ```
/// use threadkit::{spawn, Barrier};
/// use std::sync::Arc;
/// let barrier = Arc::new(Barrier::new(3)); // Python: threading.Barrier(3)
/// let handles: Vec<_> = (0..3)
///     .map(|_| {
///         let b = Arc::clone(&barrier);
///         spawn(move || b.wait().unwrap())
///     })
///     .collect();
/// let mut indexes: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
/// indexes.sort();
/// assert_eq!(indexes, [0, 1, 2]);
/// ```
pub struct Barrier {
    /// Count, phase and round: the state word (see the module docs' table).
    state: AtomicU64,
    /// Phase changes, `SPUN` and `SLEEPERS`: the futex word (see "Generation word").
    generation: AtomicU32,
    /// The number of parties, and the fork generation `state` and `generation` belong to
    /// (see "Parties word" and "After `fork()`").
    parties: AtomicU32,
    extra: Option<Box<Extra>>,
}

impl Barrier {
    /// The largest supported number of parties.
    pub const MAX_PARTIES: usize = PARTIES_MASK as usize;

    /// A barrier for `parties` threads. Python: `threading.Barrier(parties)`.
    ///
    /// # Panics
    /// If `parties` is 0 (Python raises `ValueError`) or above [`Barrier::MAX_PARTIES`].
    ///
    /// ```
    /// let b = threadkit::Barrier::new(1);
    /// assert_eq!(b.wait().unwrap(), 0); // a barrier of one never blocks
    /// ```
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "Barrier::new: parties must be > 0");
        assert!(
            parties <= Self::MAX_PARTIES,
            "Barrier::new: too many parties"
        );
        Barrier {
            state: AtomicU64::new(FILLING),
            generation: AtomicU32::new(0),
            // (At most MAX_PARTIES, which fits; fork stamp 0, the first generation's.)
            parties: AtomicU32::new(parties as u32),
            extra: None,
        }
    }

    /// A barrier whose last arrival runs `action` once per round, before the others are
    /// released. Python: `threading.Barrier(parties, action=f)`.
    ///
    /// If `action` panics, the barrier breaks: the other waiters get
    /// [`Error::BrokenBarrier`] and the panic continues in the thread that ran it.
    ///
    /// The action must not call [`wait`](Barrier::wait), [`wait_timeout`](Barrier::wait_timeout),
    /// [`reset`](Barrier::reset) or [`abort`](Barrier::abort) on its own barrier: each of them
    /// waits for the action to finish, so the thread deadlocks (as in CPython, where the action
    /// runs with the barrier's non-reentrant lock held). [`n_waiting`](Barrier::n_waiting),
    /// [`broken`](Barrier::broken) and [`parties`](Barrier::parties) are fine.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// static ROUNDS: AtomicUsize = AtomicUsize::new(0);
    /// let b = threadkit::Barrier::with_action(1, || {
    ///     ROUNDS.fetch_add(1, Ordering::Relaxed);
    /// });
    /// b.wait().unwrap();
    /// b.wait().unwrap();
    /// assert_eq!(ROUNDS.load(Ordering::Relaxed), 2);
    /// ```
    pub fn with_action(parties: usize, action: impl Fn() + Send + Sync + 'static) -> Barrier {
        let mut b = Barrier::new(parties);
        b.extra_mut().action = Some(Box::new(action));
        b
    }

    /// Sets the timeout that [`wait`](Barrier::wait) uses. Python: `Barrier(n, timeout=t)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = threadkit::Barrier::new(2).default_timeout(Duration::from_millis(10));
    /// assert!(b.wait().is_err()); // nobody came: the wait timed out and broke the barrier
    /// assert!(b.broken());
    /// ```
    pub fn default_timeout(mut self, timeout: Duration) -> Barrier {
        self.extra_mut().timeout = Some(timeout);
        self
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(|| {
            Box::new(Extra {
                action: None,
                timeout: None,
            })
        })
    }

    /// Waits until all parties have called `wait`; returns this thread's index in
    /// `0..parties`. Uses the default timeout, if one was set, which (as for
    /// [`wait_timeout`](Barrier::wait_timeout)) starts once this thread has entered the round.
    /// Python: `barrier.wait()`.
    ///
    /// ```
    /// let b = threadkit::Barrier::new(1);
    /// assert_eq!(b.wait().unwrap(), 0);
    /// ```
    #[inline]
    pub fn wait(&self) -> Result<usize, Error> {
        self.wait_with(self.extra.as_ref().and_then(|e| e.timeout))
    }

    /// Like [`wait`](Barrier::wait) with a timeout; when it expires the barrier breaks and
    /// every waiter gets [`Error::BrokenBarrier`]. Python: `barrier.wait(timeout=t)`.
    ///
    /// The timeout starts once this thread has entered the round: time spent waiting for the
    /// previous round to drain, reset or run its action does not count (as in CPython, whose
    /// `_enter` waits without a timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = threadkit::Barrier::new(2);
    /// assert!(b.wait_timeout(Duration::from_millis(1)).is_err());
    /// assert!(b.broken());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, Error> {
        self.wait_with(Some(timeout))
    }

    /// `wait` with an optional timeout, whose clock starts once `arrive` has let us in.
    fn wait_with(&self, timeout: Option<Duration>) -> Result<usize, Error> {
        self.check_fork_epoch();
        let parties = self.parties_u32();
        let (index, s) = self.arrive(parties)?;
        if index + 1 == parties {
            self.release_round(s)?;
        } else if let Err(e) = self.await_round(round(s), timeout.and_then(deadline_after)) {
            self.leave();
            return Err(e);
        }
        Ok(index as usize)
    }

    #[inline]
    fn parties_u32(&self) -> u32 {
        self.parties.load(Relaxed) & PARTIES_MASK
    }

    /// Enters the current round (waiting while an action runs or a reset completes) and
    /// returns this thread's index and the state it made. Python: `_enter` + `index = count;
    /// count += 1`.
    #[inline]
    fn arrive(&self, parties: u32) -> Result<(u32, u64), Error> {
        loop {
            let g = self.generation.load(Acquire);
            let s = self.state.load(Acquire);
            match phase(s) {
                BROKEN => return Err(Error::BrokenBarrier),
                FILLING if count(s) < parties => {
                    // FILLING,c,r -> FILLING,c+1,r: join round r with index c.
                    if self
                        .state
                        .compare_exchange_weak(s, s + 1, AcqRel, Relaxed)
                        .is_ok()
                    {
                        return Ok((count(s), s + 1));
                    }
                }
                // Resetting or running the action: wait for the next phase. The threads that
                // end it are running, so spin (briefly, bounded in time) before sleeping.
                _ => {
                    if spin(true, None, || self.generation.load(Acquire) != g).is_err() {
                        self.sleep(g, None);
                    }
                }
            }
        }
    }

    /// The number of threads required to pass the barrier. Python: `barrier.parties`.
    ///
    /// ```
    /// assert_eq!(threadkit::Barrier::new(4).parties(), 4);
    /// ```
    pub fn parties(&self) -> usize {
        self.parties_u32() as usize
    }

    /// The number of threads waiting in the current round. Python: `barrier.n_waiting`.
    ///
    /// As in CPython, this is `parties` while the last arrival runs the action (the round is
    /// full but not yet released), and 0 while the barrier resets or is broken. Once a round is
    /// released it counts the next round's arrivals at once (CPython's says 0 until the
    /// released threads have left `wait`: threadkit's next round does not wait for that).
    ///
    /// ```
    /// assert_eq!(threadkit::Barrier::new(4).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.check_fork_epoch();
        let s = self.state.load(Acquire);
        if phase(s) == FILLING {
            count(s) as usize
        } else {
            0
        }
    }

    /// Whether the barrier is broken. Python: `barrier.broken`.
    ///
    /// ```
    /// let b = threadkit::Barrier::new(2);
    /// assert!(!b.broken());
    /// b.abort();
    /// assert!(b.broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.check_fork_epoch();
        phase(self.state.load(Acquire)) == BROKEN
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Relaxed);
        let phase = ["filling", "resetting", "broken", "?"][phase(s) as usize];
        f.debug_struct("Barrier")
            .field("parties", &self.parties_u32())
            .field("phase", &phase)
            .field("count", &count(s))
            .field(
                "has_action",
                &self.extra.as_ref().is_some_and(|e| e.action.is_some()),
            )
            .finish()
    }
}

#[cfg(all(test, not(threadkit_loom)))]
mod tests;
