//! The seed's `Timer`: "after the interval, 'hello, world' will be printed". A second timer is
//! cancelled before it fires and never runs (Python: `t.cancel()`).
//!
//! Run: `cargo run --example timer_hello`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};
use threadkit::{Error, Timer};

fn main() -> Result<(), Error> {
    let interval = Duration::from_millis(200);
    let started = Instant::now();
    let hello = Timer::new(interval, || println!("hello, world"));
    hello.start()?;

    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let never = Timer::new(Duration::from_secs(5), move || flag.store(true, SeqCst));
    never.start()?;
    never.cancel();

    hello.thread().join()?;
    let waited = started.elapsed();
    never.thread().join()?;

    println!("timer_name={}", hello.thread().name());
    println!("waited_at_least_interval={}", waited >= interval);
    println!("cancelled_timer_ran={}", ran.load(SeqCst));
    Ok(())
}
