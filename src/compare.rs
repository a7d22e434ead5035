//! Comparing the protocol variants a scenario lists (`variants:`), run under the identical
//! workload, faults and seed: one row of headline figures per variant.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use syncsim_reports::page::{Table, esc, page_end, page_start};
use syncsim_reports::report::format_ns;
use syncsim_reports::run_charts::Chart;
use syncsim_reports::{Report, Verdict};

use crate::sweep::{self, SweepReport};

/// One variant's run: its verdict and every metric it measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantRow {
    /// The variant's name.
    pub name: String,
    /// The protocol as configured (`crdt lww-map/delta`).
    pub protocol: String,
    /// Its verdict.
    pub outcome: Verdict,
    /// Every metric the run measured, in the shared vocabulary (see `Report::figures`).
    pub figures: BTreeMap<String, f64>,
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
            figures: r.figures(),
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
        let f = |metric: &str| v.figures.get(metric).copied();
        let duration = |metric: &str| f(metric).map_or("-".to_string(), |ns| format_ns(ns as u64));
        let converged = match (f("converged") == Some(1.0), f("converged_within")) {
            (true, Some(t)) => format!("+{}", format_ns(t as u64)),
            (true, None) => "yes".into(),
            (false, _) => "NO".into(),
        };
        let _ = writeln!(
            s,
            "  {:<12} {:<22} {:>8.2} {:>9.1} {:>11} {:>10} {:>10} {:>7} {:>5}  {}",
            v.name,
            v.protocol,
            f("messages_per_op").unwrap_or(0.0),
            f("bytes_per_op").unwrap_or(0.0),
            converged,
            duration("visibility.p50"),
            duration("visibility.p99"),
            f("reads.stale").map_or("-".into(), |x| format!("{:.1}%", x * 100.0)),
            f("sec").map_or("-", |ok| if ok == 1.0 { "ok" } else { "FAIL" }),
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

/// The entries of `files`: each variant of a file that lists some, else the file's scenario.
/// Each is named apart from the others: by its variant or scenario name; where names repeat,
/// with the scenario's name in front of a variant's; where they still repeat, by the file's
/// name (`a.yaml`, `a.yaml/raft`), and at last by its path.
pub fn entries(files: &[crate::scenario::ScenarioFile]) -> Vec<Entry> {
    let runs: Vec<(&crate::scenario::ScenarioFile, &crate::scenario::Scenario)> =
        files.iter().flat_map(|f| f.runs().iter().map(move |r| (f, r))).collect();
    let label = |(f, r): &(&crate::scenario::ScenarioFile, &crate::scenario::Scenario), level: u8| {
        let file = std::path::Path::new(f.file());
        let by_file = match level {
            0 | 1 => None,
            2 => Some(file.file_name().map_or(f.file().to_string(), |n| n.to_string_lossy().into_owned())),
            _ => Some(f.file().to_string()),
        };
        match (&r.variant, by_file) {
            (Some(v), None) if level == 0 => v.clone(),
            (Some(v), None) => format!("{}/{v}", f.name()),
            (Some(v), Some(file)) => format!("{file}/{v}"),
            (None, None) => f.name().to_string(),
            (None, Some(file)) => file,
        }
    };
    let mut levels = vec![0u8; runs.len()];
    for _ in 0..3 {
        let names: Vec<String> = runs.iter().zip(&levels).map(|(r, l)| label(r, *l)).collect();
        let repeated: Vec<bool> = names.iter().map(|n| names.iter().filter(|m| *m == n).count() > 1).collect();
        if !repeated.contains(&true) {
            break;
        }
        for (l, r) in levels.iter_mut().zip(repeated) {
            if r {
                *l += 1;
            }
        }
    }
    runs.iter().zip(levels).map(|(r, l)| Entry { name: label(r, l), scenario: r.1.clone() }).collect()
}

/// A band across seeds: the 10th percentile, the median and the 90th percentile of `values`
/// (`None` when empty), by the one quantile rule.
fn band(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| syncsim_reports::latency::quantile(&v, q);
    Some((at(0.1), at(0.5), at(0.9)))
}

/// Judges one consistency property from a run's report, when the run can judge it.
type Judge = fn(&Report) -> Option<bool>;

/// The consistency verdicts a comparison tallies ("held in k of n runs"), each judged from a
/// run's report when the run can judge it.
const VERDICTS: [(&str, Judge); 4] = [
    ("converged", |r| Some(r.convergence.converged)),
    ("no acknowledged write lost", |r| Some(r.visibility.lost == 0)),
    ("linearizable", |r| r.linearizability.as_ref().map(|l| l.verdict == syncsim_reports::lin::Verdict::Linearizable)),
    ("strong eventual consistency", |r| r.sec.as_ref().map(|s| s.valid && s.converged)),
];

/// One entry of a comparison: its sweep over the comparison's seeds, and the verdicts tallied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntrySummary {
    /// The entry's name in tables and legends.
    pub name: String,
    /// The protocol as configured.
    pub protocol: String,
    /// Each consistency verdict as "held in k of n runs", by check.
    pub consistency: BTreeMap<String, String>,
    /// The entry's sweep: every seed's record and each metric across seeds, in the metric
    /// vocabulary of `sweep`, `check` and `expect:` (`latency.all.p99`, `availability`, ...).
    pub sweep: SweepReport,
}

