//! Fork generations: how a primitive notices, in the child of a `fork()`, that the waiter
//! state it keeps belongs to threads that vanished (see docs/architecture.md, "fork()").
//! `fork_generation` itself is in `real.rs` (from `threadkit_sys`) and `model.rs` (always 0).

use super::{AtomicU32, fork_generation, wait, wake_all};

/// Whether `word`'s fork-generation field (bits `shift..32`) is this process's generation
/// (its low bits) and no renewal is under way (bit `shift - 1`): if not, the caller must call
/// [`renew_after_fork`] before it touches what the field guards.
#[inline]
pub(crate) fn is_current_generation(word: &AtomicU32, shift: u32) -> bool {
    use core::sync::atomic::Ordering::Acquire;
    let w = word.load(Acquire);
    w & (1 << (shift - 1)) == 0 && w >> shift == fork_generation() & (u32::MAX >> shift)
}

/// In a fork child, the first thread to reach a primitive whose `word` says it belongs to an
/// older fork generation (bits `shift..32`) runs `renew` (which discards what the parent's
/// vanished threads left: waiters, tokens, an internal lock they held), with bit `shift - 1`
/// set meanwhile; every other thread waits on `word` until it is done. The bits in `keep`
/// (below `shift - 1`) survive; the others below the field are cleared. Idempotent: returns at
/// once if the field is already current. (Loom never forks: there the field is always current.)
#[cold]
pub(crate) fn renew_after_fork(word: &AtomicU32, shift: u32, keep: u32, renew: impl FnOnce()) {
    use core::sync::atomic::Ordering::{Acquire, Release};
    let renewing = 1 << (shift - 1);
    let field = || fork_generation() & (u32::MAX >> shift);
    let mut w = word.load(Acquire);
    loop {
        if w & renewing != 0 {
            // Another thread of the child is renewing it: wait until it is done.
            wait(word, w, None);
            w = word.load(Acquire);
            continue;
        }
        if w >> shift == field() {
            return;
        }
        // Transition: older generation -> renewing (only the `keep` bits stay).
        match word.compare_exchange(w, (w & keep) | renewing, Acquire, Acquire) {
            Ok(_) => break,
            Err(now) => w = now,
        }
    }
    renew();
    // Transition: renewing -> this generation. (Other bits below the field may have changed
    // meanwhile, e.g. a hint: an RMW keeps them.)
    word.fetch_xor(renewing | (field() << shift), Release);
    wake_all(word);
}

/// Unit tests only: runs `child` in a `fork()` child of this process and returns whether it
/// returned normally there (a panic, or a hang past 30 s, counts as a failure). The child runs
/// only `child` and then `_exit`s.
#[cfg(all(test, unix, not(miri), not(threadkit_loom)))]
pub(crate) fn child_passes(child: impl FnOnce()) -> bool {
    // SAFETY: fork has no preconditions; the child only runs `child`, then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: alarm has no preconditions.
        unsafe { libc::alarm(30) };
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).is_ok();
        // SAFETY: `_exit` has no preconditions (and skips the parent's atexit handlers).
        unsafe { libc::_exit(i32::from(!ok)) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}
