//! Comparing the protocol variants a scenario lists (`variants:`), run under the identical
//! workload, faults and seed: one row of headline figures per variant.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use syncsim_reports::page::{Table, esc, page_end, page_start};
use syncsim_reports::report::format_ns;
use syncsim_reports::run_charts::Chart;
use syncsim_reports::{Report, Verdict};

/// One variant's headline figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantRow {
    /// The variant's name.
    pub name: String,
    /// The protocol as configured (`crdt lww-map/delta`).
    pub protocol: String,
    /// Its verdict.
    pub outcome: Verdict,
    /// Messages sent per client operation.
    pub messages_per_op: f64,
    /// Bytes sent per client operation.
    pub bytes_per_op: f64,
    /// Whether the live replicas agreed at the end.
    pub converged: bool,
    /// How long after the settle phase began they agreed (ns).
    pub converged_after_settle_ns: Option<u64>,
    /// Time until a write was visible at every live replica, median (ns).
    pub visibility_p50_ns: u64,
    /// The same, 99th percentile (ns).
    pub visibility_p99_ns: u64,
    /// Share of reads that missed an update completed before they began.
    pub reads_stale: Option<f64>,
    /// Whether every replica's final state was what its updates imply (SEC protocols).
    pub sec_valid: Option<bool>,
    /// The variant's own report, relative to the comparison's folder.
    pub report: String,
}

/// The comparison, written as `comparison.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The scenario's name.
    pub scenario: String,
    /// The seed every variant ran under.
    pub seed: u64,
    /// One row per variant, in the scenario's order.
    pub variants: Vec<VariantRow>,
    /// The worst verdict of any variant.
    pub outcome: Verdict,
    /// Its exit code.
    pub exit_code: i32,
}

/// The comparison of `runs` (variant name and report) of scenario `name` under `seed`.
pub fn compare(name: &str, seed: u64, runs: &[(String, &Report)]) -> Comparison {
    let variants: Vec<VariantRow> = runs
        .iter()
        .map(|(variant, r)| VariantRow {
            name: variant.clone(),
            protocol: format!("{} {}", r.protocol.name, r.protocol.variant),
            outcome: r.outcome,
            messages_per_op: r.network.messages_per_op,
            bytes_per_op: r.network.bytes_per_op,
            converged: r.convergence.converged,
            converged_after_settle_ns: r.convergence.after_settle_ns,
            visibility_p50_ns: r.visibility.all_p50_ns,
            visibility_p99_ns: r.visibility.all_p99_ns,
            reads_stale: r.staleness.as_ref().filter(|s| s.reads > 0).map(|s| s.fraction_stale),
            sec_valid: r.sec.as_ref().map(|s| s.valid),
            report: format!("{variant}/report.json"),
        })
        .collect();
    let outcome = variants.iter().map(|v| v.outcome).max_by_key(|v| v.severity()).unwrap_or(Verdict::Pass);
    Comparison { scenario: name.to_string(), seed, variants, outcome, exit_code: outcome.exit_code() }
}

/// The comparison as a terminal table.
pub fn render(c: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "variants of {} under seed {}:", c.scenario, c.seed);
    let _ = writeln!(
        s,
        "  {:<12} {:<22} {:>8} {:>9} {:>11} {:>10} {:>10} {:>7} {:>5}  outcome",
        "variant", "protocol", "msgs/op", "bytes/op", "converged", "vis p50", "vis p99", "stale", "sec"
    );
    for v in &c.variants {
        let converged = match (v.converged, v.converged_after_settle_ns) {
            (true, Some(t)) => format!("+{}", format_ns(t)),
            (true, None) => "yes".into(),
            (false, _) => "NO".into(),
        };
        let _ = writeln!(
            s,
            "  {:<12} {:<22} {:>8.2} {:>9.1} {:>11} {:>10} {:>10} {:>7} {:>5}  {}",
            v.name,
            v.protocol,
            v.messages_per_op,
            v.bytes_per_op,
            converged,
            format_ns(v.visibility_p50_ns),
            format_ns(v.visibility_p99_ns),
            v.reads_stale.map_or("-".into(), |f| format!("{:.1}%", f * 100.0)),
            v.sec_valid.map_or("-", |ok| if ok { "ok" } else { "FAIL" }),
            v.outcome.words(),
        );
    }
    let _ = writeln!(s, "(converged: time after the settle phase began until all live replicas agreed)");
    let _ = writeln!(s, "outcome: {} (exit {})", c.outcome.words(), c.exit_code);
    s
}

