//! `syncsim shrink`: the smallest scenario that still fails the same way, under the same seed
//! or, where a step perturbs the run, another one.
//!
//! Random faults are first written out as the script they drew (the same run, see
//! [`materialise`]); where that script would not fail the same way (more faults than a script
//! may hold, say), every round tries again, and the result names the kinds it keeps drawn at
//! random and why ([`Unscripted`]). Then delta debugging (Zeller and Hildebrandt,
//! "Simplifying and isolating failure-inducing input", 2002) over the fault script, the random
//! fault kinds, the duration (cut to just after the failure's moment when it has one, then
//! bisected), the quiet time before the first fault (every fault moved earlier), the workload
//! (clients, rate, keys) and the node count, repeated until no step helps. A candidate counts
//! only if it is a valid scenario and its run fails with the same verdict and the same first
//! failed check as the original. Every candidate is a real scenario file, so the result is one
//! that `syncsim run` reproduces.

use serde::Serialize;
use syncsim_reports::expect::Class;
use syncsim_reports::{Report, Verdict};
use syncsim_sim::SimDuration;

use crate::runner;
use crate::scenario::Scenario;
use crate::scenario::raw::{Nodes, RawArrival, RawDrift, RawFault, RawRandomFaults, RawScenario};
use syncsim_sim::fault::Fault;
use syncsim_sim::rng::Stream;
use syncsim_sim::units::Rate;
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
    /// Its YAML text, opening with a comment on the faults it could not write out as a script
    /// (see [`Shrunk::unscripted`]), if any.
    pub yaml: String,
    /// The failure kept.
    pub kind: FailureKind,
    /// Runs tried.
    pub runs: u32,
    /// The seed before and after: a step that perturbs the run may keep the failure only
    /// under another seed (see `Tester::fails_reseeded`).
    pub seed: (u64, u64),
    /// Faults in the run before (scripted and drawn at random) and after.
    pub faults: (usize, usize),
    /// Faults the original run drew at random (from `random_faults:` or a swarm's draw): the
    /// minimal scenario writes them out as its `faults:` script, unless [`Shrunk::unscripted`]
    /// says why it could not.
    pub drawn: usize,
    /// The random faults the minimal scenario still draws, and why they could not be written
    /// out as a script; `None` when it draws none.
    pub unscripted: Option<Unscripted>,
    /// The duration before and after.
    pub duration: (SimDuration, SimDuration),
    /// The node count before and after.
    pub nodes: (usize, usize),
    /// When the minimal run failed, where the failure has a time (see [`failure_time`]).
    pub failed_at: Option<SimTime>,
}

/// Random faults that shrinking could not write out as a `faults:` script: the minimal
/// scenario keeps them as `random_faults:`, drawn from its seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unscripted {
    /// The random fault kinds kept (`crash`, `partition`, `pause`, `clock`, `loss`, `disk`;
    /// `swarm` for a swarm left undrawn).
    pub kinds: Vec<&'static str>,
    /// The faults they draw in the minimal run, under its seed.
    pub faults: usize,
    /// The seed they are drawn under.
    pub seed: u64,
    /// Why the script could not take their place.
    pub why: String,
}

impl std::fmt::Display for Unscripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} fault{} drawn by random_faults {} under seed {} stay random: {}",
            self.faults,
            if self.faults == 1 { "" } else { "s" },
            self.kinds.join(", "),
            self.seed,
            self.why
        )
    }
}

/// The comment that opens a minimal scenario which still draws random faults: which, and why
/// they are not a script.
pub fn note(unscripted: &Unscripted) -> String {
    format!("Drawn faults not written as a script: {unscripted}").lines().map(|l| format!("# {l}\n")).collect()
}

/// The random fault kinds `raw` draws, by their names in `random_faults:`.
fn random_kinds(raw: &RawRandomFaults) -> Vec<&'static str> {
    let kinds = [
        ("crash", raw.crash.is_some()),
        ("partition", raw.partition.is_some()),
        ("pause", raw.pause.is_some()),
        ("clock", raw.clock.is_some()),
        ("loss", raw.loss.is_some()),
        ("disk", raw.disk.is_some()),
        ("swarm", raw.swarm.is_some()),
    ];
    kinds.into_iter().filter_map(|(name, on)| on.then_some(name)).collect()
}

