//! A sweep's page, `index.html`: which seeds passed and which failed, each failing seed with
//! what failed and the command that reproduces it, and how each key metric spread across
//! seeds, as a table and as charts.

use std::fmt::Write;

use syncsim_reports::Verdict;
use syncsim_reports::charts;
use syncsim_reports::page::{Table, esc, figures, page_end, page_start};
use syncsim_reports::run_charts::Chart;

use crate::sweep::{SweepReport, format_metric};

/// The metrics drawn as distributions across seeds, when measured: the metric, the chart's
/// axis, and the scale from the metric's unit (ns, fractions) to the axis' (ms, percent).
const DRAWN: [(&str, &str, f64); 6] = [
    ("latency.all.p99", "p99 latency (ms)", 1e-6),
    ("availability", "availability (%)", 100.0),
    ("converged_within", "time to converge after the settle phase began (ms)", 1e-6),
    ("visibility.p99", "p99 time until a write is visible everywhere (ms)", 1e-6),
    ("messages_per_op", "messages per operation", 1.0),
    ("bytes_per_op", "bytes per operation", 1.0),
];

/// Seeds shown one by one in the grid at most; the rest are counted.
const GRID: usize = 5000;

/// Failing seeds listed on the page at most; sweep.md and sweep.json list them all.
const FAILING_ROWS: usize = 200;

/// The distribution across seeds of each [`DRAWN`] metric measured in at least two seeds.
pub fn charts(r: &SweepReport) -> Result<Vec<Chart>, String> {
    let mut out = Vec::new();
    for (metric, axis, scale) in DRAWN {
        let values: Vec<f64> = r.records.iter().filter_map(|s| s.figures.get(metric)).map(|v| v * scale).collect();
        // One value in every seed makes no distribution worth a chart (the table has it).
        let same = values.iter().all(|v| (v - values[0]).abs() <= 1e-9 * values[0].abs().max(1.0));
        if values.len() < 2 || same {
            continue;
        }
        let title = format!("{axis} across seeds");
        let series =
            [(format!("{} of {} seeds", values.len(), r.runs), charts::cdf_points(&values, values.len(), 400))];
        out.push(Chart {
            file: format!("{}.svg", metric.replace('.', "-")),
            title: title.clone(),
            svg: charts::cdf(&title, axis, &series, false)?,
        });
    }
    Ok(out)
}

/// The CSS class of a seed's cell: its verdict, or nondeterminism above all.
fn class(r: &crate::sweep::SeedRecord) -> &'static str {
    match (r.nondeterminism.is_some(), r.outcome) {
        (true, _) => "nondet",
        (false, Verdict::Pass) => "ok",
        (false, Verdict::SafetyViolation) => "safety",
        (false, Verdict::LivenessFailure) => "liveness",
    }
}

/// The page: verdict, the seed grid, failing seeds with reproducers, the metrics table, charts.
pub fn html(r: &SweepReport, charts: &[Chart]) -> String {
    let mut s = page_start(&format!("sweep of {}", r.scenario), r.outcome);
    let shard = r.shard.map(|sh| format!(", shard {} of {}", sh.index, sh.count)).unwrap_or_default();
    let _ = writeln!(
        s,
        "<p><b>{} of {} seeds passed</b> (seeds {}..{}{shard}) · scenario <code>{}</code></p>",
        r.passed,
        r.runs,
        r.seeds.0,
        r.seeds.1,
        esc(&r.file)
    );
    if let Some(partial) = &r.partial {
        let _ =
            writeln!(s, "<p class=\"fail\"><b>Partial report</b> (merged with --allow-partial): {}.</p>", esc(partial));
    }
    s.push_str("<p>Files: <a href=\"sweep.json\">sweep.json</a> · <a href=\"sweep.md\">sweep.md</a></p>\n");
    s.push_str(
        "<h2>Seeds</h2>\n<p class=\"key\"><span class=\"seed ok\">pass</span><span class=\"seed safety\">safety</span>\
                <span class=\"seed liveness\">liveness</span><span class=\"seed nondet\">nondeterministic</span></p>\n",
    );
    s.push_str("<div class=\"seeds\">");
    for rec in r.records.iter().take(GRID) {
        let failed = rec.outcome != Verdict::Pass || rec.nondeterminism.is_some();
        let href = if failed { format!(" href=\"#seed-{}\"", rec.seed) } else { String::new() };
        let _ = write!(
            s,
            "<a class=\"seed {}\"{href} title=\"seed {}: {}\">{}</a>",
            class(rec),
            rec.seed,
            rec.outcome.words(),
            rec.seed
        );
    }
    s.push_str("</div>\n");
    if r.records.len() > GRID {
        let _ = writeln!(s, "<p>… and {} more seeds (sweep.json lists them all).</p>", r.records.len() - GRID);
    }
    let failing: Vec<&crate::sweep::SeedRecord> =
        r.records.iter().filter(|x| x.outcome != Verdict::Pass || x.nondeterminism.is_some()).collect();
    if !failing.is_empty() {
        let _ = writeln!(s, "<h2>Failing seeds ({})</h2>", failing.len());
        let more = failing.len().saturating_sub(FAILING_ROWS);
        s.push_str(
            "<table><thead><tr><th>seed</th><th>outcome</th><th>what failed</th><th>reproduce</th></tr></thead><tbody>",
        );
        for f in failing.into_iter().take(FAILING_ROWS) {
            let mut what = f.failures.join("; ");
            if let Some(n) = &f.nondeterminism {
                what = format!("nondeterministic: {n}. {what}");
            }
            let _ = write!(
                s,
                "<tr id=\"seed-{}\"><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\"><code>{}</code></td></tr>",
                f.seed,
                f.seed,
                f.outcome.words(),
                esc(&what),
                esc(&f.reproduce)
            );
        }
        s.push_str("</tbody></table>\n");
        if more > 0 {
            let _ = writeln!(s, "<p>… and {more} more failing seeds (sweep.md lists them all).</p>");
        }
    }
    let table = Table {
        head: ["metric", "median", "p10", "p90", "worst", "worst seed", "seeds"].map(String::from).to_vec(),
        rows: r
            .aggregates
            .iter()
            .map(|(name, a)| {
                vec![
                    name.clone(),
                    format_metric(name, a.median),
                    format_metric(name, a.p10),
                    format_metric(name, a.p90),
                    format_metric(name, a.worst),
                    a.worst_seed.to_string(),
                    a.seeds.to_string(),
                ]
            })
            .collect(),
    };
    if !charts.is_empty() {
        s.push_str("<h2>Distributions across seeds</h2>\n");
        figures(&mut s, &charts.iter().collect::<Vec<_>>());
    }
    let _ = writeln!(s, "<h2>Every metric across seeds</h2>{}", table.html());
    s.push_str(&page_end(&[]));
    s
}
