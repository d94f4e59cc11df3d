//! The spin policy's tests: what a wake-up record and the yield's rate bound allow, and the
//! records of the yield waits.

use super::bets::{BETS, Partner, partner, slept, take_woke};
use super::yields::{Ended, RanOut, next_quiet, next_ran_out, record, yield_records};
use super::{
    SHARED_SLEEP, SKIP_MAX, SPIN_AFTER_WAKE, SPIN_LONG, SPIN_SHORT, SWITCH_MIN, Spun, YIELD_EVERY,
    spin, spin_briefly, woke_partner, yield_to_holder,
};
use super::{YIELD_QUIET_MAX, YIELD_QUIET_MIN, yield_wait};
use crate::rt::may_spin;
use std::time::{Duration, Instant};

/// Whether this thread's last long spin was cut short because it lost its CPU (which a
/// loaded machine may do to any spin; the tests then accept the shorter spin).
fn preempted() -> bool {
    BETS.with(|b| b.get().skip == SKIP_MAX)
}

/// After a wake-up call, a spin with no hint lasts until `SPIN_AFTER_WAKE` after the call
/// (not the `SPIN_LONG` of a hinted spin), and uses the record up: the next spin is short.
#[test]
fn a_wait_after_waking_a_partner_spins_until_the_partner_could_answer() {
    if !may_spin() {
        return; // one CPU: nothing spins
    }
    let t0 = Instant::now();
    woke_partner();
    assert!(spin(false, None, || false).is_err());
    let took = t0.elapsed();
    assert!(
        took >= SPIN_AFTER_WAKE || preempted(),
        "spun {took:?} after a wake-up call"
    );
    assert!(take_woke().is_none(), "the spin took the record");
    assert!(SPIN_AFTER_WAKE > SPIN_LONG);
}

/// The record is only a permission: a spin that finds its condition true returns at once,
/// and a record older than `SPIN_AFTER_WAKE` gives no long spin (no bet made, so none
/// lost: the thread's record of bets stays clean).
#[test]
fn a_stale_wake_up_record_gives_no_long_spin() {
    if !may_spin() {
        return;
    }
    woke_partner();
    assert!(spin(false, None, || true).is_ok());
    woke_partner();
    crate::rt::sleep(SPIN_AFTER_WAKE * 2);
    assert!(spin(false, None, || false).is_err());
    let bets = BETS.with(|b| b.get());
    assert_eq!(
        (bets.skip, bets.penalty),
        (0, 0),
        "a long spin ran and lost"
    );
    assert!(take_woke().is_none(), "the spin took the record");
}

/// A lock waiter's yield comes at most once per `YIELD_EVERY` per thread: a call within that
/// time of the last yield gives nothing away (the record keeps the earlier time); the first
/// call after it yields again. Times are passed in, so the clock cannot make this flake.
#[test]
fn yields_to_a_lock_holder_at_most_once_per_period() {
    let yielded = || BETS.with(|b| b.get().yielded);
    let t0 = Instant::now();
    yield_to_holder(t0);
    assert_eq!(yielded(), Some(t0), "the first call yields");
    yield_to_holder(t0 + YIELD_EVERY / 2);
    assert_eq!(yielded(), Some(t0), "a call within the period yielded");
    yield_to_holder(t0 + YIELD_EVERY - Duration::from_nanos(1));
    assert_eq!(yielded(), Some(t0), "a call within the period yielded");
    let t1 = t0 + YIELD_EVERY;
    yield_to_holder(t1);
    assert_eq!(yielded(), Some(t1), "a call a period later did not yield");
    // A time before the last yield (another clock reading raced this one) never yields.
    yield_to_holder(t0);
    assert_eq!(yielded(), Some(t1));
}

/// A failed spin that gave up (and began its sleep) at `t`: what `after_sleep` learns from.
/// The tests give it only times whose sleep no slow run can move across a bound: later than
/// now (a sleep of zero), or long ago. Sleeps of a given length go to `slept` directly.
fn gave_up(t: Instant) -> Spun {
    Spun {
        start: Some(t),
        gave_up: Some(t),
    }
}

/// How many times a spin (a hinted one: it may spin long) looks at its condition, which
/// never turns true.
fn looks() -> u32 {
    let mut n = 0;
    let r = spin(true, None, || {
        n += 1;
        false
    });
    assert!(r.is_err());
    n
}

