//! `syncsim shrink`: the smallest scenario that still fails the same way under the same seed.
//!
//! Delta debugging (Zeller and Hildebrandt, "Simplifying and isolating failure-inducing
//! input", 2002) over the scripted faults, then the random fault kinds, the duration (which
//! is the workload's length) and the node count, repeated until no step helps. A candidate
//! counts only if it is a valid scenario and its run fails with the same verdict and the same
//! first failed check as the original. Every candidate is a real scenario file, so the result
//! is one that `syncsim run` reproduces.

use serde::Serialize;
use syncsim_reports::expect::Class;
use syncsim_reports::{Report, Verdict};
use syncsim_sim::SimDuration;

use crate::runner;
use crate::scenario::Scenario;
use crate::scenario::raw::{Nodes, RawDrift, RawFault, RawRandomFaults, RawScenario};
use syncsim_sim::fault::Fault;
use syncsim_sim::rng::Stream;
use syncsim_sim::{NodeId, SimTime};

/// How a run failed, for keeping a failure "the same" while shrinking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureKind {
    /// The verdict.
    pub verdict: Verdict,
    /// The first failed check: an expectation's metric, or `invariant` for a broken protocol
    /// invariant.
    pub check: String,
}

impl FailureKind {
    /// True if `report` fails with this verdict and this check among its failed ones.
    pub fn matches(&self, report: &Report) -> bool {
        report.outcome == self.verdict
            && match self.check.as_str() {
                "invariant" => report.invariant_violation.is_some(),
                "run" => true,
                check => report.expectations.iter().any(|e| !e.passed && e.expectation.metric == check),
            }
    }

    /// How `report` failed; `None` if it passed.
    pub fn of(report: &Report) -> Option<FailureKind> {
        if report.outcome == Verdict::Pass {
            return None;
        }
        // The check that decided the verdict: a broken invariant, else the first failed
        // expectation of the verdict's class, else the run itself (cut short, or a checker
        // with no expectation named).
        let class = if report.outcome == Verdict::SafetyViolation { Class::Safety } else { Class::Liveness };
        let check = if report.invariant_violation.is_some() {
            "invariant".to_string()
        } else {
            report
                .expectations
                .iter()
                .find(|e| !e.passed && e.expectation.class == class)
                .map_or("run".to_string(), |e| e.expectation.metric.clone())
        };
        Some(FailureKind { verdict: report.outcome, check })
    }
}

/// The result of shrinking.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The minimal scenario.
    pub raw: RawScenario,
    /// Its YAML text.
    pub yaml: String,
    /// The failure kept.
    pub kind: FailureKind,
    /// Runs tried.
    pub runs: u32,
    /// Scripted faults before and after.
    pub faults: (usize, usize),
}

/// The scenario as YAML, enums as single-key maps (the way scenario files write them).
pub fn to_yaml(raw: &RawScenario) -> String {
    let mut out = Vec::new();
    let mut ser = serde_yaml::Serializer::new(&mut out);
    serde_yaml::with::singleton_map_recursive::serialize(raw, &mut ser).expect("scenarios serialize");
    String::from_utf8(out).expect("YAML is UTF-8")
}

/// The linearizability budget of a candidate run, in MiB.
const CANDIDATE_LINCHECK_MB: usize = 64;

struct Tester<'a> {
    file: &'a str,
    seed: u64,
    kind: FailureKind,
    runs: u32,
    max_runs: u32,
}

impl Tester<'_> {
    /// True if `raw` is a valid scenario that fails like the original.
    fn fails(&mut self, raw: &RawScenario) -> bool {
        if self.runs >= self.max_runs {
            return false;
        }
        // A candidate's history can be one the linearizability search explores for minutes.
        // When linearizability is not the failure kept, candidates skip the search (a zero
        // budget: "unknown"); when it is, a smaller budget makes such a history "unknown",
        // which is not the same failure.
        let mut raw = raw.clone();
        raw.engine.lincheck_budget_mb = if matches!(self.kind.check.as_str(), "linearizable" | "run") {
            raw.engine.lincheck_budget_mb.min(CANDIDATE_LINCHECK_MB)
        } else {
            0
        };
        let Ok(scenario) = Scenario::parse(&to_yaml(&raw), self.file) else { return false };
        self.runs += 1;
        runner::run(&scenario, self.seed, false).ok().is_some_and(|r| self.kind.matches(&r.report))
    }
}

