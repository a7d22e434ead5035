//! Experiments: many trials of one scenario, each steered as it goes.
//!
//! The leader-election experiment reproduces §9.3 of the Raft paper (Ongaro & Ousterhout 2014):
//! once a leader is established, it is crashed at a uniformly random point of its heartbeat
//! interval right after a heartbeat; the downtime runs from the crash until every other node
//! has heard the new leader's first heartbeat. Clients keep writing throughout, so the
//! followers' logs differ in length and some of them cannot win. Trials run in parallel; each
//! has its own seed, so the results do not depend on the number of threads.

use rayon::prelude::*;
use serde::Serialize;
use syncsim_protocols::raft::{RaftConfig, RaftNode};
use syncsim_reports::charts;
use syncsim_reports::report::DurationFigures;
use syncsim_sim::fault::Fault;
use syncsim_sim::rng::{Stream, below};
use syncsim_sim::{DurationRange, NodeId, Sim, SimDuration, SimError, SimTime};

use crate::scenario::Scenario;
use crate::scenario::raw::RawLeaderElection;

/// How long a trial may take to establish its first leader, and by default to replace it,
/// before it counts as incomplete (`trial_limit` sets the second).
const TRIAL_LIMIT: SimDuration = SimDuration::from_secs(60);

/// One configuration's downtimes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ElectionConfiguration {
    /// The election timeout range.
    pub election_timeout: String,
    /// The heartbeat interval (half the minimum timeout).
    pub heartbeat: String,
    /// Trials run.
    pub trials: u32,
    /// Trials in which a new leader took over within the limit.
    pub completed: u32,
    /// Trials in which the stale followers lost their entry before the crash (the others
    /// crashed the leader while that write was still on its way).
    pub stale_set_up: u32,
    /// Downtime percentiles, in nanoseconds; `None` when no trial completed (there is no
    /// downtime to measure, and a zero would read as an instant election).
    pub downtime: Option<DurationFigures>,
    /// The same in milliseconds, as the paper gives them.
    pub downtime_ms: Option<DowntimeMs>,
    /// The downtime distribution: (milliseconds, percent of trials at or below).
    pub cdf_ms: Vec<(f64, f64)>,
    /// The published measurements of this range, when the scenario names a reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
}

/// Published downtimes of one timeout range, and how far the simulation is from them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reference {
    /// Trials measured.
    pub trials: u32,
    /// Their median (ms).
    pub median: f64,
    /// Their mean (ms).
    pub mean: f64,
    /// The simulated median over the published one, less one (0.1: 10% longer).
    pub median_error: Option<f64>,
    /// The same for the mean.
    pub mean_error: Option<f64>,
    /// The published distribution: (milliseconds, percent of trials at or below).
    pub cdf_ms: Vec<(f64, f64)>,
}

/// Published downtimes by timeout range (`150-151`), in ms, sorted.
pub type ReferenceData = std::collections::BTreeMap<String, Vec<f64>>;

/// Reads a reference CSV: a header, then (range, cumulative fraction, downtime ms) rows.
pub fn read_reference(path: &std::path::Path) -> Result<ReferenceData, SimError> {
    let bad = |line: usize, what: &str| SimError::Invalid(format!("{}:{line}: {what}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| SimError::Invalid(format!("{}: {e}", path.display())))?;
    let mut data = ReferenceData::new();
    for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [range, _, ms] = fields[..] else {
            return Err(bad(i + 1, "expected three fields: range, cumulative fraction, downtime (ms)"));
        };
        let ms: f64 = ms.parse().map_err(|_| bad(i + 1, &format!("`{ms}` is not a number of milliseconds")))?;
        data.entry(range.to_string()).or_default().push(ms);
    }
    data.values_mut().for_each(|v| v.sort_by(f64::total_cmp));
    Ok(data)
}

/// The reference key of a timeout range: `150-151` for 150ms..151ms.
fn range_key(timeout: DurationRange) -> String {
    format!("{}-{}", timeout.min.as_nanos() / 1_000_000, timeout.max.as_nanos() / 1_000_000)
}

fn reference_of(data: &ReferenceData, timeout: DurationRange, sim: Option<&DowntimeMs>) -> Option<Reference> {
    let ms = data.get(&range_key(timeout))?;
    let median = syncsim_reports::latency::quantile(ms, 0.5);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    Some(Reference {
        trials: ms.len() as u32,
        median,
        mean,
        median_error: sim.map(|d| d.median / median - 1.0),
        mean_error: sim.map(|d| d.mean / mean - 1.0),
        cdf_ms: charts::cdf_points(ms, ms.len(), 400),
    })
}

/// A downtime distribution in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DowntimeMs {
    /// Median.
    pub median: f64,
    /// Mean.
    pub mean: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Longest.
    pub max: f64,
}