/// The scenario as YAML, enums as single-key maps (the way scenario files write them), and
/// no `random_faults:` when it draws none (a scenario whose drawn faults became a script says
/// nothing of random faults).
pub fn to_yaml(raw: &RawScenario) -> String {
    let mut out = Vec::new();
    let mut ser = serde_yaml::Serializer::new(&mut out);
    serde_yaml::with::singleton_map_recursive::serialize(raw, &mut ser).expect("scenarios serialize");
    let yaml = String::from_utf8(out).expect("YAML is UTF-8");
    // A top-level key starts a line unindented; the empty map is the default.
    yaml.replacen("\nrandom_faults: {}\n", "\n", 1)
}

/// The linearizability budget of a candidate run, in MiB.
const CANDIDATE_LINCHECK_MB: usize = 64;

struct Tester<'a> {
    file: &'a str,
    /// The seed the current scenario fails under.
    seed: u64,
    /// The seed shrinking began with; other seeds tried are counted from it.
    original: u64,
    /// How many other seeds a perturbing step tries.
    reseeds: u64,
    kind: FailureKind,
    runs: u32,
    max_runs: u32,
}

/// Other seeds a perturbing step tries, by default, before it gives up on a candidate (see
/// [`Tester::fails_reseeded`]). A failure that one seed in `r` reaches survives a step under
/// one of `k` seeds with probability about `1 - (1 - 1/r)^(k + 1)`: for one seed in seven,
/// 15 others make that 92%.
pub const RESEEDS: u64 = 15;

impl Tester<'_> {
    /// True if `raw` is a valid scenario that fails like the original under the current seed.
    fn fails(&mut self, raw: &RawScenario) -> bool {
        self.fails_under(raw, self.seed)
    }

    /// True if `raw` fails like the original under the current seed or one of `reseeds`
    /// others; the seed that fails becomes the current one. A shorter run, a quieter start or
    /// a lighter workload perturbs every event after it, so a failure that only some seeds
    /// reach (a race, one election in twenty) rarely survives under the one seed; any seed
    /// under which the smaller scenario fails the same way is as good a reproducer.
    fn fails_reseeded(&mut self, raw: &RawScenario) -> bool {
        if self.fails(raw) {
            return true;
        }
        for i in 1..=self.reseeds {
            let seed = self.original.wrapping_add(i);
            if seed != self.seed && self.fails_under(raw, seed) {
                self.seed = seed;
                return true;
            }
        }
        false
    }

    fn fails_under(&mut self, raw: &RawScenario, seed: u64) -> bool {
        if self.runs >= self.max_runs {
            return false;
        }
        self.try_under(raw, seed).is_ok()
    }

    /// Runs `raw` under `seed`, whatever is left of the budget (the run is counted): `Ok` if
    /// it is a valid scenario that fails like the original, otherwise why not.
    fn try_under(&mut self, raw: &RawScenario, seed: u64) -> Result<(), String> {
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
        // The field and message only: a position would be one in YAML no file holds.
        let scenario = Scenario::parse(&to_yaml(&raw), self.file).map_err(|e| match e.field {
            Some(field) if !field.is_empty() => format!("it is not a valid scenario: {field}: {}", e.message),
            _ => format!("it is not a valid scenario: {}", e.message),
        })?;
        self.runs += 1;
        let report = runner::run(&scenario, seed, false).map_err(|e| format!("it does not run: {e}"))?.report;
        if self.kind.matches(&report) {
            return Ok(());
        }
        Err(match FailureKind::of(&report) {
            None => format!("run under seed {seed}, it passes"),
            Some(k) => format!("run under seed {seed}, it fails another way: {} ({})", k.verdict.words(), k.check),
        })
    }

    /// `raw` with the faults its random kinds draw under the current seed written out as a
    /// script, if that script fails like the original (one run, whatever is left of the
    /// budget); otherwise `raw` as it is, with why its random faults stay. `raw` as it is and
    /// `None` when it draws no random faults.
    fn scripted(&mut self, raw: RawScenario) -> (RawScenario, Option<Unscripted>) {
        let kinds = random_kinds(&raw.random_faults);
        if kinds.is_empty() {
            return (raw, None);
        }
        let seed = self.seed;
        let mut unscripted = Unscripted { kinds, faults: 0, seed, why: String::new() };
        let mut at_seed = raw.clone();
        at_seed.seed = seed;
        let scenario = match Scenario::parse(&to_yaml(&at_seed), self.file) {
            Ok(s) => s,
            Err(e) => {
                unscripted.why = format!("the scenario does not resolve to draw them: {e}");
                return (raw, Some(unscripted));
            }
        };
        let Some(script) = materialise(&scenario, &at_seed, seed) else {
            // A swarm left undrawn: shrinking works on a seed's draw, so this does not happen.
            unscripted.why = "they are drawn per seed by a swarm, not written as kinds".into();
            return (raw, Some(unscripted));
        };
        unscripted.faults = script.faults.len() - raw.faults.len();
        match self.try_under(&script, seed) {
            Ok(()) => (script, None),
            Err(why) => {
                unscripted.why = format!("written out as a script of {} faults, {why}", script.faults.len());
                (raw, Some(unscripted))
            }
        }
    }
}

