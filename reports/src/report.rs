//! The report of one run: the model written to `report.json` (the source of truth for every
//! other rendering), built from the engine's output, with the expectations judged.

use std::collections::BTreeMap;

use serde::Serialize;
use syncsim_sim::network::NetStats;
use syncsim_sim::{NodeId, ProtocolInfo, RunOutput, SimDuration};

use crate::convergence::ConvergenceStats;
use crate::expect::{Class, Expectation, Kind};
use crate::latency::{LatencyStats, OpCounts, operation_stats, quantile};
use crate::lin::{CheckResult, Verdict as LinVerdict};
use crate::sec::SecCheck;
use crate::session::{Guarantee, SessionStats};
use crate::staleness::StalenessStats;
use crate::tracker::Tracker;
use crate::visibility::VisibilityStats;
use crate::windows::{FaultWindow, fault_windows};

/// Version of the `report.json` schema; bumped whenever a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// The verdict of a run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every expectation held.
    Pass,
    /// A safety expectation failed (e.g. an acknowledged write was lost).
    SafetyViolation,
    /// A liveness expectation failed (no convergence, low availability, slow operations), or
    /// the run was cut short.
    LivenessFailure,
}

impl Verdict {
    /// The verdict in words, as summaries and pages print it.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::SafetyViolation => "SAFETY VIOLATION",
            Verdict::LivenessFailure => "LIVENESS FAILURE",
        }
    }

    /// How bad the verdict is (pass 0, liveness 1, safety 2), for picking the worst of many.
    pub fn severity(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::LivenessFailure => 1,
            Verdict::SafetyViolation => 2,
        }
    }

    /// The process exit code for this verdict: 0 pass, 1 safety, 2 liveness.
    pub fn exit_code(self) -> i32 {
        Exit::from(self).code()
    }
}

/// Every exit code of every syncsim command, with its meaning: the one list that commands
/// return, `syncsim list` prints and `--help` shows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything passed.
    Pass = 0,
    /// A safety property failed (a lost write, a non-linearizable history, a broken invariant).
    Safety = 1,
    /// A liveness property failed (no convergence, low availability, a run cut short), or a
    /// linearizability check ran out of budget (unknown).
    Liveness = 2,
    /// Bad input or usage: a scenario, history or option that cannot be used, with its place.
    BadInput = 3,
    /// The same seed ran twice gave two traces (`--check-determinism`).
    Nondeterministic = 4,
    /// A metric got worse than the baseline beyond the tolerance (`check --baseline`).
    Regression = 5,
}

impl Exit {
    /// Every exit code, in order.
    pub const ALL: [Exit; 6] =
        [Exit::Pass, Exit::Safety, Exit::Liveness, Exit::BadInput, Exit::Nondeterministic, Exit::Regression];

    /// The process exit code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// What the code means, in one line.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Pass => "pass",
            Exit::Safety => "a safety property failed (lost write, not linearizable, invariant broken)",
            Exit::Liveness => {
                "a liveness property failed (convergence, availability, run cut short; lincheck: unknown)"
            }
            Exit::BadInput => "bad input or usage (file, line, column and field named)",
            Exit::Nondeterministic => "nondeterminism: two runs of one seed differed (--check-determinism)",
            Exit::Regression => "regression: a metric worse than the baseline (check --baseline)",
        }
    }

    /// The table of every code, one per line (`  3  bad input ...`).
    pub fn table() -> String {
        Exit::ALL.iter().map(|e| format!("  {}  {}\n", e.code(), e.meaning())).collect()
    }
}

impl From<Verdict> for Exit {
    fn from(v: Verdict) -> Exit {
        match v {
            Verdict::Pass => Exit::Pass,
            Verdict::SafetyViolation => Exit::Safety,
            Verdict::LivenessFailure => Exit::Liveness,
        }
    }
}

