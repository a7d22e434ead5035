//! What each host can express of a scenario, checked before a run so that nothing is silently
//! ignored.

use std::fmt::Write;

use syncsim_sim::SimConfig;
use syncsim_sim::dist::Latency;
use syncsim_sim::fault::{Fault, Targeted};
use syncsim_sim::network::Ordering;
use syncsim_sim::topology::TopologySpec;

/// Where the protocol runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// madsim's deterministic simulator (`--cfg madsim`).
    Madsim,
    /// Real tokio networking on loopback.
    Live,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Madsim => "madsim",
            Mode::Live => "the live host",
        }
    }
}

/// A scenario feature a host cannot express.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The scenario field, as written in the file (`network.latency`, `faults`).
    pub field: String,
    /// Why, and what would work instead.
    pub reason: String,
}

/// Every feature of `config` that `mode` cannot express; empty when it can run it all.
pub fn check(config: &SimConfig, mode: Mode) -> Vec<Unsupported> {
    let mut out = Vec::new();
    let mut no = |field: &str, reason: String| out.push(Unsupported { field: field.into(), reason });
    let who = mode.name();
    let net = &config.network;
    if mode == Mode::Madsim {
        match net.default.latency {
            Latency::Constant(_) | Latency::Uniform { .. } => {}
            ref other => no(
                "network.latency",
                format!(
                    "madsim draws every message's latency uniformly from one range; a {} distribution cannot be \
                     expressed (use `constant` or `uniform`)",
                    latency_name(other)
                ),
            ),
        }
        if net.default.duplicate.get() > 0.0 {
            no("network.duplicate", "madsim never duplicates messages".into());
        }
        if net.ordering == Ordering::Fifo {
            no("network.ordering", "madsim draws each message's latency on its own, so messages reorder".into());
        }
    }
    if net.default.bandwidth.is_some() {
        no("network.bandwidth", format!("{who} has no bandwidth model"));
    }
    if config.timing.is_on() {
        no("timing", format!("{who} runs on its own timers and clocks; the node timing model is the engine's"));
    }
    if config.spares > 0 {
        no("spares", format!("{who} runs a fixed set of nodes: none joins or leaves"));
    }
    if config.autoscale.is_some() {
        no("autoscale", format!("{who} runs a fixed set of nodes: none joins or leaves"));
    }
    if config.byzantine.is_some() {
        no("byzantine", format!("{who} carries messages as sent: only the engine makes nodes lie"));
    }
    if !config.workload.load.is_empty() {
        no("workload.load", format!("{who} draws its clients' arrivals at one steady rate"));
    }
    if config.settle_core.is_some() {
        no("settle.heal", format!("{who} heals every node in the settle phase, not a core"));
    }
    if net.topology != TopologySpec::Mesh {
        no("network.topology", format!("{who} connects every node to every other"));
    }
    if net.regions.is_some() {
        no("network.regions", format!("{who} has one link behaviour for every pair of nodes, not one per region"));
    }
    if !net.kinds.is_empty() {
        no("network.kinds", format!("{who} has one link behaviour for every message, not one per message kind"));
    }
    if !net.links.is_empty() {
        no("network.links", format!("{who} has one link behaviour for every pair of nodes, not one per link"));
    }
    for f in &config.faults {
        if let Some(why) = fault_problem(&f.fault, who) {
            no("faults", format!("at {}: `{}`: {why}", f.at, f.fault));
        }
    }
    let random = &config.random_faults;
    for (kind, present) in
        [("pause", random.pause.is_some()), ("clock", random.clock.is_some()), ("disk", random.disk.is_some())]
    {
        if present {
            no(&format!("random_faults.{kind}"), format!("{who} cannot {}", problem_verb(kind)));
        }
    }
    if random.churn.is_some() {
        no("random_faults.churn", format!("{who} runs a fixed set of nodes: none joins or leaves"));
    }
    if random.loss.is_some() {
        no("random_faults.loss", format!("{who} cannot change the loss rate during a run"));
    }
    out
}

fn problem_verb(kind: &str) -> &'static str {
    match kind {
        "pause" => "pause a node",
        "disk" => "take a node's disk away",
        _ => "skew a node's clock",
    }
}

fn fault_problem(fault: &Fault, who: &str) -> Option<String> {
    Some(match fault {
        Fault::Partition(_)
        | Fault::Cut { .. }
        | Fault::Heal
        | Fault::EndPartition(_)
        | Fault::Crash(_)
        | Fault::Restart(_)
        | Fault::Targeted(Targeted::Crash(_) | Targeted::Restart(_) | Targeted::Partition(_)) => return None,
        Fault::Pause(_) | Fault::Resume(_) | Fault::Targeted(Targeted::Pause(_) | Targeted::Resume(_)) => {
            format!("{who} cannot pause a node")
        }
        Fault::Clock { .. } | Fault::Drift { .. } => format!("{who} runs every node on one clock"),
        Fault::FreezeDisk(_) | Fault::LoseDisk(_) => format!("{who} cannot take a node's disk away"),
        Fault::Join(_) | Fault::Leave(_) | Fault::Churn { .. } => format!("{who} runs a fixed set of nodes"),
        Fault::Link(_) | Fault::RestoreLinks | Fault::LossBurst { .. } => {
            format!("{who} cannot change link behaviour during a run")
        }
        Fault::Byzantine { .. } => format!("{who} carries messages as sent: only the engine makes nodes lie"),
    })
}

