//! Linearizability checking: is there an order of the operations, consistent with real time,
//! in which a sequential model gives every result the clients saw?
//!
//! The history is split into partitions whose operations commute (per key: Herlihy & Wing's
//! locality, Porcupine's P-compositionality), and each partition is searched alone
//! ([`search`]). A violation in one partition settles the verdict. The partitions are searched
//! in rounds under a growing memory budget, so that a cheap violation in one partition is found
//! even when another partition is too big to search at all; a partition still over the final
//! budget makes the verdict unknown, never a guess.

pub mod edn;
pub mod formats;
pub mod model;
mod search;

use std::collections::BTreeMap;

use serde::Serialize;

pub use model::{Model, Object, PerKey, Step, Whole};

/// One operation of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation<I, O> {
    /// The client (process) that issued it.
    pub client: u64,
    /// When it was called.
    pub call: u64,
    /// When it returned; `None` if it never did (it may take effect at any time after its
    /// call, or never).
    pub ret: Option<u64>,
    /// What was asked.
    pub input: I,
    /// What came back; `None` if unknown (it matches any result the model allows).
    pub output: Option<O>,
}

/// An operation of model `M`'s history.
pub type OpOf<M> = Operation<<M as Model>::Input, <M as Model>::Output>;

/// How much a check may spend.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The most memory the search of one partition may hold, in bytes: for the (linearized
    /// set, state) pairs it found dead and the distinct states it met. A dead pair takes a few
    /// words plus a bit per operation overlapping the earliest one not yet linearized, so what
    /// a history needs follows its concurrency, not its length.
    pub max_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { max_bytes: 2 << 30 }
    }
}

/// The verdict of a check.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Some order explains every result.
    Linearizable,
    /// No order does.
    NotLinearizable,
    /// The budget ran out before the search could tell.
    Unknown,
}

/// Why a partition has no linearization, as far as the search got.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// The partition (key) at fault; empty when the history is one partition.
    pub partition: String,
    /// Operations in that partition.
    pub partition_operations: usize,
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<String>,
    /// An operation that cannot be placed after that prefix.
    pub stuck: String,
    /// The operations around the failure, in call order: the end of the prefix, the stuck
    /// operation and those overlapping it, each with its client and times.
    pub operations: Vec<ViolationOp>,
}

/// One operation of a violation's explanation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ViolationOp {
    /// The client (process) that issued it.
    pub client: u64,
    /// When it was called (the history's time unit: nanoseconds, or event order).
    pub call: u64,
    /// When it returned; `None` if it never did.
    pub ret: Option<u64>,
    /// The operation and its result.
    pub op: String,
    /// Its place in the longest linearizable prefix (from 1), if it is there.
    pub linearized: Option<usize>,
    /// True for the operation no order can place.
    pub stuck: bool,
}

/// How many prefix operations, and how many in all, an explanation shows.
const EXPLAIN_PREFIX: usize = 20;
const EXPLAIN_MAX: usize = 60;

/// The operations that explain a violation: the end of the prefix, the stuck operation, and
/// the operations overlapping it, in call order.
fn explain<M: Model>(model: &M, part: &[OpOf<M>], stuck: &Stuck) -> Vec<ViolationOp> {
    let place: BTreeMap<usize, usize> = stuck.prefix.iter().enumerate().map(|(k, &i)| (i, k + 1)).collect();
    let s = &part[stuck.stuck];
    let s_end = s.ret.unwrap_or(u64::MAX);
    let mut chosen: Vec<usize> = stuck.prefix.iter().rev().take(EXPLAIN_PREFIX).copied().collect();
    chosen.push(stuck.stuck);
    chosen.extend((0..part.len()).filter(|&i| part[i].call <= s_end && part[i].ret.unwrap_or(u64::MAX) >= s.call));
    chosen.sort_by_key(|&i| (part[i].call, i));
    chosen.dedup();
    if chosen.len() > EXPLAIN_MAX {
        // Keep the ones nearest the stuck operation.
        let at = chosen.iter().position(|&i| i == stuck.stuck).unwrap_or(0);
        let from = at.saturating_sub(EXPLAIN_MAX / 2).min(chosen.len() - EXPLAIN_MAX);
        chosen = chosen[from..from + EXPLAIN_MAX].to_vec();
    }
    chosen
        .into_iter()
        .map(|i| ViolationOp {
            client: part[i].client,
            call: part[i].call,
            ret: part[i].ret,
            op: model.describe(&part[i].input, part[i].output.as_ref()),
            linearized: place.get(&i).copied(),
            stuck: i == stuck.stuck,
        })
        .collect()
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    /// The verdict.
    pub verdict: Verdict,
    /// Operations in the history.
    pub operations: usize,
    /// Partitions the history splits into.
    pub partitions: usize,
    /// Partitions whose search finished.
    pub partitions_checked: usize,
    /// (linearized set, state) pairs explored, over every partition and round.
    pub states_explored: u64,
    /// The violation, when the verdict is `not_linearizable`.
    pub violation: Option<Violation>,
    /// Why the verdict is `unknown`.
    pub unknown_reason: Option<String>,
}

