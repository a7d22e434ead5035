//! `syncsim sweep`: one scenario under many seeds, in parallel, with every metric aggregated
//! across seeds and every failing seed listed with its reproducing command; shards of a sweep
//! run on different machines and `syncsim merge` joins them into the report one machine would
//! have written.
//!
//! The report holds each seed's record and aggregates computed from the records alone, sorted
//! by seed, so a merge of shards recomputes exactly what the whole sweep would have. Nothing
//! in it depends on the machine, the number of jobs or the wall clock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use syncsim_reports::Verdict;
use syncsim_reports::report::higher_is_better;

use crate::runner;
use crate::scenario::Scenario;

/// Version of the `sweep.json` schema.
pub const SWEEP_SCHEMA: u32 = 1;

/// One seed's run, as a sweep keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRecord {
    /// The seed.
    pub seed: u64,
    /// The verdict.
    pub outcome: Verdict,
    /// Expectations that failed, in words.
    pub failures: Vec<String>,
    /// The command that reproduces the run.
    pub reproduce: String,
    /// Hash of the event sequence.
    pub trace_hash: String,
    /// Every metric the run measured (see `Report::figures`).
    pub figures: BTreeMap<String, f64>,
    /// With `--check-determinism`: where two runs of this seed first differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nondeterminism: Option<String>,
}

/// A metric across seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Median, by nearest rank.
    pub median: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// The worst value (the largest, or the smallest where more is better).
    pub worst: f64,
    /// The seed that gave it (the lowest such seed).
    pub worst_seed: u64,
    /// Seeds that measured it.
    pub seeds: usize,
}

/// Which slice of the seeds a shard runs: shard `index` of `count` (1-based) takes every
/// `count`-th seed starting at the `index`-th.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1..=count.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write `I/N` with 1 <= I <= N, e.g. `2/3`");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// This shard's seeds of `seeds`.
    pub fn seeds(self, seeds: Range<u64>) -> Vec<u64> {
        seeds
            .enumerate()
            .filter(|(k, _)| *k as u64 % u64::from(self.count) == u64::from(self.index - 1))
            .map(|(_, s)| s)
            .collect()
    }
}

/// A sweep's report (`sweep.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// [`SWEEP_SCHEMA`].
    pub schema: u32,
    /// The scenario's name (with `/variant` for a variant).
    pub scenario: String,
    /// The scenario file.
    pub file: String,
    /// The whole sweep's seeds, `start..end`.
    pub seeds: (u64, u64),
    /// The shard this report covers; `None` for a whole sweep or a complete merge.
    pub shard: Option<Shard>,
    /// Seeds run.
    pub runs: usize,
    /// Seeds that passed.
    pub passed: usize,
    /// The worst verdict.
    pub outcome: Verdict,
    /// The exit code: 4 if any seed's two runs differed (`--check-determinism`), else the
    /// worst verdict's.
    pub exit_code: i32,
    /// Every metric across seeds.
    pub aggregates: BTreeMap<String, Aggregate>,
    /// Seeds that failed, in seed order.
    pub failing: Vec<SeedRecord>,
    /// Every seed's record, in seed order.
    pub records: Vec<SeedRecord>,
    /// For a merge of shards that are not one whole sweep (`merge --allow-partial`): what is
    /// missing or inconsistent, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<String>,
}

/// Runs `scenario` under each of `seeds` on `jobs` threads (all cores when `None`), calling
/// `done(record)` as each finishes (in completion order, for progress); the records come back
/// in seed order. With `twice`, each seed runs a second time and a different trace hash is
/// recorded with the first event where the two runs part.
pub fn run_seeds(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: Option<usize>,
    twice: bool,
    done: &(dyn Fn(&SeedRecord) + Sync),
) -> Result<Vec<SeedRecord>, String> {
    let kept = run_seeds_keeping(scenario, seeds, jobs, twice, &|_| (), done)?;
    Ok(kept.into_iter().map(|(record, ())| record).collect())
}

