//! A run's report for people: `summary.md` (tables for a pull request) and `index.html` (a
//! self-contained page: inline SVG charts and CSS, no script, no network).

use std::fmt::Write;

use crate::expect::Kind;
use crate::report::{Report, Verdict, format_ns, format_value};
use crate::run_charts::Chart;

/// One table: a header row and body rows, rendered as Markdown or HTML.
pub struct Table {
    /// The header cells.
    pub head: Vec<String>,
    /// The body rows.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table in Markdown.
    pub fn markdown(&self) -> String {
        let mut s = format!("| {} |\n", self.head.join(" | "));
        let _ = writeln!(s, "|{}", " --- |".repeat(self.head.len()));
        for r in &self.rows {
            let _ = writeln!(s, "| {} |", r.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | "));
        }
        s
    }

    /// The table in HTML.
    pub fn html(&self) -> String {
        let mut s = String::from("<table><thead><tr>");
        for h in &self.head {
            let _ = write!(s, "<th>{}</th>", esc(h));
        }
        s.push_str("</tr></thead><tbody>");
        for r in &self.rows {
            s.push_str("<tr>");
            for c in r {
                let _ = write!(s, "<td>{}</td>", esc(c));
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>\n");
        s
    }
}

/// Text made safe inside HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn checks(r: &Report) -> Table {
    Table {
        head: vec!["check".into(), "class".into(), "expected".into(), "measured".into(), "result".into()],
        rows: r
            .expectations
            .iter()
            .map(|e| {
                let measured = match (e.actual, &e.note) {
                    (Some(a), _) => format_value(e.expectation.kind(), a),
                    (None, Some(n)) => n.clone(),
                    (None, None) => "-".into(),
                };
                vec![
                    e.expectation.metric.clone(),
                    format!("{:?}", e.expectation.class).to_lowercase(),
                    e.expectation.to_string(),
                    measured,
                    if e.passed { "ok".into() } else { "FAILED".into() },
                ]
            })
            .collect(),
    }
}

fn operations(r: &Report) -> Table {
    let head = ["operation", "attempted", "ok", "failed", "unknown", "availability", "p50", "p99", "p99.9", "max"];
    Table {
        head: head.iter().map(|h| h.to_string()).collect(),
        rows: r
            .operations
            .iter()
            .map(|(op, c)| {
                let l = r.latency.get(op).filter(|l| l.count > 0);
                let p = |f: fn(&crate::latency::LatencyStats) -> u64| l.map_or("-".into(), |l| format_ns(f(l)));
                vec![
                    op.clone(),
                    c.attempted.to_string(),
                    c.ok.to_string(),
                    c.failed.to_string(),
                    c.unknown.to_string(),
                    format_value(Kind::Fraction, c.availability),
                    p(|l| l.p50_ns),
                    p(|l| l.p99_ns),
                    p(|l| l.p999_ns),
                    p(|l| l.max_ns),
                ]
            })
            .collect(),
    }
}

/// The session guarantees judged, with their violations.
fn sessions(r: &Report) -> Table {
    let s = &r.session;
    Table {
        head: ["session guarantee", "judged", "violations", "share"].map(String::from).to_vec(),
        rows: crate::session::Guarantee::ALL
            .into_iter()
            .filter(|&g| s.judged(g) > 0)
            .map(|g| {
                let (bad, all) = (s.violations(g), s.judged(g));
                vec![
                    g.words().into(),
                    all.to_string(),
                    bad.to_string(),
                    format_value(Kind::Fraction, bad as f64 / all as f64),
                ]
            })
            .collect(),
    }
}

/// The consistency findings, one line each.
fn findings(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let c = &r.convergence;
    out.push(match (c.converged, c.after_settle_ns) {
        (true, Some(t)) => format!(
            "Convergence: {} live replicas agree, {} after the settle phase began.",
            c.live_replicas,
            format_ns(t)
        ),
        _ => format!(
            "Convergence: NOT converged: {} distinct states among {} live replicas at the end.",
            c.distinct_states_at_end, c.live_replicas
        ),
    });
    let v = &r.visibility;
    if v.writes > 0 {
        out.push(format!(
            "Visibility: {} writes, {} visible at every live replica; time to all p50 {}, p99 {}, max {}; {} lost.",
            v.writes,
            format_value(Kind::Fraction, v.fraction_everywhere),
            format_ns(v.all_p50_ns),
            format_ns(v.all_p99_ns),
            format_ns(v.all_max_ns),
            v.lost
        ));
    }
    if let Some(s) = &r.sec {
        out.push(format!(
            "Strong eventual consistency: {} ({} keys on {} live replicas; {} invalid states, {} diverged keys, {} stranded updates).",
            if s.valid && s.converged { "OK" } else { "VIOLATED" },
            s.keys,
            s.live_replicas,
            s.violation_count,
            s.diverged_keys,
            s.stranded
        ));
        for v in s.violations.iter().take(5) {
            out.push(format!("Key {} at {}: {:?}: {}", v.key, v.node, v.finding, v.message));
        }
    }
    if let Some(l) = &r.linearizability {
        out.push(format!("Linearizability: {:?} ({} operations in {} keys).", l.verdict, l.operations, l.partitions));
    }
    if let Some(s) = r.staleness.as_ref().filter(|s| s.reads > 0) {
        out.push(format!(
            "Staleness: {} of {} reads stale ({}); versions missed p50 {}, p99 {}, max {}.",
            s.stale,
            s.reads,
            format_value(Kind::Fraction, s.fraction_stale),
            s.missed_p50,
            s.missed_p99,
            s.missed_max
        ));
    }
    for v in r.session.examples.iter().take(5) {
        out.push(format!("Session ({}), client {}: {}.", v.guarantee.words(), v.client, v.message));
    }
    if let Some(v) = &r.invariant_violation {
        out.push(format!(
            "Invariant broken at {} on {}: {} (while handling {}).",
            format_ns(v.time_ns),
            v.node,
            v.message,
            v.event
        ));
    }
    out
}

/// Every fault as the run applied it, scripted and drawn alike, in time order: when, what (with
/// node names), and until when it was in force, for faults that last.
pub fn faults(r: &Report) -> Table {
    let rows = r
        .faults
        .iter()
        .map(|f| {
            let window = r.fault_windows.iter().find(|w| w.from_ns == f.at_ns && w.label == f.fault);
            let until = match window {
                Some(w) if w.to_ns >= r.run.end_ns => "the end".to_string(),
                Some(w) => format_ns(w.to_ns),
                None => String::new(),
            };
            vec![format_ns(f.at_ns), f.fault.clone(), until]
        })
        .collect();
    Table { head: vec!["at".into(), "fault".into(), "in force until".into()], rows }
}

fn network_line(r: &Report) -> String {
    let n = &r.network;
    format!(
        "{} messages ({:.2} per operation), {} bytes ({:.1} per operation, {:.1} per write); {} dropped to loss, {} to partitions.",
        n.stats.sent,
        n.messages_per_op,
        n.stats.bytes_sent,
        n.bytes_per_op,
        n.bytes_per_write,
        n.stats.dropped_loss,
        n.stats.dropped_partition
    )
}

/// `summary.md`: the outcome, the checks, operations and latency, network, consistency.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}: {} (seed {})\n", r.scenario.name, r.outcome.words(), r.seed);
    let _ = writeln!(
        s,
        "Protocol **{} {}** · trace `{}` · reproduce with `{}`\n",
        r.protocol.name, r.protocol.variant, r.trace_hash, r.reproduce
    );
    for f in &r.failures {
        let _ = writeln!(s, "- **failed:** {f}");
    }
    if !r.failures.is_empty() {
        s.push('\n');
    }
    if !r.expectations.is_empty() {
        let _ = writeln!(s, "## Checks\n\n{}", checks(r).markdown());
    }
    let _ = writeln!(s, "## Operations\n\n{}", operations(r).markdown());
    let _ = writeln!(s, "## Network\n\n{}\n", network_line(r));
    if !r.faults.is_empty() {
        let _ = writeln!(s, "## Faults\n\n{}", faults(r).markdown());
    }
    let _ = writeln!(s, "## Consistency\n");
    for f in findings(r) {
        let _ = writeln!(s, "- {f}");
    }
    let table = sessions(r);
    if !table.rows.is_empty() {
        let _ = writeln!(s, "\n{}", table.markdown());
    }
    s
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37}.fail{color:#cf222e}\
code{background:#f4f4f4;padding:1px 4px}figure{margin:1em 0}figcaption{font-weight:600}svg{max-width:100%;height:auto}";

/// The start of a page titled `title: VERDICT`: head, style and heading.
pub fn page_start(title: &str, outcome: Verdict) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}: {v}</title>\
         <style>{STYLE}</style></head><body>\n<h1>{t}: <span class=\"{c}\">{v}</span></h1>\n",
        t = esc(title),
        v = outcome.words(),
        c = if outcome == Verdict::Pass { "pass" } else { "fail" }
    )
}

