//! Raw threads: spawn/join/detach, stack sizes, ids, names, CPU time, sleep.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use threadkit_sys as sys;

/// Spawns `f` with `stack` bytes of stack and joins it.
fn run(stack: usize, f: impl FnOnce() + Send + 'static) {
    sys::spawn(stack, Box::new(f))
        .expect("spawn")
        .join()
        .expect("join");
}

#[test]
fn raw_thread_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<sys::RawThread>();
}

#[test]
fn spawn_join_runs_the_closure() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = Arc::clone(&hits);
    run(0, move || {
        h.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        Arc::strong_count(&hits),
        1,
        "the closure was dropped after running"
    );
}

#[test]
fn detached_thread_runs_to_completion() {
    let done = Arc::new(AtomicU32::new(0));
    let d = Arc::clone(&done);
    let t = sys::spawn(
        0,
        Box::new(move || {
            d.store(1, Ordering::SeqCst);
            sys::wake_all(&*d);
        }),
    )
    .expect("spawn");
    t.detach();
    while done.load(Ordering::SeqCst) == 0 {
        sys::wait(&done, 0, None);
    }
}

/// Recurses with ~1 KiB frames until `bytes` of stack below `top` are in use; returns the
/// depth reached. Measuring addresses (not counting frames) keeps it right in debug builds.
#[inline(never)]
fn dig(top: usize, bytes: usize) -> u64 {
    let frame = black_box([7u8; 1024]);
    let here = black_box(&frame) as *const _ as usize;
    if top.abs_diff(here) >= bytes {
        return 1;
    }
    dig(top, bytes) + u64::from(black_box(&frame)[17] / 7)
}

/// The address of a local of the caller, as the "top" of the stack in use.
#[inline(never)]
fn stack_top() -> usize {
    let x = black_box(0u8);
    black_box(&x) as *const u8 as usize
}

/// A 256 KiB static TLS block in this test binary: glibc takes a thread's static TLS out of
/// the stack it was asked for, so a spawn that did not add it back would leave a 64 KiB
/// request with no usable stack at all.
#[cfg(not(miri))]
mod big_tls {
    use std::cell::Cell;
    thread_local! {
        pub static BIG: Cell<[u8; 256 * 1024]> = const { Cell::new([0; 256 * 1024]) };
    }
    /// Touches this thread's copy, so the block is really there.
    pub fn touch() -> u8 {
        BIG.with(|b| {
            let mut v = b.get();
            v[12345] = 7;
            b.set(v);
            b.get()[12345]
        })
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri ignores the stack size and is far too slow to recurse this deep"
)]
fn requested_stack_is_usable() {
    #[cfg(not(miri))]
    assert_eq!(big_tls::touch(), 7);
    for kib in [64usize, 256, 1024, 8192] {
        let out = Arc::new(AtomicU64::new(0));
        let o = Arc::clone(&out);
        run(kib * 1024, move || {
            // ~75% of the requested size.
            o.store(dig(stack_top(), kib * 1024 * 3 / 4), Ordering::SeqCst);
        });
        assert!(out.load(Ordering::SeqCst) > 1, "{kib} KiB");
    }
}

#[test]
fn tiny_stack_is_rounded_up_to_the_minimum() {
    run(1, || {
        black_box(dig(stack_top(), 2048));
    });
    assert!(sys::min_stack_size() >= sys::page_size());
    assert!(sys::page_size().is_power_of_two());
}

#[test]
#[cfg(target_pointer_width = "64")]
#[cfg_attr(
    miri,
    ignore = "Miri ignores the requested stack size, so the spawn would succeed"
)]
fn impossible_stack_fails_and_leaks_nothing() {
    let token = Arc::new(());
    let t = Arc::clone(&token);
    // Far more than any 64-bit address space can reserve.
    let r = sys::spawn(1 << 60, Box::new(move || drop(t)));
    assert!(r.is_err(), "a 1 EiB stack cannot be allocated");
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "the closure was dropped on failure"
    );
}

#[test]
fn overflowing_stack_size_fails_and_leaks_nothing() {
    let token = Arc::new(());
    let t = Arc::clone(&token);
    // Rounding this up to a page overflows: an error, never a panic or a tiny stack.
    let r = sys::spawn(usize::MAX, Box::new(move || drop(t)));
    assert!(r.is_err());
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "the closure was dropped on failure"
    );
}

