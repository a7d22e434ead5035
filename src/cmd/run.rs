//! `syncsim run`: one scenario under one seed (or each of its variants, compared), with its
//! report, page and charts; an experiment instead when the scenario has one.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use super::{Context, Outcome, exit_of};
use crate::output;
use crate::runner;
use crate::scenario::{Scenario, ScenarioFile, Variants};

/// Runs `syncsim run`.
pub fn run(
    file: PathBuf,
    seed: Option<u64>,
    out: Option<PathBuf>,
    trace: bool,
    variant: Option<String>,
    window: Option<(syncsim_sim::SimTime, syncsim_sim::SimTime)>,
) -> Outcome {
    let scenario_file = ScenarioFile::load(&file)?;
    let first = &scenario_file.runs()[0];
    let seed = seed.unwrap_or(first.raw.seed);
    let dir = out.unwrap_or_else(|| output::default_dir(scenario_file.name(), seed));
    // The seed first, then every parameter: enough to reproduce the run from the log alone.
    println!("seed: {seed}");
    println!("scenario: {} ({})", scenario_file.name(), scenario_file.file());
    if let (ScenarioFile::Variants(variants), None) = (&scenario_file, &variant) {
        return run_variants(variants, seed, &dir, trace, window);
    }
    let scenario = scenario_file.pick(variant.as_deref())?;
    if let Some(v) = &scenario.variant {
        println!("variant: {v}");
    }
    let scenario = scenario.for_seed(seed)?.into_owned();
    if let Some(said) = &scenario.swarm_draw {
        println!("swarm: {said}");
    }
    print_parameters(&scenario);
    let started = Instant::now();
    if scenario.raw.experiment.is_some() {
        return run_experiment(&scenario, seed, &dir, started);
    }
    let result = watched(&scenario, seed, trace).context(&scenario.file)?;
    let replay = match window {
        Some(_) => None,
        None => failure_trace(&scenario, seed, &result),
    };
    finish_run(&dir, &result, &scenario.node_names, diagram(&result, window, &replay), started)
}

/// The diagram to draw beside a run: the `window` asked for, else the moments before its
/// failure from `replay` ([`failure_trace`]), else none.
fn diagram<'a>(
    result: &'a runner::RunResult,
    window: Option<(syncsim_sim::SimTime, syncsim_sim::SimTime)>,
    replay: &'a Option<(Vec<syncsim_sim::trace::TraceRecord>, syncsim_sim::SimTime)>,
) -> Option<output::Diagram<'a>> {
    match (window, replay) {
        (Some(w), _) => Some(output::Diagram::asked(&result.trace, w)),
        (None, Some((trace, at))) => Some(before_failure(trace, *at, &result.report)),
        (None, None) => None,
    }
}

/// Writes a run's folder with, when it failed, the diagram of the moments before the failure.
pub(crate) fn write_explained(
    dir: &std::path::Path,
    scenario: &Scenario,
    seed: u64,
    result: &runner::RunResult,
) -> anyhow::Result<()> {
    let replay = failure_trace(scenario, seed, result);
    output::write_run(dir, result, &scenario.node_names, diagram(result, None, &replay))
}

/// Runs longer than this many handler calls are not replayed for a diagram: their trace would
/// cost more memory than the diagram is worth (`--window` still draws one).
const REPLAY_EVENTS: u64 = 5_000_000;

/// The trace to draw the moments before a failure from, and the failure's instant: the run's
/// own trace when it recorded one, otherwise a replay of the same seed with recording on (the
/// engine is deterministic; the trace hash proves the replay is the same run). `None` for a
/// passing run, a failure with no instant, or a run too long to replay.
fn failure_trace(
    scenario: &Scenario,
    seed: u64,
    result: &runner::RunResult,
) -> Option<(Vec<syncsim_sim::trace::TraceRecord>, syncsim_sim::SimTime)> {
    let at = syncsim_sim::SimTime(result.report.failure_moment_ns()?);
    if !result.trace.is_empty() {
        return Some((result.trace.clone(), at));
    }
    if result.report.run.events > REPLAY_EVENTS {
        println!("(no diagram of the failure: the run is too long to replay with a trace; use --window)");
        return None;
    }
    match runner::run(scenario, seed, true) {
        Ok(replay) if replay.report.trace_hash == result.report.trace_hash => Some((replay.trace, at)),
        Ok(replay) => {
            println!(
                "(no diagram of the failure: the replay's trace hash {} differs from the run's {}; \
                 run `syncsim check --check-determinism`)",
                replay.report.trace_hash, result.report.trace_hash
            );
            None
        }
        Err(e) => {
            println!("(no diagram of the failure: the replay failed: {e})");
            None
        }
    }
}

/// The diagram of the messages that led to the failure at `at`: the last
/// [`BEFORE_FAILURE`](syncsim_reports::spacetime::BEFORE_FAILURE) deliveries, and for a
/// linearizability violation the whole span of the impossible operation.
fn before_failure<'a>(
    trace: &'a [syncsim_sim::trace::TraceRecord],
    at: syncsim_sim::SimTime,
    report: &syncsim_reports::Report,
) -> output::Diagram<'a> {
    let stuck_call = report
        .linearizability
        .as_ref()
        .and_then(|l| l.violation.as_ref())
        .and_then(|v| v.operations.iter().find(|o| o.stuck))
        .map_or(at, |o| syncsim_sim::SimTime(o.call));
    let (from, to) =
        syncsim_reports::spacetime::window_before(trace, at, syncsim_reports::spacetime::BEFORE_FAILURE, stuck_call);
    let caption = format!("Messages before the failure at {}", syncsim_reports::report::format_ns(at.0));
    output::Diagram { trace, from, to, caption }
}

