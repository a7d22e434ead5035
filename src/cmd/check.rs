//! `syncsim check`: the command a project's CI runs. Each scenario (each variant of one with
//! variants) is swept over the seeds; its expectations decide pass or fail, and the median of
//! every metric is compared with a stored baseline ([`crate::check`]), failing when one got
//! worse by more than the tolerance.

use std::path::{Path, PathBuf};

use syncsim_reports::{Exit, Verdict};

use super::{Context, Error, Outcome};
use crate::check::{BASELINE_SCHEMA, Baseline, baseline_of, regressions};
use crate::scenario::{Scenario, ScenarioFile};
use crate::sweep;

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

/// Runs `syncsim check`; ends with nondeterminism if a seed's two runs differed
/// (`check_determinism`), else the worst verdict (safety, liveness), else a regression, else
/// pass.
pub fn check(args: CheckArgs) -> Outcome {
    if args.jobs == Some(0) {
        return Err(Error::bad_input("--jobs must be at least 1"));
    }
    if args.update_baseline && args.baseline.is_none() {
        return Err(Error::bad_input("--update-baseline needs --baseline FILE to write"));
    }
    let mut entries: Vec<Scenario> = Vec::new();
    for f in &args.files {
        entries.extend(ScenarioFile::load(f)?.runs().iter().cloned());
    }
    let old = match (&args.baseline, args.update_baseline) {
        (Some(path), false) => Some(read_baseline(path)?),
        _ => None,
    };
    if let Some(b) = &old
        && b.seeds != (args.seeds.start, args.seeds.end)
    {
        return Err(Error::bad_input(format!(
            "the baseline was taken over seeds {}..{}; check the same seeds (--seeds {}..{}) or update it",
            b.seeds.0, b.seeds.1, b.seeds.0, b.seeds.1
        )));
    }
    println!("seeds: {}..{}", args.seeds.start, args.seeds.end);
    println!("scenarios: {}", entries.len());
    println!("tolerance: {:.1}%", args.tolerance * 100.0);
    let seeds: Vec<u64> = args.seeds.clone().collect();
    let mut sweeps = Vec::new();
    for s in &entries {
        let name = s.label();
        let records = sweep::run_seeds(s, &seeds, args.jobs, args.check_determinism, &|_| {}).context(&name)?;
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
        std::fs::write(path, text).context(path.display())?;
        println!("baseline written: {} ({} scenarios)", path.display(), now.entries.len());
    }
    let mut exit = Exit::from(worst);
    for r in sweeps.iter().flat_map(|s| &s.records).filter(|r| r.nondeterminism.is_some()) {
        println!("NONDETERMINISTIC seed {}: {}", r.seed, r.nondeterminism.as_deref().unwrap_or_default());
        exit = Exit::Nondeterministic;
    }
    if let Some(old) = &old {
        let missing = old.missing(&now);
        if !missing.is_empty() {
            let path = args.baseline.as_ref().expect("a baseline was read").display();
            return Err(Error::all(
                missing.into_iter().map(|m| format!("{path}: {m}; update the baseline (--update-baseline)")).collect(),
            ));
        }
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
            if exit == Exit::Pass {
                exit = Exit::Regression;
            }
        }
    }
    let words = match exit {
        Exit::Pass => "PASS",
        Exit::Regression => "REGRESSION",
        Exit::Nondeterministic => "NONDETERMINISTIC",
        _ => worst.words(),
    };
    println!("outcome: {words} (exit {})", exit.code());
    Ok(exit)
}

fn read_baseline(path: &Path) -> Result<Baseline, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::bad_input(format!("{}: cannot read the baseline: {e}", path.display())))?;
    let b: Baseline = serde_json::from_str(&text).map_err(|e| {
        Error::bad_input(format!("{}:{}:{}: not a baseline: {e}", path.display(), e.line(), e.column()))
    })?;
    if b.schema != BASELINE_SCHEMA {
        return Err(Error::bad_input(format!(
            "{}: baseline schema {}, this syncsim reads {BASELINE_SCHEMA}",
            path.display(),
            b.schema
        )));
    }
    let problems = b.problems();
    if !problems.is_empty() {
        return Err(Error::all(problems.iter().map(|p| format!("{}: {p}", path.display())).collect()));
    }
    Ok(b)
}
