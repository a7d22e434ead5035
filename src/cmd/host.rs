//! `syncsim live` and `syncsim madsim`: a scenario's protocol, unchanged, on the async host
//! (`host/`), judged by the same checkers as an engine run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{Context, Error, Outcome};
use crate::output;
use crate::runner::{self, Host};
use crate::scenario::ScenarioFile;

/// Runs `file` (its variant `variant`) under `seed` on `host`, writes the report folder and
/// prints the summary; ends with the report's verdict, or an error for what cannot run.
pub fn run(host: Host, file: &Path, seed: Option<u64>, out: Option<PathBuf>, variant: Option<&str>) -> Outcome {
    let scenario = ScenarioFile::load(file)?.pick(variant)?;
    if scenario.raw.experiment.is_some() {
        return Err(Error::bad_input(format!(
            "{}: an experiment drives the engine itself; run it with `{} run`",
            scenario.file,
            runner::program()
        )));
    }
    // What this host cannot express is refused before anything runs or prints.
    let mode = match host {
        Host::Madsim => Some(syncsim_host::Mode::Madsim),
        Host::Live => Some(syncsim_host::Mode::Live),
        Host::Engine => None,
    };
    let problems = mode.map(|m| syncsim_host::check(&scenario.sim, m)).unwrap_or_default();
    if !problems.is_empty() {
        return Err(syncsim_host::HostError::Unsupported(problems)).context(&scenario.file);
    }
    let seed = seed.unwrap_or(scenario.raw.seed);
    let name = scenario.label();
    let dir = out.unwrap_or_else(|| output::scenario_dir(&name).join(format!("{}-seed-{seed}", host.command())));
    // The seed first, then every parameter, as `syncsim run` prints them.
    println!("seed: {seed}");
    println!("scenario: {} ({})", name, scenario.file);
    let span = scenario.sim.duration + scenario.sim.settle;
    match host {
        Host::Madsim => println!("host: madsim (deterministic simulation, one seed per process)"),
        Host::Live => println!("host: live (tokio, TCP on loopback, wall-clock time: {span})"),
        Host::Engine => println!("host: engine"),
    }
    for note in mode.map(|m| syncsim_host::notes(&scenario.sim, m)).unwrap_or_default() {
        println!("note: {note}");
    }
    let ignored = mode.map(|m| syncsim_host::ignored(&scenario.sim, m)).unwrap_or_default();
    if let Some(line) = syncsim_host::describe_ignored(&ignored) {
        println!("{line}");
    }
    crate::cmd::run::print_parameters(&scenario);
    let started = Instant::now();
    let result = runner::run_on(host, &scenario, seed, false).context(&scenario.file)?;
    crate::cmd::run::finish_run(&dir, &result, &scenario.node_names, None, started)
}
