//! syncsim's async host: the same sans-IO protocols the engine runs, as async nodes that talk
//! over `madsim::net::Endpoint`.
//!
//! Built with `--cfg madsim` (see `scripts/madsim.sh`), the nodes run in madsim's
//! deterministic simulator: partitions become directional clogs, crashes and restarts become
//! `Handle::kill` and `Handle::restart`, and the scenario's latency range and loss become
//! madsim's network configuration ([`simulate`]). Built without it, the same code runs on tokio
//! with real TCP sockets on loopback and wall-clock time ([`live`]); the host then applies
//! partitions by dropping a cut link's traffic and crashes by stopping a node's task.
//!
//! Either way a run yields the engine's own [`RunOutput`], with the history in the engine's
//! format, so the reports crate judges it with the same checkers. What a host cannot express
//! (per-link latency distributions, clock faults, ...) is refused by [`check`]; what the live
//! host runs without applying (the scenario's latency, loss, duplication, ...) is named by
//! [`ignored`] and printed before the run, never silently ignored.

mod fabric;
pub mod support;
pub mod wire;
mod world;

pub use syncsim_sim::Hostable;
use syncsim_sim::{Observer, RunOutput, SimConfig};

pub use support::{Ignored, Mode, Unsupported, check, describe_ignored, ignored, notes};

/// Why a hosted run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The scenario asks for what this host cannot express; each entry names the field.
    #[error("{}", support::describe(.0))]
    Unsupported(Vec<Unsupported>),
    /// The engine's own checks refused the configuration.
    #[error("{0}")]
    Invalid(String),
    /// The host's runtime or sockets failed.
    #[error("host I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Refuses what `mode` cannot express, then what the engine would refuse.
fn admit(config: &SimConfig, mode: Mode) -> Result<(), HostError> {
    let problems = check(config, mode);
    if !problems.is_empty() {
        return Err(HostError::Unsupported(problems));
    }
    world::validate(config)
}

/// Runs one seed of `config` in madsim's deterministic simulator. Run one seed per process:
/// madsim's determinism holds for one simulation per process.
#[cfg(madsim)]
pub fn simulate<P: Hostable, O: Observer + Send + 'static>(
    config: &SimConfig,
    protocol: P::Config,
    observer: O,
) -> Result<RunOutput<O>, HostError> {
    admit(config, Mode::Madsim)?;
    let runtime = madsim::runtime::Runtime::with_seed_and_config(config.seed, fabric::madsim_config(config));
    let config = config.clone();
    Ok(runtime.block_on(async move {
        let fabric = fabric::Fabric::new(config.nodes);
        world::drive_on::<P, O>(config, protocol, observer, fabric).await
    }))
}

/// Runs `config` as a real cluster on loopback: one tokio task per node with its own TCP
/// endpoint, wall-clock time, for the scenario's duration and settle phase.
#[cfg(not(madsim))]
pub fn live<P: Hostable, O: Observer + Send + 'static>(
    config: &SimConfig,
    protocol: P::Config,
    observer: O,
) -> Result<RunOutput<O>, HostError> {
    admit(config, Mode::Live)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let config = config.clone();
    runtime.block_on(async move {
        let fabric = fabric::Fabric::bind(config.nodes).await?;
        Ok(world::drive_on::<P, O>(config, protocol, observer, fabric).await)
    })
}
