//! Fault windows: the spans of a run during which a fault was in force (a partition until it
//! healed, a crash until the restart), for marking on timelines.

use serde::Serialize;
use syncsim_sim::SimTime;
use syncsim_sim::fault::Fault;

/// A span during which a fault was in force.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultWindow {
    /// `partition`, `cut`, `crash`, `pause` or `loss-burst`.
    pub kind: &'static str,
    /// The fault in words.
    pub label: String,
    /// When it began (ns).
    pub from_ns: u64,
    /// When it ended (ns); the run's end if it never did.
    pub to_ns: u64,
}

/// The windows of the faults applied in a run that ended at `end`; `describe` puts a fault
/// in words.
pub fn fault_windows(
    faults: &[(SimTime, Fault)],
    end: SimTime,
    describe: impl Fn(&Fault) -> String,
) -> Vec<FaultWindow> {
    let mut windows: Vec<FaultWindow> = Vec::new();
    // Indices of windows still open, with what closes them.
    let mut open: Vec<(usize, Fault)> = Vec::new();
    for (at, fault) in faults {
        let closes = |f: &Fault| match (f, fault) {
            (Fault::Partition(_) | Fault::Cut { .. }, Fault::Heal) => true,
            (Fault::Partition(g), Fault::EndPartition(h)) => g == h,
            // A restarted node runs again, paused before its crash or not.
            (Fault::Crash(n) | Fault::Pause(n), Fault::Restart(m)) | (Fault::Pause(n), Fault::Resume(m)) => n == m,
            (Fault::LossBurst { loss: a, on: true }, Fault::LossBurst { loss: b, on: false }) => a == b,
            (Fault::FreezeDisk(n), Fault::LoseDisk(m)) => n == m,
            _ => false,
        };
        open.retain(|(i, f)| {
            let closed = closes(f);
            if closed {
                windows[*i].to_ns = at.0;
            }
            !closed
        });
        // A fault already in force (a crash of a node that is down) opens no second window.
        if open.iter().any(|(_, f)| f == fault) {
            continue;
        }
        let kind = match fault {
            Fault::Partition(_) => "partition",
            Fault::Cut { .. } => "cut",
            Fault::Crash(_) => "crash",
            Fault::Pause(_) => "pause",
            Fault::LossBurst { on: true, .. } => "loss-burst",
            Fault::FreezeDisk(_) => "disk-loss",
            _ => continue,
        };
        open.push((windows.len(), fault.clone()));
        windows.push(FaultWindow { kind, label: describe(fault), from_ns: at.0, to_ns: end.0 });
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::NodeId;

    #[test]
    fn windows_run_from_the_fault_to_what_ends_it() {
        let faults = vec![
            (SimTime(10), Fault::Partition(vec![vec![NodeId(0)], vec![NodeId(1)]])),
            (SimTime(15), Fault::Crash(NodeId(2))),
            (SimTime(20), Fault::Heal),
            (SimTime(25), Fault::Restart(NodeId(1))),
            (SimTime(30), Fault::Crash(NodeId(1))),
            (SimTime(35), Fault::Crash(NodeId(1))),
            (SimTime(40), Fault::Pause(NodeId(3))),
            (SimTime(45), Fault::Crash(NodeId(3))),
            (SimTime(50), Fault::Restart(NodeId(3))),
        ];
        let w = fault_windows(&faults, SimTime(100), |f| format!("{f:?}"));
        let spans: Vec<(&str, u64, u64)> = w.iter().map(|w| (w.kind, w.from_ns, w.to_ns)).collect();
        // n2 never restarts and n1's crash never ends: both last to the end of the run; n1's
        // second crash changes nothing; n3's restart ends its pause as well as its crash.
        assert_eq!(
            spans,
            vec![("partition", 10, 20), ("crash", 15, 100), ("crash", 30, 100), ("pause", 40, 50), ("crash", 45, 50)]
        );
    }
}
