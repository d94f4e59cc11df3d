//! `Lock` vs `RLock` re-entry. A `Lock` taken twice by the same thread would block forever
//! (`acquire()` again is a self-deadlock), so this shows it with `try_acquire()` and
//! `acquire_timeout()`, which give up. An `RLock` re-enters, counts the depth, must be released
//! as often as acquired, and only by its owner.
//!
//! Run: `cargo run --example lock_vs_rlock`

use std::sync::Arc;
use std::time::Duration;
use threadkit::{Error, Lock, RLock, spawn};

fn main() -> Result<(), Error> {
    let lock = Arc::new(Lock::new());
    lock.acquire();
    println!("lock: try_acquire while held -> {}", lock.try_acquire());
    println!(
        "lock: acquire_timeout(100 ms) while held -> {}",
        lock.acquire_timeout(Duration::from_millis(100))
    );
    // A Lock has no owner: another thread may release it (Python allows this too).
    let other = lock.clone();
    let released_elsewhere = spawn(move || other.release().is_ok())
        .join()
        .expect("no panic");
    println!("lock: released by another thread -> {released_elsewhere}");
    println!("lock: locked after that -> {}", lock.locked());
    match lock.release() {
        Err(e @ Error::NotLocked) => println!("lock: release when unlocked -> Err({e:?})"),
        other => println!("lock: release when unlocked -> unexpected {other:?}"),
    }

    let rlock = Arc::new(RLock::new());
    rlock.acquire();
    rlock.acquire();
    println!(
        "rlock: try_acquire while held by me -> {}",
        rlock.try_acquire()
    );
    println!("rlock: recursion_count -> {}", rlock.recursion_count());
    println!("rlock: is_owned -> {}", rlock.is_owned());
    let other = rlock.clone();
    let (foreign_release, foreign_count) =
        spawn(move || (format!("{:?}", other.release()), other.recursion_count()))
            .join()
            .expect("no panic");
    println!("rlock: release by another thread -> {foreign_release}");
    println!("rlock: recursion_count seen by another thread -> {foreign_count}");
    rlock.release()?;
    rlock.release()?;
    println!("rlock: locked after 2 of 3 releases -> {}", rlock.locked());
    rlock.release()?;
    println!("rlock: locked after 3 of 3 releases -> {}", rlock.locked());
    Ok(())
}