/// [`run_seeds`], also keeping `keep(run)` of each seed's run beside its record, for callers
/// that need more of a run than its metrics (compare's latency distributions and timelines).
pub fn run_seeds_keeping<T: Send>(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: Option<usize>,
    twice: bool,
    keep: &(dyn Fn(&runner::RunResult) -> T + Sync),
    done: &(dyn Fn(&SeedRecord) + Sync),
) -> Result<Vec<(SeedRecord, T)>, String> {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build().map_err(|e| e.to_string())?;
    pool.install(|| {
        seeds
            .par_iter()
            .map(|&seed| {
                let r = runner::run(scenario, seed, false).map_err(|e| format!("seed {seed}: {e}"))?;
                let nondeterminism = if twice { first_divergence(scenario, seed, &r.report.trace_hash)? } else { None };
                let record = SeedRecord {
                    nondeterminism,
                    seed,
                    outcome: r.report.outcome,
                    failures: r.report.failures.clone(),
                    reproduce: r.report.reproduce.clone(),
                    trace_hash: r.report.trace_hash.clone(),
                    figures: r.report.figures(),
                };
                done(&record);
                Ok((record, keep(&r)))
            })
            .collect()
    })
}

/// Runs `seed` again; if its trace hash differs from `hash`, runs it twice more recording
/// every event and describes the first event where the two differ.
fn first_divergence(scenario: &Scenario, seed: u64, hash: &str) -> Result<Option<String>, String> {
    let again = runner::run(scenario, seed, false).map_err(|e| format!("seed {seed}: {e}"))?;
    if again.report.trace_hash == hash {
        return Ok(None);
    }
    let a = runner::run(scenario, seed, true).map_err(|e| format!("seed {seed}: {e}"))?.trace;
    let b = runner::run(scenario, seed, true).map_err(|e| format!("seed {seed}: {e}"))?.trace;
    let at = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let show = |t: &[syncsim_sim::trace::TraceRecord]| {
        t.get(at).map_or("the end of the run".to_string(), |e| {
            let node = e.node.map_or("cluster".to_string(), |n| n.to_string());
            let from = e.from.map(|f| format!(" from {f}")).unwrap_or_default();
            format!("`{:?} at {node}{from}, t = {}ns: {}`", e.kind, e.time.as_nanos(), e.detail)
        })
    };
    Ok(Some(format!(
        "trace hashes {hash} and {} differ; event {at} is {} in one run and {} in the other",
        again.report.trace_hash,
        show(&a),
        show(&b)
    )))
}

/// The report of `records` (any order) from a sweep of `seeds` over `scenario`.
pub fn summarise(
    scenario: &str,
    file: &str,
    seeds: Range<u64>,
    shard: Option<Shard>,
    mut records: Vec<SeedRecord>,
) -> SweepReport {
    records.sort_by_key(|r| r.seed);
    let mut values: BTreeMap<&str, Vec<(f64, u64)>> = BTreeMap::new();
    for r in &records {
        for (name, v) in &r.figures {
            values.entry(name).or_default().push((*v, r.seed));
        }
    }
    let aggregates = values.into_iter().map(|(name, v)| (name.to_string(), aggregate(name, v))).collect();
    let outcome = records.iter().map(|r| r.outcome).max_by_key(|v| v.severity()).unwrap_or(Verdict::Pass);
    let failing: Vec<SeedRecord> = records.iter().filter(|r| r.outcome != Verdict::Pass).cloned().collect();
    SweepReport {
        schema: SWEEP_SCHEMA,
        scenario: scenario.to_string(),
        file: file.to_string(),
        seeds: (seeds.start, seeds.end),
        shard,
        runs: records.len(),
        passed: records.len() - failing.len(),
        outcome,
        exit_code: if records.iter().any(|r| r.nondeterminism.is_some()) {
            syncsim_reports::Exit::Nondeterministic.code()
        } else {
            outcome.exit_code()
        },
        aggregates,
        failing,
        records,
        partial: None,
    }
}

