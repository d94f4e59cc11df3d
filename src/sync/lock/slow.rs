//! [`Lock`]'s slow paths: the contended acquire (spin, count in, sleep, starvation and
//! hand-over), the unlock that wakes, and a waiter's timeout. The state word, its transitions
//! and the memory-ordering argument are at the top of `lock/mod.rs`; every compare-and-swap here
//! names the transition it makes.

use super::fork::{stamp, tidy};
use super::state::{holds_for_handee, is_handed, is_held, is_plainly_held, waiters};
use super::{
    FIRST_LOOK, HANDED, HANDOFF, LOCKED, LOOK_MAX, Lock, NEWCOMERS, ONE_WAITER, QUICK_LOOK,
    RELEASED, SPIN_ROUNDS, SPIN_TIME, STARVATION_LIMIT, WAKING, YIELD_STEP,
};
use crate::rt::{self as wait, Stopwatch, may_spin, spin_hint, spin_limit, steps_for};
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Instant;

impl Lock {
    /// Releases a lock that has waiters or flags; `false` if it was not locked.
    #[cold]
    pub(super) fn release_slow(&self) -> bool {
        let mut s = self.current_state();
        loop {
            if !is_held(s) {
                return false;
            }
            let counted = waiters(s);
            let (new, wake) = if holds_for_handee(s) {
                // Transition: the handed hold, not claimed yet, is released (any thread may
                // release a Lock): the lock is free, and RELEASED tells the counted waiter that
                // claims the hand-over that its acquire is complete and its hold already gone.
                // Its claim is on the way (the hand-over woke everybody and set WAKING).
                ((s & !(LOCKED | NEWCOMERS)) | RELEASED, Wake::None)
            } else if counted == 0 {
                // Transition: locked, nobody counted -> unlocked (flags cleared).
                (0, Wake::None)
            } else if s & (HANDOFF | HANDED) == HANDOFF {
                // Transition: a starving waiter asked -> stay LOCKED, HANDED to a waiter.
                // Everybody is woken, not one: a newcomer may already sleep on the word, and a
                // single wake-up could go to it instead of a counted waiter. (Rare: at most
                // once per STARVATION_LIMIT.)
                ((s & !HANDOFF) | HANDED | WAKING, Wake::All)
            } else if s & WAKING != 0 {
                // Transition: locked with waiters, one already on its way -> unlocked; it
                // (or another counted waiter) will look at the word: no wake-up. (A pending
                // RELEASED hand-over always has WAKING: its claimer is on its way.)
                (s & !(LOCKED | NEWCOMERS), Wake::None)
            } else {
                // Transition: locked with waiters -> unlocked, WAKING.
                ((s & !(LOCKED | NEWCOMERS)) | WAKING, Wake::One)
            };
            match self
                .state
                .compare_exchange_weak(s, tidy(new), Release, Relaxed)
            {
                Ok(_) => {
                    match wake {
                        // Newcomers sleep uncounted: whoever frees the word wakes them all.
                        _ if s & NEWCOMERS != 0 => wait::wake_all(&self.state),
                        Wake::All => wait::wake_all(&self.state),
                        Wake::One => wait::wake_one(&self.state),
                        Wake::None => {}
                    }
                    return true;
                }
                Err(now) => s = now,
            }
        }
    }

    /// The slow path of every blocking acquire. `counted`: the caller is already counted as a
    /// waiter (by [`add_waiter`](Lock::add_waiter)). Returns `false` only on timeout.
    ///
    /// A waiter spins uncounted; counts itself and sleeps; and once woken, if
    /// the lock was taken again meanwhile, leaves the count and spins again, so that an unlock
    /// wakes a sleeper only while one really sleeps.
    /// A starving waiter (one that has asked for [`HANDOFF`]) stays counted until it gets the
    /// lock.
    #[cold]
    pub(super) fn acquire_slow(&self, deadline: Option<Instant>, mut counted: bool) -> bool {
        let mut starving = Stopwatch::default();
        // In a fork child, first forget the vanished threads' waiters (a counted caller was
        // counted in this generation, by `add_waiter`, which did the same).
        self.current_state();
        loop {
            if !counted {
                if self.spin_then_try(deadline) {
                    return true;
                }
                match self.count_in(deadline) {
                    CountIn::Counted => counted = true,
                    CountIn::Free => continue,
                    CountIn::TimedOut => return false,
                }
            }
            let s = self.state.load(Relaxed);
            if self.try_take_as_waiter(s) {
                return true;
            }
            if !is_plainly_held(s) {
                continue; // The word moved under us; look again.
            }
            if s & WAKING != 0 {
                // Transition: we take over from the waiter an unlock woke (it may be us, or
                // nobody slept): never sleep on a value with WAKING set.
                let _ = self
                    .state
                    .compare_exchange(s, s & !WAKING, Relaxed, Relaxed);
                continue;
            }
            if s & HANDOFF == 0 && starving.exceeded(STARVATION_LIMIT) {
                // Transition: a starving waiter asks for the next unlock to hand over.
                let _ = self
                    .state
                    .compare_exchange(s, s | HANDOFF, Relaxed, Relaxed);
                continue;
            }
            if !wait::wait(&self.state, s, deadline) {
                return self.give_up();
            }
            if s & HANDOFF == 0 && may_spin() {
                // Woken (or spuriously): unless the lock is ours now, leave the count and
                // spin again.
                if self.give_up() {
                    return true;
                }
                counted = false;
            }
        }
    }

