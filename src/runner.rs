//! Runs a checked scenario under one seed: picks the protocol, drives it on a host (the
//! engine, madsim, or a live loopback cluster) with the report's tracker watching, and builds
//! the report.

use syncsim_host::HostError;
use syncsim_reports::{Report, RunContext, Tracker};
use syncsim_sim::history::History;
use syncsim_sim::trace::TraceRecord;
use syncsim_sim::{Hostable, Launch, Sim, SimError, SimTime};

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

/// Where a run's protocol executes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// syncsim's discrete-event engine.
    Engine,
    /// madsim's deterministic simulator, through the async host (a `--cfg madsim` build).
    Madsim,
    /// A real cluster on loopback, through the async host.
    Live,
}

impl Host {
    /// The `syncsim` subcommand that runs a scenario on this host.
    pub fn command(self) -> &'static str {
        match self {
            Host::Engine => "run",
            Host::Madsim => "madsim",
            Host::Live => "live",
        }
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine refused the configuration.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The async host refused it or failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// This build has no such host.
    #[error("{0}")]
    Unavailable(&'static str),
}

/// The command line that reproduces a run of `file` (its variant `variant`, if any) under
/// `seed`.
pub fn reproduce_command(file: &str, seed: u64, variant: Option<&str>) -> String {
    reproduce_on(Host::Engine, file, seed, variant)
}

/// The command line that reproduces a run on `host`.
pub fn reproduce_on(host: Host, file: &str, seed: u64, variant: Option<&str>) -> String {
    let command = host.command();
    let program = program();
    match variant {
        Some(v) => format!("{program} {command} {file} --seed {seed} --variant {v}"),
        None => format!("{program} {command} {file} --seed {seed}"),
    }
}

static PROGRAM: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The binary that reproducing commands name: `syncsim`, or the binary a crate built with
/// [`crate::cli::main_with`].
pub fn program() -> &'static str {
    PROGRAM.get().map_or("syncsim", String::as_str)
}

/// Names the binary for reproducing commands (the first name given wins).
pub fn set_program(name: String) {
    let _ = PROGRAM.set(name);
}

/// Runs `scenario` under `seed` on the engine; `record_trace` keeps every event, not only the
/// hash.
pub fn run(scenario: &Scenario, seed: u64, record_trace: bool) -> Result<RunResult, SimError> {
    match run_on(Host::Engine, scenario, seed, record_trace) {
        Ok(result) => Ok(result),
        Err(RunError::Sim(e)) => Err(e),
        Err(other) => unreachable!("the engine fails only with SimError: {other}"),
    }
}

/// Runs `scenario` under `seed` on `host` (only the engine records traces).
pub fn run_on(host: Host, scenario: &Scenario, seed: u64, record_trace: bool) -> Result<RunResult, RunError> {
    run_watched(host, scenario, seed, record_trace, None)
}

/// How far a run has come: called with the simulated time reached and the run's end.
pub type Progress<'a> = &'a dyn Fn(SimTime, SimTime);

/// Runs like [`run_on`], telling `progress` how far the run has come (on the engine; the
/// async hosts run without it).
pub fn run_watched(
    host: Host,
    scenario: &Scenario,
    seed: u64,
    record_trace: bool,
    progress: Option<Progress<'_>>,
) -> Result<RunResult, RunError> {
    let scenario = &*scenario.for_seed(seed).map_err(|e| RunError::Sim(SimError::Invalid(e.to_string())))?;
    let runner = Runner { host, scenario, seed, record_trace, progress };
    scenario.protocol().launch(&scenario.node_names, &runner)
}

/// One run's settings, shared by every protocol: what a family's [`syncsim_sim::Family::launch`] hands
/// its protocol to.
pub(crate) struct Runner<'a> {
    host: Host,
    scenario: &'a Scenario,
    seed: u64,
    record_trace: bool,
    progress: Option<Progress<'a>>,
}

impl Launch for &Runner<'_> {
    type Output = Result<RunResult, RunError>;

    fn launch<P: Hostable>(self, config: P::Config) -> Result<RunResult, RunError> {
        let Runner { host, scenario, seed, record_trace, progress } = *self;
        let mut sim_config = scenario.sim.clone();
        sim_config.seed = seed;
        sim_config.record_trace = record_trace;
        let tracker = Tracker::new(scenario.node_names.len());
        let out = match host {
            Host::Engine => {
                let sim = Sim::<P, Tracker>::new(sim_config, config, tracker)?;
                match progress {
                    Some(progress) => sim.run_watched(progress),
                    None => sim.run(),
                }
            }
            #[cfg(madsim)]
            Host::Madsim => syncsim_host::simulate::<P, Tracker>(&sim_config, config, tracker)?,
            #[cfg(not(madsim))]
            Host::Madsim => {
                return Err(RunError::Unavailable(
                    "this syncsim was built without `--cfg madsim`; run it through `scripts/madsim.sh run -- madsim ...`",
                ));
            }
            #[cfg(not(madsim))]
            Host::Live => syncsim_host::live::<P, Tracker>(&sim_config, config, tracker)?,
            #[cfg(madsim)]
            Host::Live => {
                return Err(RunError::Unavailable(
                    "a `--cfg madsim` build simulates its network; run `syncsim live` from a normal build",
                ));
            }
        };
        let mut parameters = scenario.parameters();
        parameters["seed"] = seed.into();
        if let Some(said) = &scenario.swarm_draw {
            parameters["swarm"] = said.clone().into();
        }
        let context = RunContext {
            name: scenario.label(),
            description: scenario.raw.description.clone(),
            file: scenario.file.clone(),
            parameters,
            protocol: scenario.protocol().info(),
            node_names: scenario.node_names.clone(),
            expectations: scenario.expectations.clone(),
            reproduce: reproduce_on(host, &scenario.file, seed, scenario.variant.as_deref()),
            lincheck_budget: syncsim_reports::lin::Budget {
                max_bytes: scenario.raw.engine.lincheck_budget_mb.saturating_mul(1 << 20),
            },
            spares: scenario.sim.spares,
        };
        let report = Report::build(context, &out);
        Ok(RunResult { report, history: out.history, trace: out.trace })
    }
}
