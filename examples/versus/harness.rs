//! The measuring machinery: contenders, interleaved rounds, medians.
//!
//! A scenario is a fixed piece of work ("one lock + unlock", "one ping-pong round trip") and a
//! list of contenders that each know how to do `ops` of it and time themselves (so thread
//! start-up is left out of the clock). Rounds are interleaved, A, B, C, A, B, C, ..., so that a
//! noisy neighbour on this shared machine hurts every contender alike, and the median of the
//! rounds is kept. Each contender's rounds last about the same time (its own number of
//! operations), so a round's fixed costs weigh the same share of every contender's figure.
//!
//! Every round also measures CPU time (user + sys): worker threads read their own thread CPU
//! clock around their work ([`timed_workers`]), a single-threaded loop reads the process's
//! `getrusage(RUSAGE_SELF)` around itself ([`timed_loop`], so the threads that a thread-start
//! row spawns count too), and any other contender is measured by `getrusage` around its whole
//! call. The CPU of the `--load` processes is never counted (they are other processes).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Who wrote the primitive: one column of the table each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Threadkit,
    Std,
    ParkingLot,
    // Only constructed where libc is (cfg(unix)).
    #[cfg_attr(not(unix), allow(dead_code))]
    Libc,
    ThreadLocalCrate,
}

impl Family {
    /// Every baseline column, in table order.
    pub const BASELINES: [Family; 4] = [
        Family::Std,
        Family::ParkingLot,
        Family::Libc,
        Family::ThreadLocalCrate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Threadkit => "threadkit",
            Family::Std => "std",
            Family::ParkingLot => "parking_lot",
            Family::Libc => "libc",
            Family::ThreadLocalCrate => "thread_local",
        }
    }
}

/// Does `ops` operations and returns the time they took.
pub type RunFn = Box<dyn FnMut(u64) -> Duration>;

/// One implementation of a scenario.
pub struct Contender {
    pub family: Family,
    /// What exactly runs, e.g. `Mutex<()>` or `pthread_mutex_t`.
    pub what: &'static str,
    pub run: RunFn,
}

impl Contender {
    pub fn new(
        family: Family,
        what: &'static str,
        run: impl FnMut(u64) -> Duration + 'static,
    ) -> Self {
        Contender {
            family,
            what,
            run: Box::new(run),
        }
    }
}

/// A row of the table: what one operation is, and who does it.
pub struct Scenario {
    pub name: &'static str,
    pub contenders: Vec<Contender>,
}

/// A contender's result: median time of one operation, in nanoseconds.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub family: Family,
    pub what: &'static str,
    pub median_ns: f64,
    /// Median CPU time (user + sys, all threads of the contender) per operation, in
    /// nanoseconds; NaN for the size rows.
    pub cpu_ns: f64,
}

/// A measured row.
#[derive(Clone, Debug)]
pub struct Row {
    pub scenario: &'static str,
    /// "ns" for timed rows, "bytes" for the size table.
    pub unit: &'static str,
    pub outcomes: Vec<Outcome>,
}

impl Row {
    pub fn get(&self, family: Family) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.family == family)
    }

    /// threadkit / baseline, when both are present and the baseline is non-zero.
    pub fn ratio(&self, baseline: Family) -> Option<f64> {
        let tk = self.get(Family::Threadkit)?.median_ns;
        let base = self.get(baseline)?.median_ns;
        (base > 0.0).then(|| tk / base)
    }

    /// threadkit's CPU time per operation / the baseline's, when both are known.
    pub fn cpu_ratio(&self, baseline: Family) -> Option<f64> {
        let tk = self.get(Family::Threadkit)?.cpu_ns;
        let base = self.get(baseline)?.cpu_ns;
        (base > 0.0 && tk.is_finite()).then(|| tk / base)
    }
}

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Wall time for one scenario, calibration included.
    pub per_scenario: Duration,
    /// Rounds per contender (odd, so the median is one of them).
    pub rounds: usize,
}

/// Calibration doubles the work until one call takes this long: long enough that thread
/// start-up and scheduler noise do not dominate the per-operation estimate.
const MIN_CALIBRATION: Duration = Duration::from_millis(10);
/// The shortest measured round.
const MIN_ROUND: Duration = Duration::from_millis(2);

