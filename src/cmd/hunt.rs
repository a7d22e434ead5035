//! The `hunt` command: banner, progress, files and exit code around [`crate::hunt`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::{Context, Error, Outcome};
use crate::hunt::{self, CATALOGUE, HuntArgs, HuntReport};

/// What `syncsim hunt` was asked to do.
#[derive(Clone, Debug)]
pub struct Args {
    /// The seeds, `A..B`.
    pub seeds: std::ops::Range<u64>,
    /// Bug names (empty: the whole catalogue).
    pub bugs: Vec<String>,
    /// Threads (default: every core).
    pub jobs: Option<usize>,
    /// Candidate runs shrinking may try per bug.
    pub shrink_runs: u32,
    /// Run the control.
    pub control: bool,
    /// The repository root.
    pub root: PathBuf,
    /// Output folder.
    pub out: PathBuf,
}

/// Runs `syncsim hunt`; ends with pass when every bug was caught and no control failed.
pub fn hunt(args: Args) -> Outcome {
    if !syncsim_protocols::planted::ENABLED {
        return Err(Error::bad_input(
            "this build carries no planted bugs; build with the `planted-bugs` feature: \
             cargo run --release --features planted-bugs -- hunt",
        ));
    }
    if args.jobs == Some(0) {
        return Err(Error::bad_input("--jobs must be at least 1"));
    }
    let mut bugs = Vec::new();
    for name in &args.bugs {
        let names: Vec<&str> = CATALOGUE.iter().map(|b| b.name).collect();
        let bug = hunt::bug(name).ok_or_else(|| {
            Error::bad_input(format!("--bug: no planted bug `{name}` in the catalogue ({})", names.join(", ")))
        })?;
        bugs.push(bug);
    }
    if bugs.is_empty() {
        bugs = CATALOGUE.to_vec();
    }
    let h = HuntArgs {
        root: args.root,
        bugs,
        seeds: args.seeds.clone(),
        jobs: args.jobs,
        shrink_runs: args.shrink_runs,
        control: args.control,
        out: args.out,
    };
    // Every parameter first: the log alone says how to run the hunt again.
    println!("seeds: {}..{}", h.seeds.start, h.seeds.end);
    println!("bugs: {}", h.bugs.iter().map(|b| b.name).collect::<Vec<_>>().join(", "));
    println!("jobs: {}", h.jobs.map_or(format!("{} (every core)", rayon::current_num_threads()), |j| j.to_string()));
    println!(
        "shrink: {}",
        if h.shrink_runs == 0 { "no".to_string() } else { format!("{} runs per bug", h.shrink_runs) }
    );
    println!("control: {}", if h.control { "yes" } else { "no" });
    println!("out: {}", h.out.display());
    let started = Instant::now();
    let seeds = h.seeds.end.saturating_sub(h.seeds.start);
    let mut findings = Vec::new();
    for bug in &h.bugs {
        let bar = progress(seeds, bug.name);
        let failed = AtomicU64::new(0);
        let tick = |r: &crate::sweep::SeedRecord| {
            if r.outcome != syncsim_reports::Verdict::Pass {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            bar.inc(1);
        };
        let finding = hunt::hunt_one(&h, bug, &tick).inspect_err(|_| bar.abandon()).context(bug.name)?;
        bar.finish_and_clear();
        let first = finding
            .first
            .as_ref()
            .map_or("never".to_string(), |(s, k, _)| format!("first at seed {s} ({} {})", k.verdict.words(), k.check));
        let shrunk = finding.shrunk.as_ref().map_or(String::new(), |s| {
            format!("; shrunk to {} of {} faults, {}s of {}s", s.faults.1, s.faults.0, s.duration_s.1, s.duration_s.0)
        });
        println!(
            "{:<24} {:<10} {:>4} of {} seeds failed, {first}{shrunk}",
            bug.name,
            if finding.caught() { "caught" } else { "MISSED" },
            finding.failing,
            finding.seeds
        );
        findings.push(finding);
    }
    let controls = if h.control {
        let distinct: std::collections::BTreeSet<String> = h.bugs.iter().map(hunt::scenario_name).collect();
        let bar = progress(seeds * distinct.len() as u64, "controls");
        let tick = |_: &crate::sweep::SeedRecord| bar.inc(1);
        let c = hunt::controls(&h, &tick).inspect_err(|_| bar.abandon()).context("control")?;
        bar.finish_and_clear();
        c
    } else {
        Vec::new()
    };
    for c in &controls {
        println!("control {}: {} of {} seeds passed", c.scenario, c.seeds - c.failing.len(), c.seeds);
    }
    let report = HuntReport { seeds: (h.seeds.start, h.seeds.end), findings, controls };
    let md = hunt::markdown(&report);
    let json = serde_json::to_string_pretty(&report).context("serializing the hunt")? + "\n";
    for (name, text) in [("hunt.md", md), ("hunt.json", json)] {
        let path = h.out.join(name);
        std::fs::write(&path, text).context(path.display())?;
    }
    let caught = report.findings.iter().filter(|f| f.caught()).count();
    println!(
        "\n{caught} of {} bugs caught in {:.1}s of wall time; report: {}",
        report.findings.len(),
        started.elapsed().as_secs_f64(),
        h.out.join("hunt.md").display()
    );
    Ok(report.exit())
}

/// A progress bar on stderr (hidden when it is not a terminal).
fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} seeds, {elapsed}")
        .expect("a valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(what.to_string());
    bar
}
