//! `syncsim hunt`: every planted bug of the catalogue, one at a time, against the shipped
//! scenario that should find it; the verdicts are syncsim's bug-finding power, measured.
//!
//! For each bug: the scenario with the bug planted (its `protocol.bug` set) runs over the
//! seeds; the report says whether any seed failed, which check fired first, the first failing
//! seed, the share of seeds failing, and what shrinking made of the first failure (faults,
//! duration and nodes before and after). The same scenarios run without the bug as the
//! control: a failing control is a false alarm. Only a build with the `planted-bugs` feature
//! carries the bugs (tests do; `cargo run --features planted-bugs -- hunt` for a release run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_yaml::Value;
use syncsim_reports::Verdict;

use crate::runner;
use crate::scenario::Scenario;
use crate::shrink::{self, FailureKind};
use crate::sweep::{self, SeedRecord};

/// One planted bug and where it should be found.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Bug {
    /// Its name, the value of the protocol's `bug` parameter.
    pub name: &'static str,
    /// The protocol kind that carries it.
    pub family: &'static str,
    /// The class of mistake, in a few words.
    pub class: &'static str,
    /// Where the correct rule is stated, or where the bug was seen in a real system.
    pub reference: &'static str,
    /// The shipped scenario that should catch it, relative to the repository.
    pub scenario: &'static str,
    /// The scenario's variant, for a scenario with variants.
    pub variant: Option<&'static str>,
}