/// One entry of a many-seed comparison: a scenario (or one of its variants) and its name.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The name in tables and legends.
    pub name: String,
    /// What to run.
    pub scenario: crate::scenario::Scenario,
}

/// The entries of `scenarios`: each variant of a scenario that lists some, else the scenario.
/// Names repeated across files get the file's scenario name in front.
pub fn entries(scenarios: &[crate::scenario::Scenario]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for s in scenarios {
        for run in s.runs() {
            let name = run.variant.clone().unwrap_or_else(|| s.name().to_string());
            out.push(Entry { name, scenario: run });
        }
    }
    let names: Vec<String> = out.iter().map(|e| e.name.clone()).collect();
    for (i, e) in out.iter_mut().enumerate() {
        if names.iter().filter(|n| **n == names[i]).count() > 1 {
            e.name = format!("{}/{}", e.scenario.name(), e.name);
        }
    }
    out
}

/// A figure across seeds: median and the 10th and 90th percentiles.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// How many seeds measured it.
    pub seeds: usize,
}

impl Spread {
    /// The spread of `values` (`None` when empty), by nearest rank.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| syncsim_reports::latency::quantile(&v, q);
        Some(Spread { median: at(0.5), p10: at(0.1), p90: at(0.9), seeds: v.len() })
    }

    fn words(&self, unit: impl Fn(f64) -> String) -> String {
        format!("{} [{}–{}]", unit(self.median), unit(self.p10), unit(self.p90))
    }
}

/// A failing run of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailingSeed {
    /// The seed.
    pub seed: u64,
    /// Its verdict.
    pub outcome: Verdict,
    /// The first failure in words.
    pub failure: String,
    /// The command that reproduces it.
    pub reproduce: String,
}

/// One entry's figures over every seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntrySummary {
    /// The entry's name.
    pub name: String,
    /// The protocol as configured.
    pub protocol: String,
    /// Runs (seeds).
    pub runs: usize,
    /// Runs that passed.
    pub passed: usize,
    /// Each figure's spread across seeds, by name (`latency.p99_ms`, `bytes_per_op`, ...).
    pub figures: BTreeMap<String, Spread>,
    /// Each consistency verdict as "held in k of n runs", by check.
    pub consistency: BTreeMap<String, String>,
    /// The failing runs (the first 20).
    pub failing: Vec<FailingSeed>,
}

/// A comparison of entries over many seeds, written as `comparison.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ManySeeds {
    /// The seeds every entry ran under.
    pub seeds: Vec<u64>,
    /// One summary per entry.
    pub entries: Vec<EntrySummary>,
    /// The worst verdict of any run.
    pub outcome: Verdict,
    /// Its exit code.
    pub exit_code: i32,
}

/// What one run leaves for the comparison: its report and its latencies (ms).
struct RunDigest {
    report: Report,
    latencies: Vec<f64>,
}

/// The figures a comparison shows, with their units: (name, label, from a report).
type Figure = (&'static str, &'static str, fn(&Report) -> Option<f64>);

const FIGURES: [Figure; 9] = [
    ("latency.p50_ms", "latency p50 (ms)", |r| {
        r.latency.get("all").filter(|l| l.count > 0).map(|l| l.p50_ns as f64 / 1e6)
    }),
    ("latency.p99_ms", "latency p99 (ms)", |r| {
        r.latency.get("all").filter(|l| l.count > 0).map(|l| l.p99_ns as f64 / 1e6)
    }),
    ("latency.p99.9_ms", "latency p99.9 (ms)", |r| {
        r.latency.get("all").filter(|l| l.count > 0).map(|l| l.p999_ns as f64 / 1e6)
    }),
    ("availability_pct", "availability (%)", |r| r.operations.get("all").map(|c| c.availability * 100.0)),
    ("messages_per_op", "messages per operation", |r| Some(r.network.messages_per_op)),
    ("bytes_per_op", "bytes per operation", |r| Some(r.network.bytes_per_op)),
    ("bytes_per_write", "bytes per write", |r| (r.visibility.writes > 0).then_some(r.network.bytes_per_write)),
    ("convergence_ms", "convergence after settle (ms)", |r| r.convergence.after_settle_ns.map(|t| t as f64 / 1e6)),
    ("visibility.p99_ms", "visibility p99 (ms)", |r| {
        (r.visibility.visible_everywhere > 0).then(|| r.visibility.all_p99_ns as f64 / 1e6)
    }),
];