impl From<&DurationFigures> for DowntimeMs {
    fn from(d: &DurationFigures) -> Self {
        let ms = |ns: u64| (ns as f64 / 1e3).round() / 1e3;
        DowntimeMs { median: ms(d.p50_ns), mean: ms(d.mean_ns), p99: ms(d.p99_ns), max: ms(d.max_ns) }
    }
}

/// One chart's configurations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ElectionGroup {
    /// The chart's title.
    pub name: String,
    /// Whether downtime is drawn on a log scale.
    pub log_scale: bool,
    /// Its configurations.
    pub configurations: Vec<ElectionConfiguration>,
    /// The chart's file, relative to the output folder.
    pub chart: String,
}

/// The experiment's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ElectionResults {
    /// Trials per configuration.
    pub trials: u32,
    /// Every group.
    pub groups: Vec<ElectionGroup>,
    /// Trials in which a Raft invariant broke: the trial's seed and what broke.
    pub violations: Vec<(u64, String)>,
}

/// How one trial ended.
enum Trial {
    /// A new leader took over after this downtime (ns).
    Done(u64),
    /// It did not, within the limit.
    Incomplete,
    /// An invariant broke (with the trial's seed).
    Violation(u64, String),
}

/// Runs the experiment; returns its results and each group's chart (file name, SVG).
pub fn leader_election(
    scenario: &Scenario,
    base: &RaftConfig,
    spec: &RawLeaderElection,
    seed: u64,
) -> Result<(ElectionResults, Vec<(String, String)>), SimError> {
    let mut groups = Vec::new();
    let mut svgs = Vec::new();
    let mut violations = Vec::new();
    // Trials are numbered across the whole experiment; each trial's seed is that number's
    // stream of the run's seed (`Stream::Trial`), whatever the number of threads.
    let mut first_trial = 0u64;
    let limit = spec.trial_limit.unwrap_or(TRIAL_LIMIT);
    let reference = match &spec.reference {
        Some(file) => {
            let dir = std::path::Path::new(&scenario.file).parent().unwrap_or(std::path::Path::new("."));
            Some(read_reference(&dir.join(file))?)
        }
        None => None,
    };
    for group in &spec.groups {
        let mut configurations = Vec::new();
        for &timeout in &group.timeouts {
            let heartbeat = SimDuration(timeout.min.as_nanos() / 2);
            let config = RaftConfig { election_timeout: timeout, heartbeat, ..base.clone() };
            let trials: Vec<(Trial, bool)> = (0..spec.trials)
                .into_par_iter()
                .map(|t| {
                    let seed = Stream::Trial(first_trial + u64::from(t)).seed(seed);
                    trial(scenario, &config, seed, limit, spec.stale_followers)
                })
                .collect::<Result<_, _>>()?;
            first_trial += u64::from(spec.trials);
            let mut done = Vec::new();
            let stale_set_up = trials.iter().filter(|t| t.1).count() as u32;
            for (t, _) in trials {
                match t {
                    Trial::Done(ns) => done.push(ns),
                    Trial::Incomplete => {}
                    Trial::Violation(seed, what) => violations.push((seed, format!("{timeout}: {what}"))),
                }
            }
            let ms: Vec<f64> = done.iter().map(|&ns| ns as f64 / 1e6).collect();
            let downtime_ms = (!done.is_empty()).then(|| DowntimeMs::from(&DurationFigures::of(&done)));
            configurations.push(ElectionConfiguration {
                stale_set_up,
                reference: reference.as_ref().and_then(|r| reference_of(r, timeout, downtime_ms.as_ref())),
                election_timeout: timeout.to_string(),
                heartbeat: heartbeat.to_string(),
                trials: spec.trials,
                completed: done.len() as u32,
                downtime_ms,
                downtime: (!done.is_empty()).then(|| DurationFigures::of(&done)),
                cdf_ms: charts::cdf_points(&ms, spec.trials as usize, 400),
            });
        }
        let file = format!("charts/election-{}.svg", slug(&group.name));
        let series: Vec<charts::Series> = configurations
            .iter()
            .map(|c| {
                let mut label = format!("{} ms", c.election_timeout.replace("ms", ""));
                if c.completed < c.trials {
                    label.push_str(&format!(" ({} of {} within {})", c.completed, c.trials, limit));
                }
                (label, c.cdf_ms.clone())
            })
            .collect();
        let svg = charts::cdf(&format!("Leader election: {}", group.name), "downtime (ms)", &series, group.log_scale)
            .map_err(|e| SimError::Invalid(format!("cannot draw the chart: {e}")))?;
        svgs.push((file.clone(), svg));
        // The published measurements beside them, in the same order (so the same colours).
        let published: Vec<charts::Series> = configurations
            .iter()
            .filter_map(|c| {
                let r = c.reference.as_ref()?;
                Some((format!("{} ms ({} trials)", c.election_timeout.replace("ms", ""), r.trials), r.cdf_ms.clone()))
            })
            .collect();
        if !published.is_empty() {
            let title = format!("Leader election: {}, the paper's measurements", group.name);
            let svg = charts::cdf(&title, "downtime (ms)", &published, group.log_scale)
                .map_err(|e| SimError::Invalid(format!("cannot draw the chart: {e}")))?;
            svgs.push((format!("charts/election-{}-paper.svg", slug(&group.name)), svg));
        }
        groups.push(ElectionGroup {
            name: group.name.clone(),
            log_scale: group.log_scale,
            configurations,
            chart: file,
        });
    }
    Ok((ElectionResults { trials: spec.trials, groups, violations }, svgs))
}

