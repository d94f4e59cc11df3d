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