/// The catalogue: every planted correctness bug. Gossip's `slowdown` (a performance
/// regression, caught by `syncsim check` against a baseline: tests/check.rs) and flood's
/// `leak` (nondeterminism, caught by `--check-determinism`: tests/sweep.rs) are planted too,
/// but no scenario verdict can catch them, so they are not hunted here.
pub const CATALOGUE: &[Bug] = &[
    Bug {
        name: "vote-twice",
        family: "raft",
        class: "election: two votes in one term",
        reference: "Raft paper §5.2 and Figure 2 (RequestVote: votedFor is null or candidateId)",
        scenario: "scenarios/raft-leader-partition.yaml",
        variant: None,
    },
    Bug {
        name: "minority-commit",
        family: "raft",
        class: "replication: commit without a majority",
        reference: "Raft paper §5.3 (an entry is committed once a majority stores it)",
        scenario: "scenarios/raft-leader-partition.yaml",
        variant: None,
    },
    Bug {
        name: "stale-snapshot",
        family: "raft",
        class: "snapshots: an older snapshot installed over newer state",
        reference: "Raft paper §7 (InstallSnapshot: keep the log and state past the snapshot)",
        scenario: "scenarios/raft-pause-crash.yaml",
        variant: None,
    },
    Bug {
        name: "commit-old-term",
        family: "raft",
        class: "replication: an earlier term's entry committed by counting replicas",
        reference: "Raft paper §5.4.2 and Figure 8",
        scenario: "scenarios/raft-figure8.yaml",
        variant: None,
    },
    Bug {
        name: "forget-vote",
        family: "raft",
        class: "durability: the vote not persisted across a crash",
        reference: "Raft paper Figure 2 (currentTerm and votedFor are persistent state)",
        scenario: "scenarios/raft-figure8.yaml",
        variant: None,
    },
    Bug {
        name: "vote-any-log",
        family: "raft",
        class: "election: a vote without the log up-to-date check",
        reference: "Raft paper §5.4.1 (election restriction)",
        scenario: "scenarios/raft-figure8.yaml",
        variant: None,
    },
    Bug {
        name: "read-without-quorum",
        family: "raft",
        class: "reads: a deposed leader serves reads locally",
        reference: "Raft paper §8; Kingsbury, \"Jepsen: etcd and Consul\" (2014): stale reads",
        scenario: "scenarios/raft-leader-partition.yaml",
        variant: None,
    },
    Bug {
        name: "counter-add",
        family: "crdt",
        class: "merge: counts added instead of joined (not idempotent)",
        reference: "Shapiro et al., \"A comprehensive study of CRDTs\" (2011), G-Counter: merge is the max per replica",
        scenario: "scenarios/crdt-counter.yaml",
        variant: None,
    },
    Bug {
        name: "lww-stale-clock",
        family: "crdt",
        class: "clocks: a join that does not advance the hybrid logical clock",
        reference: "Kulkarni et al., \"Logical physical clocks\" (2014): receive updates the clock",
        scenario: "scenarios/crdt-lww-clocks.yaml",
        variant: None,
    },
    Bug {
        name: "rga-tombstone-positions",
        family: "crdt",
        class: "sequence: insert positions counted over tombstones",
        reference: "Attiya et al., \"Specification and complexity of collaborative text editing\" (PODC 2016): the strong list specification",
        scenario: "scenarios/crdt-sequence.yaml",
        variant: None,
    },
    Bug {
        name: "delta-early-ack",
        family: "crdt",
        class: "delta sync: a delta counted acknowledged when sent",
        reference: "Almeida, Shoker and Baquero, \"Delta state replicated data types\" (2018), Algorithm 2: deltas kept until acknowledged",
        scenario: "scenarios/crdt-partition.yaml",
        variant: None,
    },
    Bug {
        name: "lww-tie",
        family: "crdt",
        class: "merge: an LWW tie broken by arrival order, not by replica id",
        reference: "Shapiro et al. (2011), LWW-Register: timestamps totally ordered by (clock, replica)",
        scenario: "scenarios/crdt-lww-clocks.yaml",
        variant: None,
    },
    Bug {
        name: "volatile-writes",
        family: "gossip",
        class: "durability: acknowledged writes not persisted before the reply",
        reference: "Kingsbury, \"Jepsen: Redis\" (2013) and \"Jepsen: MongoDB\" (2013): acknowledged writes lost",
        scenario: "scenarios/gossip-crash-churn.yaml",
        variant: None,
    },
    Bug {
        name: "stale-clock",
        family: "gossip",
        class: "clocks: a merge that does not advance the Lamport clock",
        reference: "Lamport, \"Time, clocks, and the ordering of events\" (1978), rule IR2",
        scenario: "scenarios/quickstart.yaml",
        variant: None,
    },
    Bug {
        name: "skip-handoff",
        family: "gossip",
        class: "membership: a node that leaves without handing off what only it holds",
        reference: "Cassandra's decommission streams a leaving node's ranges before it goes (and hinted handoff, DeCandia et al., SOSP 2007)",
        scenario: "scenarios/elastic-gossip.yaml",
        variant: None,
    },
    Bug {
        name: "handoff-not-forwarded",
        family: "crdt",
        class: "membership: a leaver's handed-off state kept by its two receivers, not passed on",
        reference: "Almeida et al., \"Delta state replicated data types\" (2018): a delta-interval must reach every replica",
        scenario: "scenarios/elastic-crdt.yaml",
        variant: None,
    },
    Bug {
        name: "stale-incarnation",
        family: "gossip",
        class: "membership: a restarted member that does not refute its old death notice",
        reference: "Das, Gupta and Motivala, SWIM (DSN 2002), §4.2: a member refutes with a higher incarnation",
        scenario: "scenarios/swim-detection.yaml",
        variant: None,
    },
    Bug {
        name: "concurrent-config-changes",
        family: "raft",
        class: "membership: a configuration change started while another is uncommitted",
        reference: "Ongaro's dissertation (2014), §4.1: one server at a time, the next only once the last has committed",
        scenario: "scenarios/elastic-raft.yaml",
        variant: None,
    },
    Bug {
        name: "weak-quorum",
        family: "pbft",
        class: "byzantine quorums: f + 1 matching votes taken for a quorum of 2f + 1",
        reference: "Castro and Liskov, PBFT (OSDI 1999), §4.2: prepared and committed need 2f + 1 so that any two quorums share an honest replica",
        scenario: "scenarios/byzantine-equivocation.yaml",
        variant: Some("pbft"),
    },
    Bug {
        name: "first-reply",
        family: "dynamo",
        class: "quorums: a read answered before its read quorum replied",
        reference: "Gifford, \"Weighted voting for replicated data\" (1979): R + W > N makes every read quorum meet every write quorum",
        scenario: "scenarios/dynamo-strict.yaml",
        variant: None,
    },
    Bug {
        name: "drop-hints",
        family: "dynamo",
        class: "sloppy quorums: a stand-in acknowledges a hinted write it never hands over",
        reference: "DeCandia et al., \"Dynamo\" (SOSP 2007), section 4.6: hinted handoff",
        scenario: "scenarios/dynamo-sloppy.yaml",
        variant: None,
    },
    Bug {
        name: "assume-exchanged",
        family: "anneal-sync",
        class: "scheduling: a view trusted before its evidence (sent taken for delivered)",
        reference: "Demers et al., \"Epidemic algorithms for replicated database maintenance\" (1987): anti-entropy repairs only what is compared",
        scenario: "scenarios/anneal-scheduler-down.yaml",
        variant: None,
    },
];