/// Runs a scenario: calibrates, then interleaves `budget.rounds` rounds of every contender.
pub fn measure(mut scenario: Scenario, budget: Budget) -> Row {
    let started = Instant::now();
    // Calibrate: double `ops` until one call takes MIN_CALIBRATION, per contender, and keep
    // its cost per operation. On a busy machine a call's fixed costs (starting threads, and
    // waiting for a CPU before the first operation runs: milliseconds when other processes
    // hold every CPU) can dwarf a few operations, and they jump by a scheduler tick (4 ms here)
    // from one call to the next. So calibration goes on doubling until doubling the work has
    // 1.6-folded the time twice in a row (the operations, not the fixed cost, dominate), within
    // half of the scenario's budget. With one 1.6-fold, a jump of the fixed cost from 4 to 10 ms
    // stopped it at 512 operations of a 7 ns lock (seen here), and a jump at a few operations
    // makes every round of the row measure its fixed cost instead (the likely cause of a loaded
    // "Lock contended, 2 threads" figure of 768,628 ns per lock in docs/benchmarks-history.md).
    let cap = budget
        .per_scenario
        .div_f64(2.0 * scenario.contenders.len().max(1) as f64);
    let per_op: Vec<f64> = scenario
        .contenders
        .iter_mut()
        .map(|c| {
            let begun = Instant::now();
            let mut ops = 1u64;
            let mut scaled = 0;
            let mut prev: Option<Duration> = None;
            loop {
                let t = (c.run)(ops);
                let scales = prev.is_some_and(|p| t.as_secs_f64() >= 1.6 * p.as_secs_f64());
                scaled = if scales { scaled + 1 } else { 0 };
                if (t >= MIN_CALIBRATION && scaled >= 2) || ops >= 1 << 40 || begun.elapsed() >= cap
                {
                    break t.as_secs_f64() / ops as f64;
                }
                prev = Some(t);
                ops *= 2;
            }
        })
        .collect();
    // Every contender's rounds last about the same time (each does as many operations as its
    // own cost per operation fits in `per_round`), not the same work: a round's fixed costs
    // (releasing the workers from the start gate, the last ones finishing alone) then weigh
    // the same share of every contender's figure. With the same work for all, sized for the
    // slowest, a contender 30 times faster ran rounds of a millisecond or two, mostly those
    // fixed costs (the queue rows beside the Python-style port: 1,637 items a round).
    let left = budget
        .per_scenario
        .saturating_sub(started.elapsed())
        .as_secs_f64();
    let slots = (budget.rounds * scenario.contenders.len()).max(1) as f64;
    let per_round = (left / slots).max(MIN_ROUND.as_secs_f64());
    let ops: Vec<u64> = per_op
        .iter()
        .map(|&p| ((per_round / p.max(1e-12)) as u64).max(1))
        .collect();

    let n = scenario.contenders.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(budget.rounds); n];
    let mut cpus: Vec<Vec<f64>> = vec![Vec::with_capacity(budget.rounds); n];
    for _ in 0..budget.rounds {
        for (((c, t), u), &ops) in scenario
            .contenders
            .iter_mut()
            .zip(&mut times)
            .zip(&mut cpus)
            .zip(&ops)
        {
            let (wall, cpu) = cpu_of(|| (c.run)(ops));
            t.push(wall.as_nanos() as f64 / ops as f64);
            u.push(cpu as f64 / ops as f64);
        }
    }
    let outcomes = scenario
        .contenders
        .iter()
        .zip(times.into_iter().zip(cpus))
        .map(|(c, (t, u))| Outcome {
            family: c.family,
            what: c.what,
            median_ns: median(t),
            cpu_ns: median(u),
        })
        .collect();
    Row {
        scenario: scenario.name,
        unit: "ns",
        outcomes,
    }
}

