//! Runs a checked scenario under one seed: picks the protocol, drives the engine with the
//! report's tracker watching, and builds the report.

use syncsim_protocols::crdt::{GCounter, LwwRegister, MvRegister, OrSet, PnCounter, Rga};
use syncsim_protocols::{CrdtNode, CrdtType, FloodNode, GossipNode, ProtocolConfig, RaftNode, SchedNode};
use syncsim_reports::{Report, RunContext, Tracker};
use syncsim_sim::history::History;
use syncsim_sim::trace::TraceRecord;
use syncsim_sim::{Protocol, Sim, SimError};

use crate::scenario::Scenario;

/// What one run leaves behind.
#[derive(Debug)]
pub struct RunResult {
    /// The report (also `report.json`).
    pub report: Report,
    /// Every client operation.
    pub history: History,
    /// Every event, when recording was asked for.
    pub trace: Vec<TraceRecord>,
}

/// The command line that reproduces a run of `file` (its variant `variant`, if any) under
/// `seed`.
pub fn reproduce_command(file: &str, seed: u64, variant: Option<&str>) -> String {
    match variant {
        Some(v) => format!("syncsim run {file} --seed {seed} --variant {v}"),
        None => format!("syncsim run {file} --seed {seed}"),
    }
}

/// Runs `scenario` under `seed`; `record_trace` keeps every event, not only the hash.
pub fn run(scenario: &Scenario, seed: u64, record_trace: bool) -> Result<RunResult, SimError> {
    match scenario.protocol() {
        ProtocolConfig::Gossip(config) => run_with::<GossipNode>(scenario, config.clone(), seed, record_trace),
        ProtocolConfig::AnnealSync(config) => {
            let mut c = config.clone();
            // The scenario checked the name; an absent one means the first node.
            let named = c.scheduler.as_ref().and_then(|n| scenario.node_names.iter().position(|m| m == n));
            c.scheduler_id = named.unwrap_or(0) as u32;
            run_with::<SchedNode>(scenario, c, seed, record_trace)
        }
        ProtocolConfig::Raft(config) => run_with::<RaftNode>(scenario, config.clone(), seed, record_trace),
        ProtocolConfig::Flood(config) => run_with::<FloodNode>(scenario, config.clone(), seed, record_trace),
        ProtocolConfig::Crdt(config) => {
            let c = config.clone();
            match config.datatype {
                CrdtType::GCounter => run_with::<CrdtNode<GCounter>>(scenario, c, seed, record_trace),
                CrdtType::PnCounter => run_with::<CrdtNode<PnCounter>>(scenario, c, seed, record_trace),
                CrdtType::LwwMap => run_with::<CrdtNode<LwwRegister>>(scenario, c, seed, record_trace),
                CrdtType::MvRegister => run_with::<CrdtNode<MvRegister>>(scenario, c, seed, record_trace),
                CrdtType::OrSet => run_with::<CrdtNode<OrSet>>(scenario, c, seed, record_trace),
                CrdtType::Rga => run_with::<CrdtNode<Rga>>(scenario, c, seed, record_trace),
            }
        }
    }
}

fn run_with<P: Protocol>(
    scenario: &Scenario,
    config: P::Config,
    seed: u64,
    record_trace: bool,
) -> Result<RunResult, SimError> {
    let mut sim_config = scenario.sim.clone();
    sim_config.seed = seed;
    sim_config.record_trace = record_trace;
    let tracker = Tracker::new(scenario.node_names.len());
    let out = Sim::<P, Tracker>::new(sim_config, config, tracker)?.run();
    let mut parameters = scenario.parameters();
    parameters["seed"] = seed.into();
    let context = RunContext {
        name: match &scenario.variant {
            Some(v) => format!("{}/{v}", scenario.name()),
            None => scenario.name().to_string(),
        },
        description: scenario.raw.description.clone(),
        file: scenario.file.clone(),
        parameters,
        protocol: scenario.protocol().info(),
        node_names: scenario.node_names.clone(),
        expectations: scenario.expectations.clone(),
        reproduce: reproduce_command(&scenario.file, seed, scenario.variant.as_deref()),
        lincheck_budget: syncsim_reports::lin::Budget {
            max_bytes: scenario.raw.engine.lincheck_budget_mb.saturating_mul(1 << 20),
        },
    };
    let report = Report::build(context, &out);
    Ok(RunResult { report, history: out.history, trace: out.trace })
}