/// What the report needs to know beyond the engine's output.
#[derive(Clone, Debug)]
pub struct RunContext {
    /// Scenario name.
    pub name: String,
    /// Scenario description.
    pub description: String,
    /// The scenario file as given on the command line.
    pub file: String,
    /// Every resolved parameter.
    pub parameters: serde_json::Value,
    /// The protocol under test.
    pub protocol: ProtocolInfo,
    /// Node names, indexed by node id.
    pub node_names: Vec<String>,
    /// The scenario's expectations.
    pub expectations: Vec<Expectation>,
    /// The command that reproduces the run.
    pub reproduce: String,
    /// Memory the linearizability check may use per key, for protocols that claim it.
    pub lincheck_budget: crate::lin::Budget,
    /// How many of the nodes (the last ones) started outside the cluster, as spares.
    pub spares: u32,
}

/// The scenario a report belongs to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioRef {
    /// Scenario name.
    pub name: String,
    /// Scenario description.
    pub description: String,
    /// The file as given on the command line.
    pub file: String,
}

/// Engine figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunFigures {
    /// Clients and faults ran this long.
    pub duration_ns: u64,
    /// Then the settle phase ran this long.
    pub settle_ns: u64,
    /// When the run was to end (ns): the duration and the whole settle phase.
    pub planned_end_ns: u64,
    /// Simulated time at which the run ended.
    pub end_ns: u64,
    /// Events: protocol handler calls (starts, deliveries, timer firings, requests), counted
    /// alike on every host.
    pub events: u64,
    /// Replies that came after their operation had timed out.
    pub late_replies: u64,
    /// Why the run stopped early, if it did.
    pub aborted: Option<String>,
}

/// One node's traffic, by name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeTrafficRow {
    /// The node.
    pub node: String,
    /// Messages and bytes it sent, and those delivered to it.
    #[serde(flatten)]
    pub traffic: syncsim_sim::traffic::NodeTraffic,
}

/// A run's traffic by node, message kind and pair (empty on hosts that do not count it). In an
/// elastic cluster only the nodes that were ever members are listed: spares that never
/// joined sent and received nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrafficFigures {
    /// Per node.
    pub nodes: Vec<NodeTrafficRow>,
    /// Per message kind, in order of first use.
    pub kinds: Vec<syncsim_sim::traffic::KindTraffic>,
    /// Messages sent from node `i` to node `j` at `[i][j]`; empty for clusters of more than
    /// [`PAIR_LIMIT`](syncsim_sim::traffic::PAIR_LIMIT) nodes.
    pub pair_messages: Vec<Vec<u64>>,
    /// Bytes sent from node `i` to node `j`, likewise.
    pub pair_bytes: Vec<Vec<u64>>,
}

impl TrafficFigures {
    /// The figures of `t` for the nodes `shown` (by index), naming nodes with `name`.
    pub fn of(t: &syncsim_sim::traffic::Traffic, shown: &[bool], name: impl Fn(usize) -> String) -> TrafficFigures {
        let listed: Vec<usize> = (0..t.nodes.len()).filter(|&i| shown.get(i).copied().unwrap_or(true)).collect();
        let matrix = |f: fn(syncsim_sim::traffic::Counts) -> u64| -> Vec<Vec<u64>> {
            if t.pairs.is_empty() {
                return Vec::new();
            }
            listed.iter().map(|&i| listed.iter().map(|&j| t.pair(i, j).map_or(0, f)).collect()).collect()
        };
        TrafficFigures {
            nodes: listed.iter().map(|&i| NodeTrafficRow { node: name(i), traffic: t.nodes[i] }).collect(),
            kinds: t.kinds.clone(),
            pair_messages: matrix(|c| c.messages),
            pair_bytes: matrix(|c| c.bytes),
        }
    }
}

/// Network figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkFigures {
    /// Raw counters.
    #[serde(flatten)]
    pub stats: NetStats,
    /// Messages sent per client operation.
    pub messages_per_op: f64,
    /// Bytes sent per client operation.
    pub bytes_per_op: f64,
    /// Bytes sent per write the visibility tracker followed: what spreading one update cost
    /// (0 without writes).
    pub bytes_per_write: f64,
}