fn latency_name(latency: &Latency) -> &'static str {
    match latency {
        Latency::Constant(_) => "constant",
        Latency::Uniform { .. } => "uniform",
        Latency::Normal { .. } => "normal",
        Latency::Lognormal { .. } => "lognormal",
        Latency::Exponential { .. } => "exponential",
        Latency::Pareto { .. } => "Pareto",
    }
}

/// What `mode` runs differently from the scenario although it can run it, printed before a
/// run. Live, the network is real loopback TCP and clients reach their node in-process (the
/// fields this leaves unapplied are [`ignored`]). On madsim, every sleep lasts at least a
/// millisecond.
pub fn notes(config: &SimConfig, mode: Mode) -> Vec<String> {
    let client_latency = config.workload.client_latency != Latency::Constant(syncsim_sim::SimDuration::ZERO);
    let mut notes = Vec::new();
    match mode {
        Mode::Madsim => {
            notes.push(
                "madsim holds every message at least 1 ms when sent and 1 ms when received (its 0-5 us random \
                 delay, rounded up to its 1 ms timer floor): messages arrive about 2 ms later than \
                 `network.latency` says"
                    .into(),
            );
            if client_latency {
                notes.push(
                    "`workload.client_latency` draws below 1 ms are not slept (madsim sleeps no less than 1 ms)".into(),
                );
            }
        }
        Mode::Live => notes.push(
            "the network is real TCP on loopback: messages take its latency and arrive in order on each \
             link, and clients reach their node in-process"
                .into(),
        ),
    }
    notes
}

/// A scenario field a host runs without applying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    /// The scenario field, as written in the file (`network.latency`).
    pub field: &'static str,
    /// What this scenario sets it to (`lognormal median 2ms p99 20ms`, `0.5%`).
    pub value: String,
    /// What happens instead.
    pub instead: &'static str,
}

/// A field the live host accepts but cannot apply, and when a scenario asks for it.
struct LiveIgnore {
    field: &'static str,
    instead: &'static str,
    /// The field's value when it asks for something loopback TCP does not do, else `None`.
    asks: fn(&SimConfig) -> Option<String>,
}

/// Every scenario field the live host runs without applying: the one list `syncsim live`
/// prints from (docs/host.md documents it). Every other field is applied, or refused by
/// [`check`].
const LIVE_IGNORES: &[LiveIgnore] = &[
    LiveIgnore {
        field: "network.latency",
        instead: "real loopback latency is used",
        asks: |c| Some(latency_text(&c.network.default.latency)),
    },
    LiveIgnore {
        field: "network.loss",
        instead: "TCP loses nothing",
        asks: |c| (c.network.default.loss.get() > 0.0).then(|| c.network.default.loss.to_string()),
    },
    LiveIgnore {
        field: "network.duplicate",
        instead: "TCP duplicates nothing",
        asks: |c| (c.network.default.duplicate.get() > 0.0).then(|| c.network.default.duplicate.to_string()),
    },
    LiveIgnore {
        field: "network.ordering",
        instead: "TCP delivers each link in order",
        // Reordering happens on the engine only where latencies vary.
        asks: |c| {
            let varies = !matches!(c.network.default.latency, Latency::Constant(_));
            (c.network.ordering == Ordering::Reorder && varies).then(|| "reorder".into())
        },
    },
    LiveIgnore {
        field: "workload.client_latency",
        instead: "clients reach their node in-process; tokio's millisecond timers cannot sleep it out",
        asks: |c| {
            let none = Latency::Constant(syncsim_sim::SimDuration::ZERO);
            (c.workload.client_latency != none).then(|| latency_text(&c.workload.client_latency))
        },
    },
];

/// The fields every live run leaves unapplied whatever their value: (field, what happens
/// instead), for documentation and tests.
pub fn live_ignorable() -> impl Iterator<Item = (&'static str, &'static str)> {
    LIVE_IGNORES.iter().map(|i| (i.field, i.instead))
}

/// The fields of `config` that `mode` runs without applying, each with its value in this
/// scenario; empty on madsim, which applies or refuses ([`check`]) every field.
pub fn ignored(config: &SimConfig, mode: Mode) -> Vec<Ignored> {
    if mode != Mode::Live {
        return Vec::new();
    }
    LIVE_IGNORES
        .iter()
        .filter_map(|i| (i.asks)(config).map(|value| Ignored { field: i.field, value, instead: i.instead }))
        .collect()
}

/// The one line `syncsim live` prints before a run: `live ignores: network.latency (lognormal
/// median 2ms p99 20ms; real loopback latency is used), ...`; `None` when nothing is ignored.
pub fn describe_ignored(ignored: &[Ignored]) -> Option<String> {
    if ignored.is_empty() {
        return None;
    }
    let each: Vec<String> = ignored.iter().map(|i| format!("{} ({}; {})", i.field, i.value, i.instead)).collect();
    Some(format!("live ignores: {}", each.join(", ")))
}

