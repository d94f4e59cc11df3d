//! Default thread names: Python's `_newname(template)`, one counter (`_counter`) for
//! "Thread-N" and "Dummy-N".

use crate::rt::os::AtomicUsize;
use core::sync::atomic::Ordering::Relaxed;

/// Python's `_counter`: one counter for "Thread-N" and "Dummy-N".
static NAME_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The next number of Python's `_newname(template)` ("Thread-N", "Dummy-N": one counter).
pub(crate) fn next_number() -> usize {
    NAME_COUNTER.fetch_add(1, Relaxed) + 1
}

/// Python's `_newname(template)`.
pub(crate) fn new_name(prefix: &str) -> String {
    spell_name(prefix, next_number(), &mut [0; 32]).to_owned()
}

/// "PREFIX-N" written at the end of `buf`, without allocating. `prefix` is ASCII and at most
/// 11 bytes ("Thread", "Dummy"); a `usize` has at most 20 digits.
pub(crate) fn spell_name<'b>(prefix: &str, mut n: usize, buf: &'b mut [u8; 32]) -> &'b str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    i -= 1;
    buf[i] = b'-';
    i -= prefix.len();
    buf[i..i + prefix.len()].copy_from_slice(prefix.as_bytes());
    core::str::from_utf8(&buf[i..]).unwrap_or_default() // ASCII: always valid
}