/// Shrinks `scenario`'s failure under `seed`, trying at most `max_runs` candidates; steps
/// that perturb the run try `reseeds` other seeds too (0: the seed is kept).
pub fn shrink(scenario: &Scenario, seed: u64, max_runs: u32, reseeds: u64) -> Result<Shrunk, String> {
    // A swarm's draw for the seed, written out: the kinds and workload it drew are the
    // scenario shrinking works on (the same run: the draw has its own RNG stream).
    let drawn = scenario.for_seed(seed).map_err(|e| e.to_string())?;
    let scenario = &*drawn;
    let first = runner::run(scenario, seed, false).map_err(|e| e.to_string())?;
    let kind =
        FailureKind::of(&first.report).ok_or_else(|| format!("seed {seed} passes: there is no failure to shrink"))?;
    let mut raw = scenario.raw.clone();
    raw.variants.clear();
    raw.seed = seed;
    // Faults in the run: the scripted ones and those the random kinds draw.
    let before = materialise(scenario, &raw, seed).map_or(raw.faults.len(), |m| m.faults.len());
    let mut t = Tester { file: &scenario.file, seed, original: seed, reseeds, kind: kind.clone(), runs: 0, max_runs };
    if !t.fails(&raw) {
        return Err("the scenario, written back as YAML, does not fail the same way; cannot shrink it".into());
    }
    // Random faults become a script that delta debugging can cut, if the script fails alike;
    // if it does not (too many faults for a script, say), each round tries again, as a
    // shorter run with fewer random kinds draws fewer.
    let drawn = materialise(scenario, &raw, seed).map_or(0, |m| m.faults.len() - raw.faults.len());
    raw = t.scripted(raw).0;
    // What each round leaves drawn at random, and why.
    let mut unscripted;
    // A broken invariant says when the run failed: nothing after it can matter, so the
    // duration is cut to just after it first.
    if let Some(at) = failure_time(&first.report) {
        let cut = SimDuration((at.as_nanos() / 1_000_000 + 1) * 1_000_000);
        if cut < raw.duration {
            let c = with_duration(&raw, cut);
            if t.fails(&c) {
                raw = c;
            }
        }
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
        raw = shorten(&mut t, raw);
        raw = sooner(&mut t, raw);
        if kind.verdict == Verdict::SafetyViolation {
            raw = settle_sooner(&mut t, raw);
        }
        raw = each_fault_reseeded(&mut t, raw);
        raw = lighten(&mut t, raw);
        // The node count, one fewer at a time.
        while let Nodes::Count(n) = raw.nodes {
            if n <= 1 {
                break;
            }
            let mut c = raw.clone();
            c.nodes = Nodes::Count(n - 1);
            if !t.fails_reseeded(&c) {
                break;
            }
            raw = c;
        }
        raw.seed = t.seed;
        // Random faults still drawn: written out as a script, under the seed reached, if that
        // fails alike (a run beyond the budget at most once a round, so that the result
        // draws no faults it need not).
        (raw, unscripted) = t.scripted(raw);
        if (raw.faults.len(), to_yaml(&raw)) == start || t.runs >= t.max_runs {
            break;
        }
    }
    let yaml = unscripted.as_ref().map_or(String::new(), note) + &to_yaml(&raw);
    let minimal = Scenario::parse(&yaml, &scenario.file).map_err(|e| e.to_string())?;
    let last = runner::run(&minimal, t.seed, false).map_err(|e| e.to_string())?;
    let failed_at = failure_time(&last.report);
    Ok(Shrunk {
        seed: (seed, t.seed),
        faults: (before, raw.faults.len() + unscripted.as_ref().map_or(0, |u| u.faults)),
        drawn,
        unscripted,
        duration: (scenario.raw.duration, raw.duration),
        nodes: (scenario.node_names.len(), minimal.node_names.len()),
        raw,
        yaml,
        kind,
        runs: t.runs,
        failed_at,
    })
}

