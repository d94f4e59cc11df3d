//! [`Block`]: how long a queue call may wait, from the `_nowait` / `_timeout` / `_until` forms.

use crate::rt::{deadline_after, passed};
use std::time::{Duration, Instant};

/// How long a call may block.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Block {
    /// Not at all (`_nowait`, or a zero timeout).
    No,
    /// Without a deadline.
    Forever,
    /// Until this instant.
    Until(Instant),
}

impl Block {
    /// The crate-wide timeout rule: zero does not block, beyond `TIMEOUT_MAX` has no deadline.
    #[inline]
    pub(crate) fn timeout(timeout: Duration) -> Block {
        if timeout.is_zero() {
            return Block::No;
        }
        match deadline_after(timeout) {
            Some(d) => Block::Until(d),
            None => Block::Forever,
        }
    }

    pub(crate) fn deadline(self) -> Option<Instant> {
        match self {
            Block::Until(d) => Some(d),
            _ => None,
        }
    }

    /// Whether the call must give up now (nowait, or its deadline passed).
    pub(crate) fn expired(self) -> bool {
        match self {
            Block::No => true,
            Block::Forever => false,
            Block::Until(d) => passed(d),
        }
    }
}
