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
    finish_run(&dir, &result, &scenario.node_names, window, started)
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
    window: Option<(syncsim_sim::SimTime, syncsim_sim::SimTime)>,
    started: Instant,
) -> Outcome {
    let wall = started.elapsed();
    output::write_run(dir, result, node_names, window)?;
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
        output::write_run(&dir.join(&name), &result, &v.node_names, window)?;
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
