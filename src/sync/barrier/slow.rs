//! The slow side of [`Barrier`]'s phase changes: the end of a round (the last arrival runs the
//! action and releases it, the others wait for that, a timeout breaks it), `reset`'s and
//! `abort`'s changes, and the generation word through which every phase change is published
//! (`bump`) and waited for (`sleep`). A part of `barrier/mod.rs`, whose module docs hold the state
//! word's table and diagram, the generation word's protocol and the memory ordering; the fast
//! path (`arrive`) stays there. `leave` is here: only the threads of a failed round leave.

use super::{BROKEN, Barrier, FILLING, GEN_MASK, RESETTING, SLEEPERS, SPUN};
use super::{count, next_round, phase, round, with_phase};
use crate::Error;
use crate::rt::yield_wait;
use crate::rt::{fit_beside, forget_partner, passed, set_hint, spin, wait, wake_all, woke_partner};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::Instant;

impl Barrier {
    /// The last arrival, whose arrival made `s` (`FILLING,parties,r`): run the action, then
    /// release the round (or break it on a panic).
    #[cold]
    pub(super) fn release_round(&self, s: u64) -> Result<(), Error> {
        let outcome = match self.extra.as_ref().and_then(|e| e.action.as_ref()) {
            Some(action) => catch_unwind(AssertUnwindSafe(action)),
            None => Ok(()),
        };
        // FILLING,parties,r -> FILLING,0,r+1 (or BROKEN,parties,r): nobody else changes the
        // word while the action runs, so a plain store is exact.
        let next = match outcome {
            Ok(()) => next_round(s),
            Err(_) => with_phase(s, BROKEN),
        };
        self.state.store(next, Release);
        if self.bump() && self.parties_u32() == 2 {
            // The one other party, asleep, released: this thread's next round waits for it.
            woke_partner();
        }
        if let Err(payload) = outcome {
            self.leave();
            resume_unwind(payload);
        }
        Ok(())
    }

    /// A non-last arrival in round `r`: wait until the round is released or broken. On an
    /// error the caller must `leave`.
    pub(super) fn await_round(&self, r: u64, deadline: Option<Instant>) -> Result<(), Error> {
        let mut deadline = deadline;
        let outcome = |s: u64| {
            if round(s) != r {
                Some(Ok(())) // only a release moves the round while we are inside it
            } else if phase(s) == FILLING {
                None
            } else {
                Some(Err(Error::BrokenBarrier))
            }
        };
        let hint = self.generation.load(Relaxed) & SPUN != 0;
        // A spin ends well only if the parties still to come run meanwhile. With more parties
        // than CPUs, a waiter's CPU is one that a party still to come may be queued on (4
        // parties on 2 CPUs), so a spin would hold it; and such a wait says nothing about the
        // hint. Such a waiter yields its CPU instead, below. Nor may a partner this thread
        // just woke through another primitive make it spin: that record
        // (`rt::woke_partner`) is dropped too.
        let bet = fit_beside(self.parties_u32() - 1);
        if !bet {
            forget_partner();
        }
        let mut result = None;
        let spun = match spin(hint && bet, deadline, || {
            result = outcome(self.state.load(Acquire));
            result.is_some()
        }) {
            Ok(()) => {
                set_hint(&self.generation, SPUN, hint, true);
                return result.unwrap_or(Ok(()));
            }
            Err(spun) => spun,
        };
        // Nor can it spin: give this CPU to the parties to come instead, so that it does not
        // go idle while they are queued on another (`rt::yield_wait`).
        if !bet
            && yield_wait(deadline, || {
                result = outcome(self.state.load(Acquire));
                result.is_some()
            })
        {
            return result.unwrap_or(Ok(()));
        }
        loop {
            let g = self.generation.load(Acquire);
            if let Some(r) = outcome(self.state.load(Acquire)) {
                if bet {
                    set_hint(&self.generation, SPUN, hint, spun.after_sleep());
                }
                return r;
            }
            if !self.sleep(g, deadline) && self.try_break_on_timeout(r) {
                return Err(Error::BrokenBarrier);
            }
            if deadline.is_some_and(passed) {
                // The action is running: its outcome decides (as in CPython, where the
                // timed-out waiter re-checks the state after the action released the lock).
                deadline = None;
            }
        }
    }