/// Runs `scenario` on the engine, with a progress bar of simulated time on a terminal's
/// stderr once the run has taken more than a second.
pub(crate) fn watched(scenario: &Scenario, seed: u64, trace: bool) -> Result<runner::RunResult, runner::RunError> {
    const STEPS: u64 = 1000;
    let started = Instant::now();
    let bar = indicatif::ProgressBar::with_draw_target(Some(STEPS), indicatif::ProgressDrawTarget::hidden());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {msg}  eta {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let shown = std::cell::Cell::new(false);
    let progress = |now: syncsim_sim::SimTime, end: syncsim_sim::SimTime| {
        if !shown.get() && started.elapsed().as_secs_f64() > 1.0 {
            shown.set(true);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.set_position((now.0 as f64 / end.0.max(1) as f64 * STEPS as f64) as u64);
        bar.set_message(format!("{:.1} s of {:.1} s simulated", now.0 as f64 / 1e9, end.0 as f64 / 1e9));
    };
    let result = runner::run_watched(runner::Host::Engine, scenario, seed, trace, Some(&progress));
    bar.finish_and_clear();
    result
}

/// Prints the banner's protocol and every resolved parameter, after the seed and scenario.
pub(crate) fn print_parameters(scenario: &Scenario) {
    let info = scenario.protocol().info();
    println!("protocol: {} {}", info.name, info.variant);
    println!("parameters:");
    for line in scenario.parameters_yaml().lines() {
        println!("  {line}");
    }
    println!("estimate: {}", scenario.cost().summary());
    let _ = std::io::stdout().flush();
}

/// Writes a run's folder and prints its summary, the outcome and reproducing command last;
/// ends with the run's verdict.
pub(crate) fn finish_run(
    dir: &std::path::Path,
    result: &runner::RunResult,
    node_names: &[String],
    diagram: Option<output::Diagram<'_>>,
    started: Instant,
) -> Outcome {
    let wall = started.elapsed();
    output::write_run(dir, result, node_names, diagram)?;
    println!(
        "\nran {} events (handler calls) in {:.2}s of wall time ({:.2} M events/s); report: {}\n",
        result.report.run.events,
        wall.as_secs_f64(),
        result.report.run.events as f64 / wall.as_secs_f64().max(1e-9) / 1e6,
        dir.join("report.json").display()
    );
    print!("{}", syncsim_reports::summary::render(&result.report));
    exit_of(result.report.exit_code)
}

/// Runs every variant of a file under `seed`, each into its own folder of `dir`, and
/// compares them.
fn run_variants(
    variants: &Variants,
    seed: u64,
    dir: &std::path::Path,
    trace: bool,
    window: Option<(syncsim_sim::SimTime, syncsim_sim::SimTime)>,
) -> Outcome {
    println!("parameters:");
    for line in variants.parameters_yaml().lines() {
        println!("  {line}");
    }
    let _ = std::io::stdout().flush();
    let mut runs = Vec::new();
    for v in &variants.runs {
        let name = v.variant.clone().unwrap_or_default();
        let started = Instant::now();
        let result = runner::run(v, seed, trace).context(format_args!("{} (variant {name})", variants.file))?;
        let replay = if window.is_none() { failure_trace(v, seed, &result) } else { None };
        output::write_run(&dir.join(&name), &result, &v.node_names, diagram(&result, window, &replay))?;
        let r = &result.report;
        println!(
            "\nvariant {name}: {} {}: {} events in {:.2}s of wall time; report: {}",
            r.protocol.name,
            r.protocol.variant,
            r.run.events,
            started.elapsed().as_secs_f64(),
            dir.join(&name).join("report.json").display()
        );
        for f in &r.failures {
            println!("  FAILED: {f}");
        }
        println!("  reproduce: {}", r.reproduce);
        runs.push((name, result.report));
    }
    let rows: Vec<(String, &syncsim_reports::Report)> = runs.iter().map(|(n, r)| (n.clone(), r)).collect();
    let comparison = crate::compare::compare(&variants.raw.name, seed, &rows);
    output::write_comparison(dir, &comparison)?;
    println!("\ncomparison: {}\n", dir.join("comparison.json").display());
    print!("{}", crate::compare::render(&comparison));
    exit_of(comparison.exit_code)
}

fn run_experiment(scenario: &Scenario, seed: u64, dir: &std::path::Path, started: Instant) -> Outcome {
    let (report, charts) = crate::experiment::run(scenario, seed).context(&scenario.file)?;
    output::write_experiment(dir, &report, &charts)?;
    println!(
        "\nran in {:.2}s of wall time; report: {}\n",
        started.elapsed().as_secs_f64(),
        dir.join("report.json").display()
    );
    print!("{}", crate::experiment::render(&report));
    exit_of(report.exit_code)
}
