//! syncsim's checkers, statistics and reports. Depends on the engine's histories and metrics,
//! never on a protocol.
//!
//! - [`tracker`]: the observer fed while a run goes on ([`visibility`], [`convergence`]);
//! - [`latency`]: operation counts, availability and latency percentiles;
//! - [`sec`]: the strong-eventual-consistency checker of final states, with [`sequence`]'s
//!   strong list specification; [`staleness`]: stale
//!   reads; [`session`]: read-your-writes, monotonic reads and writes per client; [`windows`]:
//!   when faults were in force;
//! - [`writes`]: which write a read saw and which writes supersede which (lost writes);
//! - [`expect`]: the scenario's expectations;
//! - [`report`]: the `report.json` model and the verdict; [`summary`]: the terminal rendering.

pub mod audit;
pub mod charts;
pub mod convergence;
pub mod expect;
pub mod history;
pub mod latency;
pub mod lin;
pub mod page;
pub mod pbs;
pub mod perfetto;
pub mod report;
pub mod run_charts;
pub mod sec;
pub mod sequence;
pub mod session;
pub mod spacetime;
pub mod staleness;
pub mod summary;
pub mod timeline;
pub mod tracker;
pub mod visibility;
pub mod windows;
pub mod writes;

pub use report::{Exit, Report, RunContext, Verdict};
pub use tracker::Tracker;
