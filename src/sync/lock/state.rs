//! Named views of [`Lock`](super::Lock)'s state word (the bits are tabled at the top of
//! `mod.rs`): each test here is read in several places.

use super::{HANDED, LOCKED, ONE_WAITER, RELEASED, WAITER_STATE};

/// Held: `LOCKED` is set (by an ordinary hold, or by an unclaimed hand-over).
#[inline]
pub(super) const fn is_held(s: u32) -> bool {
    s & LOCKED != 0
}

/// Handed over and not claimed yet (the hold itself may since have been released: `RELEASED`).
#[inline]
pub(super) const fn is_handed(s: u32) -> bool {
    s & HANDED != 0
}

/// The hold is the unclaimed hand-over's own (`HANDED` without `RELEASED`).
#[inline]
pub(super) const fn holds_for_handee(s: u32) -> bool {
    s & (HANDED | RELEASED) == HANDED
}

/// Held in an ordinary way, with no hand-over pending: what a waiter may sleep on.
#[inline]
pub(super) const fn is_plainly_held(s: u32) -> bool {
    s & (LOCKED | HANDED) == LOCKED
}

/// How many waiters are counted.
#[inline]
pub(super) const fn waiters(s: u32) -> u32 {
    s / ONE_WAITER
}

/// Any waiter state at all (counted waiters or a flag about them).
#[inline]
pub(super) const fn has_waiter_state(s: u32) -> bool {
    s & WAITER_STATE != 0
}