    /// Spins while the lock is held, re-reading it on arrival, after [`QUICK_LOOK`], after
    /// [`FIRST_LOOK`] and then after twice as long each time, at most [`LOOK_MAX`] (backing
    /// off, so the holder keeps the cache line), for at most [`SPIN_TIME`]; after the third
    /// look, a yield at most once per 250 us per thread ([`YIELD_STEP`]; none with a
    /// `deadline`). Takes the lock if it frees up; `true` if acquired.
    #[inline]
    fn spin_then_try(&self, deadline: Option<Instant>) -> bool {
        // The deadline is not looked at by the spin, which is shorter than a timed wait's
        // slack; but a timed acquire never yields: on a busy machine a yield can cost a whole
        // timeslice, which would make it return milliseconds after its deadline.
        let rounds = if may_spin() {
            spin_limit(SPIN_ROUNDS)
        } else {
            0
        };
        // (Not measured where nothing spins: a single CPU, loom.)
        let (quick, first, most) = if rounds == 0 {
            (0, 0, 0)
        } else {
            (
                steps_for(QUICK_LOOK),
                steps_for(FIRST_LOOK),
                steps_for(LOOK_MAX),
            )
        };
        let mut step = 0;
        let mut started = None;
        loop {
            let s = self.state.load(Relaxed);
            if !is_held(s) {
                // Transition: free -> LOCKED (barging allowed; HANDOFF bounds starvation).
                if self
                    .state
                    .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
                    .is_ok()
                {
                    return true;
                }
                continue;
            }
            if step == rounds {
                return false;
            }
            if step > 0 {
                // (The quick look comes too soon to need the clock.)
                let now = Instant::now();
                match started {
                    None => started = Some(now),
                    Some(t0) if now.duration_since(t0) >= SPIN_TIME => return false,
                    Some(_) => {}
                }
                if step == YIELD_STEP && deadline.is_none() {
                    // Held at three looks: the lock is busy. Now and then let another
                    // process have this CPU (see `rt::yield_to_holder`).
                    wait::yield_to_holder(now);
                }
            }
            let steps = match step {
                0 => quick,
                n => first.saturating_mul(1 << (n - 1).min(16)).min(most),
            };
            for _ in 0..steps {
                spin_hint();
            }
            step += 1;
        }
    }

    /// A counted waiter tries to take the lock from state `s`, leaving the count. `true` if
    /// acquired.
    #[inline]
    fn try_take_as_waiter(&self, s: u32) -> bool {
        let new = if is_handed(s) {
            // Transition: HANDED -> ours, one waiter fewer, WAKING and NEWCOMERS cleared (the
            // newcomers are woken below). Without RELEASED, LOCKED stays: the hold is ours.
            // With RELEASED, our hold ended before we got here: LOCKED is left as it is (free,
            // or someone else's ordinary hold) and our acquire is complete all the same.
            (s & !(HANDED | RELEASED | WAKING | NEWCOMERS)) - ONE_WAITER
        } else if !is_held(s) {
            // Transition: free -> LOCKED, one waiter fewer, WAKING cleared.
            ((s | LOCKED) & !WAKING) - ONE_WAITER
        } else {
            return false;
        };
        let new = if new < ONE_WAITER {
            new & !HANDOFF
        } else {
            new
        };
        if self
            .state
            .compare_exchange(s, tidy(new), Acquire, Relaxed)
            .is_err()
        {
            return false;
        }
        if s & NEWCOMERS != 0 {
            wait::wake_all(&self.state);
        }
        true
    }

    /// Counts the caller as a waiter (a compare-and-swap from a value without `HANDED`, so
    /// never during a hand-over). During one, marks `NEWCOMERS` and sleeps uncounted until it
    /// is over.
    #[cold]
    fn count_in(&self, deadline: Option<Instant>) -> CountIn {
        let mut s = self.state.load(Relaxed);
        loop {
            if !is_held(s) {
                return CountIn::Free;
            }
            if is_handed(s) {
                let marked = s | NEWCOMERS;
                if s != marked {
                    // Transition: a newcomer during a hand-over marks that it sleeps here.
                    if let Err(now) = self.state.compare_exchange(s, marked, Relaxed, Relaxed) {
                        s = now;
                        continue;
                    }
                }
                if !wait::wait(&self.state, marked, deadline) {
                    return CountIn::TimedOut;
                }
                s = self.state.load(Relaxed);
                continue;
            }
            // Transition: one more counted waiter (the lock is held, not handed over),
            // stamped with this process's fork generation.
            match self
                .state
                .compare_exchange(s, stamp(s + ONE_WAITER), Relaxed, Relaxed)
            {
                Ok(_) => return CountIn::Counted,
                Err(now) => s = now,
            }
        }
    }

    /// A counted waiter's deadline passed: leave the count, unless the lock is free or handed
    /// over, in which case take it (returning `true`).
    #[cold]
    fn give_up(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        loop {
            if self.try_take_as_waiter(s) {
                return true;
            }
            if !is_plainly_held(s) {
                s = self.state.load(Relaxed);
                continue;
            }
            // Transition: one waiter fewer, WAKING cleared (the holder's unlock will wake
            // another); the last one clears a pending HANDOFF request.
            let mut new = (s & !WAKING) - ONE_WAITER;
            if new < ONE_WAITER {
                new &= !HANDOFF;
            }
            match self
                .state
                .compare_exchange_weak(s, tidy(new), Relaxed, Relaxed)
            {
                Ok(_) => return false,
                Err(now) => s = now,
            }
        }
    }
}

/// Whom an unlock wakes (besides the newcomers, woken whenever `HANDED` is cleared).
enum Wake {
    None,
    One,
    All,
}

/// How [`Lock::count_in`] ended.
enum CountIn {
    /// The caller is counted as a waiter.
    Counted,
    /// The lock was free: the caller should try to take it.
    Free,
    /// The deadline passed while the caller slept through a hand-over.
    TimedOut,
}