/// A comparison of entries over many seeds (N sweeps side by side), written as
/// `comparison.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ManySeeds {
    /// The seeds every entry ran under, `start..end`.
    pub seeds: (u64, u64),
    /// One summary per entry.
    pub entries: Vec<EntrySummary>,
    /// The worst verdict of any run.
    pub outcome: Verdict,
    /// Its exit code.
    pub exit_code: i32,
}

/// What a comparison keeps of each run beyond its metrics, for the charts.
struct Digest {
    protocol: String,
    /// Latencies of the operations that succeeded (ms).
    latencies: Vec<f64>,
    /// Differing replica pairs (%) at each sample time (s).
    divergence: Vec<(f64, f64)>,
    end_s: f64,
    shades: Vec<syncsim_reports::charts::Shade>,
    verdicts: [Option<bool>; 4],
    /// Read consistency against time since commit, where judged.
    t_visibility: Option<syncsim_reports::pbs::TVisibility>,
}

impl Digest {
    fn of(run: &crate::runner::RunResult) -> Digest {
        let r = &run.report;
        let latencies = run
            .history
            .entries()
            .iter()
            .filter_map(|x| match (&x.outcome, x.ret) {
                (syncsim_sim::history::Outcome::Ok(_), Some(ret)) => Some((ret.0 - x.call.0) as f64 / 1e6),
                _ => None,
            })
            .collect();
        Digest {
            protocol: format!("{} {}", r.protocol.name, r.protocol.variant),
            latencies,
            divergence: r
                .convergence
                .timeline
                .iter()
                .map(|p| (p.t_ns as f64 / 1e9, p.differing_pairs * 100.0))
                .collect(),
            end_s: r.run.end_ns as f64 / 1e9,
            shades: syncsim_reports::run_charts::shades(r),
            verdicts: VERDICTS.map(|(_, judge)| judge(r)),
            t_visibility: r.t_visibility.clone().filter(|t| t.reads > 0),
        }
    }
}