/// A [`sys::SharedMain`] body: counts its runs, remembers the thread it ran on.
struct Body {
    runs: AtomicU32,
    ran_on: std::sync::atomic::AtomicU64,
}

impl sys::SharedMain for Body {
    fn main(self: Arc<Self>) {
        self.ran_on.store(sys::current_id(), Ordering::SeqCst);
        self.runs.fetch_add(1, Ordering::SeqCst);
    }
}

fn body() -> Arc<Body> {
    Arc::new(Body {
        runs: AtomicU32::new(0),
        ran_on: std::sync::atomic::AtomicU64::new(0),
    })
}

#[test]
fn spawn_shared_runs_the_body_on_the_new_thread_and_gives_its_reference_back() {
    let b = body();
    sys::spawn_shared(64 * 1024, Arc::clone(&b))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(b.runs.load(Ordering::SeqCst), 1);
    let ran_on = b.ran_on.load(Ordering::SeqCst);
    assert!(ran_on != 0 && ran_on != sys::current_id());
    assert_eq!(
        Arc::strong_count(&b),
        1,
        "the thread's reference was dropped"
    );
}

#[test]
fn failed_spawn_shared_drops_the_reference() {
    let b = body();
    // Rounding this up to a page overflows: the thread is never created.
    assert!(sys::spawn_shared(usize::MAX, Arc::clone(&b)).is_err());
    assert_eq!(b.runs.load(Ordering::SeqCst), 0);
    assert_eq!(
        Arc::strong_count(&b),
        1,
        "the reference was dropped on failure"
    );
}

#[test]
fn ids_are_nonzero_and_distinct() {
    let main = (sys::current_id(), sys::native_id());
    assert_ne!(main.0, 0);
    assert_ne!(main.1, 0);
    assert_eq!(sys::current_id(), main.0, "stable within a thread");
    let other = Arc::new(AtomicU64::new(0));
    let other_native = Arc::new(AtomicU64::new(0));
    let (o, on) = (Arc::clone(&other), Arc::clone(&other_native));
    run(0, move || {
        o.store(sys::current_id(), Ordering::SeqCst);
        on.store(sys::native_id(), Ordering::SeqCst);
    });
    let other = (
        other.load(Ordering::SeqCst),
        other_native.load(Ordering::SeqCst),
    );
    assert_ne!(other.0, 0);
    assert_ne!(other.1, 0);
    assert_ne!(other.0, main.0);
    assert_ne!(other.1, main.1);
}

/// The id stays the same for a thread's whole life, TLS destructors included (it is what
/// `RLock` and `Condition` compare ownership with, and a thread-local's destructor may release
/// a lock). On targets without native TLS, std re-creates a thread-local's box during
/// teardown, so an id taken from a thread-local's address would change there.
#[test]
fn current_id_is_stable_in_tls_destructors() {
    struct OnExit(Arc<AtomicU64>);
    impl Drop for OnExit {
        fn drop(&mut self) {
            self.0.store(sys::current_id(), Ordering::SeqCst);
        }
    }
    type Slot = std::cell::RefCell<Option<OnExit>>;
    thread_local! {
        static BEFORE: Slot = const { std::cell::RefCell::new(None) };
        static AFTER: Slot = const { std::cell::RefCell::new(None) };
    }
    let ids: [Arc<AtomicU64>; 3] = Default::default();
    let theirs = ids.clone();
    run(0, move || {
        let [start, before, after] = theirs;
        // One destructor registered before the id is first read, one after: whichever order
        // the thread-locals are torn down in, one of them runs after the id's own storage
        // would be gone.
        BEFORE.with(|x| *x.borrow_mut() = Some(OnExit(before)));
        start.store(sys::current_id(), Ordering::SeqCst);
        AFTER.with(|x| *x.borrow_mut() = Some(OnExit(after)));
    });
    let [start, before, after] = ids.map(|a| a.load(Ordering::SeqCst));
    assert_ne!(start, 0);
    assert_eq!(before, start, "current_id changed in a TLS destructor");
    assert_eq!(after, start, "current_id changed in a TLS destructor");
}