/// When `report`'s run went wrong, where one moment says so: the broken invariant's event, or
/// the return of the operation no linearization can place. Other checks judge the whole run.
pub fn failure_time(report: &Report) -> Option<SimTime> {
    if let Some(v) = &report.invariant_violation {
        return Some(SimTime(v.time_ns));
    }
    let v = report.linearizability.as_ref()?.violation.as_ref()?;
    let stuck = v.operations.iter().find(|o| o.stuck)?;
    Some(SimTime(stuck.ret.unwrap_or(stuck.call)))
}

/// `raw` run for `duration`, without the faults that would start after it.
fn with_duration(raw: &RawScenario, duration: SimDuration) -> RawScenario {
    let mut c = raw.clone();
    c.duration = duration;
    c.faults.retain(|f| f.at < duration);
    c
}

/// The shortest duration that still fails, by bisection between a duration known to pass
/// (or zero) and one known to fail, to a sixty-fourth of the original; whole milliseconds.
fn shorten(t: &mut Tester<'_>, mut raw: RawScenario) -> RawScenario {
    const MS: u64 = 1_000_000;
    let step = (raw.duration.as_nanos() / 64).max(10 * MS);
    let mut passes = 0u64;
    while raw.duration.as_nanos() > passes + step && t.runs < t.max_runs {
        let mid = (passes + (raw.duration.as_nanos() - passes) / 2).div_ceil(MS) * MS;
        let c = with_duration(&raw, SimDuration(mid));
        if t.fails_reseeded(&c) {
            raw = c;
        } else {
            passes = mid;
        }
    }
    raw
}

/// Delta debugging keeps the seed; each fault it kept is tried once more without it under
/// other seeds too (at most [`RESEEDS`]: there is one try per fault), as one removal
/// perturbs everything after it.
fn each_fault_reseeded(t: &mut Tester<'_>, mut raw: RawScenario) -> RawScenario {
    let reseeds = t.reseeds;
    t.reseeds = reseeds.min(RESEEDS);
    let mut i = 0;
    while i < raw.faults.len() && t.runs < t.max_runs {
        let mut c = raw.clone();
        c.faults.remove(i);
        if t.fails_reseeded(&c) {
            raw = c;
        } else {
            i += 1;
        }
    }
    t.reseeds = reseeds;
    raw
}

/// A safety violation needs no more of the settle phase than up to the moment it shows: the
/// shortest settle phase that still fails, by bisection (to 10 ms). A liveness failure keeps
/// its settle phase, which is what it judges.
fn settle_sooner(t: &mut Tester<'_>, mut raw: RawScenario) -> RawScenario {
    const MS: u64 = 1_000_000;
    let mut passes = 0u64;
    while raw.settle.duration.as_nanos() > passes + 10 * MS && t.runs < t.max_runs {
        let mid = (passes + (raw.settle.duration.as_nanos() - passes) / 2).div_ceil(MS) * MS;
        let mut c = raw.clone();
        c.settle.duration = SimDuration(mid);
        if t.fails(&c) {
            raw = c;
        } else {
            passes = mid;
        }
    }
    raw
}