/// The outcome of searching one partition.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    Linearizable { explored: u64 },
    Violation(Stuck),
    Budget { explored: u64 },
    Stopped { explored: u64, reason: String },
}

/// The deepest point a failed search reached, by operation index in its partition.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stuck {
    prefix: Vec<usize>,
    stuck: usize,
    explored: u64,
}

/// Checks what a run's clients saw: registers (put, get, cas) and counters (incr, read), each
/// key alone. Failed operations did not happen; unknown ones may take effect any time after
/// their call. A history with nothing to judge (every operation failed, or none was called) is
/// linearizable, with 0 operations. `None` when it holds operations these models do not cover.
pub fn check_history(history: &syncsim_sim::History, budget: Budget) -> Option<CheckResult> {
    use model::{CasRegister, Counter};
    let ops = history.entries().iter().map(|e| (u64::from(e.client), e.call.0, e.ret.map(|t| t.0), &e.op, &e.outcome));
    let formats::SyncsimHistory { registers, counters, uncovered } = formats::from_ops(ops);
    if registers.is_empty() && counters.is_empty() && uncovered == 0 {
        return Some(CheckResult {
            verdict: Verdict::Linearizable,
            operations: 0,
            partitions: 0,
            partitions_checked: 0,
            states_explored: 0,
            violation: None,
            unknown_reason: None,
        });
    }
    let results: Vec<CheckResult> = [
        (!registers.is_empty()).then(|| check(&PerKey(CasRegister), &registers, budget)),
        (!counters.is_empty()).then(|| check(&PerKey(Counter), &counters, budget)),
    ]
    .into_iter()
    .flatten()
    .collect();
    results.into_iter().reduce(|a, b| {
        // A violation anywhere decides; otherwise unknown anywhere does.
        let worst = |r: &CheckResult| match r.verdict {
            Verdict::NotLinearizable => 2,
            Verdict::Unknown => 1,
            Verdict::Linearizable => 0,
        };
        let (mut first, second) = if worst(&b) > worst(&a) { (b, a) } else { (a, b) };
        first.operations += second.operations;
        first.partitions += second.partitions;
        first.partitions_checked += second.partitions_checked;
        first.states_explored += second.states_explored;
        first
    })
}

/// The smallest budget of the first round; each round doubles it.
const FIRST_ROUND_BYTES: usize = 16 << 20;

/// How far a check has got, for progress reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Partitions whose search finished.
    pub partitions_done: usize,
    /// Partitions in all.
    pub partitions: usize,
    /// States explored in the partition being searched.
    pub explored: u64,
}

/// Checks `ops` against `model` within `budget`.
pub fn check<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], budget: Budget) -> CheckResult {
    check_watched(model, ops, budget, &mut |_| Ok(()))
}

