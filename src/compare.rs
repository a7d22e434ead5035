//! Comparing the protocol variants a scenario lists (`variants:`), run under the identical
//! workload, faults and seed: one row of headline figures per variant.

use std::fmt::Write;

use serde::Serialize;
use syncsim_reports::report::format_ns;
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

/// How bad a verdict is, for picking the worst.
fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::Pass => 0,
        Verdict::LivenessFailure => 1,
        Verdict::SafetyViolation => 2,
    }
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
    let outcome = variants.iter().map(|v| v.outcome).max_by_key(|v| severity(*v)).unwrap_or(Verdict::Pass);
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
            verdict_words(v.outcome),
        );
    }
    let _ = writeln!(s, "(converged: time after the settle phase began until all live replicas agreed)");
    let _ = writeln!(s, "outcome: {} (exit {})", verdict_words(c.outcome), c.exit_code);
    s
}

fn verdict_words(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::SafetyViolation => "SAFETY VIOLATION",
        Verdict::LivenessFailure => "LIVENESS FAILURE",
    }
}