/// Runs every entry under every seed (in parallel; results in order) and summarises them;
/// returns the summary and the charts (file name, title, SVG).
pub fn many_seeds(entries: &[Entry], seeds: std::ops::Range<u64>) -> Result<(ManySeeds, Vec<Chart>), String> {
    use rayon::prelude::*;
    let jobs: Vec<(usize, u64)> = (0..entries.len()).flat_map(|e| seeds.clone().map(move |s| (e, s))).collect();
    let digests: Vec<RunDigest> = jobs
        .par_iter()
        .map(|&(e, seed)| {
            let r = crate::runner::run(&entries[e].scenario, seed, false)
                .map_err(|err| format!("{}: {err}", entries[e].name))?;
            let latencies = r
                .history
                .entries()
                .iter()
                .filter_map(|x| match (&x.outcome, x.ret) {
                    (syncsim_sim::history::Outcome::Ok(_), Some(ret)) => Some((ret.0 - x.call.0) as f64 / 1e6),
                    _ => None,
                })
                .collect();
            Ok(RunDigest { report: r.report, latencies })
        })
        .collect::<Result<_, String>>()?;
    let per = seeds.clone().count();
    let mut summaries = Vec::new();
    let mut worst = Verdict::Pass;
    for (e, entry) in entries.iter().enumerate() {
        let runs = &digests[e * per..(e + 1) * per];
        let mut figures = BTreeMap::new();
        for (name, _, get) in FIGURES {
            let values: Vec<f64> = runs.iter().filter_map(|d| get(&d.report)).collect();
            if let Some(s) = Spread::of(&values) {
                figures.insert(name.to_string(), s);
            }
        }
        let held = |f: &dyn Fn(&Report) -> Option<bool>| {
            let judged: Vec<bool> = runs.iter().filter_map(|d| f(&d.report)).collect();
            (!judged.is_empty()).then(|| format!("{} of {}", judged.iter().filter(|b| **b).count(), judged.len()))
        };
        let mut consistency = BTreeMap::new();
        for (check, f) in [
            ("converged", &(|r: &Report| Some(r.convergence.converged)) as &dyn Fn(&Report) -> Option<bool>),
            ("no acknowledged write lost", &|r: &Report| Some(r.visibility.lost == 0)),
            ("linearizable", &|r: &Report| {
                r.linearizability.as_ref().map(|l| l.verdict == syncsim_reports::lin::Verdict::Linearizable)
            }),
            ("strong eventual consistency", &|r: &Report| r.sec.as_ref().map(|s| s.valid && s.converged)),
        ] {
            if let Some(words) = held(f) {
                consistency.insert(check.to_string(), words);
            }
        }
        let failing: Vec<FailingSeed> = runs
            .iter()
            .filter(|d| d.report.outcome != Verdict::Pass)
            .take(20)
            .map(|d| FailingSeed {
                seed: d.report.seed,
                outcome: d.report.outcome,
                failure: d.report.failures.first().cloned().unwrap_or_default(),
                reproduce: d.report.reproduce.clone(),
            })
            .collect();
        for d in runs {
            if d.report.outcome.severity() > worst.severity() {
                worst = d.report.outcome;
            }
        }
        summaries.push(EntrySummary {
            name: entry.name.clone(),
            protocol: format!("{} {}", runs[0].report.protocol.name, runs[0].report.protocol.variant),
            runs: runs.len(),
            passed: runs.iter().filter(|d| d.report.outcome == Verdict::Pass).count(),
            figures,
            consistency,
            failing,
        });
    }
    let summary =
        ManySeeds { seeds: seeds.collect(), entries: summaries, outcome: worst, exit_code: worst.exit_code() };
    let charts = many_seed_charts(&summary, &digests, per)?;
    Ok((summary, charts))
}

