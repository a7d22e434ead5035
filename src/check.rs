//! `syncsim check`: the command a project's CI runs. Each scenario (each variant of one with
//! variants) is swept over the seeds; its expectations decide pass or fail, and the median of
//! every metric is compared with a stored baseline, failing when one got worse by more than
//! the tolerance. Runs are deterministic, so an unchanged protocol reproduces its baseline
//! exactly and any drift is a real change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use syncsim_reports::report::higher_is_better;
use syncsim_reports::{EXIT_BAD_INPUT, Verdict};

use crate::scenario::Scenario;
use crate::sweep::{self, SweepReport};

/// Exit code when every expectation held but a metric regressed beyond the tolerance.
pub const EXIT_REGRESSION: i32 = syncsim_reports::Exit::Regression.code();

/// Version of the baseline file's schema.
pub const BASELINE_SCHEMA: u32 = 1;

/// Stored medians per scenario (or `scenario/variant`) and metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_SCHEMA`].
    pub schema: u32,
    /// The seeds the medians were taken over, `start..end`.
    pub seeds: (u64, u64),
    /// Median of every metric, per entry.
    pub entries: BTreeMap<String, BTreeMap<String, f64>>,
}

/// A metric that got worse than its baseline allows.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    /// The scenario (or `scenario/variant`).
    pub entry: String,
    /// The metric.
    pub metric: String,
    /// Its baseline median.
    pub baseline: f64,
    /// Its median now.
    pub now: f64,
}

impl Regression {
    /// The change from the baseline, as a fraction of it (infinite from zero).
    pub fn change(&self) -> f64 {
        if self.baseline == 0.0 { f64::INFINITY } else { (self.now - self.baseline) / self.baseline.abs() }
    }
}

/// Metrics of `now` that are worse than in `base` by more than `tolerance` (a fraction): larger
/// where less is better, smaller where more is better. A metric at zero in the baseline (lost
/// writes, say) regresses on any rise. Metrics only one side measured are not compared.
pub fn regressions(base: &Baseline, now: &Baseline, tolerance: f64) -> Vec<Regression> {
    let mut out = Vec::new();
    for (entry, metrics) in &now.entries {
        let Some(old) = base.entries.get(entry) else { continue };
        for (metric, &value) in metrics {
            let Some(&was) = old.get(metric) else { continue };
            let worse = if higher_is_better(metric) {
                value < was - tolerance * was.abs()
            } else {
                value > was + tolerance * was.abs()
            };
            if worse {
                out.push(Regression { entry: entry.clone(), metric: metric.clone(), baseline: was, now: value });
            }
        }
    }
    out
}

/// The medians of `sweeps` as a baseline.
pub fn baseline_of(seeds: std::ops::Range<u64>, sweeps: &[SweepReport]) -> Baseline {
    Baseline {
        schema: BASELINE_SCHEMA,
        seeds: (seeds.start, seeds.end),
        entries: sweeps
            .iter()
            .map(|s| (s.scenario.clone(), s.aggregates.iter().map(|(m, a)| (m.clone(), a.median)).collect()))
            .collect(),
    }
}

/// What `syncsim check` was asked to do.
#[derive(Clone, Debug)]
pub struct CheckArgs {
    /// Scenario files.
    pub files: Vec<PathBuf>,
    /// Seeds.
    pub seeds: std::ops::Range<u64>,
    /// The baseline file.
    pub baseline: Option<PathBuf>,
    /// Allowed worsening, as a fraction.
    pub tolerance: f64,
    /// Write the baseline instead of comparing with it.
    pub update_baseline: bool,
    /// Threads.
    pub jobs: Option<usize>,
    /// Run every seed twice and fail on different trace hashes.
    pub check_determinism: bool,
}