/// What the hunt was asked to do.
#[derive(Clone, Debug)]
pub struct HuntArgs {
    /// The repository root, where the catalogue's scenario paths start.
    pub root: PathBuf,
    /// The bugs to hunt (default: the whole catalogue).
    pub bugs: Vec<Bug>,
    /// The seeds.
    pub seeds: std::ops::Range<u64>,
    /// Threads (default: every core).
    pub jobs: Option<usize>,
    /// Candidate runs shrinking may try per bug; 0 skips shrinking.
    pub shrink_runs: u32,
    /// Run the scenarios without the bugs too.
    pub control: bool,
    /// Where the planted scenario files are written (their reproducers name them).
    pub out: PathBuf,
}

/// What shrinking made of a bug's first failure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShrinkSize {
    /// The seed the shrunk scenario fails under.
    pub seed: u64,
    /// Faults in the run (scripted, and drawn at random), before and after.
    pub faults: (usize, usize),
    /// The duration before and after, in seconds.
    pub duration_s: (f64, f64),
    /// Nodes before and after.
    pub nodes: (usize, usize),
    /// Candidate runs tried.
    pub runs: u32,
    /// The shrunk scenario, written beside the report.
    pub file: String,
}

impl ShrinkSize {
    /// The bar for a useful reduction: at most 3 faults and under a quarter of the
    /// original duration.
    pub fn small(&self) -> bool {
        self.faults.1 <= 3 && self.duration_s.1 < self.duration_s.0 / 4.0
    }
}

/// One bug's hunt.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The bug.
    pub bug: Bug,
    /// Seeds run.
    pub seeds: usize,
    /// Seeds that failed.
    pub failing: usize,
    /// The first failing seed and how it failed.
    pub first: Option<(u64, FailureKind, String)>,
    /// What shrinking made of the first failure (when asked for and it could).
    pub shrunk: Option<ShrinkSize>,
    /// Why shrinking could not, when it was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrink_error: Option<String>,
}

impl Finding {
    /// True if some seed failed.
    pub fn caught(&self) -> bool {
        self.failing > 0
    }
}

/// A scenario run without any bug.
#[derive(Clone, Debug, Serialize)]
pub struct Control {
    /// The scenario (and variant).
    pub scenario: String,
    /// Seeds run.
    pub seeds: usize,
    /// Seeds that failed: false alarms, with their failures.
    pub failing: Vec<(u64, Vec<String>)>,
}

/// The whole hunt.
#[derive(Clone, Debug, Serialize)]
pub struct HuntReport {
    /// The seeds, `A..B`.
    pub seeds: (u64, u64),
    /// One finding per bug, in catalogue order.
    pub findings: Vec<Finding>,
    /// The scenarios without bugs, when run.
    pub controls: Vec<Control>,
}

impl HuntReport {
    /// Pass when every bug was caught and no control failed; otherwise exit 1, as a safety
    /// failure would (a missed bug or a false alarm is a failure of the checkers).
    pub fn exit(&self) -> syncsim_reports::Exit {
        let missed = self.findings.iter().any(|f| !f.caught());
        let wolf = self.controls.iter().any(|c| !c.failing.is_empty());
        if missed || wolf { syncsim_reports::Exit::Safety } else { syncsim_reports::Exit::Pass }
    }
}

/// Looks a bug up by name.
pub fn bug(name: &str) -> Option<Bug> {
    CATALOGUE.iter().copied().find(|b| b.name == name)
}