fn many_seed_charts(m: &ManySeeds, digests: &[RunDigest], per: usize) -> Result<Vec<Chart>, String> {
    use syncsim_reports::charts::{self, Bar, Series, Style, TimeChart};
    let bar = |e: &EntrySummary, f: &str| {
        e.figures.get(f).map_or(Bar { median: 0.0, p10: 0.0, p90: 0.0 }, |s| Bar {
            median: s.median,
            p10: s.p10,
            p90: s.p90,
        })
    };
    let mut out = Vec::new();
    let latency: Vec<(String, Vec<Bar>)> = m
        .entries
        .iter()
        .map(|e| (e.name.clone(), ["latency.p50_ms", "latency.p99_ms", "latency.p99.9_ms"].map(|f| bar(e, f)).to_vec()))
        .collect();
    out.push(Chart {
        file: "latency.svg".into(),
        title: "Latency percentiles (median across seeds, bars p10–p90)".into(),
        svg: charts::bars("Latency of all operations", "latency (ms)", &["p50", "p99", "p99.9"], &latency, true)?,
    });
    for (file, figure, title, label) in [
        ("availability.svg", "availability_pct", "Availability", "operations that succeeded (%)"),
        ("messages.svg", "messages_per_op", "Messages per operation", "messages per operation"),
        ("bytes.svg", "bytes_per_op", "Bytes per operation", "bytes per operation"),
        ("bytes-per-write.svg", "bytes_per_write", "Bytes per write", "bytes sent per write"),
        ("convergence.svg", "convergence_ms", "Time to convergence after the settle phase began", "time (ms)"),
    ] {
        let series: Vec<(String, Vec<Bar>)> =
            m.entries.iter().map(|e| (e.name.clone(), vec![bar(e, figure)])).collect();
        out.push(Chart {
            file: file.into(),
            title: format!("{title} (median across seeds, bars p10–p90)"),
            svg: charts::bars(title, label, &[""], &series, false)?,
        });
    }
    // Latency CDFs: at each percentile, the median across seeds of that seed's latency there,
    // with the p10–p90 band of it.
    let mut cdfs: Vec<Series> = Vec::new();
    let mut cdf_bands = Vec::new();
    for (e, entry) in m.entries.iter().enumerate() {
        let mut per_seed: Vec<Vec<f64>> =
            digests[e * per..(e + 1) * per].iter().map(|d| d.latencies.clone()).filter(|l| !l.is_empty()).collect();
        for l in &mut per_seed {
            l.sort_by(f64::total_cmp);
        }
        let (mut line, mut band) = (Vec::new(), Vec::new());
        for step in 1..=200 {
            let q = f64::from(step) / 200.0;
            let at: Vec<f64> = per_seed.iter().map(|l| syncsim_reports::latency::quantile(l, q)).collect();
            if let Some(s) = Spread::of(&at) {
                line.push((s.median, q * 100.0));
                band.push((q * 100.0, s.p10, s.p90));
            }
        }
        cdfs.push((entry.name.clone(), line));
        cdf_bands.push(band);
    }
    out.push(Chart {
        file: "latency-cdf.svg".into(),
        title: "Latency CDF (median across seeds, band p10–p90)".into(),
        svg: charts::cdf_with_bands("Latency CDF across seeds", "latency (ms)", &cdfs, &cdf_bands, true)?,
    });
    // Divergence: per entry, the median share of differing replica pairs at each sample, with
    // the p10–p90 band across seeds.
    let mut lines: Vec<Series> = Vec::new();
    let mut bands = Vec::new();
    let mut x_max = 0.0f64;
    for (e, entry) in m.entries.iter().enumerate() {
        let runs = &digests[e * per..(e + 1) * per];
        let len = runs.iter().map(|d| d.report.convergence.timeline.len()).min().unwrap_or(0);
        x_max = x_max.max(runs[0].report.run.end_ns as f64 / 1e9);
        let mut line = Vec::with_capacity(len);
        let mut band = Vec::with_capacity(len);
        for i in 0..len {
            let t = runs[0].report.convergence.timeline[i].t_ns as f64 / 1e9;
            let vals: Vec<f64> =
                runs.iter().map(|d| d.report.convergence.timeline[i].differing_pairs * 100.0).collect();
            let s = Spread::of(&vals).expect("runs are never empty");
            line.push((t, s.median));
            band.push((t, s.p10, s.p90));
        }
        lines.push((entry.name.clone(), line));
        bands.push(band);
    }
    let shades = syncsim_reports::run_charts::shades(&digests[0].report);
    out.push(Chart {
        file: "divergence.svg".into(),
        title: "Divergence over time (median across seeds, band p10–p90)".into(),
        svg: charts::time_chart(&TimeChart {
            title: "Differing replica pairs over time",
            y_label: "differing replica pairs (%)",
            series: &lines,
            style: Style::Lines,
            log_y: false,
            right: None,
            shades: &shades,
            x_max,
            bands: &bands,
        })?,
    });
    Ok(out)
}

