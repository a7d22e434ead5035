//! Every checker has a planted bug it catches and a correct run it passes (issue 14). Each
//! entry runs a scenario with one planted bug (test builds only, protocols/src/planted.rs)
//! until a seed fails the way that checker reports it, then the same scenario without the bug
//! over many seeds, which must all pass. Raft's planted bugs are in tests/raft.rs, the CRDT
//! merges of tests/data/crdt in tests/crdt.rs.

use rayon::prelude::*;
use syncsim::reports::Report;
use syncsim::runner;
use syncsim::scenario::Scenario;

/// One planted bug and what must catch it.
struct Planted {
    /// The scenario (its `protocol:` block is block style, with a `kind:` line).
    file: &'static str,
    /// The bug's name.
    bug: &'static str,
    /// What the catching check reports, in words.
    caught_by: &'static str,
    /// Whether a failed run's report shows that check catching it.
    caught: fn(&Report) -> bool,
    /// Seeds to look in for a catch.
    hunt: u64,
    /// Seeds the correct protocol must pass.
    correct: u64,
}

/// `file`'s scenario with `bug` planted (`none`: the correct protocol).
fn planted(file: &str, bug: &str) -> Scenario {
    let text = std::fs::read_to_string(file).unwrap();
    let text = match text.find("\n  bug: ") {
        Some(at) => {
            let end = at + 1 + text[at + 1..].find('\n').unwrap();
            format!("{}\n  bug: {bug}{}", &text[..at], &text[end..])
        }
        None => {
            let at = text.find("\n  kind: ").expect("a block-style protocol");
            let end = at + 1 + text[at + 1..].find('\n').unwrap();
            format!("{}\n  bug: {bug}{}", &text[..end], &text[end..])
        }
    };
    Scenario::parse(&text, file).unwrap_or_else(|e| panic!("{e}"))
}

fn check(p: &Planted) {
    let buggy = planted(p.file, p.bug);
    let failing = (0..p.hunt).into_par_iter().find_first(|&seed| {
        let r = runner::run(&buggy, seed, false).unwrap();
        r.report.exit_code != 0 && (p.caught)(&r.report)
    });
    assert!(failing.is_some(), "{} in {} went unnoticed by {} over {} seeds", p.bug, p.file, p.caught_by, p.hunt);
    let correct = planted(p.file, "none");
    let failures: Vec<String> = (0..p.correct)
        .into_par_iter()
        .filter_map(|seed| {
            let r = runner::run(&correct, seed, false).unwrap();
            (r.report.exit_code != 0).then(|| format!("seed {seed}: {:?}", r.report.failures))
        })
        .collect();
    assert!(failures.is_empty(), "{} without {} cried wolf:\n{}", p.file, p.bug, failures.join("\n"));
}

/// A gossip node whose crash keeps only what it had at its last round: acknowledged writes it
/// had not yet passed on are gone. It had exposed them, so only judging the replicas' final
/// states finds them lost.
#[test]
fn writes_lost_in_a_crash_are_lost_though_they_were_exposed() {
    check(&Planted {
        file: "tests/data/gossip/volatile-writes.yaml",
        bug: "volatile-writes",
        caught_by: "writes.lost",
        caught: |r| r.visibility.lost > 0,
        hunt: 20,
        correct: 50,
    });
}

/// Gossip whose merge does not advance the Lamport clock: a client's write is versioned below
/// what its replica already holds and is overwritten by it.
#[test]
fn a_merge_that_keeps_the_clock_breaks_read_your_writes() {
    check(&Planted {
        file: "scenarios/quickstart.yaml",
        bug: "stale-clock",
        caught_by: "session.read_your_writes",
        caught: |r| r.session.read_your_writes > 0,
        hunt: 10,
        correct: 100,
    });
}

/// An LWW map whose join does not advance the hybrid logical clock, under a clock that jumps
/// back and one at half speed.
#[test]
fn an_lww_join_that_keeps_the_clock_breaks_read_your_writes() {
    check(&Planted {
        file: "scenarios/crdt-lww-clocks.yaml",
        bug: "lww-stale-clock",
        caught_by: "session.read_your_writes",
        caught: |r| r.session.read_your_writes > 0,
        hunt: 10,
        correct: 100,
    });
}