/// A sleep as short as a switch on this CPU after a failed spin (the partner shares it) makes
/// the next waits spin-free, 1, then 2 after another such sign; each run of them ends with one
/// short spin (no long one), the probation; a long sleep halves the penalty; a release caught
/// by a spin ends it. A sleep shorter than `SWITCH_MIN` (the futex call found the word
/// changed) says nothing.
#[test]
fn a_partner_sharing_this_cpu_stops_the_spins_until_a_spin_catches_a_release() {
    if !may_spin() {
        return;
    }
    let switch = (SWITCH_MIN + SHARED_SLEEP) / 2;
    let long_ago = || Instant::now() - SHARED_SLEEP * 3;
    gave_up(Instant::now() + Duration::from_secs(1)).after_sleep();
    slept(Duration::ZERO);
    assert_eq!(
        partner(),
        Partner::Elsewhere,
        "a near miss counted as a shared CPU"
    );

    slept(switch);
    assert_eq!(looks(), 0, "a spin with the partner on this CPU");
    let mut briefly = 0;
    assert!(!spin_briefly(|| {
        briefly += 1;
        true
    }));
    assert_eq!(
        briefly, 0,
        "a waker's brief spin with its partners on this CPU"
    );
    assert_eq!(
        looks(),
        SPIN_SHORT,
        "the probation's spin is the short one only"
    );

    slept(switch);
    assert_eq!(
        (looks(), looks(), looks()),
        (0, 0, SPIN_SHORT),
        "the penalty doubled"
    );

    gave_up(long_ago()).after_sleep();
    assert_eq!(
        partner(),
        Partner::Probation,
        "a long sleep halves the penalty, to 1"
    );
    assert_eq!(looks(), SPIN_SHORT);
    gave_up(long_ago()).after_sleep();
    assert_eq!(
        partner(),
        Partner::Elsewhere,
        "two long sleeps: 2 -> 1 -> 0"
    );

    slept(switch);
    assert_eq!(looks(), 0);
    assert!(spin(true, None, || true).is_ok());
    assert_eq!(
        partner(),
        Partner::Elsewhere,
        "a caught release ends the penalty"
    );
    assert!(
        looks() > SPIN_SHORT,
        "a hinted spin with the partner elsewhere is long"
    );
}

/// A slow yield turns yield waits off for the process for `YIELD_QUIET_MIN`, each further one
/// for twice as long, at most `YIELD_QUIET_MAX`; each answered yield wait halves the period,
/// to nothing below the minimum; a wait that ran out leaves it.
#[test]
fn slow_yields_turn_yield_waits_off_for_doubling_periods() {
    let (min, max) = (
        YIELD_QUIET_MIN.as_nanos() as u64,
        YIELD_QUIET_MAX.as_nanos() as u64,
    );
    let slow = Ended::Slow(0);
    assert_eq!(next_quiet(0, slow), min);
    assert_eq!(next_quiet(min, slow), 2 * min);
    assert_eq!(next_quiet(max / 2 + 1, slow), max);
    assert_eq!(next_quiet(max, slow), max);
    assert_eq!(next_quiet(4 * min, Ended::Answered), 2 * min);
    assert_eq!(next_quiet(2 * min, Ended::Answered), min);
    assert_eq!(
        next_quiet(min, Ended::Answered),
        0,
        "below the minimum: off"
    );
    assert_eq!(next_quiet(0, Ended::Answered), 0);
    assert_eq!(next_quiet(2 * min, Ended::RanOut), 2 * min);
}

/// A yield wait that ran out makes its thread skip the next 1, 2, 4, ... `SKIP_MAX`; an
/// answered one forgets that; a slow yield (the process's record) leaves it.
#[test]
fn yield_waits_that_run_out_back_off_per_thread() {
    let mut rec = RanOut {
        skip: 0,
        penalty: 0,
    };
    for want in [1, 2, 4] {
        rec = next_ran_out(rec, Ended::RanOut);
        assert_eq!((rec.skip, rec.penalty), (want, want));
    }
    for _ in 0..10 {
        rec = next_ran_out(rec, Ended::RanOut);
    }
    assert_eq!((rec.skip, rec.penalty), (SKIP_MAX, SKIP_MAX));
    assert_eq!(next_ran_out(rec, Ended::Slow(0)), rec);
    let clean = next_ran_out(rec, Ended::Answered);
    assert_eq!((clean.skip, clean.penalty), (0, 0));
}

/// No yield wait with a deadline (a lost timeslice would make it late), nor while the
/// process's record says a yield was slow, nor while this thread skips after one that ran
/// out: each returns `false` without looking at its condition. Otherwise it returns once the
/// condition holds.
#[test]
fn yield_waits_only_where_they_pay() {
    let mut looked = false;
    assert!(!yield_wait(Some(Instant::now()), || {
        looked = true;
        true
    }));
    assert!(!looked, "a timed wait yielded");
    if !may_spin() {
        assert!(!yield_wait(None, || true), "a yield wait on one CPU");
        return; // one CPU: no yield waits
    }

    // This thread's backoff: a wait that ran out makes it skip the next one.
    record(Ended::RanOut);
    let (_, rec) = yield_records();
    assert_eq!(rec.skip, 1);
    let mut looked = false;
    assert!(!yield_wait(None, || {
        looked = true;
        true
    }));
    assert!(!looked, "a thread that must skip a yield wait made one");
    assert_eq!(yield_records().1.skip, 0, "the skip is used up");

    // The process's record: a slow yield now turns yield waits off for a while (other tests
    // may record slow yields too, which only lengthens it).
    record(Ended::Slow(crate::rt::monotonic_nanos()));
    let mut looked = false;
    let yielded = yield_wait(None, || {
        looked = true;
        true
    });
    let (off_until, _) = yield_records();
    if crate::rt::monotonic_nanos() < off_until {
        assert!(!yielded && !looked, "a yield wait during the quiet period");
    }
    // After it, a yield wait whose condition holds returns `true` (while other tests keep
    // the process's record in a quiet period, the waits return `false` without looking).
    let give_up = Instant::now() + Duration::from_secs(10);
    while Instant::now() < give_up {
        let mut looks = 0;
        if yield_wait(None, || {
            looks += 1;
            true
        }) {
            assert_eq!(looks, 1);
            return;
        }
        assert_eq!(
            looks, 0,
            "a yield wait saw its condition hold and returned false"
        );
        crate::rt::sleep(YIELD_QUIET_MIN / 4);
    }
}
