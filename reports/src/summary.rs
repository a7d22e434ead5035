//! The terminal summary of a run: operations, latency, network, visibility, convergence and
//! expectations, then the outcome and the command that reproduces the run, last.

use std::fmt::Write;

use crate::report::{Report, format_ns, format_value};

/// Renders `report` as the text printed at the end of `syncsim run`.
pub fn render(report: &Report) -> String {
    let mut s = String::new();
    let verdict = report.outcome.words();
    if let Some(all) = report.operations.get("all") {
        let _ = writeln!(
            s,
            "operations: {} attempted, {} ok, {} failed, {} unknown; availability {:.2}%",
            all.attempted,
            all.ok,
            all.failed,
            all.unknown,
            all.availability * 100.0
        );
        let _ = writeln!(
            s,
            "  {:<6} {:>8} {:>11} {:>11} {:>11} {:>11} {:>11}",
            "op", "ok", "p50", "p90", "p99", "p99.9", "max"
        );
        for (op, l) in report.latency.iter().filter(|(op, _)| op.as_str() != "all") {
            let _ = writeln!(
                s,
                "  {:<6} {:>8} {:>11} {:>11} {:>11} {:>11} {:>11}",
                op,
                l.count,
                format_ns(l.p50_ns),
                format_ns(l.p90_ns),
                format_ns(l.p99_ns),
                format_ns(l.p999_ns),
                format_ns(l.max_ns)
            );
        }
    } else {
        let _ = writeln!(s, "operations: none");
    }
    let n = &report.network;
    let _ = writeln!(
        s,
        "network: {} messages sent ({:.1}/op), {} bytes ({:.0} B/op, {:.0} B/write); dropped {} to loss, {} to partitions, {} at down nodes; {} duplicated",
        n.stats.sent,
        n.messages_per_op,
        n.stats.bytes_sent,
        n.bytes_per_op,
        n.bytes_per_write,
        n.stats.dropped_loss,
        n.stats.dropped_partition,
        n.stats.dropped_down,
        n.stats.duplicated
    );
    let v = &report.visibility;
    if v.writes > 0 {
        let _ = write!(
            s,
            "visibility: {} writes, {:.2}% visible at every live replica",
            v.writes,
            v.fraction_everywhere * 100.0
        );
        if v.visible_everywhere > 0 {
            let _ = write!(
                s,
                "; time to all p50 {} p99 {} max {}",
                format_ns(v.all_p50_ns),
                format_ns(v.all_p99_ns),
                format_ns(v.all_max_ns)
            );
            if report.protocol.round.is_some() {
                let _ = write!(s, "; rounds p50 {} p99 {} max {}", v.rounds_p50, v.rounds_p99, v.rounds_max);
            }
        }
        if v.lost > 0 {
            let _ = write!(s, "; {} acknowledged writes LOST", v.lost);
        }
        let _ = writeln!(s);
        if v.writes > 0 {
            let within: Vec<String> = [10, 100, 1_000, 10_000]
                .iter()
                .map(|&ms| {
                    let f = v.fraction_within(syncsim_sim::SimDuration::from_millis(ms));
                    format!("{} {:.1}%", format_ns(ms * 1_000_000).replace(".000", ""), f * 100.0)
                })
                .collect();
            let _ = writeln!(s, "  visible everywhere within {}", within.join(", "));
        }
    }
    write_faults(&mut s, report);
    write_cluster(&mut s, report);
    let c = &report.convergence;
    let _ = match (c.converged, c.after_settle_ns) {
        (true, Some(t)) => {
            writeln!(s, "convergence: {} live replicas agree, {} after settle began", c.live_replicas, format_ns(t))
        }
        _ => writeln!(
            s,
            "convergence: NOT converged: {} distinct states among {} live replicas at the end",
            c.distinct_states_at_end, c.live_replicas
        ),
    };
    if let Some(sec) = &report.sec {
        let _ = if sec.valid && sec.converged {
            writeln!(
                s,
                "strong eventual consistency: OK ({} keys on {} live replicas; every state is what its updates imply)",
                sec.keys, sec.live_replicas
            )
        } else {
            writeln!(
                s,
                "strong eventual consistency: {}{}",
                if sec.valid { String::new() } else { format!("{} INVALID replica state(s)", sec.violation_count) },
                if sec.converged {
                    String::new()
                } else {
                    format!("{}{} DIVERGED key(s)", if sec.valid { "" } else { "; " }, sec.diverged_keys)
                }
            )
        };
        for v in sec.violations.iter().take(5) {
            let _ = writeln!(s, "  key {} at {}: {:?}: {}", v.key, v.node, v.finding, v.message);
        }
        for d in sec.diverged.iter().take(3) {
            let states: Vec<String> =
                d.states.iter().map(|(st, nodes)| format!("{} = {st}", nodes.join(","))).collect();
            let _ = writeln!(s, "  key {} differs: {}", d.key, states.join("; "));
        }
        if sec.stranded > 0 {
            let _ = writeln!(s, "  {} acknowledged update(s) held only by replicas down at the end", sec.stranded);
        }
    }
    if let Some(st) = report.staleness.as_ref().filter(|st| st.reads > 0) {
        let _ = writeln!(
            s,
            "staleness: {} of {} reads stale ({:.2}%); versions missed p50 {} p99 {} max {}",
            st.stale,
            st.reads,
            st.fraction_stale * 100.0,
            st.missed_p50,
            st.missed_p99,
            st.missed_max
        );
    }
    if let Some(t) = report.t_visibility.as_ref().filter(|t| t.reads > 0) {
        let at = |ms: u64| t.at(ms * 1_000_000).map_or("-".to_string(), |f| format!("{:.1}%", f * 100.0));
        let _ = writeln!(
            s,
            "read consistency (PBS): {} of {} reads after a commit saw it ({:.2}%); at 1ms {}, 10ms {}, 100ms {}",
            t.consistent,
            t.reads,
            t.fraction * 100.0,
            at(1),
            at(10),
            at(100)
        );
    }
    let ss = &report.session;
    let judged: Vec<String> = crate::session::Guarantee::ALL
        .into_iter()
        .filter(|&g| ss.judged(g) > 0)
        .map(|g| format!("{} {} of {}", g.words(), ss.violations(g), ss.judged(g)))
        .collect();
    if !judged.is_empty() {
        let _ = writeln!(s, "sessions: violations of {}", judged.join(", "));
        for v in ss.examples.iter().take(3) {
            let _ = writeln!(s, "  client {}: {}", v.client, v.message);
        }
    }
    if let Some(lin) = &report.linearizability {
        use crate::lin::Verdict as V;
        let _ = match lin.verdict {
            V::Linearizable => writeln!(
                s,
                "linearizability: LINEARIZABLE ({} operations in {} keys, {} states explored)",
                lin.operations, lin.partitions, lin.states_explored
            ),
            V::Unknown => writeln!(s, "linearizability: UNKNOWN: {}", lin.unknown_reason.as_deref().unwrap_or("")),
            V::NotLinearizable => {
                let _ = writeln!(s, "linearizability: NOT LINEARIZABLE");
                if let Some(v) = &lin.violation {
                    let _ = writeln!(
                        s,
                        "  key {}: the longest linearizable prefix has {} of its {} operations, ending:",
                        v.partition,
                        v.prefix.len(),
                        v.partition_operations
                    );
                    for op in v.prefix.iter().skip(v.prefix.len().saturating_sub(5)) {
                        let _ = writeln!(s, "    {op}");
                    }
                    let _ = writeln!(s, "  then no order can place: {}", v.stuck);
                }
                Ok(())
            }
        };
    }
    if let Some(a) = &report.audit {
        let excluded = if a.excluded.is_empty() {
            String::new()
        } else {
            format!(", byzantine left out: {}", a.excluded.join(", "))
        };
        let _ = match a.describe() {
            None => writeln!(
                s,
                "audit: CONSISTENT ({} honest replicas' committed chains are prefixes of one another, {}..{} entries{excluded})",
                a.replicas, a.shortest, a.longest
            ),
            Some(finding) => {
                writeln!(s, "audit: {}: {finding}", if a.tampered.is_some() { "TAMPERED" } else { "FORKED" })
            }
        };
    }
    let b = &report.network.stats.byzantine;
    if !b.is_quiet() {
        let _ = writeln!(
            s,
            "byzantine: {} equivocated, {} forged, {} replayed, {} withheld, {} corrupted; {} rejected as unauthentic",
            b.equivocated, b.forged, b.replayed, b.withheld, b.corrupted, b.rejected
        );
    }
    if let Some(v) = &report.invariant_violation {
        let _ = writeln!(s, "INVARIANT BROKEN at {} on {}: {}", format_ns(v.time_ns), v.node, v.message);
        let _ = writeln!(s, "  while handling: {}", v.event);
    }
    let p = &report.protocol_metrics;
    if !p.numbers.is_empty() || !p.durations.is_empty() {
        let numbers: Vec<String> = p
            .numbers
            .iter()
            .map(|(k, v)| if v.fract() == 0.0 { format!("{k} {v}") } else { format!("{k} {v:.2}") })
            .collect();
        let _ = writeln!(s, "{}: {}", report.protocol.name, numbers.join(", "));
        for (name, d) in p.durations.iter().filter(|(_, d)| d.count > 0) {
            let _ = writeln!(
                s,
                "  {name}: {} samples, p50 {} p99 {} max {}",
                d.count,
                format_ns(d.p50_ns),
                format_ns(d.p99_ns),
                format_ns(d.max_ns)
            );
        }
    }
    if !report.expectations.is_empty() {
        let _ = writeln!(s, "expectations:");
        for r in &report.expectations {
            let mark = if r.passed { "ok  " } else { "FAIL" };
            let measured = match (r.actual, &r.note) {
                (Some(a), _) => format_value(r.expectation.kind(), a),
                (None, Some(note)) => note.clone(),
                (None, None) => "-".into(),
            };
            let _ = writeln!(s, "  {mark} {}   (measured {measured})", r.expectation);
        }
    }
    if let Some(reason) = &report.run.aborted {
        let _ = writeln!(s, "run stopped early: {reason}");
    }
    let _ = writeln!(
        s,
        "outcome: {verdict} (exit {})   seed {}   trace {}",
        report.exit_code, report.seed, report.trace_hash
    );
    let _ = writeln!(s, "reproduce: {}", report.reproduce);
    s
}