/// The charts section and the end of a page.
pub fn page_end(charts: &[Chart]) -> String {
    let mut s = String::from("<h2>Charts</h2>\n");
    for c in charts {
        let _ =
            writeln!(s, "<figure id=\"{}\"><figcaption>{}</figcaption>{}</figure>", esc(&c.file), esc(&c.title), c.svg);
    }
    s.push_str("</body></html>\n");
    s
}

/// `index.html`: the summary and every chart, inline, with links to `files`, the files written
/// beside it as (what it is, its name relative to the page).
pub fn html(r: &Report, charts: &[Chart], files: &[(&str, &str)]) -> String {
    let mut s = page_start(&r.scenario.name, r.outcome);
    let _ = writeln!(s, "<p>{}</p>", esc(&r.scenario.description));
    let _ = writeln!(
        s,
        "<p>Protocol <b>{} {}</b> · seed {} · trace <code>{}</code> · reproduce with <code>{}</code></p>",
        esc(r.protocol.name),
        esc(&r.protocol.variant),
        r.seed,
        esc(&r.trace_hash),
        esc(&r.reproduce)
    );
    if !files.is_empty() {
        let links: Vec<String> =
            files.iter().map(|(what, file)| format!("<a href=\"{}\">{}</a>", esc(file), esc(what))).collect();
        let _ = writeln!(s, "<p>Files: {}</p>", links.join(" · "));
    }
    if !r.failures.is_empty() {
        s.push_str("<ul class=\"fail\">");
        for f in &r.failures {
            let _ = write!(s, "<li>{}</li>", esc(f));
        }
        s.push_str("</ul>\n");
    }
    if !r.expectations.is_empty() {
        let _ = writeln!(s, "<h2>Checks</h2>{}", checks(r).html());
    }
    let _ = writeln!(s, "<h2>Operations</h2>{}", operations(r).html());
    let _ = writeln!(s, "<h2>Network</h2><p>{}</p>", esc(&network_line(r)));
    if !r.faults.is_empty() {
        let _ = writeln!(s, "<h2>Faults</h2>{}", faults(r).html());
    }
    s.push_str("<h2>Consistency</h2><ul>");
    for f in findings(r) {
        let _ = write!(s, "<li>{}</li>", esc(&f));
    }
    s.push_str("</ul>\n");
    let table = sessions(r);
    if !table.rows.is_empty() {
        s.push_str(&table.html());
    }
    s.push_str(&page_end(charts));
    s
}
