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

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri ignores the stack size and is far too slow to recurse this deep"
)]
fn requested_stack_is_usable() {
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