/// Sweeps every entry over `seeds` (each sweep in parallel, through [`sweep::run_seeds_keeping`])
/// and sets the sweeps side by side; returns the comparison and its charts. `done` is called
/// as each run finishes, for progress.
pub fn many_seeds(
    entries: &[Entry],
    seeds: std::ops::Range<u64>,
    jobs: Option<usize>,
    done: &(dyn Fn(&sweep::SeedRecord) + Sync),
) -> Result<(ManySeeds, Vec<Chart>), String> {
    let list: Vec<u64> = seeds.clone().collect();
    let mut summaries = Vec::new();
    let mut digests = Vec::new();
    for entry in entries {
        let kept = sweep::run_seeds_keeping(&entry.scenario, &list, jobs, false, &Digest::of, done)
            .map_err(|e| format!("{}: {e}", entry.name))?;
        let (records, runs): (Vec<_>, Vec<Digest>) = kept.into_iter().unzip();
        let mut consistency = BTreeMap::new();
        for (i, (check, _)) in VERDICTS.iter().enumerate() {
            let judged: Vec<bool> = runs.iter().filter_map(|d| d.verdicts[i]).collect();
            if !judged.is_empty() {
                let held = judged.iter().filter(|b| **b).count();
                consistency.insert(check.to_string(), format!("{held} of {}", judged.len()));
            }
        }
        let report = sweep::summarise(&entry.scenario.label(), &entry.scenario.file, seeds.clone(), None, records);
        summaries.push(EntrySummary {
            name: entry.name.clone(),
            protocol: runs.first().map(|d| d.protocol.clone()).unwrap_or_default(),
            consistency,
            sweep: report,
        });
        digests.push(runs);
    }
    let outcome = summaries.iter().map(|e| e.sweep.outcome).max_by_key(|v| v.severity()).unwrap_or(Verdict::Pass);
    let summary =
        ManySeeds { seeds: (seeds.start, seeds.end), entries: summaries, outcome, exit_code: outcome.exit_code() };
    let charts = many_seed_charts(&summary, &digests)?;
    Ok((summary, charts))
}

/// Writes a value in its shown unit.
type Format = fn(f64) -> String;

/// The figures a comparison shows, in the shared metric vocabulary, with their heading, the
/// scale from the metric's unit to the shown one (ns to ms, fraction to %), and its format.
const SHOWN: [(&str, &str, f64, Format); 10] = [
    ("latency.all.p50", "latency p50", 1e-6, ms),
    ("latency.all.p99", "latency p99", 1e-6, ms),
    ("latency.all.p99.9", "latency p99.9", 1e-6, ms),
    ("availability", "availability", 100.0, |v| format!("{v:.1}%")),
    ("messages_per_op", "msgs/op", 1.0, |v| format!("{v:.2}")),
    ("bytes_per_op", "bytes/op", 1.0, |v| format!("{v:.0}")),
    ("bytes_per_write", "bytes/write", 1.0, |v| format!("{v:.0}")),
    ("converged_within", "convergence", 1e-6, ms),
    ("visibility.p99", "visibility p99", 1e-6, ms),
    ("reads.consistent", "consistent reads", 100.0, |v| format!("{v:.2}%")),
];

fn ms(v: f64) -> String {
    format!("{v:.2}ms")
}

/// An entry's metric across seeds, in the shown unit: (p10, median, p90).
fn shown(e: &EntrySummary, metric: &str) -> Option<(f64, f64, f64)> {
    let scale = SHOWN.iter().find(|s| s.0 == metric).map_or(1.0, |s| s.2);
    e.sweep.aggregates.get(metric).map(|a| (a.p10 * scale, a.median * scale, a.p90 * scale))
}