/// What the OS reports as the calling thread's name (`pthread_getname_np`).
#[cfg(unix)]
fn os_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its length; pthread_self is the calling thread.
    let r = unsafe {
        libc::pthread_getname_np(libc::pthread_self(), buf.as_mut_ptr().cast(), buf.len())
    };
    assert_eq!(r, 0, "pthread_getname_np failed");
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).expect("the name we set is UTF-8")
}

/// Names are cut to `MAX_NAME_LEN` bytes on a char boundary, and at an interior NUL, on every
/// unix (15 bytes on Linux, 63 on macOS, 19 on FreeBSD), and read back as set.
#[test]
#[cfg(unix)]
fn name_is_truncated_to_the_os_limit_on_a_char_boundary() {
    fn truncated(name: &str) -> &str {
        let mut end = name.len().min(sys::MAX_NAME_LEN);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        &name[..end]
    }
    let long = "threadkit-name-longer-than-any-limit-".repeat(4);
    let accented = "é".repeat(100); // 2 bytes each: an odd limit falls inside one
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let (l, a) = (long.clone(), accented.clone());
    run(0, move || {
        let mut v = s.lock().expect("lock");
        for name in ["tk-worker", l.as_str(), a.as_str(), "ab\0cd"] {
            sys::set_current_name(name);
            v.push(os_name());
        }
    });
    let v = seen.lock().expect("lock");
    assert_eq!(v[0], "tk-worker");
    assert_eq!(v[1], truncated(&long));
    assert_eq!(v[1].len(), sys::MAX_NAME_LEN);
    assert_eq!(v[2], truncated(&accented));
    assert!(v[2].len() >= sys::MAX_NAME_LEN - 1);
    assert_eq!(v[3], "ab");
}

#[test]
fn set_name_accepts_long_non_ascii_and_nul() {
    run(0, || {
        sys::set_current_name("short");
        sys::set_current_name(&"é".repeat(100)); // truncated on a char boundary
        sys::set_current_name("a\0b"); // cut at the NUL
        sys::set_current_name("");
    });
}

#[test]
#[cfg(any(target_os = "linux", target_os = "android"))]
#[cfg_attr(miri, ignore = "Miri has no /proc")]
fn name_is_visible_to_the_os() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    run(0, move || {
        let comm = || {
            std::fs::read_to_string(format!("/proc/self/task/{}/comm", sys::native_id()))
                .expect("read comm")
        };
        let mut v = s.lock().expect("lock");
        sys::set_current_name("tk-worker");
        v.push(comm());
        sys::set_current_name("threadkit-very-long-name");
        v.push(comm());
        sys::set_current_name("ééééééééé"); // 18 bytes: cut to 7 chars = 14 bytes
        v.push(comm());
        sys::set_current_name("ab\0cd");
        v.push(comm());
    });
    let v = seen.lock().expect("lock");
    assert_eq!(v[0], "tk-worker\n");
    assert_eq!(v[1], "threadkit-very-\n");
    assert_eq!(v[2], "ééééééé\n");
    assert_eq!(v[3], "ab\n");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri has no per-thread CPU clock (CLOCK_THREAD_CPUTIME_ID, GetThreadTimes)"
)]
fn cpu_time_increases_with_work() {
    let before = sys::thread_cpu_time();
    let n = if cfg!(miri) { 2_000 } else { 20_000_000 };
    let mut x = 0u64;
    let start = Instant::now();
    // Work until the clock moves (coarse clocks tick every few ms).
    while sys::thread_cpu_time() == before {
        for i in 0..n {
            x = black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "thread CPU clock never moved"
        );
    }
    assert!(sys::thread_cpu_time() > before);
}

#[test]
fn sleep_is_never_short() {
    for ms in [0u64, 1, 20] {
        let d = Duration::from_millis(ms);
        let start = Instant::now();
        sys::sleep(d);
        let took = start.elapsed();
        assert!(took >= d, "slept {took:?} < {d:?}");
        assert!(took < d + Duration::from_secs(5), "slept {took:?}");
    }
}

#[test]
fn yield_and_counts() {
    sys::yield_now();
    assert!(sys::cpu_count() >= 1);
    const { assert!(sys::MAX_NAME_LEN >= 15) };
}