/// Every fault moved earlier by the same amount, as far as the run still fails, and the
/// duration shortened by as much: a failure found after a long quiet start is found as well
/// after a short one (the protocol needs only time to settle, an election say, before the
/// faults begin). Bisection to a sixty-fourth of the first fault's time.
fn sooner(t: &mut Tester<'_>, mut raw: RawScenario) -> RawScenario {
    const MS: u64 = 1_000_000;
    let Some(first) = raw.faults.iter().map(|f| f.at.as_nanos()).min() else { return raw };
    let step = (first / 64).max(10 * MS);
    let shifted = |raw: &RawScenario, by: u64| {
        let mut c = raw.clone();
        c.faults.iter_mut().for_each(|f| f.at = SimDuration(f.at.as_nanos() - by));
        c.duration = SimDuration(raw.duration.as_nanos() - by);
        c
    };
    // The largest shift known to fail (0: the run as it is) and the smallest known not to.
    let (mut fails, mut passes) = (0u64, first + 1);
    while passes > fails + step && t.runs < t.max_runs {
        let mid = (fails + (passes - fails) / 2) / MS * MS;
        if mid <= fails {
            break;
        }
        if t.fails_reseeded(&shifted(&raw, mid)) {
            fails = mid;
        } else {
            passes = mid;
        }
    }
    if fails > 0 {
        raw = shifted(&raw, fails);
    }
    raw
}

/// Fewer clients, a lower arrival rate and fewer keys, each halved while the run still fails.
fn lighten(t: &mut Tester<'_>, mut raw: RawScenario) -> RawScenario {
    type Halve = fn(&mut RawScenario) -> bool;
    let halves: [Halve; 3] = [
        |c| {
            let w = &mut c.workload;
            (w.clients > 1).then(|| w.clients /= 2).is_some()
        },
        |c| match &mut c.workload.arrival {
            RawArrival::Poisson(rate) if rate.get() > 1.0 => {
                *rate = Rate::per_sec(rate.get() / 2.0).expect("half a rate above 1/s is a rate");
                true
            }
            _ => false,
        },
        |c| {
            let k = &mut c.workload.keys;
            (k.count > 1).then(|| k.count /= 2).is_some()
        },
    ];
    for halve in halves {
        loop {
            let mut c = raw.clone();
            if !halve(&mut c) || !t.fails_reseeded(&c) {
                break;
            }
            raw = c;
        }
    }
    raw
}

/// `raw` with the faults its random kinds draw under `seed` written out as scripted fault
/// windows (`lasts:`), in the order the engine draws them, and no random kinds left: the same
/// faults in the same order, so the same run. `None` when there is nothing to write out, or
/// when churn draws too.
pub fn materialise(scenario: &Scenario, raw: &RawScenario, seed: u64) -> Option<RawScenario> {
    // Churn picks its nodes when it happens (like a fault on `leader`), so it has no script to
    // be written out as; a scenario with it shrinks as it is.
    if raw.random_faults == RawRandomFaults::default() || raw.random_faults.churn.is_some() {
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
            Fault::Drift { node, factor, jump, .. } => {
                let jump = (jump != 0)
                    .then(|| format!("{}{}", if jump < 0 { "-" } else { "" }, SimDuration(jump.unsigned_abs())));
                f.drift = Some(RawDrift { node: name(&node), factor, jump });
            }
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

    /// Random faults that draw more windows than a script may hold stay random, and the note
    /// for the file's top says which and why.
    #[test]
    fn too_many_drawn_faults_for_a_script_stay_random_and_say_why() {
        let text = "name: dense\nduration: 60s\nnodes: 3\nprotocol:\n  kind: raft\nworkload:\n  clients: 0\n\
                    random_faults:\n  partition: { every: 1ms, lasts: 1ms..2ms }\n  \
                    loss: { every: 1ms, lasts: 1ms..2ms, loss: 50% }\n";
        let scenario = Scenario::parse(text, "dense.yaml").unwrap_or_else(|e| panic!("{e}"));
        let kind = FailureKind { verdict: Verdict::SafetyViolation, check: "invariant".into() };
        let mut t = Tester { file: "dense.yaml", seed: 3, original: 3, reseeds: 0, kind, runs: 0, max_runs: 10 };
        let (raw, unscripted) = t.scripted(scenario.raw.clone());
        let u = unscripted.expect("over 100000 windows are no script");
        assert_eq!(raw, scenario.raw, "the random faults are kept");
        assert_eq!((u.kinds.clone(), u.seed, t.runs), (vec!["partition", "loss"], 3, 0), "{u}");
        assert!(u.faults > crate::scenario::resolve::MAX_FAULTS, "{u}");
        assert!(u.why.contains("more than the limit"), "{u}");
        let note = note(&u);
        assert!(note.starts_with("# Drawn faults not written as a script: ") && note.ends_with('\n'), "{note}");
        assert!(note.lines().all(|l| l.starts_with("# ")), "{note}");
    }
}
