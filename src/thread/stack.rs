//! Stack sizes: the module default ([`stack_size`], [`set_stack_size`]) and the checks that
//! `Thread::start` applies (Python's `threading.stack_size`).

use crate::error::Error;
use crate::rt::os::{self, AtomicUsize};
use core::sync::atomic::Ordering::Relaxed;

/// The smallest stack size accepted (Python's `THREAD_STACK_MIN`, 32 KiB).
pub const MIN_STACK_SIZE: usize = 32 * 1024;

/// The module default stack size (0: the platform's default).
static DEFAULT_STACK: AtomicUsize = AtomicUsize::new(0);
/// Checks and rounds a stack size: 0 stays 0, below [`MIN_STACK_SIZE`] is an error, the
/// rest is rounded up to the page size.
pub(crate) fn round_stack(bytes: usize) -> Result<usize, Error> {
    if bytes == 0 {
        return Ok(0);
    }
    if bytes < MIN_STACK_SIZE {
        return Err(Error::InvalidStackSize(bytes));
    }
    let page = os::page_size().max(1);
    Ok(bytes.div_ceil(page).saturating_mul(page))
}

/// The default stack size for new threads, in bytes (0: the platform default). Python:
/// `threading.stack_size()`.
///
/// ```
/// let _ = threadkit::stack_size();
/// ```
pub fn stack_size() -> usize {
    DEFAULT_STACK.load(Relaxed)
}

/// Sets the default stack size for threads started later and returns the previous one.
/// `bytes` is 0 (platform default) or at least 32 KiB, else [`Error::InvalidStackSize`].
/// Python: `threading.stack_size(size)`.
///
/// ```
/// let old = threadkit::set_stack_size(256 * 1024).unwrap();
/// assert!(threadkit::set_stack_size(1000).is_err());
/// threadkit::set_stack_size(old).unwrap();
/// ```
pub fn set_stack_size(bytes: usize) -> Result<usize, Error> {
    if bytes != 0 && bytes < MIN_STACK_SIZE {
        return Err(Error::InvalidStackSize(bytes));
    }
    Ok(DEFAULT_STACK.swap(bytes, Relaxed))
}