/// Shrinks `scenario`'s failure under `seed`, trying at most `max_runs` candidates.
pub fn shrink(scenario: &Scenario, seed: u64, max_runs: u32) -> Result<Shrunk, String> {
    let first = runner::run(scenario, seed, false).map_err(|e| e.to_string())?;
    let kind =
        FailureKind::of(&first.report).ok_or_else(|| format!("seed {seed} passes: there is no failure to shrink"))?;
    let mut raw = scenario.raw.clone();
    raw.variants.clear();
    raw.seed = seed;
    let before = raw.faults.len();
    let mut t = Tester { file: &scenario.file, seed, kind: kind.clone(), runs: 0, max_runs };
    if !t.fails(&raw) {
        return Err("the scenario, written back as YAML, does not fail the same way; cannot shrink it".into());
    }
    // Random faults become a script that delta debugging can cut, if the script fails alike.
    if let Some(scripted) = materialise(scenario, &raw, seed)
        && t.fails(&scripted)
    {
        raw = scripted;
    }
    loop {
        let start = (raw.faults.len(), to_yaml(&raw));
        // The fault script.
        let faults = ddmin(raw.faults.clone(), |subset| {
            let mut c = raw.clone();
            c.faults = subset.to_vec();
            t.fails(&c)
        });
        raw.faults = faults;
        // Random fault kinds, one at a time.
        for k in 0..6 {
            let mut c = raw.clone();
            let slot = match k {
                0 => &mut c.random_faults.crash,
                1 => &mut c.random_faults.partition,
                2 => &mut c.random_faults.pause,
                3 => &mut c.random_faults.clock,
                4 => &mut c.random_faults.loss,
                _ => &mut c.random_faults.disk,
            };
            if slot.take().is_some() && t.fails(&c) {
                raw = c;
            }
        }
        // The duration (the workload's length): halve while it still fails.
        while raw.duration > SimDuration::from_millis(200) {
            let mut c = raw.clone();
            c.duration = SimDuration(raw.duration.as_nanos() / 2);
            c.faults.retain(|f| f.at < c.duration);
            if !t.fails(&c) {
                break;
            }
            raw = c;
        }
        // The node count, one fewer at a time.
        while let Nodes::Count(n) = raw.nodes {
            if n <= 1 {
                break;
            }
            let mut c = raw.clone();
            c.nodes = Nodes::Count(n - 1);
            if !t.fails(&c) {
                break;
            }
            raw = c;
        }
        if (raw.faults.len(), to_yaml(&raw)) == start || t.runs >= t.max_runs {
            break;
        }
    }
    let yaml = to_yaml(&raw);
    Ok(Shrunk { faults: (before, raw.faults.len()), raw, yaml, kind, runs: t.runs })
}

/// `raw` with the faults its random kinds draw under `seed` written out as scripted fault
/// windows (`lasts:`), in the order the engine draws them, and no random kinds left: the same
/// faults in the same order, so the same run. `None` when there is nothing to write out.
pub fn materialise(scenario: &Scenario, raw: &RawScenario, seed: u64) -> Option<RawScenario> {
    if raw.random_faults == RawRandomFaults::default() {
        return None;
    }
    let sim = &scenario.sim;
    let until = SimTime::ZERO + sim.duration;
    let drawn = sim.random_faults.draw_windows(sim.nodes, until, &mut Stream::Faults.rng(seed), &sim.faults);
    let name = |n: &NodeId| scenario.node_names[n.index()].clone();
    let mut faults = raw.faults.clone();
    for w in drawn {
        let mut f = RawFault::at(SimDuration(w.start.as_nanos()));
        f.lasts = Some(w.end - w.start);
        match w.fault {
            Fault::Crash(n) => f.crash = Some(name(&n)),
            Fault::Pause(n) => f.pause = Some(name(&n)),
            Fault::FreezeDisk(n) => f.lose_disk = Some(name(&n)),
            Fault::Partition(groups) => {
                f.partition = Some(groups.iter().map(|g| g.iter().map(name).collect()).collect());
            }
            Fault::Drift { node, factor, .. } => f.drift = Some(RawDrift { node: name(&node), factor }),
            Fault::LossBurst { loss, .. } => f.loss_burst = Some(loss),
            other => unreachable!("random faults draw no {other:?}"),
        }
        faults.push(f);
    }
    let mut out = raw.clone();
    out.faults = faults;
    out.random_faults = RawRandomFaults::default();
    Some(out)
}

/// The smallest subset of `items` (1-minimal, or as found within the tester's budget) for
/// which `fails` holds, by delta debugging; `items` itself is assumed to fail.
pub fn ddmin<T: Clone>(mut items: Vec<T>, mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    if fails(&[]) {
        return Vec::new();
    }
    let mut n = 2usize;
    while items.len() >= 2 {
        let chunk = items.len().div_ceil(n);
        let parts: Vec<Vec<T>> = items.chunks(chunk).map(<[T]>::to_vec).collect();
        let mut next = None;
        for (i, part) in parts.iter().enumerate() {
            if fails(part) {
                next = Some((part.clone(), 2));
                break;
            }
            let complement: Vec<T> =
                parts.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, p)| p.iter().cloned()).collect();
            if parts.len() > 2 && fails(&complement) {
                next = Some((complement, (n - 1).max(2)));
                break;
            }
        }
        match next {
            Some((smaller, m)) => {
                items = smaller;
                n = m;
            }
            None if n >= items.len() => break,
            None => n = (2 * n).min(items.len()),
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_debugging_finds_the_pair_that_fails() {
        let items: Vec<u32> = (0..32).collect();
        let mut tries = 0;
        let found = ddmin(items, |s| {
            tries += 1;
            s.contains(&5) && s.contains(&23)
        });
        assert_eq!(found, vec![5, 23]);
        assert!(tries < 100, "{tries} tries");
        assert_eq!(ddmin(vec![1, 2, 3], |_| true), Vec::<i32>::new(), "nothing needed: nothing kept");
    }
}