fn slug(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-")
}

/// The node every live node follows, if the cluster has settled on one.
fn settled_leader(sim: &Sim<RaftNode>, nodes: u32, other_than: Option<NodeId>, above_term: u64) -> Option<NodeId> {
    let leader = (0..nodes)
        .map(NodeId)
        .find(|&k| Some(k) != other_than && sim.node(k).is_some_and(|n| n.is_leader() && n.term() > above_term))?;
    let term = sim.node(leader)?.term();
    let all_follow = (0..nodes)
        .map(NodeId)
        .filter(|&k| Some(k) != other_than)
        .all(|k| sim.node(k).is_none_or(|n| n.leader() == Some(leader) && n.term() == term));
    all_follow.then_some(leader)
}

/// One trial: the downtime, or why there is none.
fn trial(
    scenario: &Scenario,
    config: &RaftConfig,
    seed: u64,
    limit: SimDuration,
    stale: u32,
) -> Result<(Trial, bool), SimError> {
    let mut sim = None;
    let (outcome, staled) = run_trial(scenario, config, seed, limit, stale, &mut sim)?;
    // A trial that stopped because an invariant broke is a finding, not a slow election.
    let trial = match sim.as_ref().and_then(|s: &Sim<RaftNode>| s.violation()) {
        Some(v) => Trial::Violation(seed, v.message.clone()),
        None => outcome.map_or(Trial::Incomplete, Trial::Done),
    };
    Ok((trial, staled))
}