fn many_seed_charts(m: &ManySeeds, digests: &[Vec<Digest>]) -> Result<Vec<Chart>, String> {
    use syncsim_reports::charts::{self, Bar, Series, TimeChart};
    let bar = |e: &EntrySummary, metric: &str| {
        shown(e, metric).map_or(Bar { median: 0.0, p10: 0.0, p90: 0.0 }, |(p10, median, p90)| Bar { median, p10, p90 })
    };
    let mut out = Vec::new();
    let latency: Vec<(String, Vec<Bar>)> = m
        .entries
        .iter()
        .map(|e| {
            (e.name.clone(), ["latency.all.p50", "latency.all.p99", "latency.all.p99.9"].map(|f| bar(e, f)).to_vec())
        })
        .collect();
    out.push(Chart {
        file: "latency.svg".into(),
        title: "Latency percentiles (median across seeds, bars p10–p90)".into(),
        svg: charts::bars("Latency of all operations", "latency (ms)", &["p50", "p99", "p99.9"], &latency, true)?,
    });
    for (file, metric, title, label) in [
        ("availability.svg", "availability", "Availability", "operations that succeeded (%)"),
        ("messages.svg", "messages_per_op", "Messages per operation", "messages per operation"),
        ("bytes.svg", "bytes_per_op", "Bytes per operation", "bytes per operation"),
        ("bytes-per-write.svg", "bytes_per_write", "Bytes per write", "bytes sent per write"),
        ("convergence.svg", "converged_within", "Time to convergence after the settle phase began", "time (ms)"),
    ] {
        let series: Vec<(String, Vec<Bar>)> =
            m.entries.iter().map(|e| (e.name.clone(), vec![bar(e, metric)])).collect();
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
    for (entry, runs) in m.entries.iter().zip(digests) {
        let mut per_seed: Vec<Vec<f64>> = runs.iter().map(|d| d.latencies.clone()).filter(|l| !l.is_empty()).collect();
        for l in &mut per_seed {
            l.sort_by(f64::total_cmp);
        }
        let (mut line, mut band_of) = (Vec::new(), Vec::new());
        for step in 1..=200 {
            let q = f64::from(step) / 200.0;
            let at: Vec<f64> = per_seed.iter().map(|l| syncsim_reports::latency::quantile(l, q)).collect();
            if let Some((p10, median, p90)) = band(&at) {
                line.push((median, q * 100.0));
                band_of.push((q * 100.0, p10, p90));
            }
        }
        cdfs.push((entry.name.clone(), line));
        cdf_bands.push(band_of);
    }
    out.push(Chart {
        file: "latency-cdf.svg".into(),
        title: "Latency CDF (median across seeds, band p10–p90)".into(),
        svg: charts::cdf_with_bands("Latency CDF across seeds", "latency (ms)", &cdfs, &cdf_bands, true)?,
    });
    // t-visibility (PBS): per entry, every seed's reads pooled in each range of t.
    let curves: Vec<Series> = m
        .entries
        .iter()
        .zip(digests)
        .filter_map(|(entry, runs)| {
            let all: Vec<_> = runs.iter().filter_map(|d| d.t_visibility.as_ref()).collect();
            (!all.is_empty()).then(|| {
                let pooled = syncsim_reports::pbs::TVisibility::pool(all);
                (entry.name.clone(), syncsim_reports::pbs::TVisibility::chart_points(&pooled))
            })
        })
        .collect();
    if !curves.is_empty() {
        let title = "Consistent reads against time since commit (PBS t-visibility)";
        out.push(Chart {
            file: "t-visibility.svg".into(),
            title: format!("{title}, every seed's reads pooled"),
            svg: charts::percent_curves(
                title,
                "time from the latest commit to the read (ms)",
                "reads that saw it (%)",
                &curves,
                true,
            )?,
        });
    }
    // Divergence: per entry, the median share of differing replica pairs at each sample, with
    // the p10–p90 band across seeds.
    let mut lines: Vec<Series> = Vec::new();
    let mut bands = Vec::new();
    let mut x_max = 0.0f64;
    for (entry, runs) in m.entries.iter().zip(digests) {
        let len = runs.iter().map(|d| d.divergence.len()).min().unwrap_or(0);
        x_max = runs.iter().map(|d| d.end_s).fold(x_max, f64::max);
        let mut line = Vec::with_capacity(len);
        let mut band_of = Vec::with_capacity(len);
        for i in 0..len {
            let t = runs[0].divergence[i].0;
            let vals: Vec<f64> = runs.iter().map(|d| d.divergence[i].1).collect();
            if let Some((p10, median, p90)) = band(&vals) {
                line.push((t, median));
                band_of.push((t, p10, p90));
            }
        }
        lines.push((entry.name.clone(), line));
        bands.push(band_of);
    }
    let shades = digests.first().and_then(|runs| runs.first()).map(|d| d.shades.clone()).unwrap_or_default();
    out.push(Chart {
        file: "divergence.svg".into(),
        title: "Divergence over time (median across seeds, band p10–p90)".into(),
        svg: charts::time_chart(&TimeChart {
            bands: &bands,
            ..TimeChart::lines(
                "Differing replica pairs over time",
                "differing replica pairs (%)",
                &lines,
                &shades,
                x_max,
            )
        })?,
    });
    Ok(out)
}

/// The comparison's table: per entry, each shown metric as median [p10–p90], and the verdicts.
fn many_seeds_table(m: &ManySeeds) -> Table {
    let mut head = vec!["variant".to_string(), "protocol".into(), "passed".into()];
    head.extend(SHOWN.iter().map(|s| s.1.to_string()));
    head.push("consistency".into());
    let rows = m
        .entries
        .iter()
        .map(|e| {
            let mut row = vec![e.name.clone(), e.protocol.clone(), format!("{} of {}", e.sweep.passed, e.sweep.runs)];
            row.extend(SHOWN.iter().map(|(metric, _, _, unit)| {
                shown(e, metric).map_or("-".to_string(), |(p10, median, p90)| {
                    format!("{} [{}–{}]", unit(median), unit(p10), unit(p90))
                })
            }));
            let consistency: Vec<String> = e.consistency.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            row.push(consistency.join("; "));
            row
        })
        .collect();
    Table { head, rows }
}

/// The seed whose run stands for an entry: its first failing seed (the run worth reading),
/// else the seed whose p99 latency is nearest the median across seeds.
pub fn representative(sweep: &sweep::SweepReport) -> Option<u64> {
    if let Some(f) = sweep.failing.first() {
        return Some(f.seed);
    }
    const METRIC: &str = "latency.all.p99";
    let nearest = sweep.aggregates.get(METRIC).and_then(|a| {
        let distance = |r: &sweep::SeedRecord| r.figures.get(METRIC).map(|v| (v - a.median).abs());
        sweep.records.iter().filter_map(|r| distance(r).map(|d| (d, r.seed))).min_by(|x, y| x.0.total_cmp(&y.0))
    });
    nearest.map(|(_, seed)| seed).or_else(|| sweep.records.first().map(|r| r.seed))
}

/// A run page written beside a comparison for one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLink {
    /// The entry's name.
    pub entry: String,
    /// The page, relative to the comparison's.
    pub page: String,
    /// The seed it ran.
    pub seed: u64,
}

