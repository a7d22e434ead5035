//! The audit of a run's tamper-evident logs: every honest replica's committed hash chain must
//! be a prefix of every other's (two replicas never committed different entries at one
//! index), and every entry must still match the hash its replica chained it with.
//!
//! Chains make the comparison cheap and exact: equal hashes at an index mean equal prefixes
//! up to it, so the first index where two replicas differ is found by bisection.

use serde::Serialize;
use syncsim_sim::Ledger;

/// The audit's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditVerdict {
    /// Every honest replica's chain is a prefix of the longest, and each is intact.
    Consistent,
    /// Two honest replicas committed different entries at one index.
    Forked,
    /// An honest replica holds an entry that no longer matches its own chain.
    Tampered,
}

/// Where two groups of honest replicas part ways.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fork {
    /// The first index at which their committed entries differ, among the indexes both sides
    /// still hold (a snapshot drops the hashes before it, so a fork may be older).
    pub index: u64,
    /// The replicas on one side (those that agree with the lowest-numbered one there).
    pub left: Vec<String>,
    /// The replicas on the other.
    pub right: Vec<String>,
}

/// An entry that no longer matches its chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tampered {
    /// The replica that holds it.
    pub node: String,
    /// Its index.
    pub index: u64,
}

/// What the audit found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// The verdict.
    pub verdict: AuditVerdict,
    /// Honest replicas whose ledgers were audited (those up at the end).
    pub replicas: usize,
    /// Nodes left out as Byzantine: what they hold proves nothing.
    pub excluded: Vec<String>,
    /// The longest committed chain among them.
    pub longest: u64,
    /// The shortest.
    pub shortest: u64,
    /// The first fork, if the chains fork.
    pub fork: Option<Fork>,
    /// The first altered entry, if one is.
    pub tampered: Option<Tampered>,
}

impl Audit {
    /// The finding in one sentence, for a failed run's reasons.
    pub fn describe(&self) -> Option<String> {
        if let Some(t) = &self.tampered {
            return Some(format!("the audit found entry {} on {} altered after it was chained", t.index, t.node));
        }
        self.fork.as_ref().map(|f| {
            format!(
                "the audit found the committed logs forked at index {}: [{}] hold one entry there, [{}] another",
                f.index,
                f.left.join(", "),
                f.right.join(", ")
            )
        })
    }
}

/// The first index at which `a` and `b` hold different chain hashes, among the indexes both
/// hold; `None` if they agree on all of them.
fn first_difference(a: &Ledger, b: &Ledger) -> Option<u64> {
    let lo = a.base.max(b.base);
    let hi = a.last().min(b.last());
    if lo > hi {
        return None;
    }
    let differs = |i: u64| a.chain_at(i) != b.chain_at(i);
    if !differs(hi) {
        return None;
    }
    // Chains fold their prefix: once they differ they differ from there on. Bisect for the
    // first index that differs, in lo..=hi.
    let (mut good, mut bad) = (lo, hi);
    if differs(lo) {
        return Some(lo);
    }
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if differs(mid) { bad = mid } else { good = mid }
    }
    Some(bad)
}