fn run_trial(
    scenario: &Scenario,
    config: &RaftConfig,
    seed: u64,
    limit: SimDuration,
    stale: u32,
    keep: &mut Option<Sim<RaftNode>>,
) -> Result<(Option<u64>, bool), SimError> {
    let mut sim_config = scenario.sim.clone();
    sim_config.seed = seed;
    sim_config.faults.clear();
    // The first leader is elected under the trial's own timeouts, from a start where every
    // timer begins at once: with identical timeouts that can take as long as the measured
    // election, so it gets the same limit (it is set-up, not part of the downtime).
    let warm_limit = limit.max(TRIAL_LIMIT);
    sim_config.duration = warm_limit + limit;
    sim_config.settle = SimDuration::ZERO;
    let nodes = sim_config.nodes;
    let sim = keep.insert(Sim::<RaftNode>::new(sim_config, config.clone(), ())?);
    let heartbeat = config.heartbeat;
    // A leader everyone follows, and a little history behind it.
    let warm_up = SimTime::ZERO + config.election_timeout.max + config.election_timeout.max;
    let leader = loop {
        if !sim.step() || sim.now() > SimTime::ZERO + warm_limit {
            return Ok((None, false));
        }
        if sim.now() >= warm_up
            && let Some(l) = settled_leader(sim, nodes, None, 0)
        {
            break l;
        }
    };
    let old_term = sim.node(leader).expect("leads").term();
    // Right after a heartbeat, crash it at a uniform point of its heartbeat interval.
    let rounds = sim.node(leader).expect("leads").rounds();
    while sim.node(leader).is_some_and(|n| n.is_leader() && n.rounds() == rounds) {
        if !sim.step() {
            return Ok((None, false));
        }
    }
    let mut rng = Stream::Faults.rng(seed);
    let crash_at = sim.now() + SimDuration(below(&mut rng, heartbeat.as_nanos()));
    let mut staled = false;
    // Stale followers: once the heartbeat has reached everyone, the leader appends one more
    // entry; as soon as every follower holds it (each restarting its timer on receipt, so all
    // within a network latency of one another), the stale ones lose it, before they can learn
    // it committed. Their logs are shorter, and no majority votes for them. A crash drawn
    // before that is done crashes the leader with the write in flight (counted apart).
    let write_at = sim.now() + SimDuration::from_millis(1);
    if stale > 0 && crash_at > write_at {
        sim.run_until(write_at);
        let target = sim.node(leader).map_or(0, |n| n.last_index()) + 1;
        sim.submit(leader, syncsim_sim::Op::Put { key: 0, value: u64::from(u32::MAX) + seed % 1000 });
        let followers: Vec<NodeId> = (0..nodes).map(NodeId).filter(|&k| k != leader).collect();
        let all_hold =
            |sim: &Sim<RaftNode>| followers.iter().all(|&k| sim.node(k).is_some_and(|n| n.last_index() >= target));
        while !all_hold(sim) && sim.now() < crash_at {
            if !sim.step() {
                return Ok((None, false));
            }
        }
        if all_hold(sim) && sim.now() < crash_at {
            let mut lost = 0;
            for &k in followers.iter().take(stale as usize) {
                sim.act(k, |node, ctx| lost += u32::from(node.forget_uncommitted_tail(ctx)));
            }
            staled = lost == stale;
        }
    }
    sim.run_until(crash_at);
    let crashed = sim.now();
    sim.inject(Fault::Crash(leader));
    let limit = crashed + limit;
    loop {
        if settled_leader(sim, nodes, Some(leader), old_term).is_some() {
            return Ok((Some(sim.now().since(crashed).as_nanos()), staled));
        }
        if !sim.step() || sim.now() > limit {
            return Ok((None, staled));
        }
    }
}

