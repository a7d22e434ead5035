//! syncsim: a deterministic discrete-event simulator and test harness for
//! data-synchronisation protocols.
//!
//! This crate is the command line and the facade over the workspace:
//! - [`sim`]: the engine (time, events, RNG streams, network, faults, clients, history);
//! - [`protocols`]: the protocols, as sans-IO state machines;
//! - [`reports`]: checkers, statistics, the report model and its renderings;
//! - [`scenario`]: scenario files; [`runner`]: running one under a seed; [`compare`]: comparing
//!   a scenario's protocol variants; [`output`]: the files a run writes; [`lincheck`]: checking a history file for linearizability.
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
pub mod cli;
pub mod compare;
pub mod experiment;
pub mod lincheck;
pub mod output;
pub mod runner;
pub mod scenario;
pub mod sweep;
pub mod sweep_cmd;

pub use syncsim_protocols as protocols;
pub use syncsim_reports as reports;
pub use syncsim_sim as sim;