/// [`check`], calling `watch` as the search goes (every few ten thousand steps): it may show
/// progress, and its `Err(reason)` stops the check with an unknown verdict (a timeout).
pub fn check_watched<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    budget: Budget,
    watch: &mut dyn FnMut(Progress) -> Result<(), String>,
) -> CheckResult {
    let mut partitions: BTreeMap<String, Vec<OpOf<M>>> = BTreeMap::new();
    for op in ops {
        if op.output.is_none() && model.is_read(&op.input) {
            continue; // a read that returned nothing constrains nothing
        }
        partitions.entry(model.partition(&op.input)).or_default().push(op.clone());
    }
    let parts: Vec<(String, Vec<OpOf<M>>)> = partitions.into_iter().collect();
    let mut result = CheckResult {
        verdict: Verdict::Linearizable,
        operations: ops.len(),
        partitions: parts.len(),
        partitions_checked: 0,
        states_explored: 0,
        violation: None,
        unknown_reason: None,
    };
    let mut open: Vec<usize> = (0..parts.len()).collect();
    let mut round = if parts.len() == 1 { budget.max_bytes } else { FIRST_ROUND_BYTES.min(budget.max_bytes) };
    loop {
        let mut still_open = Vec::new();
        for &p in &open {
            let (key, part) = &parts[p];
            let (done, total) = (result.partitions_checked, parts.len());
            // Between partitions too: many small ones may each end before the search's own call.
            if let Err(reason) = watch(Progress { partitions_done: done, partitions: total, explored: 0 }) {
                result.verdict = Verdict::Unknown;
                result.unknown_reason = Some(reason);
                return result;
            }
            let mut on_step = |explored| watch(Progress { partitions_done: done, partitions: total, explored });
            match search::search(model, part, round, &mut on_step) {
                Outcome::Linearizable { explored } => {
                    result.states_explored += explored;
                    result.partitions_checked += 1;
                }
                Outcome::Violation(stuck) => {
                    result.states_explored += stuck.explored;
                    result.partitions_checked += 1;
                    let describe = |i: usize| model.describe(&part[i].input, part[i].output.as_ref());
                    result.verdict = Verdict::NotLinearizable;
                    result.violation = Some(Violation {
                        partition: key.clone(),
                        partition_operations: part.len(),
                        prefix: stuck.prefix.iter().map(|&i| describe(i)).collect(),
                        stuck: describe(stuck.stuck),
                        operations: explain(model, part, &stuck),
                    });
                    return result;
                }
                Outcome::Budget { explored } => {
                    result.states_explored += explored;
                    still_open.push(p);
                }
                Outcome::Stopped { explored, reason } => {
                    result.states_explored += explored;
                    result.verdict = Verdict::Unknown;
                    result.unknown_reason = Some(reason);
                    return result;
                }
            }
        }
        if still_open.is_empty() {
            return result;
        }
        if round >= budget.max_bytes {
            result.verdict = Verdict::Unknown;
            let keys: Vec<&str> = still_open.iter().map(|&p| parts[p].0.as_str()).collect();
            result.unknown_reason = Some(format!(
                "the search of {} partition(s) ({}) needed more than the budget of {} MiB each",
                keys.len(),
                keys.iter().map(|k| if k.is_empty() { "the whole history" } else { k }).collect::<Vec<_>>().join(", "),
                budget.max_bytes >> 20
            ));
            return result;
        }
        open = still_open;
        // A partition left alone needs no rounds: it gets the whole budget at once.
        round = if open.len() == 1 { budget.max_bytes } else { round.saturating_mul(2).min(budget.max_bytes) };
    }
}

#[cfg(test)]
mod tests {
    use super::model::*;
    use super::*;

    fn op(
        client: u64,
        call: u64,
        ret: Option<u64>,
        input: RegisterInput,
        output: Option<RegisterOutput>,
    ) -> Operation<RegisterInput, RegisterOutput> {
        Operation { client, call, ret, input, output }
    }

