//! The fork generation behind [`fork_generation`](super::fork_generation), and the lock that
//! registers `at_fork` handlers one at a time.
//!
//! The lock must survive a `fork()` taken while a thread of the parent holds it: the child
//! inherits the held word, but not the thread that would release it. So the word holds the id
//! of the process whose thread holds it, and a caller that finds another process's id takes
//! the lock over (no thread of that process exists in this one). Once the generation's child
//! handler is registered it also frees the word in every child, before `fork` returns there.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

/// Whether the child handler ([`bump`]) is registered in this process.
pub(super) static HOOKED: AtomicBool = AtomicBool::new(false);
/// The fork generation: 0 in the first process, one more in each child.
pub(super) static GENERATION: AtomicU32 = AtomicU32::new(0);
/// The registration lock: 0 when free, else the id of the process whose thread holds it
/// (sleepers wait on that value).
static REGISTERING: AtomicU32 = AtomicU32::new(0);

/// Runs `f` (an `at_fork` registration) holding the registration lock: the C library's own
/// lock is invisible to ThreadSanitizer, and `fork_generation` must register its handler
/// exactly once. A small futex lock, taken a few times per process; see the module docs for
/// what a `fork` leaves in it.
pub(super) fn with_registration_lock<R>(f: impl FnOnce() -> R) -> R {
    use core::sync::atomic::Ordering::{Acquire, Release};
    let me = super::imp::process_id();
    let mut held = REGISTERING.load(Relaxed);
    loop {
        if held == me {
            // A thread of this process holds it: wait for its release.
            crate::wait(&REGISTERING, me, None);
            held = REGISTERING.load(Relaxed);
            continue;
        }
        // Transition: free, or held in the process this one was forked from (whose holder
        // does not exist here) -> held by this process.
        match REGISTERING.compare_exchange(held, me, Acquire, Relaxed) {
            Ok(_) => break,
            Err(now) => held = now,
        }
    }
    let r = f();
    REGISTERING.store(0, Release);
    crate::wake_all(&REGISTERING);
    r
}

/// Registers the child handler, once; every caller returns only once it is registered (or
/// the C library refused: then the next call tries again).
#[cold]
pub(super) fn hook() {
    use core::sync::atomic::Ordering::Release;
    with_registration_lock(|| {
        if !HOOKED.load(Relaxed) && super::imp::at_fork(none, none, bump).is_ok() {
            HOOKED.store(true, Release);
        }
    });
}

extern "C" fn none() {}

/// The child handler: runs in the child, on its only thread, before `fork` returns there. A
/// fork between the registration and `HOOKED` leaves `HOOKED` false in the child: set it, so
/// the child does not register a second handler; and free the registration lock, which no
/// thread of the child holds.
extern "C" fn bump() {
    GENERATION.fetch_add(1, Relaxed);
    HOOKED.store(true, Relaxed);
    REGISTERING.store(0, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::{REGISTERING, with_registration_lock};
    use core::sync::atomic::Ordering::SeqCst;

    /// A word left held by another process (as a fork child finds one its parent's thread
    /// held) is taken over, not waited on forever.
    #[test]
    fn a_lock_held_in_another_process_is_taken_over() {
        let me = super::super::imp::process_id();
        let other = me.wrapping_add(1).max(1);
        // Another test may be registering right now: mark the word only while it is free.
        while REGISTERING
            .compare_exchange(0, other, SeqCst, SeqCst)
            .is_err()
        {
            crate::yield_now();
        }
        assert_eq!(with_registration_lock(|| 7), 7);
        assert_ne!(
            REGISTERING.load(SeqCst),
            other,
            "the stale holder's mark stayed"
        );
    }

    /// The bug this lock's design fixes: a `fork` while another thread of the parent holds
    /// the lock. The child registers a handler and reads its generation; it used to wait
    /// forever for the vanished holder (the alarm then ends it and the test fails).
    #[test]
    #[cfg(all(unix, not(miri)))]
    fn a_child_forked_while_another_thread_registers_can_register() {
        use core::sync::atomic::AtomicBool;
        static HOLDING: AtomicBool = AtomicBool::new(false);
        static FORKED: AtomicBool = AtomicBool::new(false);
        extern "C" fn nothing() {}
        let holder = crate::spawn(
            crate::min_stack_size().max(1 << 16),
            Box::new(|| {
                with_registration_lock(|| {
                    HOLDING.store(true, SeqCst);
                    while !FORKED.load(SeqCst) {
                        crate::yield_now();
                    }
                })
            }),
        )
        .expect("spawn");
        while !HOLDING.load(SeqCst) {
            crate::yield_now();
        }
        // SAFETY: fork has no preconditions; the child registers a handler, reads atomics and
        // `_exit`s.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: alarm and _exit have no preconditions.
            unsafe { libc::alarm(20) };
            let ok = crate::at_fork(nothing, nothing, nothing).is_ok();
            let _ = crate::fork_generation();
            // SAFETY: as above.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        FORKED.store(true, SeqCst);
        holder.join().expect("join");
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is writable.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the child could not register (status {status:#x}: 14 is the alarm of a hang)"
        );
    }
}