#[test]
#[cfg(windows)]
fn name_is_visible_to_the_os() {
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::System::Threading::{GetCurrentThread, GetThreadDescription};

    fn description() -> String {
        let mut p: *mut u16 = core::ptr::null_mut();
        // SAFETY: the pseudo-handle names the calling thread; `p` is writable.
        let hr = unsafe { GetThreadDescription(GetCurrentThread(), &mut p) };
        assert!(
            hr >= 0 && !p.is_null(),
            "GetThreadDescription failed: {hr:#x}"
        );
        let mut len = 0;
        // SAFETY: `p` is a NUL-terminated UTF-16 string allocated by the OS.
        while unsafe { *p.add(len) } != 0 {
            len += 1;
        }
        // SAFETY: `p` is valid for `len` units (counted above).
        let s = String::from_utf16_lossy(unsafe { core::slice::from_raw_parts(p, len) });
        // SAFETY: `p` was allocated with LocalAlloc by GetThreadDescription; freed once.
        unsafe { LocalFree(p.cast()) };
        s
    }

    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    run(0, move || {
        let mut v = s.lock().expect("lock");
        sys::set_current_name("tk-worker é");
        v.push(description());
        sys::set_current_name("ab\0cd");
        v.push(description());
    });
    let v = seen.lock().expect("lock");
    assert_eq!(v[0], "tk-worker é");
    assert_eq!(v[1], "ab");
}

#[test]
fn at_fork_handlers_run_around_fork() {
    static PREPARE: AtomicU32 = AtomicU32::new(0);
    static PARENT: AtomicU32 = AtomicU32::new(0);
    static CHILD: AtomicU32 = AtomicU32::new(0);
    extern "C" fn prepare() {
        PREPARE.fetch_add(1, Ordering::SeqCst);
    }
    extern "C" fn parent() {
        PARENT.fetch_add(1, Ordering::SeqCst);
    }
    extern "C" fn child() {
        CHILD.fetch_add(1, Ordering::SeqCst);
    }
    sys::at_fork(prepare, parent, child).expect("at_fork");
    #[cfg(all(unix, not(miri)))]
    {
        // Another test of this binary may fork too (none does today): count, do not assume.
        let (p0, q0, c0) = (
            PREPARE.load(Ordering::SeqCst),
            PARENT.load(Ordering::SeqCst),
            CHILD.load(Ordering::SeqCst),
        );
        // SAFETY: the child only reads atomics and calls `_exit`, both async-signal-safe.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = PREPARE.load(Ordering::SeqCst) > p0
                && CHILD.load(Ordering::SeqCst) == c0 + 1
                && PARENT.load(Ordering::SeqCst) == q0;
            // SAFETY: `_exit` ends the child at once, running nothing of the parent's.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        assert!(PREPARE.load(Ordering::SeqCst) > p0);
        assert!(PARENT.load(Ordering::SeqCst) > q0);
        assert_eq!(
            CHILD.load(Ordering::SeqCst),
            c0,
            "the child handler ran in the parent"
        );
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is writable.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the child saw the wrong handlers run (status {status:#x})"
        );
    }
}

/// A thread pinned to one CPU still sees its process's CPUs: threadkit's spinning and notify
/// decisions use this count, and a pinned worker reading it first must not make every lock
/// in the process think it runs on a single CPU.
#[test]
#[cfg(any(target_os = "linux", target_os = "android"))]
#[cfg_attr(miri, ignore = "Miri has no sched_setaffinity")]
fn cpu_count_is_the_process_count_in_a_pinned_thread() {
    let process = sys::cpu_count();
    let seen = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&seen);
    run(0, move || {
        // SAFETY: an all-zero cpu_set_t is a valid empty set; CPU 0 is below CPU_SETSIZE.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above; pid 0 is this (spawned) thread.
        let pinned = unsafe {
            libc::CPU_SET(0, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
        } == 0;
        s.store(
            if pinned {
                sys::cpu_count() as u64
            } else {
                u64::MAX
            },
            Ordering::SeqCst,
        );
    });
    match seen.load(Ordering::SeqCst) {
        u64::MAX => {} // pinning refused (a restricted sandbox): nothing to check
        n => assert_eq!(n, process as u64, "a pinned thread saw a different count"),
    }
}
