//! Barrier round trips: every party arrives, every party leaves, `ops` times.

use crate::harness::{Contender, Family, RunFn, Scenario, timed_workers};

pub trait Rendezvous: Send + Sync + 'static {
    fn make(parties: usize) -> Self;
    fn arrive(&self);
}

impl Rendezvous for threadkit::Barrier {
    fn make(parties: usize) -> Self {
        threadkit::Barrier::new(parties)
    }
    fn arrive(&self) {
        let _ = self.wait();
    }
}

impl Rendezvous for std::sync::Barrier {
    fn make(parties: usize) -> Self {
        std::sync::Barrier::new(parties)
    }
    fn arrive(&self) {
        self.wait();
    }
}

#[cfg(target_os = "linux")]
impl Rendezvous for crate::baselines::PthreadBarrier {
    fn make(parties: usize) -> Self {
        crate::baselines::PthreadBarrier::new(parties as u32)
    }
    fn arrive(&self) {
        self.wait();
    }
}

fn rounds<B: Rendezvous>(parties: usize) -> RunFn {
    Box::new(move |ops| {
        let b = B::make(parties);
        timed_workers(parties, |_| {
            for _ in 0..ops {
                b.arrive();
            }
        })
    })
}

fn row(name: &'static str, parties: usize) -> Scenario {
    #[allow(unused_mut)]
    let mut contenders = vec![
        Contender {
            family: Family::Threadkit,
            what: "Barrier",
            run: rounds::<threadkit::Barrier>(parties),
        },
        Contender {
            family: Family::Std,
            what: "Barrier",
            run: rounds::<std::sync::Barrier>(parties),
        },
    ];
    #[cfg(target_os = "linux")]
    contenders.push(Contender {
        family: Family::Libc,
        what: "pthread_barrier_t",
        run: rounds::<crate::baselines::PthreadBarrier>(parties),
    });
    Scenario { name, contenders }
}

pub fn barrier_2() -> Scenario {
    row("Barrier round trip, 2 parties", 2)
}

pub fn barrier_4() -> Scenario {
    row("Barrier round trip, 4 parties", 4)
}