    /// A run whose every operation failed (a cluster never available) saw nothing that could
    /// contradict linearizability: linearizable, with 0 operations, not "no verdict".
    #[test]
    fn a_history_of_only_failed_operations_is_linearizable_with_nothing_checked() {
        use syncsim_sim::history::{History, Op, Outcome};
        use syncsim_sim::{NodeId, SimTime};
        let mut h = History::new();
        for (k, op) in
            [Op::Put { key: 1, value: 2 }, Op::Get { key: 1 }, Op::Decr { key: 3, by: 1 }].into_iter().enumerate()
        {
            let id = h.call(k as u32, NodeId(0), op, SimTime(10));
            h.complete(id, SimTime(20), Outcome::Failed("no leader".into()));
        }
        let r = check_history(&h, Budget::default()).expect("a verdict");
        assert_eq!((r.verdict, r.operations), (Verdict::Linearizable, 0));
        // An operation no model covers that may have taken effect: no verdict at all.
        let id = h.call(9, NodeId(0), Op::Decr { key: 3, by: 1 }, SimTime(30));
        h.complete(id, SimTime(40), Outcome::Unknown);
        assert_eq!(check_history(&h, Budget::default()), None);
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_caught_and_explained() {
        let ops = vec![
            op(0, 0, Some(10), RegisterInput::Write { key: 1, value: 5 }, Some(RegisterOutput::Written)),
            op(1, 20, Some(30), RegisterInput::Read { key: 1 }, Some(RegisterOutput::Value(None))),
        ];
        let r = check(&PerKey(CasRegister), &ops, Budget::default());
        assert_eq!(r.verdict, Verdict::NotLinearizable);
        let v = r.violation.unwrap();
        assert_eq!(v.partition, "1");
        assert_eq!(v.prefix, vec!["write(1, 5) -> ok"]);
        assert_eq!(v.stuck, "read(1) -> nil");
    }

    #[test]
    fn concurrent_operations_may_take_effect_in_either_order() {
        let ops = vec![
            op(0, 0, Some(10), RegisterInput::Write { key: 1, value: 5 }, Some(RegisterOutput::Written)),
            op(1, 5, Some(30), RegisterInput::Read { key: 1 }, Some(RegisterOutput::Value(None))),
            op(2, 6, Some(31), RegisterInput::Read { key: 1 }, Some(RegisterOutput::Value(Some(5)))),
        ];
        assert_eq!(check(&PerKey(CasRegister), &ops, Budget::default()).verdict, Verdict::Linearizable);
    }

    #[test]
    fn unknown_operations_may_take_effect_late_or_never() {
        let write = |v| RegisterInput::Write { key: 0, value: v };
        let read = || RegisterInput::Read { key: 0 };
        // The timed-out write of 7 is seen long after its call ...
        let late = vec![
            op(0, 0, None, write(7), None),
            op(1, 100, Some(110), read(), Some(RegisterOutput::Value(None))),
            op(1, 200, Some(210), read(), Some(RegisterOutput::Value(Some(7)))),
        ];
        assert_eq!(check(&PerKey(CasRegister), &late, Budget::default()).verdict, Verdict::Linearizable);
        // ... or never.
        let never =
            vec![op(0, 0, None, write(7), None), op(1, 100, Some(110), read(), Some(RegisterOutput::Value(None)))];
        assert_eq!(check(&PerKey(CasRegister), &never, Budget::default()).verdict, Verdict::Linearizable);
        // But a value nobody wrote is never explained.
        let bogus =
            vec![op(0, 0, None, write(7), None), op(1, 100, Some(110), read(), Some(RegisterOutput::Value(Some(8))))];
        assert_eq!(check(&PerKey(CasRegister), &bogus, Budget::default()).verdict, Verdict::NotLinearizable);
    }

    #[test]
    fn a_tiny_budget_gives_unknown_not_a_guess() {
        // Many concurrent writes and reads of one register: a large search space.
        let mut ops = Vec::new();
        for c in 0..40u64 {
            ops.push(op(
                c,
                c,
                Some(1000 + c),
                RegisterInput::Write { key: 0, value: c as i64 },
                Some(RegisterOutput::Written),
            ));
        }
        ops.push(op(99, 2000, Some(2001), RegisterInput::Read { key: 0 }, Some(RegisterOutput::Value(Some(1000)))));
        let r = check(&PerKey(CasRegister), &ops, Budget { max_bytes: 1 << 16 });
        assert_eq!(r.verdict, Verdict::Unknown);
        assert!(r.unknown_reason.unwrap().contains("budget"));
    }
}