/// The comparison's table: per variant, each figure as median [p10–p90], and the verdicts.
fn many_seeds_table(m: &ManySeeds) -> Table {
    let head = [
        "variant",
        "protocol",
        "passed",
        "latency p50",
        "latency p99",
        "latency p99.9",
        "availability",
        "msgs/op",
        "bytes/op",
        "bytes/write",
        "convergence",
        "visibility p99",
        "consistency",
    ];
    let ms = |v: f64| format!("{v:.2}ms");
    let rows = m
        .entries
        .iter()
        .map(|e| {
            let f = |name: &str, unit: &dyn Fn(f64) -> String| {
                e.figures.get(name).map_or("-".to_string(), |sp| sp.words(unit))
            };
            let consistency: Vec<String> = e.consistency.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            vec![
                e.name.clone(),
                e.protocol.clone(),
                format!("{} of {}", e.passed, e.runs),
                f("latency.p50_ms", &ms),
                f("latency.p99_ms", &ms),
                f("latency.p99.9_ms", &ms),
                f("availability_pct", &|v| format!("{v:.1}%")),
                f("messages_per_op", &|v| format!("{v:.2}")),
                f("bytes_per_op", &|v| format!("{v:.0}")),
                f("bytes_per_write", &|v| format!("{v:.0}")),
                f("convergence_ms", &ms),
                f("visibility.p99_ms", &ms),
                consistency.join("; "),
            ]
        })
        .collect();
    Table { head: head.iter().map(|h| h.to_string()).collect(), rows }
}

fn seed_range(m: &ManySeeds) -> (u64, u64) {
    (m.seeds.first().copied().unwrap_or(0), m.seeds.last().copied().unwrap_or(0))
}

/// The comparison as a Markdown table, with failing seeds and their reproducing commands.
pub fn many_seeds_markdown(m: &ManySeeds, title: &str) -> String {
    let mut s = String::new();
    let (first, last) = seed_range(m);
    let _ = writeln!(s, "# {title}: {} ({} seeds, {first}..={last})\n", m.outcome.words(), m.seeds.len());
    let _ = writeln!(s, "Each figure is the median across seeds, with the 10th–90th percentile in brackets.\n");
    s.push_str(&many_seeds_table(m).markdown());
    let failing: Vec<&FailingSeed> = m.entries.iter().flat_map(|e| &e.failing).collect();
    if !failing.is_empty() {
        let _ = writeln!(s, "\n## Failing seeds\n");
        for f in failing {
            let _ = writeln!(s, "- `{}`: {} — {}", f.reproduce, f.outcome.words(), f.failure);
        }
    }
    s
}

/// The comparison page: the table and every chart, inline.
pub fn many_seeds_html(m: &ManySeeds, title: &str, charts: &[Chart]) -> String {
    let mut s = page_start(title, m.outcome);
    let (first, last) = seed_range(m);
    let _ = writeln!(
        s,
        "<p>{} seeds ({first}..={last}) per variant; each figure is the median across seeds with the 10th–90th \
         percentile in brackets.</p>",
        m.seeds.len()
    );
    s.push_str(&many_seeds_table(m).html());
    let failing: Vec<&FailingSeed> = m.entries.iter().flat_map(|e| &e.failing).collect();
    if !failing.is_empty() {
        s.push_str("<h2>Failing seeds</h2><ul>");
        for f in failing {
            let _ =
                write!(s, "<li><code>{}</code>: {} — {}</li>", esc(&f.reproduce), f.outcome.words(), esc(&f.failure));
        }
        s.push_str("</ul>");
    }
    s.push_str(&page_end(charts));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_the_median_and_the_tenth_and_ninetieth_percentiles() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = Spread::of(&values).unwrap();
        assert_eq!((s.p10, s.median, s.p90, s.seeds), (2.0, 10.0, 18.0, 20));
        assert_eq!(Spread::of(&[5.0]).unwrap().median, 5.0);
        assert!(Spread::of(&[]).is_none());
    }
}
