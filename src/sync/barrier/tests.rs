//! In-crate tests of [`Barrier`] that look at its private state (the `generation` word); the
//! public behaviour is tested in `tests/barrier.rs`. A part of `barrier/mod.rs`, included as its
//! `tests` module.

use super::*;
use crate::rt::wake_calls_during;

/// A wait whose deadline passed before it could sleep breaks the round without announcing
/// a sleeper, so the break's phase change makes no wake-up call.
#[test]
fn expired_wait_announces_no_sleeper() {
    let b = Barrier::new(2);
    let (calls, r) = wake_calls_during(|| b.wait_timeout(Duration::ZERO));
    assert!(matches!(r, Err(Error::BrokenBarrier)));
    assert_eq!(
        calls, 0,
        "the break made {calls} wake-up calls for no sleeper"
    );
    assert_eq!(b.generation.load(Relaxed) & SLEEPERS, 0);
    let b = Barrier::new(3).default_timeout(Duration::ZERO);
    let (calls, r) = wake_calls_during(|| b.wait());
    assert!(matches!(r, Err(Error::BrokenBarrier)));
    assert_eq!(calls, 0);
}

/// A waiter with more parties still to come than the other CPUs could run makes no long spin,
/// not even one that a wake-up call it just made through another primitive would allow
/// (`rt::woke_partner`): nobody arrives here, so such a spin would run out and be recorded
/// as a lost bet.
#[test]
fn a_wait_too_early_to_win_makes_no_long_spin_after_a_wake_up() {
    if !crate::rt::may_spin() {
        return; // one CPU: nothing spins
    }
    // The first arrival still waits for `cpus() + 1` parties: more than the other CPUs.
    let parties = usize::try_from(crate::rt::cpus()).unwrap() + 2;
    let b = Barrier::new(parties);
    let before = crate::rt::lost_bets();
    crate::rt::woke_partner();
    let r = b.wait_timeout(Duration::from_millis(1));
    assert!(matches!(r, Err(Error::BrokenBarrier)));
    assert_eq!(crate::rt::lost_bets(), before, "a long spin ran and lost");
}
