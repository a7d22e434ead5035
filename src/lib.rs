//! syncsim: a deterministic discrete-event simulator and test harness for
//! data-synchronisation protocols.
//!
//! This crate is the command line and the facade over the workspace:
//! - [`sim`]: the engine (time, events, RNG streams, network, faults, clients, history);
//! - [`protocols`]: the protocols, as sans-IO state machines;
//! - [`reports`]: checkers, statistics, the report model and its renderings;
//! - [`scenario`]: scenario files; [`runner`]: running one under a seed; [`compare`]: comparing
//!   a scenario's protocol variants; [`output`]: the files a run writes; [`lincheck`]: checking a history file for linearizability.
//! - [`sweep`]: many seeds of one scenario, aggregated; [`harness`]: the same from a test;
//!   [`check`]: CI's command, with expectations and baselines; [`shrink`]: minimal failing
//!   scenarios; [`hunt`]: the planted bugs hunted, syncsim's bug-finding power measured.
//! - [`host`]: the same protocols as async nodes on madsim or a live loopback cluster;
//!   [`cmd`]: the commands, one file each.
//!
//! A protocol crate's test can run a scenario over many seeds and fail with the seed and the
//! command that reproduces it:
//!
//! ```
//! // In the protocol crate's tests/, with `#[test]` on it:
//! fn survives_partitions() -> Result<(), Box<dyn std::error::Error>> {
//!     syncsim::Scenario::from_file("scenarios/partition-heal.yaml")?.seeds(0..200).run()?.assert_passed();
//!     Ok(())
//! }
//! # survives_partitions().unwrap();
//! ```
//!
//! Or one run, from text:
//!
//! ```
//! let scenario = syncsim::scenario::Scenario::parse(
//!     "name: demo\nduration: 2s\nnodes: 4\nprotocol: { kind: gossip, mode: push-pull }\n\
//!      workload: { clients: 2, arrival: { poisson: 50/s }, ops: { put: 50%, get: 50% } }\n\
//!      expect: { converged: true }\n",
//!     "demo.yaml",
//! )?;
//! let result = syncsim::runner::run(&scenario, 7, false)?;
//! assert_eq!(result.report.exit_code, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod anneal;
pub mod check;
pub mod cli;
pub mod cmd;
pub mod compare;
pub mod experiment;
pub mod harness;
pub mod hunt;
pub mod lincheck;
pub mod output;
pub mod registry;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod sweep;
pub mod sweep_page;

pub use harness::{Seeds, SweepError};
pub use registry::{ProtocolConfig, Registry};
pub use scenario::{Scenario, ScenarioFile};
pub use sweep::SweepReport;
pub use syncsim_host as host;
pub use syncsim_protocols as protocols;
pub use syncsim_reports as reports;
pub use syncsim_sim as sim;
