//! Conflict-free replicated data types: replicas accept updates with no coordination, and any
//! two that have seen the same updates hold the same state (strong eventual consistency).
//!
//! Six types, one instance per key ([`types::Crdt`]): the grow-only and the
//! positive-negative counter, a last-writer-wins register map with hybrid-logical-clock
//! timestamps, a multi-value register, an add-wins observed-remove set with dots and no
//! tombstones, and the RGA sequence for collaborative text.
//!
//! Each can be kept in sync three ways ([`SyncMode`]), all in [`node::CrdtNode`]:
//! - **state**: every interval, a node sends its whole state to `fanout` random peers, which
//!   join it into theirs;
//! - **delta**: the delta-state protocol of Almeida, Shoker and Baquero, "Delta state
//!   replicated data types" (JPDC 2018), Algorithm 2: a node keeps the join-decompositions
//!   (deltas) of its updates and of what it received, numbered, and sends each peer the join of
//!   those the peer has not acknowledged; the whole state when it no longer has them;
//! - **op**: every update is broadcast once as an operation over a causal broadcast layer
//!   (vector clocks; an operation waits until everything its sender had seen is delivered), with
//!   periodic anti-entropy that re-sends the operations a peer lacks.
//!
//! A planted [`Bug`] (test builds only) breaks a merge on purpose, so that tests can show the
//! checkers catch it.

pub mod clock;
pub mod context;
pub mod counter;
pub mod lww;
pub mod mvreg;
pub mod node;
pub mod orset;
pub mod rga;
pub mod types;
pub mod wire;

#[cfg(test)]
mod laws;

use serde::{Deserialize, Serialize};
use syncsim_sim::{Family, Launch, Load, Param, ParamError, ProtocolInfo, SimDuration};

use crate::planted::Planted;
use crate::swim::{Membership, SwimConfig};

pub use counter::{GCounter, PnCounter};
pub use lww::LwwRegister;
pub use mvreg::MvRegister;
pub use node::{CrdtMsg, CrdtNode, CrdtTimer};
pub use orset::OrSet;
pub use rga::Rga;
pub use types::{Bug, Crdt, Env, Update};

/// Which data type each key holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrdtType {
    /// Grow-only counter.
    GCounter,
    /// Counter that also counts down.
    PnCounter,
    /// Last-writer-wins register per key.
    LwwMap,
    /// Multi-value register.
    MvRegister,
    /// Add-wins observed-remove set.
    OrSet,
    /// Replicated growable array (a sequence).
    Rga,
}

impl CrdtType {
    /// Every type, in the order `syncsim list` shows them.
    pub const ALL: [CrdtType; 6] = [
        CrdtType::GCounter,
        CrdtType::PnCounter,
        CrdtType::LwwMap,
        CrdtType::MvRegister,
        CrdtType::OrSet,
        CrdtType::Rga,
    ];

    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            CrdtType::GCounter => GCounter::NAME,
            CrdtType::PnCounter => PnCounter::NAME,
            CrdtType::LwwMap => LwwRegister::NAME,
            CrdtType::MvRegister => MvRegister::NAME,
            CrdtType::OrSet => OrSet::NAME,
            CrdtType::Rga => Rga::NAME,
        }
    }
}

/// How replicas exchange what they know.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Periodic full state.
    State,
    /// Periodic deltas since the peer's last acknowledgement.
    Delta,
    /// Each operation broadcast once, delivered in causal order.
    Op,
}

impl SyncMode {
    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::State => "state",
            SyncMode::Delta => "delta",
            SyncMode::Op => "op",
        }
    }
}

/// CRDT parameters from the scenario's `protocol:` map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrdtConfig {
    /// The data type of every key.
    #[serde(rename = "type")]
    pub datatype: CrdtType,
    /// How replicas synchronise.
    pub sync: SyncMode,
    /// Time between a node's synchronisation rounds (anti-entropy in op mode).
    pub interval: SimDuration,
    /// Peers contacted per round.
    pub fanout: u32,
    /// Delta mode: how many delta groups a node keeps for peers that have not acknowledged
    /// them; a peer further behind gets the whole state.
    pub delta_buffer: u32,
    /// Whom a node syncs with: the membership service's list (`oracle`), or the members its
    /// own SWIM failure detector believes up (`swim`).
    pub membership: Membership,
    /// SWIM's parameters (with `membership: swim`).
    pub swim: SwimConfig,
    /// A planted bug (test builds only).
    #[serde(skip_serializing_if = "Planted::is_none")]
    pub bug: Bug,
}

impl Default for CrdtConfig {
    fn default() -> Self {
        CrdtConfig {
            datatype: CrdtType::OrSet,
            sync: SyncMode::Delta,
            interval: SimDuration::from_millis(100),
            fanout: 1,
            delta_buffer: 1024,
            membership: Membership::Oracle,
            swim: SwimConfig::default(),
            bug: Bug::None,
        }
    }
}