/// A broken protocol invariant, when and where.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InvariantViolation {
    /// When (ns).
    pub time_ns: u64,
    /// The node whose report revealed it.
    pub node: String,
    /// What broke.
    pub message: String,
    /// The event being handled.
    pub event: String,
}

/// A protocol's own metrics: numbers, and durations as percentiles.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProtocolFigures {
    /// Named numbers.
    pub numbers: BTreeMap<String, f64>,
    /// Named durations.
    pub durations: BTreeMap<String, DurationFigures>,
}

/// Percentiles of a list of durations.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DurationFigures {
    /// How many.
    pub count: u64,
    /// Median (ns).
    pub p50_ns: u64,
    /// 90th percentile (ns).
    pub p90_ns: u64,
    /// 99th percentile (ns).
    pub p99_ns: u64,
    /// Longest (ns).
    pub max_ns: u64,
    /// Mean (ns).
    pub mean_ns: u64,
}

impl DurationFigures {
    /// The percentiles of `samples`.
    pub fn of(samples: &[u64]) -> Self {
        let mut xs = samples.to_vec();
        xs.sort_unstable();
        DurationFigures {
            count: xs.len() as u64,
            p50_ns: quantile(&xs, 0.5),
            p90_ns: quantile(&xs, 0.9),
            p99_ns: quantile(&xs, 0.99),
            max_ns: xs.last().copied().unwrap_or(0),
            mean_ns: if xs.is_empty() {
                0
            } else {
                (xs.iter().map(|&x| u128::from(x)).sum::<u128>() / xs.len() as u128) as u64
            },
        }
    }
}

/// A fault as applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultRecord {
    /// When (ns).
    pub at_ns: u64,
    /// What, with node names.
    pub fault: String,
}

/// One expectation with its verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectationResult {
    /// The expectation.
    #[serde(flatten)]
    pub expectation: Expectation,
    /// The measured value in the metric's unit, if it could be measured.
    pub actual: Option<f64>,
    /// Why it could not be measured.
    pub note: Option<String>,
    /// Whether it held.
    pub passed: bool,
}

/// Everything known about one run. Serialized as `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The syncsim version that wrote it.
    pub syncsim_version: String,
    /// The scenario.
    pub scenario: ScenarioRef,
    /// The master seed.
    pub seed: u64,
    /// Hash of the event sequence, in hex: equal runs have equal hashes.
    pub trace_hash: String,
    /// The verdict.
    pub outcome: Verdict,
    /// The process exit code.
    pub exit_code: i32,
    /// Expectations that failed, in words.
    pub failures: Vec<String>,
    /// The command that reproduces this run.
    pub reproduce: String,
    /// The protocol under test.
    pub protocol: ProtocolInfo,
    /// Every resolved parameter.
    pub parameters: serde_json::Value,
    /// Engine figures.
    pub run: RunFigures,
    /// Operation counts and availability per kind and `all`.
    pub operations: BTreeMap<String, OpCounts>,
    /// Latency of successful operations per kind and `all`.
    pub latency: BTreeMap<String, LatencyStats>,
    /// Network figures.
    pub network: NetworkFigures,
    /// Who sent what to whom: per node, per message kind, and between pairs of nodes.
    pub traffic: TrafficFigures,
    /// Write visibility (t-visibility and gossip rounds).
    pub visibility: VisibilityStats,
    /// Convergence after settle.
    pub convergence: ConvergenceStats,
    /// The linearizability check of the history, for protocols that claim linearizability.
    pub linearizability: Option<CheckResult>,
    /// The strong-eventual-consistency check of the final states, for protocols that claim it.
    pub sec: Option<SecCheck>,
    /// The audit of the honest replicas' committed hash chains, for protocols that keep a log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<crate::audit::Audit>,
    /// How stale reads were, for eventually consistent protocols.
    pub staleness: Option<StalenessStats>,
    /// Read consistency against time since commit (PBS t-visibility), for eventually
    /// consistent register stores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_visibility: Option<crate::pbs::TVisibility>,
    /// Read-your-writes, monotonic reads and monotonic writes per client.
    pub session: SessionStats,
    /// The protocol invariant that broke, which ended the run.
    pub invariant_violation: Option<InvariantViolation>,
    /// What the protocol's own monitor measured.
    pub protocol_metrics: ProtocolFigures,
    /// Every fault applied.
    pub faults: Vec<FaultRecord>,
    /// When each fault was in force, for timelines.
    pub fault_windows: Vec<FaultWindow>,
    /// Message rates and leadership over time.
    pub timeline: crate::timeline::Timelines,
    /// Expectations and their verdicts.
    pub expectations: Vec<ExpectationResult>,
}