/// `text` (a scenario file) with `bug` set in its protocol, and in `variant`'s protocol when
/// the variant has its own.
pub fn plant(text: &str, file: &str, bug: &str, variant: Option<&str>) -> Result<String, String> {
    let mut doc: Value = serde_yaml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let set = |protocol: &mut Value| -> Result<(), String> {
        let map = protocol.as_mapping_mut().ok_or_else(|| format!("{file}: `protocol` is not a map"))?;
        map.insert(Value::from("bug"), Value::from(bug));
        Ok(())
    };
    set(doc.get_mut("protocol").ok_or_else(|| format!("{file}: no `protocol`"))?)?;
    if let Some(name) = variant {
        let variants = doc.get_mut("variants").and_then(Value::as_sequence_mut);
        let v = variants
            .and_then(|vs| vs.iter_mut().find(|v| v.get("name").and_then(Value::as_str) == Some(name)))
            .ok_or_else(|| format!("{file}: no variant `{name}`"))?;
        if let Some(p) = v.get_mut("protocol") {
            set(p)?;
        }
    }
    serde_yaml::to_string(&doc).map_err(|e| e.to_string())
}

/// Loads `path` (and picks `variant`) from `text`, naming it `path` in reproducers.
fn load(text: &str, path: &Path, variant: Option<&str>) -> Result<Scenario, String> {
    let file = crate::scenario::ScenarioFile::parse(text, &path.display().to_string()).map_err(|e| e.to_string())?;
    file.pick(variant).map_err(|e| e.to_string())
}

/// The scenario (and variant) a bug is hunted in, as one name.
pub fn scenario_name(bug: &Bug) -> String {
    match bug.variant {
        Some(v) => format!("{} --variant {v}", bug.scenario),
        None => bug.scenario.to_string(),
    }
}

/// Hunts one bug: plants it, runs the seeds, shrinks the first failure.
pub fn hunt_one(args: &HuntArgs, bug: &Bug, done: &(dyn Fn(&SeedRecord) + Sync)) -> Result<Finding, String> {
    let source = args.root.join(bug.scenario);
    let text = std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let planted = plant(&text, bug.scenario, bug.name, bug.variant)?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let path = args.out.join(format!("{}.yaml", bug.name));
    let header = format!("# {} planted into {} by `syncsim hunt`\n", bug.name, scenario_name(bug));
    std::fs::write(&path, header + &planted).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario = load(&planted, &path, bug.variant)?;
    let seeds: Vec<u64> = args.seeds.clone().collect();
    let records = sweep::run_seeds(&scenario, &seeds, args.jobs, false, done)?;
    let failing: Vec<&SeedRecord> = records.iter().filter(|r| r.outcome != Verdict::Pass).collect();
    let mut finding = Finding {
        bug: *bug,
        seeds: records.len(),
        failing: failing.len(),
        first: None,
        shrunk: None,
        shrink_error: None,
    };
    let Some(first) = failing.first() else { return Ok(finding) };
    let run = runner::run(&scenario, first.seed, false).map_err(|e| format!("seed {}: {e}", first.seed))?;
    let kind =
        FailureKind::of(&run.report).ok_or_else(|| format!("seed {} failed once and passed again", first.seed))?;
    finding.first = Some((first.seed, kind, first.failures.first().cloned().unwrap_or_default()));
    if args.shrink_runs > 0 {
        // The rarer the failure, the more seeds a perturbing step needs to keep it: enough
        // that about three of them would fail at the share measured.
        let share = failing.len() as f64 / records.len() as f64;
        let reseeds = ((3.0 / share).ceil() as u64).clamp(shrink::RESEEDS, 63);
        match shrink::shrink(&scenario, first.seed, args.shrink_runs, reseeds) {
            Ok(s) => {
                let file = args.out.join(format!("{}.shrunk.yaml", bug.name));
                std::fs::write(&file, &s.yaml).map_err(|e| format!("{}: {e}", file.display()))?;
                finding.shrunk = Some(ShrinkSize {
                    seed: s.seed.1,
                    faults: s.faults,
                    duration_s: (s.duration.0.as_secs_f64(), s.duration.1.as_secs_f64()),
                    nodes: s.nodes,
                    runs: s.runs,
                    file: file.display().to_string(),
                });
            }
            Err(e) => finding.shrink_error = Some(e),
        }
    }
    Ok(finding)
}

