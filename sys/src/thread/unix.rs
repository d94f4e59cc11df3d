//! PLACEHOLDER until the sys backend lands: do not ship.
use std::io;
use std::time::Duration;
pub const MAX_NAME_LEN: usize = 15;
#[derive(Debug)]
pub struct Handle;
pub fn spawn(_s: usize, _m: Box<dyn FnOnce() + Send + 'static>) -> io::Result<Handle> { todo!() }
pub fn join(_h: Handle) -> io::Result<()> { todo!() }
pub fn current_id() -> u64 { todo!() }
pub fn native_id() -> u64 { todo!() }
pub fn set_current_name(_n: &str) { todo!() }
pub fn yield_now() { todo!() }
pub fn sleep(_d: Duration) { todo!() }
pub fn thread_cpu_time() -> Duration { todo!() }
pub fn min_stack_size() -> usize { todo!() }
pub fn page_size() -> usize { todo!() }
pub fn cpu_count() -> usize { todo!() }
