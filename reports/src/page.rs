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
                let class = if numeric(c) { "" } else { " class=\"t\"" };
                let _ = write!(s, "<td{class}>{}</td>", esc(c));
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>\n");
        s
    }
}

/// Whether a cell reads as a number (a count, a time, a share), which lines up on the right;
/// text lines up on the left.
fn numeric(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    digits.starts_with(|c: char| c.is_ascii_digit()) || cell == "-"
}

/// Text made safe inside HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The checks, failures first: the built-in ones that failed (an early stop, a broken
/// invariant, a history no order explains, replica states the history cannot produce), each
/// with its time and place, then the scenario's expectations, failed before passed.
fn checks(r: &Report) -> Table {
    let failed = |what: &str, class: &str, expected: &str, measured: String| {
        vec![what.to_string(), class.to_string(), expected.to_string(), measured, "FAILED".to_string()]
    };
    let mut rows = Vec::new();
    if let Some(reason) = &r.run.aborted {
        rows.push(failed(
            "run completes",
            "liveness",
            "runs to its end",
            format!("stopped at {}: {reason}", format_ns(r.run.end_ns)),
        ));
    }
    if let Some(v) = &r.invariant_violation {
        let measured =
            format!("broken at {} on {}: {} (while handling {})", format_ns(v.time_ns), v.node, v.message, v.event);
        rows.push(failed("invariants", "safety", "hold after every event", measured));
    }
    let lin_violation = r.linearizability.as_ref().and_then(|l| l.violation.as_ref()).map(|v| {
        let stuck = v.operations.iter().find(|o| o.stuck);
        let when = stuck.map_or(String::new(), |o| {
            let ret = o.ret.map_or("never returned".to_string(), |t| format!("returned at {}", format_ns(t)));
            format!(", called by client {} at {}, {ret}", o.client, format_ns(o.call))
        });
        format!("no order explains key {}: it cannot place {}{when}", v.partition, v.stuck)
    });
    let expected = |metric: &str| r.expectations.iter().any(|e| e.expectation.metric == metric);
    let not_linearizable =
        r.linearizability.as_ref().is_some_and(|l| l.verdict == crate::lin::Verdict::NotLinearizable);
    if not_linearizable && !expected("linearizable") {
        let what = lin_violation.clone().unwrap_or_else(|| "no order explains the history".to_string());
        rows.push(failed("linearizable", "safety", "linearizable", what));
    }
    if let Some(sec) = r.sec.as_ref().filter(|s| !s.valid && !expected("sec")) {
        let first =
            sec.violations.first().map_or(String::new(), |v| format!(": key {} at {}: {}", v.key, v.node, v.message));
        let measured = format!("{} replica state(s) the history cannot produce{first}", sec.violation_count);
        rows.push(failed("strong eventual consistency", "safety", "valid replica states", measured));
    }
    let mut expectations: Vec<&crate::report::ExpectationResult> = r.expectations.iter().collect();
    expectations.sort_by_key(|e| e.passed);
    for e in expectations {
        let measured = match (e.actual, &e.note) {
            (_, _) if e.expectation.metric == "linearizable" && lin_violation.is_some() => {
                format!("false: {}", lin_violation.clone().unwrap_or_default())
            }
            (Some(a), _) => format_value(e.expectation.kind(), a),
            (None, Some(n)) => n.clone(),
            (None, None) => "-".into(),
        };
        rows.push(vec![
            e.expectation.metric.clone(),
            format!("{:?}", e.expectation.class).to_lowercase(),
            e.expectation.to_string(),
            measured,
            if e.passed { "ok".into() } else { "FAILED".into() },
        ]);
    }
    Table { head: vec!["check".into(), "class".into(), "expected".into(), "measured".into(), "result".into()], rows }
}