/// The comparison's table turned for the page, so that it fits: a column per entry, headed by
/// its name linking to its representative run, and a row per figure, the median over the
/// p10–p90 spread.
fn many_seeds_columns(m: &ManySeeds, runs: &[RunLink]) -> String {
    let mut s = String::from("<div class=\"wide\"><table><thead><tr><th></th>");
    for e in &m.entries {
        let link = runs.iter().find(|r| r.entry == e.name);
        let head = match link {
            Some(r) => {
                format!("<a href=\"{}\">{}</a><br><small>run page, seed {}</small>", esc(&r.page), esc(&e.name), r.seed)
            }
            None => esc(&e.name),
        };
        let _ = write!(s, "<th>{head}</th>");
    }
    s.push_str("</tr></thead><tbody>");
    let mut row = |name: &str, cells: Vec<String>| {
        let _ = write!(s, "<tr><td>{}</td>", esc(name));
        for c in cells {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>");
    };
    row("protocol", m.entries.iter().map(|e| esc(&e.protocol)).collect());
    row("seeds passed", m.entries.iter().map(|e| format!("{} of {}", e.sweep.passed, e.sweep.runs)).collect());
    for (metric, heading, _, unit) in SHOWN {
        let cells = m
            .entries
            .iter()
            .map(|e| {
                shown(e, metric).map_or("-".to_string(), |(p10, median, p90)| {
                    format!("{}<br><small>[{}–{}]</small>", esc(&unit(median)), esc(&unit(p10)), esc(&unit(p90)))
                })
            })
            .collect();
        row(heading, cells);
    }
    let checks: std::collections::BTreeSet<&String> = m.entries.iter().flat_map(|e| e.consistency.keys()).collect();
    for check in checks {
        row(check, m.entries.iter().map(|e| e.consistency.get(check).map_or("-".into(), |v| esc(v))).collect());
    }
    s.push_str("</tbody></table></div>\n");
    s
}

/// Every entry's failing seeds (the first 20 of each).
fn failing(m: &ManySeeds) -> impl Iterator<Item = &sweep::SeedRecord> {
    m.entries.iter().flat_map(|e| e.sweep.failing.iter().take(20))
}

/// The comparison as a Markdown table, with failing seeds and their reproducing commands.
pub fn many_seeds_markdown(m: &ManySeeds, title: &str) -> String {
    let mut s = String::new();
    let (first, end) = m.seeds;
    let _ = writeln!(s, "# {title}: {} ({} seeds, {first}..{end})\n", m.outcome.words(), end - first);
    let _ = writeln!(s, "Each figure is the median across seeds, with the 10th–90th percentile in brackets.\n");
    s.push_str(&many_seeds_table(m).markdown());
    let mut failing = failing(m).peekable();
    if failing.peek().is_some() {
        let _ = writeln!(s, "\n## Failing seeds\n");
        for f in failing {
            let _ = writeln!(s, "- `{}`: {} — {}", f.reproduce, f.outcome.words(), f.failures.join("; "));
        }
    }
    s
}

/// The comparison page: the table (linking each entry's representative run page in `runs`),
/// failing seeds, and every chart, inline.
pub fn many_seeds_html(m: &ManySeeds, title: &str, charts: &[Chart], runs: &[RunLink]) -> String {
    let mut s = page_start(title, m.outcome);
    let (first, end) = m.seeds;
    let _ = writeln!(
        s,
        "<p>{} seeds ({first}..{end}) per variant; each figure is the median across seeds with the 10th–90th \
         percentile in brackets.</p>",
        end - first
    );
    s.push_str(
        "<p>Files: <a href=\"comparison.json\">comparison.json</a> · <a href=\"comparison.md\">comparison.md</a></p>\n",
    );
    s.push_str(&many_seeds_columns(m, runs));
    let mut failing = failing(m).peekable();
    if failing.peek().is_some() {
        s.push_str("<h2>Failing seeds</h2><ul>");
        for f in failing {
            let _ = write!(
                s,
                "<li><code>{}</code>: {} — {}</li>",
                esc(&f.reproduce),
                f.outcome.words(),
                esc(&f.failures.join("; "))
            );
        }
        s.push_str("</ul>");
    }
    s.push_str(&page_end(&charts.iter().collect::<Vec<_>>()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_is_the_tenth_percentile_the_median_and_the_ninetieth() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(band(&values), Some((2.0, 10.0, 18.0)));
        assert_eq!(band(&[5.0]), Some((5.0, 5.0, 5.0)));
        assert!(band(&[]).is_none());
    }

    #[test]
    fn entries_are_named_apart_even_when_files_share_a_name() {
        let file = |text: &str, path: &str| crate::scenario::ScenarioFile::parse(text, path).unwrap();
        let one = "name: same\nduration: 1s\nnodes: 3\nprotocol: { kind: gossip }\n";
        let variants = "name: v\nduration: 1s\nnodes: 3\nprotocol: { kind: gossip }\nvariants:\n  \
                        - { name: a, protocol: { kind: gossip } }\n  - { name: b, protocol: { kind: gossip } }\n";
        let names = |files: &[crate::scenario::ScenarioFile]| -> Vec<String> {
            entries(files).into_iter().map(|e| e.name).collect()
        };
        assert_eq!(names(&[file(one, "x/a.yaml"), file(one, "x/b.yaml")]), ["a.yaml", "b.yaml"]);
        assert_eq!(names(&[file(one, "x/a.yaml"), file(one, "y/a.yaml")]), ["x/a.yaml", "y/a.yaml"]);
        assert_eq!(names(&[file(variants, "v.yaml"), file(one, "s.yaml")]), ["a", "b", "same"]);
        assert_eq!(
            names(&[file(variants, "v1.yaml"), file(variants, "v2.yaml")]),
            ["v1.yaml/a", "v1.yaml/b", "v2.yaml/a", "v2.yaml/b"]
        );
    }

    #[test]
    fn every_shown_metric_is_in_the_shared_vocabulary() {
        for (metric, ..) in SHOWN {
            assert!(syncsim_reports::expect::metric(metric).is_some(), "`{metric}` is not a metric `expect:` knows");
        }
    }
}