impl Report {
    /// Builds the report of a finished run and judges its expectations.
    pub fn build(ctx: RunContext, out: &RunOutput<Tracker>) -> Report {
        let ops = operation_stats(&out.history);
        let live: Vec<bool> = out.final_digests.iter().map(Option::is_some).collect();
        let writes = crate::writes::WriteIndex::new(&out.history, &out.observer.visibility);
        // Final states are judged where the protocol reports them and answers reads from the
        // replica a client reached; a linearizable protocol's durability is the
        // linearizability check's to judge (a lagging replica's state is not its answer).
        let judge_states =
            ctx.protocol.reads_state && ctx.protocol.consistency != syncsim_sim::Consistency::Linearizable;
        let unheld =
            judge_states.then(|| crate::writes::unheld(&writes, ctx.protocol.datatype, &out.final_reads)).flatten();
        // When each node last joined the cluster (elastic clusters; zero for the first members),
        // and whether it ever was a member (spares that never joined are left out of tables).
        let mut joined = vec![syncsim_sim::SimTime::ZERO; live.len()];
        let mut ever_member: Vec<bool> = (0..live.len()).map(|i| i + (ctx.spares as usize) < live.len()).collect();
        for (t, f) in &out.faults {
            if let syncsim_sim::fault::Fault::Join(k) = f {
                joined[k.index()] = *t;
                ever_member[k.index()] = true;
            }
        }
        let visibility = out.observer.visibility.finish(
            &out.history,
            &live,
            ctx.protocol.round,
            unheld.as_ref(),
            out.placement.as_ref(),
            &joined,
        );
        let attempted = ops.counts.get("all").map_or(0, |c| c.attempted);
        let per_op = |x: u64| {
            if attempted == 0 { 0.0 } else { x as f64 / attempted as f64 }
        };
        let name = |n: &NodeId| ctx.node_names.get(n.index()).cloned().unwrap_or_else(|| n.to_string());
        let linearizability = (ctx.protocol.consistency == syncsim_sim::Consistency::Linearizable)
            .then(|| crate::lin::check_history(&out.history, ctx.lincheck_budget))
            .flatten();
        let node = |i: usize| name(&NodeId(i as u32));
        let tracker = &out.observer.visibility;
        let sec = (ctx.protocol.consistency == syncsim_sim::Consistency::StrongEventual)
            .then(|| crate::sec::check(&writes, ctx.protocol.datatype, &out.final_reads, node));
        let mut byzantine = vec![false; live.len()];
        for (_, f) in &out.faults {
            if let syncsim_sim::fault::Fault::Byzantine { node, .. } = f {
                byzantine[node.index()] = true;
            }
        }
        let audit = crate::audit::check(&out.final_ledgers, &byzantine, node);
        let eventual = matches!(
            ctx.protocol.consistency,
            syncsim_sim::Consistency::StrongEventual | syncsim_sim::Consistency::Eventual
        );
        // Staleness judges a read by what the replica the client reached held: meaningless
        // where that node only coordinates (a partitioned store), whose reads t-visibility
        // judges by value instead.
        let staleness =
            (eventual && out.placement.is_none()).then(|| crate::staleness::check(&out.history, tracker, node));
        let registers = ctx.protocol.datatype == syncsim_sim::Datatype::KeyValue
            && ctx.protocol.ops.contains(&syncsim_sim::OpKind::Put)
            && ctx.protocol.ops.contains(&syncsim_sim::OpKind::Get);
        let t_visibility = (eventual && registers).then(|| crate::pbs::check(&out.history));
        let served_locally =
            ctx.protocol.consistency != syncsim_sim::Consistency::Linearizable && out.placement.is_none();
        let session = crate::session::check(&writes, served_locally, node);
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            syncsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: ScenarioRef { name: ctx.name, description: ctx.description, file: ctx.file },
            seed: out.seed,
            trace_hash: format!("{:016x}", out.trace_hash),
            outcome: Verdict::Pass,
            exit_code: 0,
            failures: vec![],
            reproduce: ctx.reproduce,
            protocol: ctx.protocol,
            parameters: ctx.parameters,
            run: RunFigures {
                duration_ns: out.settle_start.0,
                settle_ns: out.end.0.saturating_sub(out.settle_start.0),
                planned_end_ns: out.planned_end.0,
                end_ns: out.end.0,
                events: out.events,
                late_replies: out.late_replies,
                aborted: out.aborted.clone(),
            },
            operations: ops.counts,
            latency: ops.latency,
            traffic: TrafficFigures::of(&out.traffic, &ever_member, |i| name(&NodeId(i as u32))),
            network: NetworkFigures {
                messages_per_op: per_op(out.net.sent),
                bytes_per_op: per_op(out.net.bytes_sent),
                bytes_per_write: if visibility.writes == 0 {
                    0.0
                } else {
                    out.net.bytes_sent as f64 / visibility.writes as f64
                },
                stats: out.net.clone(),
            },
            visibility,
            convergence: out.observer.convergence.finish(),
            linearizability,
            sec,
            audit,
            staleness,
            t_visibility,
            session,
            invariant_violation: out.violation.as_ref().map(|v| InvariantViolation {
                time_ns: v.time.0,
                node: name(&v.node),
                message: v.message.clone(),
                event: v.event.clone(),
            }),
            protocol_metrics: ProtocolFigures {
                numbers: {
                    let mut numbers = out.protocol_metrics.numbers.clone();
                    if let Some(&entries) = numbers.get("committed_entries").filter(|&&e| e > 0.0) {
                        numbers.insert("messages_per_committed_entry".into(), out.net.sent as f64 / entries);
                    }
                    numbers
                },
                durations: out
                    .protocol_metrics
                    .durations
                    .iter()
                    .map(|(k, v)| (k.clone(), DurationFigures::of(v)))
                    .collect(),
            },
            faults: out
                .faults
                .iter()
                .map(|(t, f)| FaultRecord { at_ns: t.0, fault: f.describe(|n| name(&n)) })
                .collect(),
            fault_windows: fault_windows(&out.faults, out.end, |f| f.describe(|n| name(&n))),
            timeline: {
                let mut t = out.observer.timeline.finish(out.end.0, node);
                let elastic = ctx.spares > 0
                    || out.faults.iter().any(|(_, f)| {
                        matches!(f, syncsim_sim::fault::Fault::Join(_) | syncsim_sim::fault::Fault::Leave(_))
                    });
                if elastic {
                    let n = live.len();
                    t.cluster = crate::timeline::cluster_sizes(n, n - ctx.spares as usize, &out.faults);
                }
                t
            },
            expectations: vec![],
        };
        report.expectations = ctx.expectations.into_iter().map(|e| report.judge(e)).collect();
        report.decide();
        report
    }

    fn judge(&self, expectation: Expectation) -> ExpectationResult {
        match self.metric(&expectation.metric) {
            Ok(actual) => {
                let passed = expectation.holds(actual);
                ExpectationResult { expectation, actual: Some(actual), note: None, passed }
            }
            Err(note) => ExpectationResult { expectation, actual: None, note: Some(note), passed: false },
        }
    }

    fn decide(&mut self) {
        let mut outcome = Verdict::Pass;
        if let Some(reason) = &self.run.aborted {
            self.failures.push(format!("the run stopped early: {reason}"));
            outcome = Verdict::LivenessFailure;
        }
        if let Some(v) = &self.invariant_violation {
            self.failures.push(format!(
                "invariant broken at {}: {} (while handling {})",
                format_ns(v.time_ns),
                v.message,
                v.event
            ));
            outcome = Verdict::SafetyViolation;
        }
        if let Some(lin) = &self.linearizability
            && lin.verdict == LinVerdict::NotLinearizable
        {
            let what = lin
                .violation
                .as_ref()
                .map_or(String::new(), |v| format!(": key {} cannot place {}", v.partition, v.stuck));
            self.failures.push(format!("the history is not linearizable{what}"));
            outcome = Verdict::SafetyViolation;
        }
        if let Some(finding) = self.audit.as_ref().and_then(|a| a.describe()) {
            self.failures.push(finding);
            outcome = Verdict::SafetyViolation;
        }
        if let Some(sec) = self.sec.as_ref().filter(|s| !s.valid) {
            let first = sec
                .violations
                .first()
                .map_or(String::new(), |v| format!(": key {} at {}: {} ({:?})", v.key, v.node, v.message, v.finding));
            self.failures
                .push(format!("{} replica state(s) are not what the history implies{first}", sec.violation_count));
            outcome = Verdict::SafetyViolation;
        }
        for r in self.expectations.iter().filter(|r| !r.passed) {
            let measured = match (r.actual, &r.note) {
                (Some(a), _) => format!("measured {}", format_value(r.expectation.kind(), a)),
                (None, Some(note)) => note.clone(),
                (None, None) => "not measured".into(),
            };
            self.failures.push(format!("{} ({measured})", r.expectation));
            // A safety property that could not be decided (e.g. the linearizability check ran
            // out of budget) is not a violation: the run failed to show it, not to keep it.
            let violated = r.expectation.class == Class::Safety && r.actual.is_some();
            outcome = if violated || outcome == Verdict::SafetyViolation {
                Verdict::SafetyViolation
            } else {
                Verdict::LivenessFailure
            };
        }
        self.outcome = outcome;
        self.exit_code = outcome.exit_code();
    }

    /// When the run's first failure with a time happened (ns): the broken invariant, the
    /// linearizability violation's impossible operation (its return, or its call when it never
    /// returned), or the early stop. `None` when the run passed or its failures have no
    /// instant (a final state that diverged).
    pub fn failure_moment_ns(&self) -> Option<u64> {
        let invariant = self.invariant_violation.as_ref().map(|v| v.time_ns);
        let lin = self
            .linearizability
            .as_ref()
            .and_then(|l| l.violation.as_ref())
            .and_then(|v| v.operations.iter().find(|o| o.stuck))
            .map(|o| o.ret.unwrap_or(o.call));
        let stopped = self.run.aborted.as_ref().map(|_| self.run.end_ns);
        [invariant, lin, stopped].into_iter().flatten().min()
    }

    /// Whether the run ended before its duration and settle phase were through (a broken
    /// invariant or an abort stops it).
    pub fn stopped_early(&self) -> bool {
        self.run.end_ns < self.run.planned_end_ns
    }

    fn sec_check(&self) -> Result<&SecCheck, String> {
        self.sec.as_ref().ok_or_else(|| "the protocol does not claim strong eventual consistency".to_string())
    }

    fn t_visibility_check(&self) -> Result<&crate::pbs::TVisibility, String> {
        let t = self
            .t_visibility
            .as_ref()
            .ok_or_else(|| "read consistency is judged only for eventually consistent register stores".to_string())?;
        if t.reads == 0 {
            return Err("no read followed a completed write to its key".into());
        }
        Ok(t)
    }

    fn staleness_check(&self) -> Result<&StalenessStats, String> {
        let s = self
            .staleness
            .as_ref()
            .ok_or_else(|| "reads are judged for staleness only for eventually consistent protocols".to_string())?;
        if s.reads == 0 {
            return Err("no read succeeded".into());
        }
        Ok(s)
    }

    /// Every metric this run measured, by the names expectations use: what sweeps aggregate
    /// across seeds and baselines compare.
    pub fn figures(&self) -> BTreeMap<String, f64> {
        let mut names: Vec<String> = vec!["availability".into()];
        names.extend(self.operations.keys().filter(|op| *op != "all").map(|op| format!("availability.{op}")));
        for op in self.latency.keys() {
            names.extend(["p50", "p90", "p99", "p99.9", "max", "mean"].map(|p| format!("latency.{op}.{p}")));
        }
        names.extend(crate::expect::fixed_metrics());
        names.extend(self.protocol_metrics.numbers.keys().map(|n| format!("protocol.{n}")));
        for n in self.protocol_metrics.durations.keys() {
            names.extend(["p50", "p90", "p99", "max", "mean"].map(|p| format!("protocol.{n}.{p}")));
        }
        names.into_iter().filter_map(|n| self.metric(&n).ok().map(|v| (n, v))).collect()
    }

    /// The value of a metric in its unit (nanoseconds, fraction, number, 1/0), or why it
    /// cannot be measured in this run.
    pub fn metric(&self, name: &str) -> Result<f64, String> {
        let parts: Vec<&str> = name.splitn(3, '.').collect();
        let op_counts = |op: &str| self.operations.get(op).ok_or_else(|| format!("no {op} operations were issued"));
        let v = &self.visibility;
        let need_writes = || {
            if v.writes == 0 { Err("no writes were made".to_string()) } else { Ok(()) }
        };
        Ok(match parts.as_slice() {
            ["availability"] => op_counts("all")?.availability,
            ["availability", op] => op_counts(op)?.availability,
            ["latency", op, p] => {
                let l = self
                    .latency
                    .get(*op)
                    .filter(|l| l.count > 0)
                    .ok_or_else(|| format!("no {op} operation succeeded"))?;
                (match *p {
                    "p50" => l.p50_ns,
                    "p90" => l.p90_ns,
                    "p99" => l.p99_ns,
                    "p99.9" => l.p999_ns,
                    "max" => l.max_ns,
                    _ => l.mean_ns,
                }) as f64
            }
            ["converged"] => f64::from(u8::from(self.convergence.converged)),
            ["converged_within"] => self.convergence.after_settle_ns.ok_or_else(|| {
                format!(
                    "the replicas did not converge ({} distinct states at the end)",
                    self.convergence.distinct_states_at_end
                )
            })? as f64,
            ["visibility", "within", d] => {
                need_writes()?;
                let d: SimDuration = d.parse().map_err(|e| format!("`{name}`: {e}"))?;
                v.fraction_within(d)
            }
            ["sec"] => f64::from(u8::from(self.sec_check()?.valid)),
            ["sec", "converged"] => f64::from(u8::from(self.sec_check()?.converged)),
            ["sec", "stranded"] => self.sec_check()?.stranded as f64,
            ["session", g] | ["session", g, "share"] => {
                let g = Guarantee::ALL
                    .into_iter()
                    .find(|x| x.name() == *g)
                    .ok_or_else(|| format!("unknown metric `{name}`"))?;
                let judged = self.session.judged(g);
                if judged == 0 {
                    return Err(format!("no operation could be judged for {}", g.words()));
                }
                let bad = self.session.violations(g) as f64;
                if parts.len() == 3 { bad / judged as f64 } else { bad }
            }
            ["reads", "stale"] => self.staleness_check()?.fraction_stale,
            ["reads", "consistent"] => self.t_visibility_check()?.fraction,
            ["reads", "consistent", at] if at.starts_with("at.") => {
                let d: SimDuration = at["at.".len()..].parse().map_err(|e| format!("`{name}`: {e}"))?;
                self.t_visibility_check()?
                    .at(d.as_nanos())
                    .ok_or_else(|| format!("no read was called {d} after a commit (or in its range of the curve)"))?
            }
            ["reads", "missed", "max"] => self.staleness_check()?.missed_max as f64,
            ["visibility", "everywhere"] => {
                need_writes()?;
                v.fraction_everywhere
            }
            ["visibility", "residue"] => {
                need_writes()?;
                v.residue
            }
            ["visibility", p] => {
                need_writes()?;
                if v.visible_everywhere == 0 {
                    return Err("no write reached every live replica".into());
                }
                (match *p {
                    "p50" => v.all_p50_ns,
                    "p99" => v.all_p99_ns,
                    _ => v.all_max_ns,
                }) as f64
            }
            ["rounds", p] => {
                need_writes()?;
                match *p {
                    "p50" => v.rounds_p50 as f64,
                    "p99" => v.rounds_p99 as f64,
                    "max" => v.rounds_max as f64,
                    _ => v.rounds_mean,
                }
            }
            ["writes", "lost"] => v.lost as f64,
            ["audit", "consistent"] => match &self.audit {
                None => return Err("the protocol keeps no log to audit".into()),
                Some(a) => f64::from(u8::from(a.describe().is_none())),
            },
            ["linearizable"] => match &self.linearizability {
                None if self.protocol.consistency == syncsim_sim::Consistency::Linearizable => {
                    return Err("the history holds operations no linearizability model covers (decr, add, remove, insert or delete)".into());
                }
                None => return Err("the protocol does not claim linearizability, so it was not checked".into()),
                Some(l) => match l.verdict {
                    LinVerdict::Linearizable => 1.0,
                    LinVerdict::NotLinearizable => 0.0,
                    LinVerdict::Unknown => {
                        return Err(format!(
                            "the check could not decide: {}",
                            l.unknown_reason.clone().unwrap_or_default()
                        ));
                    }
                },
            },
            ["protocol", name] => {
                *self.protocol_metrics.numbers.get(*name).ok_or_else(|| format!("the protocol measures no `{name}`"))?
            }
            ["protocol", name, p] => {
                let d = self
                    .protocol_metrics
                    .durations
                    .get(*name)
                    .filter(|d| d.count > 0)
                    .ok_or_else(|| format!("the protocol measured no `{name}`"))?;
                (match *p {
                    "p50" => d.p50_ns,
                    "p90" => d.p90_ns,
                    "p99" => d.p99_ns,
                    "max" => d.max_ns,
                    _ => d.mean_ns,
                }) as f64
            }
            ["messages_per_op"] => self.network.messages_per_op,
            ["bytes_per_op"] => self.network.bytes_per_op,
            ["bytes_per_write"] => self.network.bytes_per_write,
            _ => return Err(format!("unknown metric `{name}`")),
        })
    }
}

