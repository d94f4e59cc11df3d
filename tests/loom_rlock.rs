//! Loom models of `RLock`: mutual exclusion with nesting, release by a non-owner refused with
//! the state untouched, and a blocked acquirer always woken by the owner's last release.
//!
//! Run: `RUSTFLAGS="--cfg threadkit_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_rlock`
#![cfg(threadkit_loom)]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use threadkit::{Error, RLock};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

struct Shared {
    r: RLock,
    count: UnsafeCell<u32>,
}
// SAFETY: `count` is only touched while holding `r` (what the model checks).
unsafe impl Sync for Shared {}

fn critical(sh: &Shared) {
    sh.r.acquire();
    sh.r.acquire();
    assert_eq!(sh.r.recursion_count(), 2);
    // SAFETY: we hold the RLock.
    sh.count.with_mut(|p| unsafe { *p += 1 });
    sh.r.release().unwrap();
    assert!(sh.r.is_owned());
    sh.r.release().unwrap();
}

#[test]
fn mutual_exclusion_nested() {
    model(|| {
        let sh = Arc::new(Shared {
            r: RLock::new(),
            count: UnsafeCell::new(0),
        });
        let t = {
            let sh = sh.clone();
            thread::spawn(move || critical(&sh))
        };
        critical(&sh);
        t.join().unwrap();
        // SAFETY: the other thread has finished.
        assert_eq!(sh.count.with(|p| unsafe { *p }), 2);
        assert!(!sh.r.locked());
    });
}

#[test]
fn non_owner_release_refused() {
    model(|| {
        let r = Arc::new(RLock::new());
        r.acquire();
        let t = {
            let r = r.clone();
            thread::spawn(move || {
                assert!(matches!(r.release(), Err(Error::NotOwner)));
                assert!(!r.try_acquire());
                assert_eq!(r.recursion_count(), 0);
            })
        };
        t.join().unwrap();
        assert_eq!(r.recursion_count(), 1);
        r.release().unwrap();
        assert!(!r.locked());
    });
}

#[test]
fn blocked_acquirer_is_woken() {
    model(|| {
        let r = Arc::new(RLock::new());
        r.acquire();
        r.acquire();
        let t = {
            let r = r.clone();
            thread::spawn(move || {
                r.acquire();
                r.release().unwrap();
            })
        };
        r.release().unwrap();
        r.release().unwrap();
        t.join().unwrap();
        assert!(!r.locked());
    });
}