fn aggregate(name: &str, mut v: Vec<(f64, u64)>) -> Aggregate {
    let up = higher_is_better(name);
    // Worst first; among equal values the lowest seed, so the pick does not depend on order.
    let worst = v
        .iter()
        .copied()
        .min_by(|a, b| {
            let by_value = if up { a.0.total_cmp(&b.0) } else { b.0.total_cmp(&a.0) };
            by_value.then(a.1.cmp(&b.1))
        })
        .expect("at least one value");
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |q: f64| syncsim_reports::latency::quantile(&v, q).0;
    Aggregate { median: at(0.5), p10: at(0.1), p90: at(0.9), worst: worst.0, worst_seed: worst.1, seeds: v.len() }
}

/// Why `parts`, reports of one sweep, are not that whole sweep: each problem in words; empty
/// when together they are exactly it. Shards of different totals, a shard lacking seeds of its
/// slice or holding seeds outside it, and seeds no part covers are each a problem.
pub fn gaps(parts: &[SweepReport]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(first) = parts.first() else { return vec!["nothing to merge".into()] };
    let seeds = first.seeds.0..first.seeds.1;
    let totals: std::collections::BTreeSet<u32> = parts.iter().filter_map(|p| p.shard.map(|s| s.count)).collect();
    if totals.len() > 1 {
        let list: Vec<String> = totals.iter().map(|t| format!("of {t}")).collect();
        problems.push(format!("the shards are of different totals ({})", list.join(", ")));
    }
    let few = |v: &[u64]| {
        let shown: Vec<String> = v.iter().take(10).map(u64::to_string).collect();
        let more = if v.len() > 10 { format!(" and {} more", v.len() - 10) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    for p in parts {
        let (own, name): (std::collections::BTreeSet<u64>, String) = match p.shard {
            Some(sh) => (sh.seeds(seeds.clone()).into_iter().collect(), format!("shard {}/{}", sh.index, sh.count)),
            None => (seeds.clone().collect(), "a whole sweep".to_string()),
        };
        let held: std::collections::BTreeSet<u64> = p.records.iter().map(|r| r.seed).collect();
        let lacking: Vec<u64> = own.difference(&held).copied().collect();
        let foreign: Vec<u64> = held.difference(&own).copied().collect();
        if !lacking.is_empty() {
            problems.push(format!("{name} lacks {} of its {} seeds: {}", lacking.len(), own.len(), few(&lacking)));
        }
        if !foreign.is_empty() {
            problems.push(format!("{name} holds seeds outside its slice: {}", few(&foreign)));
        }
    }
    let covered: std::collections::BTreeSet<u64> =
        parts.iter().flat_map(|p| p.records.iter().map(|r| r.seed)).collect();
    let missing: Vec<u64> = seeds.clone().filter(|s| !covered.contains(s)).collect();
    if !missing.is_empty() {
        let mut words = format!(
            "{} of the sweep's {} seeds are in no report: {}",
            missing.len(),
            seeds.end - seeds.start,
            few(&missing)
        );
        if let [count] = totals.iter().copied().collect::<Vec<_>>().as_slice() {
            let present: std::collections::BTreeSet<u32> =
                parts.iter().filter_map(|p| p.shard.map(|s| s.index)).collect();
            let absent: Vec<String> =
                (1..=*count).filter(|i| !present.contains(i)).map(|i| format!("{i}/{count}")).collect();
            if !absent.is_empty() {
                words.push_str(&format!(" (shards {} are missing)", absent.join(", ")));
            }
        }
        problems.push(words);
    }
    problems
}

/// Joins shard reports of one sweep into the report of the seeds they cover together. Shards
/// that are not exactly the whole sweep ([`gaps`]) are an error, unless `allow_partial`: then
/// the report says what it lacks (`partial`) and keeps its shard.
pub fn merge(parts: Vec<SweepReport>, allow_partial: bool) -> Result<SweepReport, String> {
    let first = parts.first().ok_or("nothing to merge")?.clone();
    let mut records: BTreeMap<u64, SeedRecord> = BTreeMap::new();
    for p in &parts {
        if (p.scenario.as_str(), p.file.as_str(), p.seeds)
            != (first.scenario.as_str(), first.file.as_str(), first.seeds)
        {
            return Err(format!(
                "these reports are of different sweeps: `{}` ({}, seeds {}..{}) and `{}` ({}, seeds {}..{})",
                first.scenario, first.file, first.seeds.0, first.seeds.1, p.scenario, p.file, p.seeds.0, p.seeds.1
            ));
        }
        if p.schema != SWEEP_SCHEMA {
            return Err(format!("a report has schema {}, this syncsim reads {SWEEP_SCHEMA}", p.schema));
        }
        for r in &p.records {
            if let Some(old) = records.insert(r.seed, r.clone())
                && old != *r
            {
                return Err(format!("seed {} appears twice with different results", r.seed));
            }
        }
    }
    let problems = gaps(&parts);
    if !problems.is_empty() && !allow_partial {
        return Err(format!(
            "these reports are not one whole sweep: {}; give --allow-partial to merge them anyway (the report \
             then says it is partial)",
            problems.join("; ")
        ));
    }
    let seeds = first.seeds.0..first.seeds.1;
    // A partial merge is still a slice of the sweep; say which shards it came from.
    let shard = if problems.is_empty() { None } else { first.shard };
    let mut merged = summarise(&first.scenario, &first.file, seeds, shard, records.into_values().collect());
    merged.partial = (!problems.is_empty()).then(|| problems.join("; "));
    Ok(merged)
}

/// The report as Markdown: outcome, every metric's spread and worst seed, failing seeds.
pub fn markdown(r: &SweepReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# sweep of {}: {}\n", r.scenario, r.outcome.words());
    if let Some(partial) = &r.partial {
        let _ = writeln!(s, "**Partial report** (merged with `--allow-partial`): {partial}.\n");
    }
    let _ = writeln!(
        s,
        "{} of {} seeds passed (seeds {}..{}{}).\n",
        r.passed,
        r.runs,
        r.seeds.0,
        r.seeds.1,
        r.shard.map(|sh| format!(", shard {}/{}", sh.index, sh.count)).unwrap_or_default()
    );
    let _ =
        writeln!(s, "| metric | median | p10 | p90 | worst | worst seed |\n| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, a) in &r.aggregates {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} |",
            format_metric(name, a.median),
            format_metric(name, a.p10),
            format_metric(name, a.p90),
            format_metric(name, a.worst),
            a.worst_seed
        );
    }
    if !r.failing.is_empty() {
        let _ = writeln!(s, "\n## Failing seeds\n");
        for f in &r.failing {
            let _ = writeln!(
                s,
                "- seed {}: {} — {}\n  `{}`",
                f.seed,
                f.outcome.words(),
                f.failures.join("; "),
                f.reproduce
            );
        }
    }
    s
}

/// A metric's value in its unit: durations (names with a percentile, `converged_within`) in
/// milliseconds, the rest as numbers.
pub fn format_metric(name: &str, v: f64) -> String {
    let duration = name.starts_with("latency.")
        || name == "converged_within"
        || (name.starts_with("visibility.p") || name == "visibility.max")
        || (name.starts_with("protocol.") && name.matches('.').count() == 2);
    if duration { format!("{:.3}ms", v / 1e6) } else { format!("{v:.4}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seed: u64, x: f64, outcome: Verdict) -> SeedRecord {
        SeedRecord {
            seed,
            outcome,
            failures: vec![],
            reproduce: format!("syncsim run f.yaml --seed {seed}"),
            trace_hash: format!("{seed:016x}"),
            figures: [("latency.all.p99".to_string(), x), ("availability".to_string(), 1.0 - x / 100.0)]
                .into_iter()
                .collect(),
            nondeterminism: None,
        }
    }

    #[test]
    fn shards_split_the_seeds_and_cover_them_once() {
        let mut all: Vec<u64> = (1..=3).flat_map(|i| Shard { index: i, count: 3 }.seeds(10..20)).collect();
        assert_eq!(Shard { index: 2, count: 3 }.seeds(10..20), vec![11, 14, 17]);
        all.sort();
        assert_eq!(all, (10..20).collect::<Vec<_>>());
        assert!(Shard::parse("0/3").is_err() && Shard::parse("4/3").is_err() && Shard::parse("x").is_err());
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
    }

    #[test]
    fn the_worst_seed_follows_the_metrics_direction() {
        let recs = vec![record(0, 5.0, Verdict::Pass), record(1, 9.0, Verdict::Pass), record(2, 1.0, Verdict::Pass)];
        let r = summarise("s", "f.yaml", 0..3, None, recs);
        assert_eq!((r.aggregates["latency.all.p99"].worst, r.aggregates["latency.all.p99"].worst_seed), (9.0, 1));
        assert_eq!(r.aggregates["availability"].worst_seed, 1, "lowest availability is worst");
        assert_eq!(r.aggregates["latency.all.p99"].median, 5.0);
    }

    #[test]
    fn merged_shards_equal_the_whole_sweep() {
        let recs: Vec<SeedRecord> = (0..10)
            .map(|s| record(s, (s * 7 % 10) as f64, if s == 4 { Verdict::SafetyViolation } else { Verdict::Pass }))
            .collect();
        let whole = summarise("s", "f.yaml", 0..10, None, recs.clone());
        let parts: Vec<SweepReport> = (1..=3)
            .map(|i| {
                let sh = Shard { index: i, count: 3 };
                let mine: Vec<SeedRecord> =
                    recs.iter().filter(|r| sh.seeds(0..10).contains(&r.seed)).cloned().collect();
                summarise("s", "f.yaml", 0..10, Some(sh), mine)
            })
            .collect();
        assert_eq!(merge(parts.clone(), false).unwrap(), whole);
        assert_eq!(whole.exit_code, 1);
        assert_eq!(whole.failing.iter().map(|f| f.seed).collect::<Vec<_>>(), vec![4]);
        // Two of three shards are not the whole sweep: refused, or merged as partial.
        let refused = merge(parts[..2].to_vec(), false).unwrap_err();
        assert!(
            refused.contains("3 of the sweep's 10 seeds are in no report: 2, 5, 8") && refused.contains("shards 3/3"),
            "{refused}"
        );
        let partial = merge(parts[..2].to_vec(), true).unwrap();
        assert_ne!(partial, whole);
        assert!(partial.partial.as_deref().unwrap().contains("shards 3/3 are missing"));
        assert!(markdown(&partial).contains("**Partial report**"));
        // A shard that lacks a seed of its slice, and shards of different totals.
        let mut short = parts[0].clone();
        short.records.pop();
        let problems = gaps(&[short, parts[1].clone(), parts[2].clone()]);
        assert!(problems.iter().any(|p| p.starts_with("shard 1/3 lacks 1 of its 4 seeds: 9")), "{problems:?}");
        let mut other_total = parts[1].clone();
        other_total.shard = Some(Shard { index: 2, count: 2 });
        let problems = gaps(&[parts[0].clone(), other_total, parts[2].clone()]);
        assert!(problems.iter().any(|p| p.contains("different totals (of 2, of 3)")), "{problems:?}");
        let mut other = parts[0].clone();
        other.scenario = "t".into();
        assert!(merge(vec![other, parts[1].clone()], true).unwrap_err().contains("different sweeps"));
    }
}
