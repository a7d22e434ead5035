//! syncsim's deterministic discrete-event engine.
//!
//! Time ([`time`]), events ([`queue`]), random streams ([`rng`]), the network ([`network`],
//! [`topology`], [`dist`]), faults ([`fault`]), clients ([`workload`]) and the history of client
//! operations ([`history`]), driving protocols through the sans-IO contract of [`protocol`].
//! It knows no protocol and no report, prints nothing and reads no file.

pub mod byzantine;
pub mod cluster;
pub mod cost;
pub mod dist;
pub mod engine;
pub mod family;
pub mod fault;
pub mod foresight;
pub mod history;
pub mod ledger;
pub mod monitor;
pub mod network;
pub mod observe;
pub mod protocol;
pub mod queue;
pub mod rng;
pub mod time;
pub mod timing;
pub mod topology;
pub mod trace;
pub mod traffic;
pub mod units;
pub mod workload;

pub use byzantine::{ByzantineConfig, ByzantineStats, Lie, Lies, Signatures};
pub use cluster::{Cluster, Ending, Slot, Transport};
pub use cost::{Cost, Load};
pub use engine::{Autoscale, RunOutput, Sim, SimConfig, SimError};
pub use family::{Family, Hostable, Launch, Param, ParamError};
pub use foresight::Foresight;
pub use history::{Entry, History, Key, Op, OpKind, Outcome, Output, Value};
pub use ledger::Ledger;
pub use monitor::{Monitor, NoMonitor, ProtocolMetrics, Violation};
pub use observe::{Observer, Sample};
pub use protocol::{
    Consistency, Ctx, Datatype, Departure, Effects, Exposure, Message, NodeId, Peers, Placement, Protocol,
    ProtocolInfo, Reply, RequestId, TimerOp,
};
pub use rng::SimRng;
pub use time::{DurationRange, SimDuration, SimTime};
