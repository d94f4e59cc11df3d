//! Handing control between threads: semaphores and events.

use crate::baselines::{PlEvent, PlSem, StdEvent, StdSem};
use crate::harness::{
    Contender, Family, RunFn, Scenario, share, timed_loop, timed_workers, timed_workers_placed,
};
use std::hint::black_box;
use threadkit::{Event, Semaphore};

/// A one-shot signal: `set` by one thread, `wait_clear` consumes it in another.
pub trait Signal: Send + Sync + 'static {
    fn make() -> Self;
    fn set(&self);
    fn wait_clear(&self);
}

impl Signal for Event {
    fn make() -> Self {
        Event::new()
    }
    fn set(&self) {
        Event::set(self);
    }
    fn wait_clear(&self) {
        self.wait();
        self.clear();
    }
}

impl Signal for Semaphore {
    fn make() -> Self {
        Semaphore::new(0)
    }
    fn set(&self) {
        let _ = self.release();
    }
    fn wait_clear(&self) {
        self.acquire();
    }
}

impl Signal for StdEvent {
    fn make() -> Self {
        StdEvent::default()
    }
    fn set(&self) {
        StdEvent::set(self);
    }
    fn wait_clear(&self) {
        self.wait();
        self.clear();
    }
}

impl Signal for PlEvent {
    fn make() -> Self {
        PlEvent::default()
    }
    fn set(&self) {
        PlEvent::set(self);
    }
    fn wait_clear(&self) {
        self.wait();
        self.clear();
    }
}

impl Signal for StdSem {
    fn make() -> Self {
        StdSem::default()
    }
    fn set(&self) {
        self.release();
    }
    fn wait_clear(&self) {
        self.acquire();
    }
}

impl Signal for PlSem {
    fn make() -> Self {
        PlSem::default()
    }
    fn set(&self) {
        self.release();
    }
    fn wait_clear(&self) {
        self.acquire();
    }
}

#[cfg(target_os = "linux")]
impl Signal for crate::baselines::Sem {
    fn make() -> Self {
        crate::baselines::Sem::new(0)
    }
    fn set(&self) {
        self.post();
    }
    fn wait_clear(&self) {
        self.wait();
    }
}

/// `ops` round trips between two threads: A signals `ping`, B answers on `pong`; pinned (when
/// 2 <= CPUs) or not.
fn ping_pong_placed<S: Signal>(pin: bool) -> RunFn {
    Box::new(move |ops| {
        let (ping, pong) = (S::make(), S::make());
        timed_workers_placed(2, pin, |i| {
            for _ in 0..ops {
                if i == 0 {
                    ping.set();
                    pong.wait_clear();
                } else {
                    ping.wait_clear();
                    pong.set();
                }
            }
        })
    })
}

/// A token passed around `n` threads (`ops` hops in all); with 8 threads on this 2-core
/// machine most hops wake a thread that is not running.
fn ring<S: Signal>(n: usize) -> RunFn {
    Box::new(move |ops| {
        let sigs: Vec<S> = (0..n).map(|_| S::make()).collect();
        sigs[0].set();
        timed_workers(n, |i| {
            for _ in 0..share(ops, n, i) {
                sigs[i].wait_clear();
                sigs[(i + 1) % n].set();
            }
        })
    })
}

fn c(family: Family, what: &'static str, run: RunFn) -> Contender {
    Contender { family, what, run }
}

pub fn semaphore_uncontended() -> Scenario {
    let tk = Semaphore::new(1);
    #[allow(unused_mut)]
    let mut contenders = vec![Contender::new(Family::Threadkit, "Semaphore", move |ops| {
        timed_loop(ops, || {
            let s = black_box(&tk);
            s.acquire();
            let _ = s.release();
        })
    })];
    #[cfg(target_os = "linux")]
    {
        let sem = crate::baselines::Sem::new(1);
        contenders.push(Contender::new(Family::Libc, "sem_t", move |ops| {
            timed_loop(ops, || {
                let s = black_box(&sem);
                s.wait();
                s.post();
            })
        }));
    }
    Scenario {
        name: "Semaphore acquire + release",
        contenders,
    }
}

pub fn semaphore_ping_pong() -> Scenario {
    semaphore_ping_pong_placed("Semaphore ping-pong", true)
}

pub fn semaphore_ping_pong_unpinned() -> Scenario {
    semaphore_ping_pong_placed("Semaphore ping-pong (unpinned)", false)
}

fn semaphore_ping_pong_placed(name: &'static str, pin: bool) -> Scenario {
    #[allow(unused_mut)]
    let mut contenders = vec![
        c(
            Family::Threadkit,
            "Semaphore",
            ping_pong_placed::<Semaphore>(pin),
        ),
        c(
            Family::Std,
            "Mutex<u32>+Condvar",
            ping_pong_placed::<StdSem>(pin),
        ),
        c(
            Family::ParkingLot,
            "Mutex<u32>+Condvar",
            ping_pong_placed::<PlSem>(pin),
        ),
    ];
    #[cfg(target_os = "linux")]
    contenders.push(c(
        Family::Libc,
        "sem_t",
        ping_pong_placed::<crate::baselines::Sem>(pin),
    ));
    Scenario { name, contenders }
}

pub fn event_ping_pong() -> Scenario {
    event_ping_pong_placed("Event ping-pong", true)
}

pub fn event_ping_pong_unpinned() -> Scenario {
    event_ping_pong_placed("Event ping-pong (unpinned)", false)
}

fn event_ping_pong_placed(name: &'static str, pin: bool) -> Scenario {
    Scenario {
        name,
        contenders: vec![
            c(Family::Threadkit, "Event", ping_pong_placed::<Event>(pin)),
            c(
                Family::Std,
                "Mutex<bool>+Condvar",
                ping_pong_placed::<StdEvent>(pin),
            ),
            c(
                Family::ParkingLot,
                "Mutex<bool>+Condvar",
                ping_pong_placed::<PlEvent>(pin),
            ),
        ],
    }
}

pub fn ring_row<S: Signal>(name: &'static str, what: &'static str) -> Scenario {
    const N: usize = 8;
    #[allow(unused_mut)]
    let mut contenders = vec![
        Contender {
            family: Family::Threadkit,
            what,
            run: ring::<S>(N),
        },
        Contender {
            family: Family::Std,
            what: "Mutex<bool>+Condvar",
            run: ring::<StdEvent>(N),
        },
        Contender {
            family: Family::ParkingLot,
            what: "Mutex<bool>+Condvar",
            run: ring::<PlEvent>(N),
        },
    ];
    #[cfg(target_os = "linux")]
    contenders.push(Contender {
        family: Family::Libc,
        what: "sem_t",
        run: ring::<crate::baselines::Sem>(N),
    });
    Scenario { name, contenders }
}

pub fn ring_events() -> Scenario {
    ring_row::<Event>("ring of 8 threads (Event)", "Event")
}