    /// On a timeout in round `r`: FILLING,c,r (c < parties) -> BROKEN,c,r. False if the round
    /// was released, broken, or is running its action meanwhile.
    #[cold]
    fn try_break_on_timeout(&self, r: u64) -> bool {
        let parties = self.parties_u32();
        let mut s = self.state.load(Acquire);
        while round(s) == r && phase(s) == FILLING && count(s) < parties {
            // FILLING,c,r -> BROKEN,c,r: the timeout breaks the round.
            match self
                .state
                .compare_exchange_weak(s, with_phase(s, BROKEN), AcqRel, Acquire)
            {
                Ok(_) => {
                    self.bump();
                    return true;
                }
                Err(now) => s = now,
            }
        }
        false
    }
    /// Publishes a phase change to every sleeper; whether it made a wake-up call.
    pub(super) fn bump(&self) -> bool {
        let mut g = self.generation.load(Relaxed);
        loop {
            // g -> g+1 with SLEEPERS cleared (SPUN kept): a new generation nobody sleeps on yet.
            let new = (g.wrapping_add(1) & GEN_MASK) | (g & SPUN);
            match self
                .generation
                .compare_exchange_weak(g, new, Release, Relaxed)
            {
                Ok(_) => break,
                Err(now) => g = now,
            }
        }
        let woke = g & SLEEPERS != 0;
        if woke {
            wake_all(&self.generation);
        }
        woke
    }

    /// Sleeps while the generation is still `g` (as loaded before the state), announcing the
    /// sleeper first so that `bump` knows to make the wake-up syscall. `false` only when the
    /// deadline passed; a deadline that passed already (during the spin, say) returns `false`
    /// before announcing anything, so that the next phase change makes no needless wake-up.
    pub(super) fn sleep(&self, g: u32, deadline: Option<Instant>) -> bool {
        if deadline.is_some_and(passed) {
            return false;
        }
        // g -> g|SLEEPERS: if it fails, the generation moved on: look again.
        if g & SLEEPERS == 0
            && self
                .generation
                .compare_exchange(g, g | SLEEPERS, Relaxed, Relaxed)
                .is_err()
        {
            return true;
        }
        wait(&self.generation, g | SLEEPERS, deadline)
    }

    /// Applies `f` to the state once no action is running; bumps `gen` if it changed.
    pub(super) fn change(&self, f: impl Fn(u64) -> u64) {
        let parties = self.parties_u32();
        loop {
            let g = self.generation.load(Acquire);
            let s = self.state.load(Acquire);
            if phase(s) == FILLING && count(s) == parties {
                self.sleep(g, None); // the action is running: CPython holds the lock
                continue;
            }
            // (any) -> f(any): abort or reset, see the diagram.
            if self
                .state
                .compare_exchange(s, f(s), AcqRel, Relaxed)
                .is_ok()
            {
                self.bump();
                return;
            }
        }
    }

    /// Returns the barrier to its empty state; threads waiting in the current round get
    /// [`Error::BrokenBarrier`]. Python: `barrier.reset()`.
    ///
    /// ```
    /// let b = threadkit::Barrier::new(2);
    /// b.abort();
    /// assert!(b.broken());
    /// b.reset();
    /// assert!(!b.broken());
    /// ```
    pub fn reset(&self) {
        self.check_fork_epoch();
        self.change(|s| match (count(s), phase(s)) {
            // Nobody inside: a new round at once.
            (0, _) => next_round(s),
            // Its waiters fail and leave; the last one out opens the next round.
            (_, FILLING | BROKEN) => with_phase(s, RESETTING),
            _ => s,
        });
    }

    /// Breaks the barrier: current and future waiters get [`Error::BrokenBarrier`] until
    /// [`reset`](Barrier::reset). Python: `barrier.abort()`.
    ///
    /// ```
    /// let b = threadkit::Barrier::new(2);
    /// b.abort();
    /// assert!(matches!(b.wait(), Err(threadkit::Error::BrokenBarrier)));
    /// ```
    pub fn abort(&self) {
        self.check_fork_epoch();
        self.change(|s| with_phase(s, BROKEN));
    }

    /// Leaves a round that failed (Python: `count -= 1; _exit()`): the last thread out of a
    /// resetting round opens the next one. (The threads of a released round never come here.)
    pub(super) fn leave(&self) {
        let mut s = self.state.load(Relaxed);
        loop {
            debug_assert!(phase(s) != FILLING && count(s) > 0, "leaving {s:#x}");
            let reopen = count(s) == 1 && phase(s) == RESETTING;
            // RESETTING,1,r -> FILLING,0,r+1 (reopen), or P,c,r -> P,c-1,r.
            let new = if reopen { next_round(s) } else { s - 1 };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => {
                    if reopen {
                        self.bump();
                    }
                    return;
                }
                Err(now) => s = now,
            }
        }
    }
}
