//! `cargo run --release --example versus`: threadkit side by side with `std::sync`,
//! `parking_lot` and libc, scenario by scenario.
//!
//! Method: every scenario is a unit of work; each contender repeats it in interleaved rounds (A, B,
//! C, A, B, C, ...), every round timed with `Instant` and lasting about the same time for every
//! contender, and the median per contender is kept. The ratio is threadkit / baseline: below 1
//! threadkit took less time (or, in the size rows, fewer bytes). Progress goes to stderr, the table
//! to stdout.
//!
//! Every round also takes the CPU time (user + sys) its contender used, shown per operation in
//! a second table beside the wall times (see `harness.rs` for how it is read).
//!
//! Flags: `--quick` (about 30 s instead of under 2 minutes), `--filter NAME` (substring of the
//! scenario name, repeatable), `--json PATH`, `--plot PATH.svg`, `--runs N` (the whole set N
//! times over: the table shows the median of the N runs per contender, and a second table the
//! lowest and highest ratio the runs gave, which on a shared machine says more than any single
//! run), `--load N` (N CPU-bound busy processes run beside the measurement from start to end:
//! a machine busy with other work, as users run; see `load.rs`), `--only FAMILY` (run only
//! that contender, e.g. `threadkit` or `parking_lot`, repeatable: for `strace -c -f`).

mod baselines;
mod harness;
mod load;
mod report;
mod scenarios;

use harness::{Budget, Row};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Args {
    quick: bool,
    filters: Vec<String>,
    json: Option<String>,
    plot: Option<String>,
    runs: usize,
    load: usize,
    only: Vec<String>,
}

const USAGE: &str = "usage: versus [--quick] [--filter NAME]... [--json PATH] [--plot PATH.svg] \
                     [--runs N] [--load N] [--only FAMILY]...";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        runs: 1,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--quick" => args.quick = true,
            "--filter" => args.filters.push(value("--filter")?),
            "--only" => args.only.push(value("--only")?),
            "--json" => args.json = Some(value("--json")?),
            "--plot" => args.plot = Some(value("--plot")?),
            "--runs" => {
                args.runs = value("--runs")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--runs needs a whole number above 0\n{USAGE}"))?
            }
            "--load" => {
                args.load = value("--load")?
                    .parse()
                    .ok()
                    .filter(|n| *n <= 64)
                    .ok_or_else(|| format!("--load needs a whole number up to 64\n{USAGE}"))?
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            // `cargo bench`-style harness flags are ignored so `cargo test --examples` is calm.
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(args)
}

/// Whole-run time targets on this 2-core machine.
const FULL_RUN: Duration = Duration::from_secs(100);
const QUICK_RUN: Duration = Duration::from_secs(25);
/// A scenario that takes this long is stuck (a lost wake-up): say which and stop.
const STUCK_AFTER: Duration = Duration::from_secs(30);

