//! The calling thread's kernel id on Linux and Android, without a system call where the C
//! library keeps it.
//!
//! glibc and musl store each thread's id in its descriptor: the kernel writes it there
//! (`CLONE_PARENT_SETTID`) before the new thread first runs, and each C library sets it again
//! in a fork child (their own mutexes read it as the owner's id). `pthread_getcpuclockid`
//! reads it from there, with no system call, and returns it encoded the way the kernel defines
//! a thread's CPU-time clock (`~tid << 3 | CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED`). A
//! result that does not decode that way falls back to the `gettid` system call, as do Miri,
//! which knows only `gettid`, and Android (not built or tested here). On the benchmark VM a
//! `gettid` costs about 0.65 us, nearly 2% of a thread's start and join
//! (`docs/benchmarks.md`), and every threadkit thread asks once.

/// The low bits of a thread's CPU-time clock id: `CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED`.
#[cfg(all(target_os = "linux", not(miri)))]
const THREAD_SCHED_CLOCK: libc::clockid_t = 4 | 2;

#[cfg(all(target_os = "linux", not(miri)))]
unsafe extern "C" {
    // In glibc (in libc.so itself since 2.34, before in libpthread, which Rust programs link)
    // and musl; the `libc` crate does not declare it for Linux.
    fn pthread_getcpuclockid(thread: libc::pthread_t, clock: *mut libc::clockid_t) -> libc::c_int;
}

/// The calling thread's id.
pub(super) fn current() -> u64 {
    #[cfg(all(target_os = "linux", not(miri)))]
    if let Some(tid) = from_clock() {
        return tid;
    }
    syscall()
}

/// The id as the C library keeps it, decoded from the thread's CPU-time clock id.
#[cfg(all(target_os = "linux", not(miri)))]
fn from_clock() -> Option<u64> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `pthread_self()` is the calling thread's own live handle; `clock` is writable.
    if unsafe { pthread_getcpuclockid(libc::pthread_self(), &mut clock) } != 0 {
        return None;
    }
    if clock & 7 != THREAD_SCHED_CLOCK {
        return None;
    }
    let tid = !(clock >> 3);
    u64::try_from(tid).ok().filter(|&t| t > 0)
}

/// The `gettid` system call.
fn syscall() -> u64 {
    // The raw system call, not glibc's wrapper, which only exists from glibc 2.30 on (Miri
    // knows only the wrapper).
    #[cfg(not(miri))]
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    #[cfg(miri)]
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    tid as u64
}

#[cfg(all(test, target_os = "linux", not(miri)))]
mod tests {
    use core::sync::atomic::{AtomicI64, Ordering::SeqCst};
    use std::sync::Arc;

    /// Runs `f` on a thread of this crate's own [`spawn`](crate::spawn) and returns what it
    /// returned; the caller asserts (a panic on such a thread aborts the process).
    fn on_new_thread<const N: usize>(f: fn() -> [i64; N]) -> [i64; N] {
        let out: Arc<[AtomicI64; N]> = Arc::new(core::array::from_fn(|_| AtomicI64::new(0)));
        let o = Arc::clone(&out);
        let t = crate::spawn(
            0,
            Box::new(move || {
                for (slot, v) in o.iter().zip(f()) {
                    slot.store(v, SeqCst);
                }
            }),
        );
        t.expect("spawn").join().expect("join");
        out.each_ref().map(|v| v.load(SeqCst))
    }

    /// The calling thread's decoded id (0 if it does not decode) and its `gettid`.
    fn ids() -> [i64; 2] {
        let decoded = super::from_clock().unwrap_or(0);
        [decoded as i64, super::syscall() as i64]
    }

    /// The decoded id is the kernel's, on the main thread, on a new thread, and in a thread
    /// started after another one ended (a reused descriptor).
    #[test]
    fn the_decoded_id_is_the_kernels() {
        let [main, a, b] = [ids(), on_new_thread(ids), on_new_thread(ids)].map(|[decoded, tid]| {
            assert_eq!(decoded, tid);
            tid
        });
        assert_ne!(main, a);
        assert_ne!(main, b);
    }

    /// Forks, and in the child checks that the decoded id is the child's own (its one
    /// thread's id is its pid); returns `[fork's result, waitpid's result, the status]`.
    fn fork_and_check() -> [i64; 3] {
        // SAFETY: the child only makes async-signal-safe calls (reads of its descriptor,
        // `gettid`, `getpid`) and leaves with `_exit`.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = super::from_clock() == Some(super::syscall())
                // SAFETY: getpid has no preconditions.
                && super::syscall() == unsafe { libc::getpid() } as u64;
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        let waited = if pid > 0 {
            // SAFETY: `pid` is our child; `status` is writable.
            unsafe { libc::waitpid(pid, &mut status, 0) }
        } else {
            -1
        };
        [pid.into(), waited.into(), status.into()]
    }

    /// In a fork child the decoded id is the child's, not the forking thread's in the parent.
    #[test]
    fn a_fork_child_decodes_its_own_id() {
        // Forked from a thread that is not the parent's main one.
        let [pid, waited, status] = on_new_thread(fork_and_check);
        assert!(pid > 0, "fork failed");
        assert_eq!(waited, pid);
        let status = status as i32;
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{status:#x}"
        );
    }
}