/// The report of an experiment run (its `report.json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExperimentReport {
    /// The `report.json` schema version.
    pub schema_version: u32,
    /// Which experiment.
    pub kind: &'static str,
    /// The syncsim version that wrote it.
    pub syncsim_version: String,
    /// The scenario.
    pub scenario: syncsim_reports::report::ScenarioRef,
    /// The master seed (each trial's seed derives from it).
    pub seed: u64,
    /// The verdict (an experiment passes once it has measured).
    pub outcome: syncsim_reports::Verdict,
    /// The process exit code.
    pub exit_code: i32,
    /// The command that reproduces the run.
    pub reproduce: String,
    /// Every resolved parameter.
    pub parameters: serde_json::Value,
    /// The results.
    pub experiment: ElectionResults,
}

/// Runs `scenario`'s experiment under `seed`: the report, and the charts to write beside it.
pub fn run(scenario: &Scenario, seed: u64) -> Result<(ExperimentReport, Vec<(String, String)>), SimError> {
    let (Some(crate::scenario::raw::RawExperiment::LeaderElection(spec)), Some(raft)) =
        (&scenario.raw.experiment, scenario.protocol().get::<syncsim_protocols::RaftNode>())
    else {
        return Err(SimError::Invalid("the scenario has no experiment to run".into()));
    };
    let (results, charts) = leader_election(scenario, raft, spec, seed)?;
    // An experiment measures; how many trials completed is part of what it reports. A broken
    // invariant in any trial is a safety violation.
    let outcome = if results.violations.is_empty() {
        syncsim_reports::Verdict::Pass
    } else {
        syncsim_reports::Verdict::SafetyViolation
    };
    let mut parameters = scenario.parameters();
    parameters["seed"] = seed.into();
    let report = ExperimentReport {
        schema_version: syncsim_reports::report::SCHEMA_VERSION,
        kind: "leader-election",
        syncsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: syncsim_reports::report::ScenarioRef {
            name: scenario.name().to_string(),
            description: scenario.raw.description.clone(),
            file: scenario.file.clone(),
        },
        seed,
        outcome,
        exit_code: outcome.exit_code(),
        reproduce: crate::runner::reproduce_command(&scenario.file, seed, None),
        parameters,
        experiment: results,
    };
    Ok((report, charts))
}

/// The terminal summary of an experiment: a table per group, then the outcome and the
/// reproducing command, last.
pub fn render(report: &ExperimentReport) -> String {
    use std::fmt::Write;
    let ms = |ns: u64| format!("{:.1}", ns as f64 / 1e6);
    let mut s = String::new();
    let _ = writeln!(s, "leader election: {} trials per configuration; downtime in ms", report.experiment.trials);
    for g in &report.experiment.groups {
        let _ = writeln!(s, "  {} ({})", g.name, g.chart);
        let _ = writeln!(
            s,
            "    {:<16} {:>9} {:>8} {:>8} {:>8} {:>9}   {:>16} {:>16}",
            "election timeout", "completed", "median", "mean", "p99", "max", "paper median", "paper mean"
        );
        for c in &g.configurations {
            let figures = match &c.downtime {
                Some(d) => {
                    format!("{:>8} {:>8} {:>8} {:>9}", ms(d.p50_ns), ms(d.mean_ns), ms(d.p99_ns), ms(d.max_ns))
                }
                None => format!("{:>8}", "none completed"),
            };
            let paper = c.reference.as_ref().map_or(String::new(), |r| {
                let pct = |e: Option<f64>| e.map_or(String::new(), |e| format!(" ({:+.0}%)", e * 100.0));
                format!(
                    "   {:>16} {:>16}",
                    format!("{:.1}{}", r.median, pct(r.median_error)),
                    format!("{:.1}{}", r.mean, pct(r.mean_error))
                )
            });
            let _ = writeln!(s, "    {:<16} {:>9} {figures}{paper}", c.election_timeout, c.completed);
        }
    }
    for (seed, what) in report.experiment.violations.iter().take(5) {
        let _ = writeln!(s, "INVARIANT BROKEN in the trial with seed {seed}: {what}");
    }
    let verdict = report.outcome.words();
    let _ = writeln!(s, "outcome: {verdict} (exit {})   seed {}", report.exit_code, report.seed);
    let _ = writeln!(s, "reproduce: {}", report.reproduce);
    s
}
