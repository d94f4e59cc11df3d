//! RLock re-entry against parking_lot's ReentrantMutex.

use crate::harness::{Contender, Family, Scenario, timed_loop};
use std::hint::black_box;
use threadkit::RLock;

/// Re-entry: acquire twice, release twice (Python: nested `with rlock:`).
pub fn rlock_reentry() -> Scenario {
    let tk = RLock::new();
    let pl = parking_lot::ReentrantMutex::new(());
    Scenario {
        name: "RLock acquire x2 + release x2",
        contenders: vec![
            Contender::new(Family::Threadkit, "RLock", move |ops| {
                timed_loop(ops, || {
                    let r = black_box(&tk);
                    r.acquire();
                    r.acquire();
                    let _ = r.release();
                    let _ = r.release();
                })
            }),
            Contender::new(Family::ParkingLot, "ReentrantMutex<()>", move |ops| {
                timed_loop(ops, || {
                    let r = black_box(&pl);
                    let a = r.lock();
                    let b = r.lock();
                    drop(b);
                    drop(a);
                })
            }),
        ],
    }
}
