//! `syncsim run`: one scenario under one seed (or each of its variants, compared), with its
//! report, page and charts; an experiment instead when the scenario has one.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use syncsim_reports::EXIT_BAD_INPUT;

use crate::output;
use crate::runner;
use crate::scenario::Scenario;

pub fn run(
    file: PathBuf,
    seed: Option<u64>,
    out: Option<PathBuf>,
    trace: bool,
    variant: Option<String>,
    window: Option<(syncsim_sim::SimTime, syncsim_sim::SimTime)>,
) -> i32 {
    let scenario = match Scenario::load(&file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let seed = seed.unwrap_or(scenario.raw.seed);
    let dir = out.unwrap_or_else(|| output::default_dir(scenario.name(), seed));
    // The seed first, then every parameter: enough to reproduce the run from the log alone.
    println!("seed: {seed}");
    println!("scenario: {} ({})", scenario.name(), scenario.file);
    if variant.is_none() && scenario.has_variants() {
        return run_variants(&scenario, seed, &dir, trace, window);
    }
    let scenario = match scenario.pick(variant.as_deref()) {
        Ok(one) => one,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(v) = &scenario.variant {
        println!("variant: {v}");
    }
    let scenario = match scenario.for_seed(seed) {
        Ok(s) => s.into_owned(),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(said) = &scenario.swarm_draw {
        println!("swarm: {said}");
    }
    print_parameters(&scenario);
    let started = Instant::now();
    if scenario.raw.experiment.is_some() {
        return run_experiment(&scenario, seed, &dir, started);
    }
    let result = match runner::run(&scenario, seed, trace) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", scenario.file);
            return EXIT_BAD_INPUT;
        }
    };
    finish_run(&dir, &result, &scenario.node_names, window, started, "events")
}

/// Prints the banner's protocol and every resolved parameter, after the seed and scenario.
pub(crate) fn print_parameters(scenario: &Scenario) {
    let info = scenario.protocol().info();
    println!("protocol: {} {}", info.name, info.variant);
    println!("parameters:");
    for line in scenario.parameters_yaml().lines() {
        println!("  {line}");
    }
    let _ = std::io::stdout().flush();
}

/// Writes a run's folder and prints its summary, the outcome and reproducing command last;
/// returns the run's exit code. `unit` names what `report.run.events` counts on this host.
pub(crate) fn finish_run(
    dir: &std::path::Path,
    result: &runner::RunResult,
    node_names: &[String],
    window: Option<(syncsim_sim::SimTime, syncsim_sim::SimTime)>,
    started: Instant,
    unit: &str,
) -> i32 {
    let wall = started.elapsed();
    if let Err(e) = output::write_run(dir, result, node_names, window) {
        eprintln!("error: {e:#}");
        return EXIT_BAD_INPUT;
    }
    println!(
        "\nran {} {unit} in {:.2}s of wall time ({:.2} M {unit}/s); report: {}\n",
        result.report.run.events,
        wall.as_secs_f64(),
        result.report.run.events as f64 / wall.as_secs_f64().max(1e-9) / 1e6,
        dir.join("report.json").display()
    );
    print!("{}", syncsim_reports::summary::render(&result.report));
    result.report.exit_code
}

/// Runs every variant of `scenario` under `seed`, each into its own folder of `dir`, and
/// compares them.
fn run_variants(
    scenario: &Scenario,
    seed: u64,
    dir: &std::path::Path,
    trace: bool,
    window: Option<(syncsim_sim::SimTime, syncsim_sim::SimTime)>,
) -> i32 {
    println!("parameters:");
    for line in scenario.parameters_yaml().lines() {
        println!("  {line}");
    }
    let _ = std::io::stdout().flush();
    let mut runs = Vec::new();
    for v in &scenario.runs() {
        let name = v.variant.clone().unwrap_or_default();
        let started = Instant::now();
        let result = match runner::run(v, seed, trace) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {} (variant {name}): {e}", scenario.file);
                return EXIT_BAD_INPUT;
            }
        };
        if let Err(e) = output::write_run(&dir.join(&name), &result, &v.node_names, window) {
            eprintln!("error: {e:#}");
            return EXIT_BAD_INPUT;
        }
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
    let comparison = crate::compare::compare(scenario.name(), seed, &rows);
    if let Err(e) = output::write_comparison(dir, &comparison) {
        eprintln!("error: {e:#}");
        return EXIT_BAD_INPUT;
    }
    println!("\ncomparison: {}\n", dir.join("comparison.json").display());
    print!("{}", crate::compare::render(&comparison));
    comparison.exit_code
}

fn run_experiment(scenario: &Scenario, seed: u64, dir: &std::path::Path, started: Instant) -> i32 {
    let (report, charts) = match crate::experiment::run(scenario, seed) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", scenario.file);
            return EXIT_BAD_INPUT;
        }
    };
    if let Err(e) = output::write_experiment(dir, &report, &charts) {
        eprintln!("error: {e:#}");
        return EXIT_BAD_INPUT;
    }
    println!(
        "\nran in {:.2}s of wall time; report: {}\n",
        started.elapsed().as_secs_f64(),
        dir.join("report.json").display()
    );
    print!("{}", crate::experiment::render(&report));
    report.exit_code
}
