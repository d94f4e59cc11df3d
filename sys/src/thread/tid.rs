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
    /// The decoded id is the kernel's, on the main thread, on a new thread, and in a thread
    /// started after another one ended (a reused descriptor).
    #[test]
    fn the_decoded_id_is_the_kernels() {
        let check = || {
            assert_eq!(super::from_clock(), Some(super::syscall()));
            super::current()
        };
        let main = check();
        let a = std::thread::spawn(check).join().unwrap();
        let b = std::thread::spawn(check).join().unwrap();
        assert_ne!(main, a);
        assert_ne!(main, b);
    }

    /// In a fork child the decoded id is the child's (its one thread's id is its pid), not the
    /// forking thread's in the parent.
    #[test]
    fn a_fork_child_decodes_its_own_id() {
        // Forked from a thread that is not the parent's main one.
        let status = std::thread::spawn(|| {
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
            assert!(pid > 0, "fork failed");
            let mut status = 0;
            // SAFETY: `pid` is our child; `status` is writable.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            status
        })
        .join()
        .unwrap();
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{status:#x}"
        );
    }
}
