//! What a run will cost, worked out before it starts: operations, samples, handler calls,
//! memory and time, so that a scenario which cannot fit is refused with the field to change
//! and a long one can show progress.
//!
//! The figures are deliberate over-estimates (upper bounds for the workload and the samples,
//! generous constants per operation and per node), measured against the shipped scenarios in
//! the tests: a run that fits its estimate fits the machine.

use crate::engine::SimConfig;
use crate::time::SimDuration;
use crate::workload::Arrival;

/// What a protocol costs per unit of load, as its family estimates it
/// ([`crate::Family::load`]).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Load {
    /// Handler calls each node makes per simulated second with no client load: its timers
    /// and the messages they send.
    pub calls_per_node_second: f64,
    /// Handler calls per client operation, across the cluster, for a cluster of `n` nodes:
    /// `per_op_base + per_op_per_node × n`.
    pub per_op_base: f64,
    /// See [`Load::per_op_base`].
    pub per_op_per_node: f64,
    /// Further work per simulated second, counted in handler calls (an annealing solver's
    /// sweeps, say).
    pub work_per_second: f64,
    /// Memory the protocol holds at its peak besides its replicas' data (bytes).
    pub peak_bytes: f64,
    /// The parameter that decides `work_per_second` and `peak_bytes`, relative to
    /// `protocol:`, to name when they are too large.
    pub heavy_param: Option<&'static str>,
}

impl Load {
    /// A protocol that works in rounds of `round` (or, with none, keeps timers about every
    /// 20 ms, as a heartbeat does), and sends each operation to every node and back.
    pub fn typical(round: Option<SimDuration>) -> Load {
        let round_secs = round.map_or(0.02, |r| (r.0 as f64 / 1e9).max(1e-9));
        Load {
            // A timer and about three messages (request, answer, push) per node per round.
            calls_per_node_second: 4.0 / round_secs,
            per_op_base: 2.0,
            per_op_per_node: 2.0,
            work_per_second: 0.0,
            peak_bytes: 0.0,
            heavy_param: None,
        }
    }
}

/// Bytes a history entry and its latency record take.
const BYTES_PER_OP: f64 = 256.0;
/// Bytes per write per replica in the visibility tracker (a timestamp).
const BYTES_PER_WRITE_REPLICA: f64 = 8.0;
/// Bytes a state sample keeps (convergence and timeline points).
const BYTES_PER_SAMPLE: f64 = 64.0;
/// Bytes per node for its state machine, queues and bookkeeping.
const BYTES_PER_NODE: f64 = 16.0 * 1024.0;
/// Bytes per key per node of replicated data.
const BYTES_PER_KEY_REPLICA: f64 = 64.0;
/// Handler calls a second a core gets through, for the time estimate (a slow protocol's).
const CALLS_PER_SECOND: f64 = 2.0e6;
/// State digests a second a core works out when sampling.
const DIGESTS_PER_SECOND: f64 = 2.0e7;