/// One row per scenario of the first run, each contender's time the median of its times over
/// all `runs` (every run measures the same scenarios in the same order).
pub fn median_of_runs(runs: &[Vec<Row>]) -> Vec<Row> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, row)| Row {
            scenario: row.scenario,
            unit: row.unit,
            outcomes: row
                .outcomes
                .iter()
                .map(|o| Outcome {
                    median_ns: median(
                        runs.iter()
                            .filter_map(|run| run.get(i)?.get(o.family))
                            .map(|x| x.median_ns)
                            .collect(),
                    ),
                    cpu_ns: median(
                        runs.iter()
                            .filter_map(|run| run.get(i)?.get(o.family))
                            .map(|x| x.cpu_ns)
                            .collect(),
                    ),
                    ..o.clone()
                })
                .collect(),
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The CPUs this process may run on (Linux; elsewhere an empty list: no pinning).
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set; sched_getaffinity fills it for this
    // process (pid 0 = the calling thread, which inherits the process mask).
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable cpu_set_t of the size passed.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0
    {
        return Vec::new();
    }
    // SAFETY: CPU_ISSET reads the initialised set for CPU numbers below CPU_SETSIZE.
    (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

/// Pins the calling thread to `cpu` (Linux; a no-op elsewhere or on failure).
fn pin_to(cpu: Option<usize>) {
    #[cfg(target_os = "linux")]
    if let Some(cpu) = cpu {
        // SAFETY: an all-zero cpu_set_t is a valid empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `cpu` is below CPU_SETSIZE (it came from `allowed_cpus`); `set` is valid, and
        // pid 0 is the calling thread.
        unsafe {
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// Runs `workers` scoped threads, each calling `work(index)`, and returns the time from the
/// moment all of them are ready until the last one has finished. Start-up is off the clock.
///
/// On Linux, when there are no more workers than CPUs, worker `i` is pinned to the `i`-th
/// allowed CPU, the same way for every contender: otherwise the scheduler sometimes puts both
/// threads of a "contended, 2 threads" row on one CPU, where they take turns instead of
/// contending, and the row measures where the threads happened to land (seen here as 21 ns vs
/// 45 ns for the same lock from one run to the next). Oversubscribed rows (more threads than
/// CPUs) leave placement to the scheduler, as a real program would; so does
/// [`timed_workers_unpinned`] always, for the "(unpinned)" rows.
pub fn timed_workers<F: Fn(usize) + Sync>(workers: usize, work: F) -> Duration {
    timed_workers_placed(workers, true, work)
}

/// [`timed_workers`] without pinning: every worker may run on any allowed CPU, as in a program
/// that does not pin its threads (the way users run).
pub fn timed_workers_unpinned<F: Fn(usize) + Sync>(workers: usize, work: F) -> Duration {
    timed_workers_placed(workers, false, work)
}

/// [`timed_workers`] (`pin`: pin when there are no more workers than CPUs) or
/// [`timed_workers_unpinned`]. Each worker adds the CPU time of its `work` (its own thread CPU
/// clock, read after the start gate and after the work) to the round's CPU figure.
pub fn timed_workers_placed<F: Fn(usize) + Sync>(workers: usize, pin: bool, work: F) -> Duration {
    let ready = AtomicU32::new(0);
    let go = AtomicU32::new(GATE_SHUT);
    let workers32 = u32::try_from(workers).expect("at most u32::MAX workers");
    let mut start = None;
    let cpus = allowed_cpus();
    let cpus = if pin && workers <= cpus.len() {
        cpus
    } else {
        Vec::new()
    };
    std::thread::scope(|s| {
        for i in 0..workers {
            let (ready, go, work) = (&ready, &go, &work);
            let cpu = (!cpus.is_empty()).then(|| cpus[i % cpus.len()]);
            s.spawn(move || {
                pin_to(cpu);
                if ready.fetch_add(1, Ordering::AcqRel) + 1 == workers32 {
                    atomic_wait::wake_all(ready);
                }
                gate(go);
                let before = thread_cpu_ns();
                work(i);
                add_cpu(thread_cpu_ns().saturating_sub(before));
            });
        }
        loop {
            let n = ready.load(Ordering::Acquire);
            if n == workers32 {
                break;
            }
            atomic_wait::wait(&ready, n);
        }
        start = Some(Instant::now());
        // On the clock: a wake-up call only if a worker sleeps at the gate.
        if go.swap(GATE_OPEN, Ordering::Release) == GATE_SLEPT_ON {
            atomic_wait::wake_all(&go);
        }
    });
    start.map_or(Duration::ZERO, |t| t.elapsed())
}

/// Waits at the start gate `go` until it is [`GATE_OPEN`]: a short spin (a released worker on
/// a CPU of its own starts at once), then a futex sleep, marking the gate [`GATE_SLEPT_ON`] so
/// that the releaser makes its wake-up call only when someone sleeps. Not `yield_now` in a
/// loop: on a busy machine a yield hands the CPU to the busy process for the rest of its
/// timeslice, so every round's start (and with it every round's time) grew by up to a
/// scheduler tick, where a woken sleeper is run at once.
fn gate(go: &AtomicU32) {
    for _ in 0..GATE_SPINS {
        if go.load(Ordering::Acquire) == GATE_OPEN {
            return;
        }
        std::hint::spin_loop();
    }
    loop {
        match go.compare_exchange(
            GATE_SHUT,
            GATE_SLEPT_ON,
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) | Err(GATE_SLEPT_ON) => atomic_wait::wait(go, GATE_SLEPT_ON),
            Err(_) => return, // GATE_OPEN
        }
    }
}

/// The start gate's states: shut, shut with a worker asleep on it, open.
const GATE_SHUT: u32 = 0;
const GATE_SLEPT_ON: u32 = 1;
const GATE_OPEN: u32 = 2;

/// Looks at the start gate before a worker sleeps on it (a few microseconds).
const GATE_SPINS: u32 = 4096;

/// Times `ops` calls of `f` on the calling thread. Its CPU figure is the whole process's
/// (`getrusage`), so that threads which `f` starts and joins are counted too.
pub fn timed_loop(ops: u64, mut f: impl FnMut()) -> Duration {
    let cpu = process_cpu_ns();
    let t = Instant::now();
    for _ in 0..ops {
        f();
    }
    let wall = t.elapsed();
    add_cpu(process_cpu_ns().saturating_sub(cpu));
    wall
}

/// CPU time (ns) that the timed parts of the current round reported, and whether any did.
static ROUND_CPU: AtomicU64 = AtomicU64::new(0);
static ROUND_CPU_SEEN: AtomicBool = AtomicBool::new(false);

fn add_cpu(ns: u64) {
    ROUND_CPU.fetch_add(ns, Ordering::Relaxed);
    ROUND_CPU_SEEN.store(true, Ordering::Relaxed);
}

/// Runs one round and returns its wall time and its CPU time in ns: what the timed helpers
/// reported, or else the process's CPU time over the whole call.
fn cpu_of(run: impl FnOnce() -> Duration) -> (Duration, u64) {
    ROUND_CPU.store(0, Ordering::Relaxed);
    ROUND_CPU_SEEN.store(false, Ordering::Relaxed);
    let before = process_cpu_ns();
    let wall = run();
    let whole = process_cpu_ns().saturating_sub(before);
    let cpu = if ROUND_CPU_SEEN.load(Ordering::Relaxed) {
        ROUND_CPU.load(Ordering::Relaxed)
    } else {
        whole
    };
    (wall, cpu)
}

/// User + system CPU time of the whole process so far, in ns (0 where unknown).
#[cfg(unix)]
pub fn process_cpu_ns() -> u64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a writable rusage; RUSAGE_SELF is always valid.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[cfg(not(unix))]
pub fn process_cpu_ns() -> u64 {
    0
}

/// CPU time of the calling thread so far, in ns (0 where unknown).
#[cfg(unix)]
pub fn thread_cpu_ns() -> u64 {
    // SAFETY: an all-zero timespec is valid for clock_gettime to overwrite.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is writable; CLOCK_THREAD_CPUTIME_ID is supported on every unix we build for.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(not(unix))]
pub fn thread_cpu_ns() -> u64 {
    0
}

/// Splits `ops` among `workers` as evenly as possible: the share of worker `i`.
pub fn share(ops: u64, workers: usize, i: usize) -> u64 {
    let w = workers as u64;
    ops / w + u64::from((i as u64) < ops % w)
}

/// A small xorshift generator, for the lock-bench style "pick a random lock".
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
