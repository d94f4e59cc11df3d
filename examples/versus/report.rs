//! Output: the aligned table (stdout), `--json PATH` and `--plot PATH.svg`.

use crate::harness::{Family, Outcome, Row};
use std::fmt::Write as _;
use std::io;

/// The baseline columns that some row actually has, in table order.
fn columns<'a>(rows: impl Iterator<Item = &'a Row> + Clone) -> Vec<Family> {
    Family::BASELINES
        .into_iter()
        .filter(|f| rows.clone().any(|r| r.get(*f).is_some()))
        .collect()
}

fn short(f: Family) -> &'static str {
    match f {
        Family::Std => "std",
        Family::ParkingLot => "pl",
        Family::Libc => "libc",
        Family::ThreadLocalCrate => "tl",
        Family::Threadkit => "tk",
    }
}

fn value(v: f64, unit: &str) -> String {
    if unit == "bytes" {
        format!("{v:.0} B")
    } else if v < 1e3 {
        format!("{v:.1} ns")
    } else if v < 1e6 {
        format!("{:.2} us", v / 1e3)
    } else {
        format!("{:.2} ms", v / 1e6)
    }
}

/// The one table: scenario, threadkit, each baseline, then threadkit / each baseline.
pub fn table(rows: &[Row]) -> String {
    grid(rows, |o| o.median_ns, Row::ratio, false)
}

/// The same table of CPU time (user + sys) per operation, without the size rows.
pub fn cpu_table(rows: &[Row]) -> String {
    grid(rows, |o| o.cpu_ns, Row::cpu_ratio, true)
}

fn grid(
    rows: &[Row],
    figure: impl Fn(&Outcome) -> f64,
    ratio: impl Fn(&Row, Family) -> Option<f64>,
    timed_only: bool,
) -> String {
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|r| !timed_only || r.unit == "ns")
        .collect();
    let cols = columns(rows.iter().copied());
    let mut header = vec!["scenario".to_string(), "threadkit".to_string()];
    header.extend(cols.iter().map(|f| f.name().to_string()));
    header.extend(cols.iter().map(|f| format!("tk/{}", short(*f))));
    let mut cells: Vec<Vec<String>> = vec![header];
    for r in rows {
        let mut line = vec![r.scenario.to_string()];
        let cell = |f: Family| {
            r.get(f)
                .map_or("-".to_string(), |o| value(figure(o), r.unit))
        };
        line.push(cell(Family::Threadkit));
        line.extend(cols.iter().map(|f| cell(*f)));
        line.extend(
            cols.iter()
                .map(|f| ratio(r, *f).map_or("-".to_string(), |x| format!("{x:.2}"))),
        );
        cells.push(line);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| {
            cells
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, line) in cells.iter().enumerate() {
        for (c, text) in line.iter().enumerate() {
            let w = widths[c];
            let sep = if c == 0 { "" } else { "  " };
            if c == 0 {
                let _ = write!(out, "{text:<w$}");
            } else {
                let _ = write!(out, "{sep}{text:>w$}");
            }
        }
        out.push('\n');
        if n == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}

/// For `--runs N`: per scenario, the lowest and highest threadkit / baseline ratio of the runs,
/// of wall time and then of CPU time.
pub fn spread(runs: &[Vec<Row>]) -> String {
    let Some(first) = runs.first() else {
        return String::new();
    };
    let cols = columns(first.iter());
    let mut out = String::new();
    let width = first.iter().map(|r| r.scenario.len()).max().unwrap_or(0);
    let _ = write!(out, "{:<width$}", "scenario");
    for f in &cols {
        let _ = write!(out, "  {:>11}", format!("tk/{}", short(*f)));
    }
    for f in &cols {
        let _ = write!(out, "  {:>11}", format!("cpu tk/{}", short(*f)));
    }
    out.push('\n');
    out.push_str(&"-".repeat(width + 26 * cols.len()));
    out.push('\n');
    let range = |ratios: Vec<f64>| {
        if ratios.is_empty() {
            "-".to_string()
        } else {
            let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{lo:.2}-{hi:.2}")
        }
    };
    for (i, row) in first.iter().enumerate() {
        let _ = write!(out, "{:<width$}", row.scenario);
        for f in &cols {
            let cell = range(
                runs.iter()
                    .filter_map(|run| run.get(i)?.ratio(*f))
                    .collect(),
            );
            let _ = write!(out, "  {cell:>11}");
        }
        for f in &cols {
            let cell = range(
                runs.iter()
                    .filter_map(|run| run.get(i)?.cpu_ratio(*f))
                    .collect(),
            );
            let _ = write!(out, "  {cell:>11}");
        }
        out.push('\n');
    }
    out
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "null".to_string()
    }
}