/// "The run stopped early at …", when it did, with why.
fn stopped_early(r: &Report) -> Option<String> {
    if !r.stopped_early() {
        return None;
    }
    let why = match (&r.invariant_violation, &r.run.aborted) {
        (Some(_), _) => "when an invariant broke".to_string(),
        (None, Some(reason)) => format!("({reason})"),
        (None, None) => String::new(),
    };
    let (planned, duration) = (r.run.planned_end_ns, r.run.duration_ns);
    let planned = match planned.saturating_sub(duration) {
        0 => format_ns(planned),
        settle => format!(
            "{} ({} of faults and clients, then {} of settling)",
            format_ns(planned),
            format_ns(duration),
            format_ns(settle)
        ),
    };
    Some(format!("The run stopped early at {} of {planned} {why}.", format_ns(r.run.end_ns)))
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
    if let Some(t) = r.t_visibility.as_ref().filter(|t| t.reads > 0) {
        out.push(format!(
            "Read consistency: {} of {} reads called after a commit to their key returned it or newer ({}).",
            t.consistent,
            t.reads,
            format_value(Kind::Fraction, t.fraction)
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

/// Nodes listed one by one at most in the traffic table; a larger cluster shows its busiest
/// senders (report.json has them all).
const TRAFFIC_NODES: usize = 40;

/// Messages and bytes sent and received per node, busiest first when the cluster is large.
fn traffic_nodes(r: &Report) -> Table {
    let mut rows: Vec<&crate::report::NodeTrafficRow> = r.traffic.nodes.iter().collect();
    if rows.len() > TRAFFIC_NODES {
        rows.sort_by_key(|n| std::cmp::Reverse(n.traffic.sent.bytes));
        rows.truncate(TRAFFIC_NODES);
    }
    Table {
        head: ["node", "sent", "bytes sent", "received", "bytes received"].map(String::from).to_vec(),
        rows: rows
            .into_iter()
            .map(|n| {
                let t = &n.traffic;
                vec![
                    n.node.clone(),
                    t.sent.messages.to_string(),
                    t.sent.bytes.to_string(),
                    t.received.messages.to_string(),
                    t.received.bytes.to_string(),
                ]
            })
            .collect(),
    }
}

/// Messages and bytes per message kind, with each kind's share of the bytes sent.
fn traffic_kinds(r: &Report) -> Table {
    let total = r.traffic.kinds.iter().map(|k| k.sent.bytes).sum::<u64>().max(1) as f64;
    Table {
        head: ["message", "sent", "bytes sent", "share of bytes", "delivered", "bytes delivered"]
            .map(String::from)
            .to_vec(),
        rows: r
            .traffic
            .kinds
            .iter()
            .map(|k| {
                vec![
                    k.kind.to_string(),
                    k.sent.messages.to_string(),
                    k.sent.bytes.to_string(),
                    format_value(Kind::Fraction, k.sent.bytes as f64 / total),
                    k.received.messages.to_string(),
                    k.received.bytes.to_string(),
                ]
            })
            .collect(),
    }
}

/// What the traffic section leaves out for a large cluster, in words.
fn traffic_caveat(r: &Report) -> Option<String> {
    let n = r.traffic.nodes.len();
    let mut said = Vec::new();
    if n > TRAFFIC_NODES {
        said.push(format!("The busiest {TRAFFIC_NODES} of {n} nodes by bytes sent (report.json lists every node)."));
    }
    if r.traffic.pair_messages.is_empty() {
        said.push(format!(
            "Messages between pairs of nodes are counted for clusters of up to {} nodes, so there is no heat map.",
            syncsim_sim::traffic::PAIR_LIMIT
        ));
    }
    (!said.is_empty()).then(|| said.join(" "))
}

/// The traffic tables per node and per message kind; none when the host did not count traffic.
fn traffic_tables(r: &Report) -> Option<(Table, Table)> {
    (!r.traffic.nodes.is_empty() && r.network.stats.sent > 0).then(|| (traffic_nodes(r), traffic_kinds(r)))
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
    if let Some(line) = stopped_early(r) {
        let _ = writeln!(s, "**{line}**\n");
    }
    let table = checks(r);
    if !table.rows.is_empty() {
        let _ = writeln!(s, "## Checks\n\n{}", table.markdown());
    }
    let _ = writeln!(s, "## Operations\n\n{}", operations(r).markdown());
    let _ = writeln!(s, "## Network\n\n{}\n", network_line(r));
    if let Some((nodes, kinds)) = traffic_tables(r) {
        let caveat = traffic_caveat(r).map_or(String::new(), |c| format!("{c}\n\n"));
        let _ =
            writeln!(s, "### Per node\n\n{caveat}{}\n### Per message kind\n\n{}", nodes.markdown(), kinds.markdown());
    }
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
th,td:first-child,td.t{text-align:left}.pass{color:#1a7f37}.fail{color:#cf222e}\
code{background:#f4f4f4;padding:1px 4px}h3{font-size:1em;margin:.6em 0 .2em}\
.side{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}.wide{overflow-x:auto}\
.seeds{display:flex;flex-wrap:wrap;gap:2px;margin:.5em 0}.seed{width:2.8em;text-align:center;font-size:.8em;\
padding:2px 0;color:#fff;text-decoration:none;border-radius:2px}.seed.ok{background:#1a7f37}\
.seed.safety{background:#cf222e}.seed.liveness{background:#bf8700}.seed.nondet{background:#8250df}\
.key span{padding:1px 6px;margin-right:6px}figure{margin:1em 0}figcaption{font-weight:600}svg{max-width:100%;height:auto}";

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

/// Each chart as a captioned figure, anchored by its file name.
pub fn figures(s: &mut String, charts: &[&Chart]) {
    for c in charts {
        let _ =
            writeln!(s, "<figure id=\"{}\"><figcaption>{}</figcaption>{}</figure>", esc(&c.file), esc(&c.title), c.svg);
    }
}

/// The charts section and the end of a page.
pub fn page_end(charts: &[&Chart]) -> String {
    let mut s = String::new();
    if !charts.is_empty() {
        s.push_str("<h2>Charts</h2>\n");
        figures(&mut s, charts);
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
    if let Some(line) = stopped_early(r) {
        let _ = writeln!(s, "<p class=\"fail\"><b>{}</b></p>", esc(&line));
    }
    let table = checks(r);
    if !table.rows.is_empty() {
        let _ = writeln!(s, "<h2>Checks</h2>{}", table.html());
    }
    // What explains a failure comes before everything else: the operations no order can
    // place, and the messages that led to it.
    let failed = r.outcome != Verdict::Pass;
    let (first, rest): (Vec<&Chart>, Vec<&Chart>) =
        charts.iter().partition(|c| failed && FAILURE_CHARTS.contains(&c.file.as_str()));
    if !first.is_empty() {
        s.push_str("<h2>The failure</h2>\n");
        figures(&mut s, &first);
    }
    let _ = writeln!(s, "<h2>Operations</h2>{}", operations(r).html());
    let _ = writeln!(s, "<h2>Network</h2><p>{}</p>", esc(&network_line(r)));
    if let Some((nodes, kinds)) = traffic_tables(r) {
        let _ = writeln!(
            s,
            "<div class=\"side\"><div><h3>Per node</h3>{}{}</div><div><h3>Per message kind</h3>{}</div></div>",
            traffic_caveat(r).map_or(String::new(), |c| format!("<p>{}</p>", esc(&c))),
            nodes.html(),
            kinds.html()
        );
    }
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
    s.push_str(&page_end(&rest));
    s
}

/// The charts that explain a failure, shown first on a failing run's page.
const FAILURE_CHARTS: [&str; 2] = ["linearizability.svg", "spacetime.svg"];
