//! Timeout arithmetic shared by the backends: pure functions, so the host's unit tests check
//! every OS's conversions (rounding up, clamping, carrying), including backends this machine
//! never runs natively (the macOS `__ulock_wait` fallback, say).

#[cfg(any(windows, all(target_os = "macos", not(miri)), test))]
use std::time::Duration;

/// `rest` in whole milliseconds, rounded **up** (a wait never ends early because of rounding),
/// at most `u32::MAX - 1` (Windows: `INFINITE - 1`; the caller loops on the time that
/// remains).
#[cfg(any(windows, test))]
pub(crate) fn millis_up(rest: Duration) -> u32 {
    let ms = rest.as_nanos().div_ceil(1_000_000);
    u32::try_from(ms).map_or(u32::MAX - 1, |ms| ms.min(u32::MAX - 1))
}

/// `ns` nanoseconds in whole microseconds, rounded up, at least 1 (0 means "forever" to
/// `__ulock_wait`), at most `u32::MAX` (about 71 minutes; the caller loops).
#[cfg(any(all(target_os = "macos", not(miri)), test))]
pub(crate) fn micros_up(rest: Duration) -> u32 {
    u32::try_from(rest.as_nanos().div_ceil(1_000).max(1)).unwrap_or(u32::MAX)
}

/// `(sec, nsec) + rest` as a normalised `(sec, nsec)` (`0 <= nsec < 10^9`), or `None` if the
/// seconds overflow `i64` (the caller then waits without a timeout).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    test
))]
pub(crate) fn add_to(sec: i64, nsec: i64, rest: std::time::Duration) -> Option<(i64, i64)> {
    let mut sec = sec.checked_add(i64::try_from(rest.as_secs()).ok()?)?;
    let mut nsec = nsec + i64::from(rest.subsec_nanos());
    if nsec >= 1_000_000_000 {
        nsec -= 1_000_000_000;
        sec = sec.checked_add(1)?;
    }
    Some((sec, nsec))
}

/// The absolute `CLOCK_MONOTONIC` time of `deadline` as a `timespec`, or `None` if it does not
/// fit (Linux and FreeBSD take absolute deadlines, so a retry after `EINTR` never extends a
/// wait).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[allow(clippy::useless_conversion)] // time_t and c_long are i32 on some targets, i64 here
pub(crate) fn monotonic_timespec(deadline: std::time::Instant) -> Option<libc::timespec> {
    // `now` is read before the clock, so `clock + rest` is never earlier than `deadline`.
    let now = std::time::Instant::now();
    let ts = clock_now(libc::CLOCK_MONOTONIC);
    debug_assert!(ts.is_some(), "CLOCK_MONOTONIC refused");
    let ts = ts.unwrap_or(libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    });
    let rest = deadline.saturating_duration_since(now);
    let (sec, nsec) = add_to(i64::from(ts.tv_sec), i64::from(ts.tv_nsec), rest)?;
    Some(libc::timespec {
        tv_sec: sec.try_into().ok()?,
        tv_nsec: nsec.try_into().ok()?,
    })
}

/// The time of the clock `id` (`CLOCK_MONOTONIC`, `CLOCK_THREAD_CPUTIME_ID`, which exist on
/// every supported unix), or `None` if the OS refused it.
#[cfg(unix)]
pub(crate) fn clock_now(id: libc::clockid_t) -> Option<libc::timespec> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; an unknown `id` is an error return.
    let r = unsafe { libc::clock_gettime(id, &mut ts) };
    (r == 0).then_some(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: Duration = Duration::from_nanos(1);

    #[test]
    fn millis_round_up_and_clamp() {
        assert_eq!(millis_up(Duration::ZERO), 0);
        assert_eq!(millis_up(NS), 1);
        assert_eq!(millis_up(Duration::from_millis(1)), 1);
        assert_eq!(millis_up(Duration::from_millis(1) + NS), 2);
        assert_eq!(millis_up(Duration::from_secs(49 * 86_400)), 4_233_600_000);
        // Past INFINITE (u32::MAX): clamped just below it, never INFINITE itself.
        assert_eq!(millis_up(Duration::from_secs(50 * 86_400)), u32::MAX - 1);
        assert_eq!(millis_up(Duration::MAX), u32::MAX - 1);
    }

    #[test]
    fn micros_round_up_never_zero_and_clamp() {
        assert_eq!(micros_up(Duration::ZERO), 1, "0 would mean forever");
        assert_eq!(micros_up(NS), 1);
        assert_eq!(micros_up(Duration::from_micros(5)), 5);
        assert_eq!(micros_up(Duration::from_micros(5) + NS), 6);
        assert_eq!(micros_up(Duration::from_secs(4294)), 4_294_000_000);
        assert_eq!(micros_up(Duration::from_secs(4295)), u32::MAX);
        assert_eq!(micros_up(Duration::MAX), u32::MAX);
    }

    #[test]
    fn timespec_sum_carries_and_overflows_to_none() {
        assert_eq!(add_to(10, 0, Duration::ZERO), Some((10, 0)));
        assert_eq!(add_to(10, 999_999_999, NS), Some((11, 0)));
        assert_eq!(
            add_to(10, 999_999_999, Duration::new(2, 999_999_999)),
            Some((13, 999_999_998))
        );
        assert_eq!(add_to(i64::MAX - 1, 999_999_999, NS), Some((i64::MAX, 0)));
        assert_eq!(add_to(i64::MAX, 999_999_999, NS), None);
        assert_eq!(add_to(0, 0, Duration::MAX), None);
    }
}