/// How many faults the terminal summary lists before pointing at the report.
const FAULT_LINES: usize = 12;

/// The faults as applied, one a line, the first [`FAULT_LINES`] of them.
fn write_faults(s: &mut String, report: &Report) {
    if report.faults.is_empty() {
        return;
    }
    let table = crate::page::faults(report);
    let _ = writeln!(s, "faults: {} applied", table.rows.len());
    for row in table.rows.iter().take(FAULT_LINES) {
        let until = if row[2].is_empty() { String::new() } else { format!(" (until {})", row[2]) };
        let _ = writeln!(s, "  {:>11}  {}{until}", row[0], row[1]);
    }
    if table.rows.len() > FAULT_LINES {
        let _ = writeln!(s, "  ... and {} more in report.json and index.html", table.rows.len() - FAULT_LINES);
    }
}

/// The cluster's size, when nodes joined or left: at the start, its range, at the end.
fn write_cluster(s: &mut String, report: &Report) {
    let sizes = &report.timeline.cluster;
    let (Some(first), Some(last)) = (sizes.first(), sizes.last()) else { return };
    let min = sizes.iter().map(|p| p.members).min().unwrap_or(0);
    let max = sizes.iter().map(|p| p.members).max().unwrap_or(0);
    let _ = writeln!(
        s,
        "cluster: {} members at the start, {min} to {max} during the run, {} at the end ({} running)",
        first.members, last.members, last.up
    );
}