/// Parses `10%` or `0.1` as a fraction.
pub fn parse_tolerance(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{text}` is not a tolerance: write `10%` or `0.1`"))?;
    if !(0.0..=10.0).contains(&v) {
        return Err(format!("`{text}` is not a tolerance between 0% and 1000%"));
    }
    Ok(v)
}

/// Runs `syncsim check`; returns the exit code: 4 if a seed's two runs differed
/// (`check_determinism`), else the worst verdict's (1 safety, 2 liveness), else 5 for a
/// regression, else 0; 3 for bad input.
pub fn check(args: CheckArgs) -> i32 {
    if args.jobs == Some(0) {
        eprintln!("error: --jobs must be at least 1");
        return EXIT_BAD_INPUT;
    }
    if args.update_baseline && args.baseline.is_none() {
        eprintln!("error: --update-baseline needs --baseline FILE to write");
        return EXIT_BAD_INPUT;
    }
    let mut entries: Vec<Scenario> = Vec::new();
    for f in &args.files {
        match Scenario::load(f) {
            Ok(s) => entries.extend(s.runs()),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let old = match (&args.baseline, args.update_baseline) {
        (Some(path), false) => match read_baseline(path) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        },
        _ => None,
    };
    if let Some(b) = &old
        && b.seeds != (args.seeds.start, args.seeds.end)
    {
        eprintln!(
            "error: the baseline was taken over seeds {}..{}; check the same seeds (--seeds {}..{}) or update it",
            b.seeds.0, b.seeds.1, b.seeds.0, b.seeds.1
        );
        return EXIT_BAD_INPUT;
    }
    println!("seeds: {}..{}", args.seeds.start, args.seeds.end);
    println!("scenarios: {}", entries.len());
    println!("tolerance: {:.1}%", args.tolerance * 100.0);
    let seeds: Vec<u64> = args.seeds.clone().collect();
    let mut sweeps = Vec::new();
    for s in &entries {
        let name = match &s.variant {
            Some(v) => format!("{}/{v}", s.name()),
            None => s.name().to_string(),
        };
        let records = match sweep::run_seeds(s, &seeds, args.jobs, args.check_determinism, &|_| {}) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {name}: {e}");
                return EXIT_BAD_INPUT;
            }
        };
        let report = sweep::summarise(&name, &s.file, args.seeds.clone(), None, records);
        println!("  {:<40} {} of {} seeds passed  {}", name, report.passed, report.runs, report.outcome.words());
        for f in report.failing.iter().take(5) {
            println!("    seed {}: {}\n      reproduce: {}", f.seed, f.failures.join("; "), f.reproduce);
        }
        sweeps.push(report);
    }
    let worst = sweeps.iter().map(|s| s.outcome).max_by_key(|v| v.severity()).unwrap_or(Verdict::Pass);
    let now = baseline_of(args.seeds.clone(), &sweeps);
    if args.update_baseline {
        let path = args.baseline.as_ref().expect("checked above");
        let text = serde_json::to_string_pretty(&now).expect("baselines serialize") + "\n";
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: {}: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
        println!("baseline written: {} ({} scenarios)", path.display(), now.entries.len());
    }
    let mut code = worst.exit_code();
    for r in sweeps.iter().flat_map(|s| &s.records).filter(|r| r.nondeterminism.is_some()) {
        println!("NONDETERMINISTIC seed {}: {}", r.seed, r.nondeterminism.as_deref().unwrap_or_default());
        code = crate::cmd::sweep::EXIT_NONDETERMINISTIC;
    }
    if let Some(old) = &old {
        for entry in now.entries.keys().filter(|e| !old.entries.contains_key(*e)) {
            println!("  note: {entry} is not in the baseline; nothing to compare");
        }
        let found = regressions(old, &now, args.tolerance);
        if found.is_empty() {
            println!("baseline: no metric worse than {:.1}% of its baseline", args.tolerance * 100.0);
        } else {
            println!("REGRESSIONS ({}):", found.len());
            for r in &found {
                let (was, now) = (sweep::format_metric(&r.metric, r.baseline), sweep::format_metric(&r.metric, r.now));
                println!("  {}: {} {was} -> {now} ({:+.1}%)", r.entry, r.metric, r.change() * 100.0);
            }
            if code == 0 {
                code = EXIT_REGRESSION;
            }
        }
    }
    println!(
        "outcome: {} (exit {code})",
        if code == 0 {
            "PASS"
        } else if code == EXIT_REGRESSION {
            "REGRESSION"
        } else if code == crate::cmd::sweep::EXIT_NONDETERMINISTIC {
            "NONDETERMINISTIC"
        } else {
            worst.words()
        }
    );
    code
}

fn read_baseline(path: &Path) -> Result<Baseline, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read the baseline: {e}", path.display()))?;
    let b: Baseline = serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: not a baseline: {e}", path.display(), e.line(), e.column()))?;
    if b.schema != BASELINE_SCHEMA {
        return Err(format!("{}: baseline schema {}, this syncsim reads {BASELINE_SCHEMA}", path.display(), b.schema));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(entries: &[(&str, f64)]) -> Baseline {
        Baseline {
            schema: BASELINE_SCHEMA,
            seeds: (0, 10),
            entries: [("s".to_string(), entries.iter().map(|(m, v)| (m.to_string(), *v)).collect())].into(),
        }
    }

    #[test]
    fn a_metric_regresses_only_beyond_the_tolerance_and_in_its_bad_direction() {
        let old = base(&[("latency.all.p99", 100.0), ("availability", 0.99), ("writes.lost", 0.0)]);
        let ok = base(&[("latency.all.p99", 109.0), ("availability", 0.995), ("writes.lost", 0.0)]);
        assert!(regressions(&old, &ok, 0.1).is_empty());
        let faster = base(&[("latency.all.p99", 50.0)]);
        assert!(regressions(&old, &faster, 0.1).is_empty(), "better is no regression");
        let bad = base(&[("latency.all.p99", 111.0), ("availability", 0.85), ("writes.lost", 1.0)]);
        let found: Vec<String> = regressions(&old, &bad, 0.1).into_iter().map(|r| r.metric).collect();
        assert_eq!(found, ["availability", "latency.all.p99", "writes.lost"]);
    }

    #[test]
    fn tolerances_read_as_percentages_or_fractions() {
        assert_eq!(parse_tolerance("10%"), Ok(0.1));
        assert_eq!(parse_tolerance("0.25"), Ok(0.25));
        assert!(parse_tolerance("ten").is_err() && parse_tolerance("-5%").is_err());
    }
}