/// A counter merge that adds counts instead of taking their maximum, on hot keys under
/// partitions.
#[test]
fn a_counter_merge_by_total_is_caught_on_the_shipped_counter_scenario() {
    check(&Planted {
        file: "scenarios/crdt-counter.yaml",
        bug: "counter-add",
        caught_by: "the SEC check",
        caught: |r| r.sec.as_ref().is_some_and(|s| !s.valid),
        hunt: 10,
        correct: 100,
    });
}

/// RGA counting tombstones as insert positions: an element lands later than its author put it
/// whenever something before it was deleted. Only the strong list specification sees it: the
/// replicas still converge.
#[test]
fn an_insert_that_counts_tombstones_breaks_the_list_specification() {
    check(&Planted {
        file: "scenarios/crdt-sequence.yaml",
        bug: "rga-tombstone-positions",
        caught_by: "the strong list specification",
        caught: |r| {
            r.sec.as_ref().is_some_and(|s| {
                s.converged && s.violations.iter().any(|v| v.finding == syncsim::reports::sec::Finding::Misplaced)
            })
        },
        hunt: 10,
        correct: 100,
    });
}

/// A gossip node that leaves the cluster without handing off: the writes it acknowledged and
/// had not yet passed on leave with it.
#[test]
fn a_node_that_leaves_without_handing_off_loses_acknowledged_writes() {
    check(&Planted {
        file: "scenarios/elastic-gossip.yaml",
        bug: "skip-handoff",
        caught_by: "writes.lost",
        caught: |r| r.visibility.lost > 0,
        hunt: 20,
        correct: 30,
    });
}

/// A delta-state CRDT replica that joins a leaver's handed-off state without passing it on:
/// only the two members it was sent to ever hold the leaver's last updates, so the replicas
/// end apart (and a remove they saw is missing elsewhere).
#[test]
fn a_handoff_that_is_not_passed_on_leaves_replicas_apart() {
    check(&Planted {
        file: "scenarios/elastic-crdt.yaml",
        bug: "handoff-not-forwarded",
        caught_by: "sec or converged_within",
        caught: |r| r.failures.iter().any(|f| f.contains("sec") || f.contains("converged")),
        hunt: 20,
        correct: 30,
    });
}

/// A gossip node under SWIM that restarts and does not refute the death notice of its last
/// life: it goes on at incarnation 0, below the one it was declared dead at, and the members
/// never take it back (SWIM's accuracy at the end, `protocol.swim_wrongly_dead`).
#[test]
fn a_member_that_rejoins_with_a_stale_incarnation_stays_dead_to_the_others() {
    check(&Planted {
        file: "scenarios/swim-detection.yaml",
        bug: "stale-incarnation",
        caught_by: "protocol.swim_wrongly_dead",
        caught: |r| r.failures.iter().any(|f| f.contains("swim_wrongly_dead")),
        hunt: 10,
        correct: 20,
    });
}

/// A Raft leader that starts a configuration change while another is uncommitted: two
/// servers joining at once take three voters to five in one step, and the monitor sees a
/// configuration whose majorities need not overlap the last committed one's.
#[test]
fn two_configuration_changes_at_once_break_the_overlap_of_majorities() {
    check(&Planted {
        file: "scenarios/elastic-raft.yaml",
        bug: "concurrent-config-changes",
        caught_by: "the Raft monitor",
        caught: |r| r.invariant_violation.as_ref().is_some_and(|v| v.message.contains("do not overlap")),
        hunt: 20,
        correct: 30,
    });
}

/// A Dynamo coordinator that answers a read with its first reply whatever `r` asks for: under
/// R = W = 2 of N = 3 a read may miss the write quorum, and the read-consistency check (which
/// strict quorums must pass at 100%) sees the stale value.
#[test]
fn a_read_that_skips_its_quorum_reads_stale_under_strict_quorums() {
    check(&Planted {
        file: "scenarios/dynamo-strict.yaml",
        bug: "first-reply",
        caught_by: "reads.consistent",
        caught: |r| r.t_visibility.as_ref().is_some_and(|t| t.consistent < t.reads),
        hunt: 5,
        correct: 30,
    });
}

/// A Dynamo stand-in that acknowledges hinted writes and drops them: writes made in a
/// partition where no replica of their key was reachable are lost.
#[test]
fn a_stand_in_that_drops_its_hints_loses_acknowledged_writes() {
    check(&Planted {
        file: "scenarios/dynamo-sloppy.yaml",
        bug: "drop-hints",
        caught_by: "writes.lost",
        caught: |r| r.visibility.lost > 0,
        hunt: 5,
        correct: 30,
    });
}
