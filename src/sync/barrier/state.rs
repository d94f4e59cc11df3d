//! The encoding of [`Barrier`](super::Barrier)'s words (see the tables in `barrier/mod.rs`):
//! the fields of `state` (count, phase, round), of `generation` (`SPUN`, `SLEEPERS`, the
//! counter) and of `parties` (the number, below the fork stamp).

/// In `state`: the count field.
pub(super) const COUNT_MASK: u64 = (1 << 24) - 1;
pub(super) const PHASE_SHIFT: u32 = 24;
pub(super) const PHASE_MASK: u64 = 3 << PHASE_SHIFT;
/// In `state`: one round.
pub(super) const ROUND: u64 = 1 << 26;
pub(super) const FILLING: u64 = 0;
pub(super) const RESETTING: u64 = 1;
pub(super) const BROKEN: u64 = 2;
/// In `parties`: the number of parties; the bits above are the fork stamp (`fork.rs`).
pub(super) const PARTIES_MASK: u32 = (1 << 24) - 1;
/// In `generation`: somebody sleeps (or is about to) on this generation.
pub(super) const SLEEPERS: u32 = 1 << 31;
/// In `generation`: spin hint, the last waiter that had to wait was released soon (see
/// `rt::spin`); kept across generations.
pub(super) const SPUN: u32 = 1 << 30;
/// In `generation`: the counter bits.
pub(super) const GEN_MASK: u32 = SPUN - 1;

#[inline]
pub(super) const fn phase(s: u64) -> u64 {
    (s & PHASE_MASK) >> PHASE_SHIFT
}

#[inline]
pub(super) const fn count(s: u64) -> u32 {
    (s & COUNT_MASK) as u32
}

/// The round field of `s` (still shifted: only compared).
#[inline]
pub(super) const fn round(s: u64) -> u64 {
    s & !(PHASE_MASK | COUNT_MASK)
}

/// `s` with its phase replaced (count and round kept).
#[inline]
pub(super) const fn with_phase(s: u64, phase: u64) -> u64 {
    (s & !PHASE_MASK) | (phase << PHASE_SHIFT)
}

/// The next round after `s`'s, empty and filling.
#[inline]
pub(super) const fn next_round(s: u64) -> u64 {
    round(s).wrapping_add(ROUND)
}