impl CrdtConfig {
    /// Checks the parameters; the message names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.interval == SimDuration::ZERO {
            return Err(("interval".into(), "the round interval must be positive".into()));
        }
        if self.fanout == 0 {
            return Err(("fanout".into(), "fanout must be at least 1".into()));
        }
        if self.delta_buffer == 0 {
            return Err(("delta_buffer".into(), "the delta buffer must hold at least 1 group".into()));
        }
        self.bug.check()?;
        if self.membership == Membership::Swim {
            self.swim.validate()?;
        }
        match (self.bug, self.datatype) {
            (Bug::LwwTie | Bug::LwwStaleClock, t) if t != CrdtType::LwwMap => {
                Err(("bug".into(), format!("{} breaks the lww-map merge, not {}", self.bug.name(), t.name())))
            }
            (Bug::RgaTombstonePositions, t) if t != CrdtType::Rga => {
                Err(("bug".into(), format!("rga-tombstone-positions breaks the rga insert, not {}", t.name())))
            }
            (Bug::CounterAdd, t) if !matches!(t, CrdtType::GCounter | CrdtType::PnCounter) => {
                Err(("bug".into(), format!("counter-add breaks the counter merges, not {}", t.name())))
            }
            (Bug::DeltaEarlyAck, _) if self.sync != SyncMode::Delta => {
                Err(("bug".into(), "delta-early-ack breaks delta sync: use it with `sync: delta`".into()))
            }
            _ => Ok(()),
        }
    }
}

/// The `crdt` family: conflict-free replicated data types; the configuration's `type` chooses
/// the data type, and with it the protocol's operations.
#[derive(Copy, Clone, Debug)]
pub struct CrdtFamily;

impl Family for CrdtFamily {
    const KIND: &'static str = "crdt";
    const ABOUT: &'static str =
        "conflict-free replicated data types, synchronised by states, deltas or causal broadcast";
    type Config = CrdtConfig;

    /// States and deltas: a joiner takes a member's state, a leaver hands its own to two. Op
    /// mode's causal broadcast trims its log once every node has delivered an operation, so
    /// it assumes the nodes are fixed.
    fn elastic(config: &CrdtConfig) -> Result<(), ParamError> {
        match config.sync {
            SyncMode::Op => Err((
                "sync".into(),
                "op-based delivery trims its log once every node has an operation: it assumes a fixed set \
                 of nodes, so none may join or leave (use `sync: state` or `delta`)"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    fn params() -> Vec<Param> {
        vec![
            Param::new("type", "g-counter | pn-counter | lww-map | mv-register | or-set | rga"),
            Param::new("sync", "state (full state) | delta (delta-state, acked) | op (causal broadcast)"),
            Param::new("interval", "time between a node's sync rounds (op: anti-entropy rounds)"),
            Param::new("fanout", "peers contacted per round"),
            Param::new("delta_buffer", "delta groups kept for unacknowledging peers"),
        ]
        .into_iter()
        .chain(SwimConfig::params())
        .chain(Bug::param())
        .collect()
    }

    fn validate(config: &CrdtConfig, _: &[String]) -> Result<(), ParamError> {
        config.validate()
    }

    /// The default estimate, plus the SWIM failure detector's traffic with `membership: swim`.
    fn load(config: &CrdtConfig, _: usize) -> Load {
        let mut load = Load::typical(info(config).round);
        load.calls_per_node_second += config.swim.calls_per_node_second(config.membership);
        load
    }

    /// A CRDT serves its data type's operations.
    fn notes() -> Vec<String> {
        let mut lines = vec!["operations by type:".to_string()];
        for t in CrdtType::ALL {
            let config = CrdtConfig { datatype: t, ..Default::default() };
            let ops: Vec<&str> = info(&config).ops.iter().map(|o| o.name()).collect();
            lines.push(format!("  {:<14} {}", t.name(), ops.join(", ")));
        }
        lines
    }

    fn launch<L: Launch>(config: &CrdtConfig, _: &[String], launch: L) -> L::Output {
        let c = config.clone();
        match config.datatype {
            CrdtType::GCounter => launch.launch::<CrdtNode<GCounter>>(c),
            CrdtType::PnCounter => launch.launch::<CrdtNode<PnCounter>>(c),
            CrdtType::LwwMap => launch.launch::<CrdtNode<LwwRegister>>(c),
            CrdtType::MvRegister => launch.launch::<CrdtNode<MvRegister>>(c),
            CrdtType::OrSet => launch.launch::<CrdtNode<OrSet>>(c),
            CrdtType::Rga => launch.launch::<CrdtNode<Rga>>(c),
        }
    }
}

/// The protocol's description under `config`, for the data type it names.
pub fn info(config: &CrdtConfig) -> ProtocolInfo {
    <CrdtFamily as Family>::info(config)
}