/// A run's estimated cost.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Cost {
    /// Client operations, at most.
    pub operations: f64,
    /// Writes among them, at most.
    pub writes: f64,
    /// State samples.
    pub samples: f64,
    /// Protocol handler calls (the engine's `events`).
    pub calls: f64,
    /// Peak memory, bytes.
    pub bytes: f64,
    /// Wall-clock time on one core, seconds.
    pub seconds: f64,
    /// Nodes.
    pub nodes: u32,
    /// Where the bytes go, largest first: (scenario field to change, bytes).
    pub memory: [(&'static str, f64); 5],
}

impl Cost {
    /// The cost of running `config` for a protocol with `load`.
    pub fn estimate(config: &SimConfig, load: &Load) -> Cost {
        let secs = |d: SimDuration| d.0 as f64 / 1e9;
        let (run, all) = (secs(config.duration), secs(config.duration) + secs(config.settle));
        let nodes = f64::from(config.nodes);
        let w = &config.workload;
        let random = match w.arrival {
            // The expected count plus six standard deviations: a bound the draw stays under.
            Arrival::Poisson(rate) => {
                let mean = rate.get() * run;
                mean + 6.0 * mean.sqrt() + 1.0
            }
            // A client cannot start more operations than round trips to its node fit (the
            // engine's 1 ns is the floor when neither think time nor latency is given).
            Arrival::Closed { think } => {
                let cycle = (secs(think) + 2.0 * secs(w.client_latency.median())).max(1e-9);
                f64::from(w.clients) * (run / cycle + 1.0)
            }
        };
        let random = if w.clients == 0 { 0.0 } else { random };
        let workload_field = match w.arrival {
            Arrival::Poisson(_) => "workload.arrival",
            Arrival::Closed { .. } => "workload.clients",
        };
        let operations = random + w.script.len() as f64;
        let total_weight: u32 = w.mix.iter().map(|&(_, weight)| weight).sum();
        let update_weight: u32 = w.mix.iter().filter(|(k, _)| k.is_update()).map(|&(_, weight)| weight).sum();
        let update_share = if total_weight == 0 { 1.0 } else { f64::from(update_weight) / f64::from(total_weight) };
        let writes = random * update_share + w.script.iter().filter(|s| s.op.is_update()).count() as f64;
        let samples = (all / secs(config.sample_every).max(1e-9)).ceil() + 1.0;
        // A duplicated message is delivered, and handled, twice.
        let duplicate = std::iter::once(&config.network.default)
            .chain(config.network.links.iter().map(|l| &l.spec))
            .map(|spec| spec.duplicate.get())
            .fold(0.0, f64::max);
        let calls = (operations * (load.per_op_base + load.per_op_per_node * nodes)
            + load.calls_per_node_second * nodes * all)
            * (1.0 + duplicate)
            + nodes;
        let mut memory = [
            (workload_field, operations * BYTES_PER_OP + writes * nodes * BYTES_PER_WRITE_REPLICA),
            ("engine.sample_every", samples * BYTES_PER_SAMPLE),
            (
                "nodes",
                nodes
                    * (BYTES_PER_NODE
                        + w.keys.min((operations as u64).saturating_add(1)) as f64 * BYTES_PER_KEY_REPLICA),
            ),
            (load.heavy_param.unwrap_or("protocol"), load.peak_bytes),
            ("faults", (config.faults.len() as f64) * 128.0),
        ];
        memory.sort_by(|a, b| b.1.total_cmp(&a.1));
        let bytes = memory.iter().map(|m| m.1).sum();
        let seconds = (calls + load.work_per_second * all) / CALLS_PER_SECOND + samples * nodes / DIGESTS_PER_SECOND;
        Cost { operations, writes, samples, calls, bytes, seconds, nodes: config.nodes, memory }
    }

    /// Why the run cannot fit in `limit_bytes`, naming the field that costs most.
    pub fn too_big(&self, limit_bytes: f64) -> Option<(&'static str, String)> {
        if self.bytes <= limit_bytes {
            return None;
        }
        let (field, bytes) = self.memory[0];
        let what = match field {
            "workload.arrival" | "workload.clients" => format!(
                "about {} operations ({} writes, each remembered per replica)",
                count(self.operations),
                count(self.writes)
            ),
            "engine.sample_every" => format!("{} state samples", count(self.samples)),
            "nodes" => format!("{} nodes", self.nodes),
            _ => format!("what `{field}` decides"),
        };
        Some((
            field,
            format!(
                "the run would need about {} of memory, more than the limit of {} (engine.memory_limit_mb); \
                 the largest part is {what} ({}): change `{field}`",
                size(self.bytes),
                size(limit_bytes),
                size(bytes)
            ),
        ))
    }

    /// One line for the banner.
    pub fn summary(&self) -> String {
        format!(
            "about {} operations, {} samples, {} events, {} of memory, {}",
            count(self.operations),
            count(self.samples),
            count(self.calls),
            size(self.bytes),
            duration(self.seconds)
        )
    }
}

/// A count in a few significant figures (`12k`, `3.4M`).
fn count(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.1}G", x / 1e9),
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x if x >= 1e3 => format!("{:.0}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

/// Bytes in binary units.
fn size(bytes: f64) -> String {
    match bytes {
        b if b >= (1u64 << 40) as f64 => format!("{:.1} TiB", b / (1u64 << 40) as f64),
        b if b >= (1u64 << 30) as f64 => format!("{:.1} GiB", b / (1u64 << 30) as f64),
        b if b >= (1u64 << 20) as f64 => format!("{:.0} MiB", b / (1u64 << 20) as f64),
        b => format!("{:.0} KiB", (b / 1024.0).max(1.0)),
    }
}

/// Seconds as the banner says them.
fn duration(seconds: f64) -> String {
    match seconds {
        s if s < 1.0 => "under a second".to_string(),
        s if s < 120.0 => format!("about {s:.0} s"),
        s if s < 7200.0 => format!("about {:.0} min", s / 60.0),
        s => format!("about {:.0} h", s / 3600.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Rate;

    fn config(f: impl FnOnce(&mut SimConfig)) -> SimConfig {
        let mut c = SimConfig { nodes: 5, duration: SimDuration::from_secs(30), ..SimConfig::default() };
        c.workload.clients = 8;
        c.workload.arrival = Arrival::Poisson(Rate::per_sec(200.0).unwrap());
        f(&mut c);
        c
    }

    #[test]
    fn a_modest_run_fits_and_each_heavy_field_is_named() {
        let load = Load::typical(Some(SimDuration::from_millis(100)));
        let modest = Cost::estimate(&config(|_| {}), &load);
        assert_eq!(modest.too_big(8.0 * (1u64 << 30) as f64), None, "{modest:?}");
        assert!(modest.operations > 6000.0 && modest.operations < 7000.0, "{modest:?}");

        let sampled = Cost::estimate(&config(|c| c.sample_every = SimDuration(1)), &load);
        assert_eq!(sampled.too_big(8.0 * (1u64 << 30) as f64).map(|t| t.0), Some("engine.sample_every"));

        let flooded =
            Cost::estimate(&config(|c| c.workload.arrival = Arrival::Poisson(Rate::per_sec(1e8).unwrap())), &load);
        assert_eq!(flooded.too_big(8.0 * (1u64 << 30) as f64).map(|t| t.0), Some("workload.arrival"));

        let crowd = Cost::estimate(
            &config(|c| {
                c.nodes = 1_000_000;
                c.workload.clients = 0;
            }),
            &load,
        );
        assert_eq!(crowd.too_big(8.0 * (1u64 << 30) as f64).map(|t| t.0), Some("nodes"));
    }
}