fn latency_text(latency: &Latency) -> String {
    match *latency {
        Latency::Constant(d) => format!("constant {d}"),
        Latency::Uniform { min, max } => format!("uniform {min}..{max}"),
        Latency::Normal { mean, stddev } => format!("normal mean {mean} stddev {stddev}"),
        Latency::Lognormal { median, p99 } => format!("lognormal median {median} p99 {p99}"),
        Latency::Exponential { mean } => format!("exponential mean {mean}"),
        Latency::Pareto { scale, shape } => format!("Pareto scale {scale} shape {shape}"),
    }
}

/// One line per unsupported feature, for error messages.
pub fn describe(problems: &[Unsupported]) -> String {
    let mut s = String::from("the scenario asks for what this host cannot express:");
    for p in problems {
        let _ = write!(s, "\n  {}: {}", p.field, p.reason);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::SimDuration;
    use syncsim_sim::fault::TimedFault;
    use syncsim_sim::units::Probability;

    #[test]
    fn madsim_refuses_what_it_cannot_draw_and_names_the_field() {
        let mut config = SimConfig::default();
        config.network.default.latency =
            Latency::Lognormal { median: SimDuration::from_millis(2), p99: SimDuration::from_millis(20) };
        config.network.default.duplicate = Probability::new(0.01).unwrap();
        config.faults.push(TimedFault { at: syncsim_sim::SimTime(5), fault: Fault::Pause(syncsim_sim::NodeId(1)) });
        let problems = check(&config, Mode::Madsim);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["network.latency", "network.duplicate", "faults"]);
        assert!(problems[0].reason.contains("lognormal"), "{}", problems[0].reason);
        assert!(problems[2].reason.contains("cannot pause"), "{}", problems[2].reason);
        // The live host runs the same network as real TCP, and says so, but cannot pause either.
        let live = check(&config, Mode::Live);
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(notes(&config, Mode::Live).len(), 1, "the network itself");
        let ignored = ignored(&config, Mode::Live);
        let fields: Vec<&str> = ignored.iter().map(|i| i.field).collect();
        assert_eq!(fields, ["network.latency", "network.duplicate", "network.ordering"]);
        assert_eq!(ignored[1].value, "1%");
        assert_eq!(
            describe_ignored(&ignored).unwrap(),
            "live ignores: network.latency (lognormal median 2ms p99 20ms; real loopback latency is used), \
             network.duplicate (1%; TCP duplicates nothing), network.ordering (reorder; TCP delivers each link in order)"
        );
        assert_eq!(super::ignored(&config, Mode::Madsim), vec![], "madsim applies or refuses every field");
    }

    #[test]
    fn uniform_latency_loss_partitions_and_crashes_are_expressible() {
        let mut config = SimConfig::default();
        config.network.default.latency =
            Latency::Uniform { min: SimDuration::from_millis(1), max: SimDuration::from_millis(5) };
        config.network.default.loss = Probability::new(0.01).unwrap();
        let n = syncsim_sim::NodeId;
        for fault in [Fault::Partition(vec![vec![n(0)], vec![n(1), n(2)]]), Fault::Heal, Fault::Crash(n(1))] {
            config.faults.push(TimedFault { at: syncsim_sim::SimTime(1), fault });
        }
        assert_eq!(check(&config, Mode::Madsim), vec![]);
        assert_eq!(check(&config, Mode::Live), vec![]);
    }

    #[test]
    fn live_ignores_only_what_the_scenario_asks_for() {
        let mut config = SimConfig::default();
        // The default network: a constant latency (which loopback replaces), nothing else.
        let fields = |c: &SimConfig| ignored(c, Mode::Live).into_iter().map(|i| i.field).collect::<Vec<_>>();
        assert_eq!(fields(&config), ["network.latency"]);
        config.network.default.loss = Probability::new(0.005).unwrap();
        config.network.default.latency =
            Latency::Uniform { min: SimDuration::from_millis(1), max: SimDuration::from_millis(5) };
        config.workload.client_latency = Latency::Constant(SimDuration::from_micros(200));
        assert_eq!(fields(&config), ["network.latency", "network.loss", "network.ordering", "workload.client_latency"]);
        config.network.ordering = Ordering::Fifo;
        assert!(!fields(&config).contains(&"network.ordering"), "TCP is FIFO");
        let line = describe_ignored(&ignored(&config, Mode::Live)).unwrap();
        assert!(line.contains("network.loss (0.5%; TCP loses nothing)"), "{line}");
        assert!(line.contains("workload.client_latency (constant 200us;"), "{line}");
    }

    /// docs/host.md names every field the live host leaves unapplied.
    #[test]
    fn host_docs_name_every_ignored_field() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/host.md")).unwrap();
        for (field, _) in live_ignorable() {
            assert!(docs.contains(&format!("`{field}`")), "docs/host.md does not name `{field}`");
        }
    }
}