/// Audits the ledgers of a run's nodes (`None`: down at the end, or no log), leaving out the
/// Byzantine ones; `None` when no node keeps a log.
pub fn check(ledgers: &[Option<Ledger>], byzantine: &[bool], name: impl Fn(usize) -> String) -> Option<Audit> {
    if ledgers.iter().all(Option::is_none) {
        return None;
    }
    let honest: Vec<(usize, &Ledger)> = ledgers
        .iter()
        .enumerate()
        .filter(|(i, _)| !byzantine.get(*i).copied().unwrap_or(false))
        .filter_map(|(i, l)| l.as_ref().map(|l| (i, l)))
        .collect();
    let excluded = (0..ledgers.len()).filter(|&i| byzantine.get(i).copied().unwrap_or(false)).map(&name).collect();
    let tampered = honest
        .iter()
        .filter_map(|(i, l)| l.first_tampered().map(|index| Tampered { node: name(*i), index }))
        .min_by_key(|t| t.index);
    let mut first: Option<(u64, usize, usize)> = None;
    for (x, (i, a)) in honest.iter().enumerate() {
        for (j, b) in &honest[x + 1..] {
            if let Some(index) = first_difference(a, b)
                && first.is_none_or(|(f, _, _)| index < f)
            {
                first = Some((index, *i, *j));
            }
        }
    }
    let fork = first.map(|(index, i, _)| {
        let side = ledgers[i].as_ref().and_then(|l| l.chain_at(index));
        let (mut left, mut right) = (Vec::new(), Vec::new());
        for (k, l) in &honest {
            match l.chain_at(index) {
                None => {}
                c if c == side => left.push(name(*k)),
                _ => right.push(name(*k)),
            }
        }
        Fork { index, left, right }
    });
    let verdict = match (&tampered, &fork) {
        (Some(_), _) => AuditVerdict::Tampered,
        (None, Some(_)) => AuditVerdict::Forked,
        (None, None) => AuditVerdict::Consistent,
    };
    Some(Audit {
        verdict,
        replicas: honest.len(),
        excluded,
        longest: honest.iter().map(|(_, l)| l.last()).max().unwrap_or(0),
        shortest: honest.iter().map(|(_, l)| l.last()).min().unwrap_or(0),
        fork,
        tampered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(digests: &[u64]) -> Ledger {
        let mut l = Ledger::default();
        digests.iter().for_each(|&d| {
            l.push(d);
        });
        l
    }

    fn names(i: usize) -> String {
        format!("n{i}")
    }

    #[test]
    fn prefixes_pass_and_a_fork_is_found_at_its_first_index_with_both_sides() {
        let a = ledger(&[1, 2, 3, 4, 5, 6]);
        let short = ledger(&[1, 2, 3]);
        let audit = check(&[Some(a.clone()), Some(short.clone()), None], &[false; 3], names).unwrap();
        assert_eq!((audit.verdict, audit.longest, audit.shortest), (AuditVerdict::Consistent, 6, 3));

        let forked = ledger(&[1, 2, 3, 9, 5, 6]);
        let audit = check(&[Some(a.clone()), Some(short), Some(forked.clone())], &[false; 3], names).unwrap();
        assert_eq!(audit.verdict, AuditVerdict::Forked);
        let fork = audit.fork.unwrap();
        assert_eq!(fork.index, 4);
        assert_eq!((fork.left, fork.right), (vec!["n0".to_string()], vec!["n2".to_string()]));

        // A liar's ledger is left out: its fork proves nothing against the honest replicas.
        let audit = check(&[Some(a), None, Some(forked)], &[false, false, true], names).unwrap();
        assert_eq!((audit.verdict, audit.excluded), (AuditVerdict::Consistent, vec!["n2".to_string()]));
    }

    #[test]
    fn a_fork_at_the_first_entry_and_a_snapshot_based_ledger_are_judged_on_common_indexes() {
        let a = ledger(&[1, 2, 3, 4]);
        let b = ledger(&[7, 2, 3, 4]);
        assert_eq!(check(&[Some(a.clone()), Some(b)], &[false; 2], names).unwrap().fork.unwrap().index, 1);
        let cut = Ledger { base: 2, base_chain: a.chain_at(2).unwrap(), entries: a.entries[2..].to_vec() };
        assert_eq!(check(&[Some(a), Some(cut)], &[false; 2], names).unwrap().verdict, AuditVerdict::Consistent);
    }

    #[test]
    fn an_entry_altered_after_chaining_is_reported_with_its_node_and_index() {
        let a = ledger(&[1, 2, 3]);
        let mut b = ledger(&[1, 2, 3]);
        b.entries[1].0 = 99;
        let audit = check(&[Some(a), Some(b)], &[false; 2], names).unwrap();
        assert_eq!(audit.verdict, AuditVerdict::Tampered);
        assert_eq!(audit.tampered, Some(Tampered { node: "n1".into(), index: 2 }));
        assert!(audit.describe().unwrap().contains("entry 2 on n1"));
    }
}
