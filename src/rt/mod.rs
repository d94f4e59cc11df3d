//! The seam between the algorithms and the OS: the one module that names `threadkit_sys`.
//!
//! Every primitive in this crate reaches `threadkit-sys` through this module and nothing else:
//! atomics, the futex-style [`wait`]/[`wake_one`]/[`wake_n`]/[`wake_all`]/[`requeue_one`], the calling
//! thread's id, spin hints and timeouts. Under `cfg(threadkit_loom)` the same names are a model: loom's
//! atomics and a futex built from loom's `Mutex` + `Condvar` keyed by address, in which a
//! sleeper leaves `wait` only when woken (never by polling), so a lost wake-up is a loom
//! deadlock.
//!
//! | file       | what lives there                                                             |
//! |------------|------------------------------------------------------------------------------|
//! | `mod.rs`   | the real/model switch, `loom_const_fn!`, deadlines, [`TIMEOUT_MAX`], `WAKE_CALLS` |
//! | `real.rs`  | atomics + futex wait/wake forwarded to `threadkit-sys` (normal builds)       |
//! | `model.rs` | the same names under `cfg(threadkit_loom)`: loom's atomics and a modelled futex        |
//! | `fork.rs`  | fork generations: `is_current_generation`, `renew_after_fork`             |
//! | `spin/`    | the spin policy ([`spin`], [`set_hint`], [`yield_to_holder`]), its constants, tests |
//! | `os.rs`    | the thread layer's unmodelled view: real atomics and futex, thread syscalls |

use std::time::{Duration, Instant};

/// The longest timeout that is honoured as a timeout; anything longer waits without one.
/// Python's `threading.TIMEOUT_MAX` (about 292 years, the same value as CPython on Linux).
///
/// ```
/// use std::time::Duration;
/// assert!(threadkit::TIMEOUT_MAX > Duration::from_secs(100 * 365 * 24 * 3600));
/// ```
pub const TIMEOUT_MAX: Duration = Duration::from_secs(i64::MAX as u64 / 1_000_000_000);

/// The deadline of a wait of `timeout` starting now; `None` (no deadline) when `timeout` is
/// beyond [`TIMEOUT_MAX`] or beyond what the clock can represent.
#[inline]
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    if timeout > TIMEOUT_MAX {
        return None;
    }
    now().checked_add(timeout)
}

/// Whether `deadline` has passed, on the clock that [`deadline_after`] sets deadlines by (the
/// monotonic clock; under the model, one that stands still: see `model::now`).
#[inline]
pub(crate) fn passed(deadline: Instant) -> bool {
    now() >= deadline
}

mod fork;
pub(crate) mod os;
mod spin;

#[cfg(all(test, unix, not(miri), not(threadkit_loom)))]
pub(crate) use fork::child_passes;
pub(crate) use fork::{is_current_generation, renew_after_fork};

#[cfg(not(threadkit_loom))]
use spin::{NOTIFY_WINDOW_MAX, NOTIFY_WINDOW_PER_CPU};
pub(crate) use spin::{
    Spun, forget_partner, set_hint, spin, spin_briefly, woke_partner, yield_to_holder, yield_wait,
};
#[cfg(all(test, not(threadkit_loom)))]
pub(crate) use spin::{lost_bets, take_partner_record};

#[cfg(all(test, not(threadkit_loom)))]
std::thread_local! {
    /// Unit tests only: how many wake-up calls into `sys` (`wake_*`, `requeue_one`) this
    /// thread has made, so a test can prove that a path makes one system call, or none.
    pub(crate) static WAKE_CALLS: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Counts one wake-up call for `WAKE_CALLS` (unit tests only; nothing otherwise).
#[cfg(not(threadkit_loom))]
#[inline(always)]
fn count_wake_call() {
    #[cfg(all(test, not(threadkit_loom)))]
    WAKE_CALLS.with(|c| c.set(c.get() + 1));
}

/// Unit tests only: runs `f` and returns how many wake-up calls into `sys` this thread made
/// meanwhile, with its result.
#[cfg(all(test, not(threadkit_loom)))]
pub(crate) fn wake_calls_during<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = WAKE_CALLS.with(core::cell::Cell::get);
    let r = f();
    (WAKE_CALLS.with(core::cell::Cell::get) - before, r)
}

#[cfg(not(threadkit_loom))]
mod real;
#[cfg(not(threadkit_loom))]
pub(crate) use real::*;

#[cfg(all(threadkit_loom, not(feature = "loom")))]
compile_error!(
    "`--cfg threadkit_loom` builds threadkit's loom model: enable the `loom` feature too \
     (threadkit's own tests do so through their self dev-dependency)"
);
#[cfg(threadkit_loom)]
mod model;
#[cfg(threadkit_loom)]
pub(crate) use model::*;

/// Declares a constructor that is `const fn` normally and a plain `fn` under loom (whose
/// atomics have no `const` constructor).
macro_rules! loom_const_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $t:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$m])*
        #[cfg(not(threadkit_loom))]
        $vis const fn $name($($arg: $t),*) -> $ret $body
        $(#[$m])*
        #[cfg(threadkit_loom)]
        $vis fn $name($($arg: $t),*) -> $ret $body
    };
}
pub(crate) use loom_const_fn;
