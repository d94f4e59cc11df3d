//! `size_of` every threadkit type next to its counterparts: the "bytes" rows of the table.

use crate::harness::{Family, Outcome, Row};
use std::mem::size_of;

fn row(scenario: &'static str, cells: &[(Family, &'static str, usize)]) -> Row {
    let outcomes = cells
        .iter()
        .map(|&(family, what, bytes)| Outcome {
            family,
            what,
            median_ns: bytes as f64,
            cpu_ns: f64::NAN,
        })
        .collect();
    Row {
        scenario,
        unit: "bytes",
        outcomes,
    }
}

/// The libc counterpart of a row, where the target has one.
#[cfg(unix)]
fn libc_cell(what: &'static str, bytes: usize) -> Vec<(Family, &'static str, usize)> {
    vec![(Family::Libc, what, bytes)]
}

pub fn rows() -> Vec<Row> {
    use Family::{ParkingLot as Pl, Std, ThreadLocalCrate as Tl, Threadkit as Tk};
    #[allow(unused_mut)] // extended on unix only
    let mut extra: [Vec<(Family, &'static str, usize)>; 6] = Default::default();
    #[cfg(unix)]
    {
        extra[0] = libc_cell("pthread_mutex_t", size_of::<libc::pthread_mutex_t>());
        extra[1] = libc_cell(
            "pthread_mutex_t+pthread_cond_t",
            size_of::<libc::pthread_mutex_t>() + size_of::<libc::pthread_cond_t>(),
        );
        extra[2] = libc_cell("pthread_cond_t", size_of::<libc::pthread_cond_t>());
        extra[5] = libc_cell("pthread_t", size_of::<libc::pthread_t>());
    }
    #[cfg(target_os = "linux")]
    {
        extra[3] = libc_cell("sem_t", size_of::<libc::sem_t>());
        extra[4] = libc_cell("pthread_barrier_t", size_of::<libc::pthread_barrier_t>());
    }
    let with = |base: &[(Family, &'static str, usize)], more: &[(Family, &'static str, usize)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(more);
        v
    };
    vec![
        row(
            "size_of Lock",
            &with(
                &[
                    (Tk, "Lock", size_of::<threadkit::Lock>()),
                    (Std, "Mutex<()>", size_of::<std::sync::Mutex<()>>()),
                    (Pl, "Mutex<()>", size_of::<parking_lot::Mutex<()>>()),
                ],
                &extra[0],
            ),
        ),
        row(
            "size_of Mutex<u64>",
            &[
                (Tk, "Mutex<u64>", size_of::<threadkit::Mutex<u64>>()),
                (Std, "Mutex<u64>", size_of::<std::sync::Mutex<u64>>()),
                (Pl, "Mutex<u64>", size_of::<parking_lot::Mutex<u64>>()),
            ],
        ),
        row(
            "size_of RLock",
            &[
                (Tk, "RLock", size_of::<threadkit::RLock>()),
                (
                    Pl,
                    "ReentrantMutex<()>",
                    size_of::<parking_lot::ReentrantMutex<()>>(),
                ),
            ],
        ),
        row(
            "size_of Condition<Lock>",
            &with(
                &[
                    (
                        Tk,
                        "Condition<Lock>",
                        size_of::<threadkit::Condition<threadkit::Lock>>(),
                    ),
                    (
                        Std,
                        "Mutex<()>+Condvar",
                        size_of::<std::sync::Mutex<()>>() + size_of::<std::sync::Condvar>(),
                    ),
                    (
                        Pl,
                        "Mutex<()>+Condvar",
                        size_of::<parking_lot::Mutex<()>>() + size_of::<parking_lot::Condvar>(),
                    ),
                ],
                &extra[1],
            ),
        ),
        row(
            "size_of Condition (RLock)",
            &[(Tk, "Condition", size_of::<threadkit::Condition>())],
        ),
        row(
            "size_of Condvar",
            &with(
                &[
                    (Tk, "Condvar", size_of::<threadkit::Condvar>()),
                    (Std, "Condvar", size_of::<std::sync::Condvar>()),
                    (Pl, "Condvar", size_of::<parking_lot::Condvar>()),
                ],
                &extra[2],
            ),
        ),
        row(
            "size_of Semaphore",
            &with(
                &[(Tk, "Semaphore", size_of::<threadkit::Semaphore>())],
                &extra[3],
            ),
        ),
        row(
            "size_of BoundedSemaphore",
            &with(
                &[(
                    Tk,
                    "BoundedSemaphore",
                    size_of::<threadkit::BoundedSemaphore>(),
                )],
                &extra[3],
            ),
        ),
        row(
            "size_of Event",
            &[
                (Tk, "Event", size_of::<threadkit::Event>()),
                (
                    Std,
                    "Mutex<bool>+Condvar",
                    size_of::<crate::baselines::StdEvent>(),
                ),
                (
                    Pl,
                    "Mutex<bool>+Condvar",
                    size_of::<crate::baselines::PlEvent>(),
                ),
            ],
        ),
        row(
            "size_of Barrier",
            &with(
                &[
                    (Tk, "Barrier", size_of::<threadkit::Barrier>()),
                    (Std, "Barrier", size_of::<std::sync::Barrier>()),
                ],
                &extra[4],
            ),
        ),
        row(
            "size_of Thread",
            &with(
                &[
                    (Tk, "Thread", size_of::<threadkit::Thread>()),
                    (
                        Std,
                        "JoinHandle<()>",
                        size_of::<std::thread::JoinHandle<()>>(),
                    ),
                ],
                &extra[5],
            ),
        ),
        row(
            "size_of Timer",
            &[(Tk, "Timer", size_of::<threadkit::Timer>())],
        ),
        row(
            "size_of Local<u64>",
            &[
                (Tk, "Local<u64>", size_of::<threadkit::Local<u64>>()),
                (
                    Tl,
                    "ThreadLocal<u64>",
                    size_of::<thread_local::ThreadLocal<u64>>(),
                ),
            ],
        ),
    ]
}