fn main() {
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some(load::BURN_FLAG) {
        load::burn(argv.next().and_then(|p| p.parse().ok()));
    }
    if std::env::args().nth(1).as_deref() == Some("--webkit-once") {
        webkit_once();
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let wanted = |name: &str| {
        args.filters.is_empty() || args.filters.iter().any(|f| name.contains(f.as_str()))
    };
    let count = scenarios::all().len().max(1) as u32;
    let total = if args.quick { QUICK_RUN } else { FULL_RUN };
    let budget = Budget {
        per_scenario: total / count,
        rounds: if args.quick { 5 } else { 11 },
    };

    // Started before the first scenario and dropped (the processes killed) after the last.
    let load = match load::Load::start(args.load) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot start the --load processes: {e}");
            std::process::exit(1);
        }
    };
    if args.load > 0 {
        eprintln!("load: {} busy processes, pids {:?}", args.load, load.pids());
    }
    let started = Instant::now();
    let mut runs: Vec<Vec<Row>> = Vec::new();
    for run in 1..=args.runs {
        if args.runs > 1 {
            eprintln!("run {run} of {}", args.runs);
        }
        // Fresh scenarios each run: contenders own their state.
        let selected: Vec<_> = scenarios::all()
            .into_iter()
            .filter(|s| wanted(s.name))
            .map(|mut s| {
                if !args.only.is_empty() {
                    s.contenders
                        .retain(|c| args.only.iter().any(|o| o == c.family.name()));
                }
                s
            })
            .collect();
        let mut rows: Vec<Row> = Vec::new();
        let n = selected.len();
        for (i, scenario) in selected.into_iter().enumerate() {
            let name = scenario.name;
            eprint!("[{:>2}/{n}] {name:<34}", i + 1);
            let _ = std::io::stderr().flush();
            let t = Instant::now();
            let row = watchdog(name, || harness::measure(scenario, budget));
            let tk = row
                .get(harness::Family::Threadkit)
                .map_or(f64::NAN, |o| o.median_ns);
            let tk_cpu = row
                .get(harness::Family::Threadkit)
                .map_or(f64::NAN, |o| o.cpu_ns);
            eprintln!(
                " {:>6.2} s  threadkit {tk:.1} ns, cpu {tk_cpu:.1} ns",
                t.elapsed().as_secs_f64()
            );
            rows.push(row);
        }
        runs.push(rows);
    }
    drop(load);
    let mut rows = harness::median_of_runs(&runs);
    rows.extend(
        scenarios::sizes()
            .into_iter()
            .filter(|r| wanted(r.scenario)),
    );
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());

    println!("threadkit versus std::sync / parking_lot / libc: median time per operation");
    println!("ratio = threadkit / baseline: below 1.00 threadkit is faster (or smaller)");
    let setting = format!(
        "machine: {} CPUs; load: {}; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        match args.load {
            0 => "none".to_string(),
            n => format!("{n} busy processes"),
        },
        match (args.quick, args.runs) {
            (true, 1) => "--quick".to_string(),
            (false, 1) => "full run".to_string(),
            (quick, n) => format!(
                "{}median of {n} runs",
                if quick { "--quick, " } else { "full runs, " }
            ),
        }
    );
    println!("{setting}");
    println!();
    print!("{}", report::table(&rows));
    println!();
    println!("CPU time (user + sys, every thread of the contender) per operation");
    println!();
    print!("{}", report::cpu_table(&rows));
    if runs.len() > 1 {
        println!();
        println!(
            "lowest - highest ratio over the {} runs: wall time, then CPU time",
            runs.len()
        );
        println!();
        print!("{}", report::spread(&runs));
    }

    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, report::json(&rows, args.quick, args.load, args.runs))
        {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1);
        }
        eprintln!("wrote {path}");
    }
    if let Some(path) = &args.plot {
        if let Err(e) = report::plot(&rows, path, &setting) {
            eprintln!("cannot draw {path}: {e}");
            std::process::exit(1);
        }
        eprintln!("wrote {path}");
    }
}

/// Runs `f`, aborting the process with a message naming `name` if it takes longer than
/// [`STUCK_AFTER`]: a benchmark that hangs should say where, not spin forever.
fn watchdog<R>(name: &str, f: impl FnOnce() -> R) -> R {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let t = Instant::now();
            while !done.load(Ordering::Acquire) {
                if t.elapsed() > STUCK_AFTER {
                    eprintln!("\nscenario `{name}` is stuck after {STUCK_AFTER:?}: aborting");
                    std::process::exit(3);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let r = f();
        done.store(true, Ordering::Release);
        r
    })
}

/// `versus --webkit-once LIBRARY PRODUCERS CONSUMERS ITEMS [--load N]`: one fixed run of the
/// webkit queue (see `scenarios/webkit.rs`), for `strace -c -f`; prints wall and CPU time.
fn webkit_once() -> ! {
    let a: Vec<String> = std::env::args().skip(2).collect();
    let num = |i: usize| a.get(i).and_then(|s| s.parse::<u64>().ok());
    let (Some(p), Some(c), Some(items)) = (num(1), num(2), num(3)) else {
        eprintln!("usage: versus --webkit-once LIBRARY PRODUCERS CONSUMERS ITEMS [--load N]");
        std::process::exit(2);
    };
    let n = match (a.get(4).map(String::as_str), num(5)) {
        (Some("--load"), Some(n)) => n as usize,
        _ => 0,
    };
    let load = load::Load::start(n).unwrap_or_else(|e| {
        eprintln!("cannot start the --load processes: {e}");
        std::process::exit(1);
    });
    let out = scenarios::webkit_once(&a[0], p as usize, c as usize, items);
    drop(load);
    match out {
        Some((wall, cpu)) => {
            println!(
                "{} {p}p/{c}c {items} items: wall {wall:.3} s, cpu {:.3} s",
                a[0],
                cpu as f64 / 1e9
            );
            std::process::exit(0);
        }
        None => {
            eprintln!("unknown library `{}` (threadkit, std, parking_lot)", a[0]);
            std::process::exit(2);
        }
    }
}