/// Every row as JSON: scenario, unit, contenders with medians, ratios vs each baseline.
pub fn json(rows: &[Row], quick: bool, load: usize, runs: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{{\n  \"tool\": \"threadkit versus\",\n  \"quick\": {quick},\n  \"load\": {load},\n  \"runs\": {runs},"
    );
    let _ = writeln!(
        o,
        "  \"cpu\": \"cpu_ns: user + sys CPU time per operation, every thread of the contender\","
    );
    let _ = writeln!(
        o,
        "  \"ratio\": \"threadkit / baseline (< 1: threadkit is faster or smaller)\","
    );
    o.push_str("  \"rows\": [\n");
    for (i, r) in rows.iter().enumerate() {
        let _ = write!(
            o,
            "    {{\"scenario\": {}, \"unit\": {}, \"contenders\": [",
            json_str(r.scenario),
            json_str(r.unit)
        );
        for (j, c) in r.outcomes.iter().enumerate() {
            let key = if r.unit == "bytes" {
                "bytes"
            } else {
                "median_ns"
            };
            let cpu = if r.unit == "bytes" {
                String::new()
            } else {
                format!(", \"cpu_ns\": {}", json_num(c.cpu_ns))
            };
            let _ = write!(
                o,
                "{}{{\"family\": {}, \"what\": {}, \"{key}\": {}{cpu}}}",
                if j == 0 { "" } else { ", " },
                json_str(c.family.name()),
                json_str(c.what),
                json_num(c.median_ns)
            );
        }
        o.push_str("], \"ratios\": {");
        let ratios: Vec<String> = Family::BASELINES
            .iter()
            .filter_map(|f| {
                r.ratio(*f)
                    .map(|x| format!("{}: {}", json_str(f.name()), json_num(x)))
            })
            .collect();
        o.push_str(&ratios.join(", "));
        o.push('}');
        if r.unit == "ns" {
            let cpu: Vec<String> = Family::BASELINES
                .iter()
                .filter_map(|f| {
                    r.cpu_ratio(*f)
                        .map(|x| format!("{}: {}", json_str(f.name()), json_num(x)))
                })
                .collect();
            let _ = write!(o, ", \"cpu_ratios\": {{{}}}", cpu.join(", "));
        }
        let _ = writeln!(o, "}}{}", if i + 1 == rows.len() { "" } else { "," });
    }
    o.push_str("  ]\n}\n");
    o
}

/// Ticks at powers of two within `lo..hi` (0.125, 0.25, 0.5, 1, 2, ...), always including 1.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    (-8..=8)
        .map(|e| 2f64.powi(e))
        .filter(|t| *t >= lo && *t <= hi)
        .collect()
}

/// Horizontal bars, one per (scenario, baseline), of threadkit / baseline on a log axis;
/// `setting` (the machine, the load and the runs) goes under the title, so that a quiet and
/// a loaded plot cannot be mistaken for each other.
pub fn plot(rows: &[Row], path: &str, setting: &str) -> io::Result<()> {
    use plotters::prelude::*;
    let mut bars: Vec<(String, Family, f64)> = Vec::new();
    for r in rows.iter().filter(|r| r.unit == "ns") {
        for f in Family::BASELINES {
            if let Some(x) = r.ratio(f).filter(|x| x.is_finite() && *x > 0.0) {
                bars.push((format!("{} vs {}", r.scenario, f.name()), f, x));
            }
        }
    }
    if bars.is_empty() {
        return Err(io::Error::other("nothing to plot"));
    }
    let lo = bars.iter().map(|b| b.2).fold(1.0f64, f64::min).min(0.5) * 0.8;
    let hi = bars.iter().map(|b| b.2).fold(1.0f64, f64::max).max(2.0) * 2.5; // room for the legend
    let n = bars.len();
    let height = 120 + 22 * n as u32;
    let err = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("threadkit time / baseline time  (< 1: threadkit faster); {setting}"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(360)
        .build_cartesian_2d(
            (lo..hi).log_scale().with_key_points(ticks(lo, hi)),
            (0..n).into_segmented(),
        )
        .map_err(|e| err(&e))?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => labels
                .get(n.wrapping_sub(1).wrapping_sub(*i))
                .cloned()
                .unwrap_or_default(),
            SegmentValue::Last => String::new(),
        })
        .x_label_formatter(&|v| format!("{v}"))
        .x_desc("ratio (log scale)")
        .draw()
        .map_err(|e| err(&e))?;
    let color = |f: Family| match f {
        Family::Std => RGBColor(70, 110, 190),
        Family::ParkingLot => RGBColor(230, 140, 40),
        Family::Libc => RGBColor(90, 160, 90),
        _ => RGBColor(150, 100, 170),
    };
    // Diverging bars: from 1.0 to the ratio, left = threadkit faster, right = slower.
    for family in Family::BASELINES {
        let c = color(family);
        let mine = bars.iter().enumerate().filter(|(_, b)| b.1 == family);
        if mine.clone().next().is_none() {
            continue;
        }
        chart
            .draw_series(mine.map(|(i, (_, _, x))| {
                let y = n - 1 - i; // first row at the top
                let mut r = Rectangle::new(
                    [
                        (1.0, SegmentValue::Exact(y)),
                        (*x, SegmentValue::Exact(y + 1)),
                    ],
                    c.filled(),
                );
                r.set_margin(3, 3, 0, 0);
                r
            }))
            .map_err(|e| err(&e))?
            .label(format!("vs {}", family.name()))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
    }
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Last)],
            BLACK.stroke_width(2),
        )))
        .map_err(|e| err(&e))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
