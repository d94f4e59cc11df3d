//! [`RawSemaphore`]: the two words shared by `Semaphore` and `BoundedSemaphore` and every
//! transition on them. The state table, the transitions and the memory-ordering argument are
//! in the module docs of `mod.rs`.

use crate::Error;
use crate::rt::{
    AtomicU32, deadline_after, fork_generation, loom_const_fn, set_hint, spin, wait, wake_all,
    wake_n, woke_partner,
};
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::time::{Duration, Instant};
/// The hint bit of `sleepers` (see the module docs); the count is in the other bits.
const SPUN: u32 = 1 << 31;
/// The registered sleepers in `sleepers`.
pub(super) const COUNT: u32 = (1 << 24) - 1;
/// The fork-generation field of `sleepers`.
const GEN_SHIFT: u32 = 24;
const GEN_MASK: u32 = 0x7f << GEN_SHIFT;

/// The low bits of the fork generation, placed where `sleepers` keeps them.
#[inline]
fn generation_bits() -> u32 {
    (fork_generation() << GEN_SHIFT) & GEN_MASK
}

/// The counter shared by [`Semaphore`] and [`BoundedSemaphore`] (see the module docs).
pub(crate) struct RawSemaphore {
    /// The counter, and the futex word.
    pub(super) value: AtomicU32,
    /// Threads registered in the slow path.
    pub(super) sleepers: AtomicU32,
}

impl RawSemaphore {
    loom_const_fn! {
        pub(crate) fn new(value: u32) -> Self {
            RawSemaphore { value: AtomicU32::new(value), sleepers: AtomicU32::new(0) }
        }
    }

    #[inline]
    pub(crate) fn value(&self) -> u32 {
        self.value.load(Relaxed)
    }

    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub(crate) fn try_acquire(&self) -> bool {
        let mut v = self.value.load(Relaxed);
        while v > 0 {
            // Transition: v -> v - 1 (take one unit).
            match self.value.compare_exchange_weak(v, v - 1, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
        false
    }

    #[inline]
    pub(crate) fn acquire(&self) {
        if !self.try_acquire() {
            self.acquire_slow(None);
        }
    }

    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub(crate) fn acquire_timeout(&self, timeout: Duration) -> bool {
        if timeout.is_zero() {
            return self.try_acquire();
        }
        self.try_acquire() || self.acquire_slow(deadline_after(timeout))
    }

    #[inline]
    #[must_use = "if it returned true the primitive is held and must be released"]
    pub(crate) fn acquire_until(&self, deadline: Instant) -> bool {
        self.try_acquire() || self.acquire_slow(Some(deadline))
    }

    #[cold]
    fn acquire_slow(&self, deadline: Option<Instant>) -> bool {
        let hint = self.sleepers.load(Relaxed) & SPUN != 0;
        let spun = match spin(hint, deadline, || {
            self.value.load(Relaxed) > 0 && self.try_acquire()
        }) {
            Ok(()) => {
                set_hint(&self.sleepers, SPUN, hint, true);
                return true;
            }
            Err(spun) => spun,
        };
        // Dekker, sleeper side: register, then read `value` (both SeqCst).
        self.register();
        let mut slept = false;
        let got = loop {
            let mut v = self.value.load(SeqCst);
            while v > 0 {
                // Transition: v -> v - 1 (take one unit).
                match self.value.compare_exchange_weak(v, v - 1, Acquire, SeqCst) {
                    Ok(_) => break,
                    Err(now) => v = now,
                }
            }
            if v > 0 {
                break true;
            }
            slept = true;
            if !wait(&self.value, 0, deadline) {
                // The deadline passed; a unit released just before still counts.
                break self.try_acquire();
            }
        };
        self.sleepers.fetch_sub(1, Relaxed);
        if got && slept {
            set_hint(&self.sleepers, SPUN, hint, spun.after_sleep());
        }
        got
    }

    /// Counts the caller as a sleeper (a `SeqCst` read-modify-write: the sleeper's write of the
    /// Dekker handshake). A count of an older fork generation is dropped first.
    #[inline]
    fn register(&self) {
        let g = generation_bits();
        let mut s = self.sleepers.load(Relaxed);
        loop {
            let count = if s & GEN_MASK == g { s & COUNT } else { 0 };
            // Transition: one more sleeper (the vanished ones of an older generation dropped).
            match self.sleepers.compare_exchange_weak(
                s,
                (s & SPUN) | g | (count + 1),
                SeqCst,
                Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
    }

    /// Adds `n` units unless that would pass `limit`, then wakes at most `n` sleepers.
    #[inline]
    pub(crate) fn release_n(&self, n: u32, limit: u32, err: fn() -> Error) -> Result<(), Error> {
        if n == 0 {
            return Ok(());
        }
        let mut v = self.value.load(Relaxed);
        loop {
            let new = match v.checked_add(n) {
                Some(new) if new <= limit => new,
                _ => return Err(err()),
            };
            // Transition: v -> v + n (check and add in one step: all or nothing).
            // SeqCst: the releaser's write of the Dekker handshake.
            match self.value.compare_exchange_weak(v, new, SeqCst, Relaxed) {
                Ok(_) => break,
                Err(now) => v = now,
            }
        }
        let s = self.sleepers_after_release();
        let sleepers = s & COUNT;
        if sleepers > 0 && s & GEN_MASK == generation_bits() {
            self.wake(n, sleepers);
        }
        Ok(())
    }

    /// Dekker, releaser side: reads `sleepers` after the `SeqCst` write of `value`.
    ///
    /// Loom does not model the single total order of `SeqCst` loads (tokio-rs/loom#180), so
    /// under loom this is an `AcqRel` read-modify-write instead, which gives the same guarantee
    /// a different way: it reads the latest count, and a sleeper's later `fetch_add` synchronizes
    /// with it and so sees the new `value`.
    #[inline]
    fn sleepers_after_release(&self) -> u32 {
        #[cfg(not(threadkit_loom))]
        return self.sleepers.load(SeqCst);
        #[cfg(threadkit_loom)]
        return self
            .sleepers
            .fetch_add(0, std::sync::atomic::Ordering::AcqRel);
    }

    /// One wake-up call for `min(n, sleepers)` threads.
    #[cold]
    fn wake(&self, n: u32, sleepers: u32) {
        if n >= sleepers {
            wake_all(&self.value);
        } else {
            wake_n(&self.value, n as usize);
        }
        if sleepers == 1 {
            // The one sleeper there was: a partner this thread's next wait probably depends on.
            woke_partner();
        }
    }
}