/// True for metrics where more is better (availability, verdicts held as 1/0, the share of
/// writes visible everywhere); for the rest (latency, bytes, lag, counts of lost writes...)
/// less is better. Protocol metrics count as less-is-better.
pub fn higher_is_better(metric: &str) -> bool {
    metric == "availability"
        || metric.starts_with("availability.")
        || matches!(
            metric,
            "converged" | "sec" | "sec.converged" | "linearizable" | "audit.consistent" | "visibility.everywhere"
        )
}

/// A metric value in words: `12.345ms`, `99.50%`, `3`.
pub fn format_value(kind: Kind, v: f64) -> String {
    match kind {
        Kind::Duration => format_ns(v as u64),
        Kind::Fraction => format!("{:.2}%", v * 100.0),
        Kind::Number => {
            if v.fract() == 0.0 {
                format!("{v}")
            } else {
                format!("{v:.2}")
            }
        }
        Kind::Bool => (v != 0.0).to_string(),
    }
}

/// Nanoseconds in the most readable unit: `850ns`, `12.3us`, `4.567ms`, `2.5s`.
pub fn format_ns(ns: u64) -> String {
    let d = SimDuration(ns);
    match ns {
        0..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => format!("{:.1}us", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.3}ms", d.as_millis_f64()),
        _ => format!("{:.3}s", d.as_secs_f64()),
    }
}
