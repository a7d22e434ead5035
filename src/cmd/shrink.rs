//! `syncsim shrink`: a failing run reduced to a minimal scenario that fails the same way.

use std::path::PathBuf;

use super::{Context, Outcome};
use crate::output;
use crate::runner;
use crate::scenario::{Scenario, ScenarioFile};

/// Runs `syncsim shrink`; ends with the minimal run's verdict.
pub fn shrink(
    file: &std::path::Path,
    seed: u64,
    variant: Option<&str>,
    out: Option<PathBuf>,
    max_runs: u32,
    reseeds: u64,
) -> Outcome {
    let scenario = ScenarioFile::load(file)?.pick(variant)?;
    println!("seed: {seed}");
    println!("scenario: {} ({})", scenario.name(), scenario.file);
    println!("budget: {max_runs} runs, {reseeds} other seeds per perturbing step");
    let shrunk = crate::shrink::shrink(&scenario, seed, max_runs, reseeds)?;
    let path = out.unwrap_or_else(|| {
        output::default_dir(scenario.name(), seed).with_file_name(format!("shrunk-seed-{seed}.yaml"))
    });
    let header = format!(
        "# Shrunk by `{} shrink {} --seed {seed}`: {} under seed {} ({}), {} of {} faults kept, duration {} -> {}.\n",
        runner::program(),
        scenario.file,
        shrunk.kind.verdict.words(),
        shrunk.seed.1,
        shrunk.kind.check,
        shrunk.faults.1,
        shrunk.faults.0,
        shrunk.duration.0,
        shrunk.duration.1
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).context(dir.display())?;
    }
    std::fs::write(&path, header + &shrunk.yaml).context(path.display())?;
    println!("failure kept: {} ({})", shrunk.kind.verdict.words(), shrunk.kind.check);
    println!("seed: {} -> {}", shrunk.seed.0, shrunk.seed.1);
    println!("faults: {} -> {} (scripted and drawn at random)", shrunk.faults.0, shrunk.faults.1);
    println!("duration: {} -> {}", shrunk.duration.0, shrunk.duration.1);
    println!("nodes: {} -> {}", shrunk.nodes.0, shrunk.nodes.1);
    match &shrunk.unscripted {
        Some(u) => println!("drawn faults not written as a script: {u}"),
        None if shrunk.drawn > 0 => {
            println!("drawn faults: {}, written out as the `faults:` script (no random_faults left)", shrunk.drawn)
        }
        None => {}
    }
    println!(
        "reached: {} fault{} in {}, {} node{}",
        shrunk.faults.1,
        if shrunk.faults.1 == 1 { "" } else { "s" },
        shrunk.duration.1,
        shrunk.nodes.1,
        if shrunk.nodes.1 == 1 { "" } else { "s" }
    );
    println!("runs tried: {}", shrunk.runs);
    println!("minimal scenario: {}", path.display());
    // The minimal run once more, recorded, with the messages of the second before it failed.
    let minimal = Scenario::parse(&shrunk.yaml, &path.display().to_string()).context("the minimal scenario")?;
    let result = runner::run(&minimal, shrunk.seed.1, true).context("the minimal run")?;
    let report = &result.report;
    let at = shrunk.failed_at.unwrap_or(syncsim_sim::SimTime(minimal.raw.duration.as_nanos()));
    let window = (syncsim_sim::SimTime(at.0.saturating_sub(1_000_000_000)), syncsim_sim::SimTime(at.0 + 1));
    let check = report.failures.first().map_or("none", String::as_str);
    println!("first failed check: {check}");
    match &report.invariant_violation {
        Some(v) => {
            println!("failed at: {} at {}, handling {}", syncsim_reports::report::format_ns(v.time_ns), v.node, v.event)
        }
        None => println!(
            "failed at: {}",
            shrunk.failed_at.map_or("the end of the run (the check judges the whole run)".to_string(), |t| {
                syncsim_reports::report::format_ns(t.0)
            })
        ),
    }
    let dir = path.with_extension("");
    output::write_run(&dir, &result, &minimal.node_names, Some(output::Diagram::asked(&result.trace, window)))?;
    println!("the last second before it: {}", dir.join("charts").join("spacetime.svg").display());
    println!("reproduce: {} run {} --seed {}", runner::program(), path.display(), shrunk.seed.1);
    Ok(shrunk.kind.verdict.into())
}