/// Runs the scenarios of `bugs` without bugs over the seeds, each scenario once.
pub fn controls(args: &HuntArgs, done: &(dyn Fn(&SeedRecord) + Sync)) -> Result<Vec<Control>, String> {
    let mut distinct: BTreeMap<String, (&str, Option<&str>)> = BTreeMap::new();
    for b in &args.bugs {
        distinct.entry(scenario_name(b)).or_insert((b.scenario, b.variant));
    }
    let seeds: Vec<u64> = args.seeds.clone().collect();
    distinct
        .into_iter()
        .map(|(name, (file, variant))| {
            let path = args.root.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let scenario = load(&text, Path::new(file), variant)?;
            let records = sweep::run_seeds(&scenario, &seeds, args.jobs, false, done)?;
            let failing =
                records.into_iter().filter(|r| r.outcome != Verdict::Pass).map(|r| (r.seed, r.failures)).collect();
            Ok(Control { scenario: name, seeds: seeds.len(), failing })
        })
        .collect()
}

/// The report as Markdown: one row per bug, then the controls.
pub fn markdown(r: &HuntReport) -> String {
    let mut out = String::new();
    let caught = r.findings.iter().filter(|f| f.caught()).count();
    out += &format!(
        "# syncsim hunt: {caught} of {} planted bugs caught (seeds {}..{})\n\n",
        r.findings.len(),
        r.seeds.0,
        r.seeds.1
    );
    out += "| bug | family | class | scenario | caught | check | first failing seed | seeds failing | shrunk: faults | duration | nodes |\n";
    out += "| --- | --- | --- | --- | --- | --- | ---: | ---: | --- | --- | --- |\n";
    for f in &r.findings {
        let b = &f.bug;
        let (check, first) = match &f.first {
            Some((seed, kind, _)) => (format!("{} ({})", kind.check, kind.verdict.words()), seed.to_string()),
            None => ("—".into(), "—".into()),
        };
        let (faults, duration, nodes) = match (&f.shrunk, &f.shrink_error) {
            (Some(s), _) => (
                format!("{} → {}", s.faults.0, s.faults.1),
                format!("{}s → {}s", s.duration_s.0, s.duration_s.1),
                format!("{} → {}", s.nodes.0, s.nodes.1),
            ),
            (None, Some(e)) => (format!("not shrunk: {e}"), String::new(), String::new()),
            (None, None) => ("—".into(), "—".into(), "—".into()),
        };
        out += &format!(
            "| {} | {} | {} | {} | {} | {check} | {first} | {} of {} ({:.1}%) | {faults} | {duration} | {nodes} |\n",
            b.name,
            b.family,
            b.class,
            scenario_name(b),
            if f.caught() { "yes" } else { "**no**" },
            f.failing,
            f.seeds,
            100.0 * f.failing as f64 / f.seeds.max(1) as f64,
        );
    }
    let shrunk: Vec<&ShrinkSize> = r.findings.iter().filter_map(|f| f.shrunk.as_ref()).collect();
    if !shrunk.is_empty() {
        let small = shrunk.iter().filter(|s| s.small()).count();
        out += &format!(
            "\nShrinking brought {small} of {} failures to at most 3 faults and under a quarter of the duration.\n",
            r.findings.iter().filter(|f| f.caught()).count()
        );
    }
    out += "\n## References\n\n";
    for f in &r.findings {
        out += &format!("- `{}`: {}\n", f.bug.name, f.bug.reference);
    }
    if !r.controls.is_empty() {
        out += "\n## Controls: the same scenarios without bugs\n\n";
        for c in &r.controls {
            if c.failing.is_empty() {
                out += &format!("- {}: {} of {} seeds passed\n", c.scenario, c.seeds, c.seeds);
            } else {
                out += &format!(
                    "- {}: **false alarm**, {} of {} seeds failed: {}\n",
                    c.scenario,
                    c.failing.len(),
                    c.seeds,
                    c.failing
                        .iter()
                        .take(5)
                        .map(|(s, f)| format!("seed {s}: {}", f.join("; ")))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
            }
        }
    }
    out
}
