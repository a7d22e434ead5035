//! syncsim's protocols, each a sans-IO state machine implementing [`syncsim_sim::Protocol`].
//!
//! - [`gossip`]: anti-entropy (push, pull, push-pull) and rumor mongering over a
//!   last-writer-wins key-value store.
//! - [`anneal`]: Ising/QUBO models and annealing solvers, usable on their own, and the
//!   annealing sync scheduler (`anneal-sync`) that chooses gossip's anti-entropy pairs.
//! - [`crdt`]: conflict-free replicated data types (counters, LWW map, multi-value register,
//!   OR-Set, RGA sequence) synchronised by full states, deltas or causal broadcast.
//! - [`dynamo`]: a Dynamo-style partitioned store: consistent hashing, N/R/W quorums, sloppy
//!   quorums with hinted handoff, read repair and Merkle-tree anti-entropy.
//! - [`raft`]: Raft consensus over a replicated key-value store.
//! - [`pbft`]: PBFT, Byzantine fault-tolerant replication of the same store (f of 3f + 1).
//! - [`flood`]: tokens passed between random peers, to load the engine in benchmarks.
//! - [`planted`]: the deliberate bugs tests switch on (test builds only).
//!
//! Each family implements [`syncsim_sim::Family`] next to its configuration: its kind name,
//! parameters, validation and the state machine that runs it. The syncsim crate's registry
//! lists them.

pub mod anneal;
pub mod crdt;
pub mod dynamo;
pub mod flood;
pub mod gossip;
pub mod handoff;
pub mod pbft;
pub mod planted;
pub mod raft;
pub mod swim;

pub use anneal::sched::{SchedConfig, SchedNode};
pub use crdt::{CrdtConfig, CrdtFamily, CrdtNode, CrdtType, SyncMode};
pub use dynamo::{DynamoConfig, DynamoNode};
pub use flood::{FloodConfig, FloodNode};
pub use gossip::{GossipConfig, GossipNode};
pub use pbft::{PbftConfig, PbftNode};
pub use raft::{RaftConfig, RaftNode};
