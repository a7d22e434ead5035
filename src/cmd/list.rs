//! `syncsim list`: the protocol families with their parameters and defaults, the scenario
//! defaults and vocabularies, every expectation metric with its class (safety or liveness) and
//! meaning, and the exit codes.

use syncsim_reports::Exit;
use syncsim_reports::expect::{self, Class};

use crate::registry::Registry;
use crate::scenario::raw::{RawEngine, RawNetwork, RawWorkload, Settle};

/// The text of `syncsim list`: every protocol with its parameters and defaults, the defaults
/// of every scenario section, and the vocabularies scenarios use.
pub fn list(registry: &Registry) -> String {
    let mut s = String::new();
    let yaml = |v: &dyn erased::Yaml| v.to_yaml();
    s.push_str("PROTOCOLS (protocol: { kind: <name>, <parameter>: <value>, ... })\n");
    for family in registry.describe() {
        let info = family.info;
        let ops: Vec<&str> = info.ops.iter().map(|o| o.name()).collect();
        s.push_str(&format!(
            "\n  {}: {}\n    consistency {:?}; operations: {}\n",
            family.kind,
            family.about,
            info.consistency,
            if ops.is_empty() { "none".to_string() } else { ops.join(", ") }
        ));
        for (name, default, help) in family.params {
            s.push_str(&format!("    {name:<16} default {default:<10} {help}\n"));
        }
        for line in family.notes {
            s.push_str(&format!("    {line}\n"));
        }
    }
    s.push_str("\nSCENARIO DEFAULTS (any section left out takes these)\n");
    s.push_str("  seed: 0\n  settle:\n");
    s.push_str(&indent(&yaml(&Settle::default()), 4));
    s.push_str("  network:\n");
    s.push_str(&indent(&yaml(&RawNetwork::default()), 4));
    s.push_str("  workload:\n");
    s.push_str(&indent(&yaml(&RawWorkload::default()), 4));
    s.push_str("  engine:\n");
    s.push_str(&indent(&yaml(&RawEngine::default()), 4));
    s.push_str(
        "\nNODES\n  nodes: 5 (named n0..n4) | nodes: [a, b, c] | nodes: { regions: { eu: 3, us: [us-a, us-b] } } (eu-0, eu-1, ...)\n",
    );
    s.push_str("\nLATENCY DISTRIBUTIONS\n");
    for d in [
        "{ constant: 5ms }",
        "{ uniform: { min: 1ms, max: 10ms } }",
        "{ normal: { mean: 5ms, stddev: 1ms } }            (truncated at 0)",
        "{ lognormal: { median: 2ms, p99: 20ms } }",
        "{ exponential: { mean: 5ms } }",
        "{ pareto: { scale: 1ms, shape: 1.5 } }",
    ] {
        s.push_str(&format!("  {d}\n"));
    }
    s.push_str("\nTOPOLOGIES\n  mesh | ring | { star: { hub: n0 } } | { links: [[n0, n1], [n1, n2]] }   (multi-hop over the lowest-latency path)\n");
    s.push_str("\nFAULTS (faults: [ { at: 10s, <action> }, ... ])\n");
    for f in [
        "partition: [[n0, n1], [n2, n3, n4]]     groups cannot talk; unlisted nodes are unaffected",
        "cut: { from: [n0], to: [n1, n2] }       one direction only",
        "heal: all                               every partition and cut ends",
        "crash: n2 / restart: n2                 volatile state, timers and inbound messages are lost",
        "pause: n1 / resume: n1                  the node freezes; what arrives waits",
        "clock: { node: n3, rate: 1.5, jump: -20ms }   the node's clock runs fast or slow",
        "network: { latency: ..., loss: 5%, duplicate: 1%, between: [n0, n1] }   links change",
        "loss_burst: 30%                         every link also loses 30% (stacks on the links' loss)",
        "drift: { node: n3, factor: 1.2, jump: 1s }   the node's clock runs 1.2 times its rate (after stepping 1s)",
        "lose_disk: n2                           n2 reboots with an empty disk",
    ] {
        s.push_str(&format!("  {f}\n"));
    }
    s.push_str(
        "  lasts: 2s                               a crash, pause, partition, loss_burst or drift ends by itself\n    \
         after 2s; with lose_disk, the disk stops persisting for 2s, then the node reboots from it\n",
    );
    s.push_str("\nRANDOM FAULTS (random_faults: { <kind>: { every: 10s, lasts: 1s..5s } })\n");
    s.push_str(
        "  crash | partition | pause | clock (with factor: 2.0, optionally jump: 500ms) | loss (with loss: 20%) | disk\n  \
         swarm                                   each seed draws the kinds, their rates and lengths, the workload's\n    \
         shape and the network's duplication and reordering (random_faults: { swarm: { kinds, every, lasts,\n    \
         workload, network } }; docs/swarm.md)\n",
    );
    s.push_str(
        "\nSETTLE (settle: { duration: 5s, restart_crashed: true, heal: all | core })\n  heal: core heals only a \
         random core (a majority for linearizable protocols) and keeps the rest down\n",
    );
    s.push_str(&expectations());
    s.push_str("\nEXIT CODES (every command)\n");
    s.push_str(&Exit::table());
    s
}

/// The `EXPECTATIONS` section: every metric of [`expect::METRICS`], safety metrics first,
/// each with its threshold's kind and meaning, under the exit code its failure gives.
fn expectations() -> String {
    let mut s = String::from("\nEXPECTATIONS (expect: { <metric>: <threshold> })\n");
    for (class, exit) in [(Class::Safety, Exit::Safety), (Class::Liveness, Exit::Liveness)] {
        s.push_str(&format!("  {} metrics (a failed one exits {}):\n", class.name(), exit.code()));
        for m in expect::METRICS.iter().filter(|m| m.class == class) {
            // A name too long for its column takes a line of its own.
            let name = if m.pattern.len() > 32 { format!("{}\n{:36}", m.pattern, "") } else { m.pattern.into() };
            s.push_str(&format!("    {name:<32} {:<6}  {}\n", m.kind.unit(), m.meaning));
        }
    }
    s.push_str(&format!(
        "  <op> is one of {}\n  thresholds: time `< 50ms`, share `>= 99%` or `>= 0.99`, number `<= 3`, bool `true`\n",
        expect::OPS.join(", ")
    ));
    s
}

fn indent(text: &str, by: usize) -> String {
    text.lines().map(|l| format!("{}{l}\n", " ".repeat(by))).collect()
}

/// Serializing defaults as YAML, with enums written as maps the way scenarios write them.
mod erased {
    use serde::Serialize;

    pub trait Yaml {
        fn to_yaml(&self) -> String;
    }

    impl<T: Serialize> Yaml for T {
        fn to_yaml(&self) -> String {
            let mut out = Vec::new();
            let mut ser = serde_yaml::Serializer::new(&mut out);
            serde_yaml::with::singleton_map_recursive::serialize(self, &mut ser).expect("defaults serialize");
            String::from_utf8(out).expect("YAML is UTF-8")
        }
    }
}
