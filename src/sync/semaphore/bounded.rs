//! [`BoundedSemaphore`]: a [`RawSemaphore`](super::RawSemaphore) plus its initial value, which
//! `release_n` may not pass. The state word, transitions and memory ordering are the
//! semaphore's (see `semaphore/mod.rs`); the only difference is the limit checked by the release
//! CAS, which is the initial value instead of `Semaphore::MAX_VALUE`, so the check and the add
//! are one step and a refused release leaves the value untouched.

use super::RawSemaphore;
use crate::Error;
use crate::rt::loom_const_fn;
use std::fmt;
use std::time::{Duration, Instant};

/// Python's `threading.BoundedSemaphore`: a [`Semaphore`](crate::Semaphore) whose value may
/// never pass its initial value. 12 bytes, no heap, `const` constructor.
///
/// ```
/// use threadkit::{Acquire, BoundedSemaphore, Error};
/// static CONNECTIONS: BoundedSemaphore = BoundedSemaphore::new(2); // Python: BoundedSemaphore(2)
/// {
///     let _c = CONNECTIONS.guard(); // Python: with connections:
///     assert_eq!(CONNECTIONS.value(), 1);
/// }
/// // One release too many is an error (Python: ValueError), and changes nothing.
/// assert!(matches!(CONNECTIONS.release(), Err(Error::TooManyReleases)));
/// assert_eq!(CONNECTIONS.value(), 2);
/// ```
pub struct BoundedSemaphore {
    raw: RawSemaphore,
    /// The value given to `new`, and the limit of every release.
    initial: u32,
}

impl BoundedSemaphore {
    loom_const_fn! {
        /// A bounded semaphore holding `value` units, which is also its limit. Python:
        /// `BoundedSemaphore(value)`.
        ///
        /// # Panics
        ///
        /// If `value` is above [`Semaphore::MAX_VALUE`](crate::Semaphore::MAX_VALUE).
        ///
        /// ```
        /// let s = threadkit::BoundedSemaphore::new(3);
        /// assert_eq!((s.value(), s.initial_value()), (3, 3));
        /// ```
        pub fn new(value: usize) -> BoundedSemaphore {
            assert!(
                value <= crate::Semaphore::MAX_VALUE,
                "BoundedSemaphore value above Semaphore::MAX_VALUE"
            );
            BoundedSemaphore { raw: RawSemaphore::new(value as u32), initial: value as u32 }
        }
    }

    super::unit_methods!(BoundedSemaphore);

    /// The value given to [`new`](Self::new), the limit of [`release_n`](Self::release_n).
    /// Python: `sem._initial_value`.
    ///
    /// ```
    /// assert_eq!(threadkit::BoundedSemaphore::new(5).initial_value(), 5);
    /// ```
    #[inline]
    pub fn initial_value(&self) -> usize {
        self.initial as usize
    }

    /// Gives one unit back, waking one waiter if any. Python: `sem.release()`.
    /// `Err(TooManyReleases)` (value unchanged) if the value is already the initial value.
    ///
    /// ```
    /// use threadkit::{BoundedSemaphore, Error};
    /// let s = BoundedSemaphore::new(1);
    /// s.acquire();
    /// s.release().unwrap();
    /// assert!(matches!(s.release(), Err(Error::TooManyReleases)));
    /// ```
    #[inline]
    pub fn release(&self) -> Result<(), Error> {
        self.release_n(1)
    }

    /// Gives `n` units back and wakes at most `n` waiters; `n == 0` does nothing. Python:
    /// `sem.release(n)`. All or nothing: if the value would pass the initial value it returns
    /// `Err(TooManyReleases)` and the value is unchanged.
    ///
    /// ```
    /// use threadkit::{BoundedSemaphore, Error};
    /// let s = BoundedSemaphore::new(3);
    /// s.acquire();
    /// s.acquire();
    /// assert!(matches!(s.release_n(3), Err(Error::TooManyReleases)));
    /// assert_eq!(s.value(), 1);
    /// s.release_n(2).unwrap();
    /// assert_eq!(s.value(), 3);
    /// ```
    #[inline]
    pub fn release_n(&self, n: usize) -> Result<(), Error> {
        let n = u32::try_from(n).map_err(|_| Error::TooManyReleases)?;
        self.raw
            .release_n(n, self.initial, || Error::TooManyReleases)
    }
}

crate::acquire::impl_acquire!(BoundedSemaphore, "threadkit::BoundedSemaphore::new(1)");

impl Default for BoundedSemaphore {
    /// A bounded semaphore with value 1, like Python's `BoundedSemaphore()`.
    ///
    /// ```
    /// assert_eq!(threadkit::BoundedSemaphore::default().initial_value(), 1);
    /// ```
    fn default() -> Self {
        BoundedSemaphore::new(1)
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("value", &self.value())
            .field("initial_value", &self.initial_value())
            .finish()
    }
}
