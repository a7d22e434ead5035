//! The `syncsim` command line: `run`, `compare`, `sweep`, `check`, `shrink`, `live`, `madsim`, `validate`,
//! `list`, `lincheck`, ...
//!
//! Exit codes: [`syncsim_reports::Exit`], one list for every command (0 pass, 1 safety,
//! 2 liveness, 3 bad input, 4 nondeterminism, 5 regression), printed by `syncsim list` and
//! `--help`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use syncsim_reports::lin::Budget;
use syncsim_reports::lin::formats::Format;
use syncsim_reports::{EXIT_BAD_INPUT, Exit};

use crate::anneal::Solver;
use crate::lincheck::{self, ModelName};
use crate::output;
use crate::registry::Registry;
use crate::runner;
use crate::scenario::Scenario;
use crate::scenario::raw::{RawEngine, RawNetwork, RawWorkload, Settle};

/// Deterministic simulation of data-synchronisation protocols.
#[derive(Debug, Parser)]
#[command(name = "syncsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario; print its summary and write report.json, summary.md, index.html with
    /// charts/*.svg, and history.jsonl.
    Run {
        /// The scenario file.
        file: PathBuf,
        /// Master seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder (default: syncsim-out/<scenario>/seed-<seed>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also record every event to trace.jsonl.
        #[arg(long)]
        trace: bool,
        /// Run only this one of the scenario's `variants` (default: all of them, compared).
        #[arg(long)]
        variant: Option<String>,
        /// Draw the space-time diagram of this window (`10s..12s`) into charts/spacetime.svg
        /// (records the trace).
        #[arg(long)]
        window: Option<String>,
    },
    /// Run several scenarios, or a scenario's variants, under the same seeds and compare them:
    /// writes comparison.json, comparison.md, index.html and charts/*.svg.
    Compare {
        /// The scenario files; a file with `variants:` contributes each variant.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Seeds: `N` for 0..N, or `A..B` (B excluded).
        #[arg(long, default_value = "20")]
        seeds: String,
        /// Output folder (default: syncsim-out/compare-<names>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run one scenario under many seeds in parallel: every metric across seeds (median,
    /// p10–p90, worst seed), every failing seed with its reproducing command. Writes sweep.json
    /// and sweep.md. Exit 0 all passed, 1 a safety violation, 2 a liveness failure, 4 a seed
    /// whose two runs differed (--check-determinism).
    Sweep {
        /// The scenario file.
        file: PathBuf,
        /// Seeds: `N` for 0..N, `A..B` (B excluded) or `A..=B`.
        #[arg(long, default_value = "100")]
        seeds: String,
        /// Threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only shard I of N (`2/3`): every N-th seed from the I-th; `syncsim merge` joins
        /// the shards' outputs.
        #[arg(long)]
        shard: Option<String>,
        /// Output folder (default: syncsim-out/<scenario>/sweep).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The variant to sweep, for a scenario with variants.
        #[arg(long)]
        variant: Option<String>,
        /// Run every seed twice; a seed whose trace hashes differ fails the sweep (exit 4) with
        /// the first event where the runs part.
        #[arg(long)]
        check_determinism: bool,
    },
    /// Run scenarios over seeds as CI does: their expectations decide pass or fail, and every
    /// metric's median is compared with a baseline. Exit 0 pass, 1 safety violation, 2 liveness
    /// failure, 5 a metric worse than the baseline by more than the tolerance, 3 bad input.
    Check {
        /// The scenario files; a file with `variants:` contributes each variant.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Seeds: `N` for 0..N, `A..B` (B excluded) or `A..=B`.
        #[arg(long, default_value = "20")]
        seeds: String,
        /// The baseline file (JSON) to compare with, or to write with --update-baseline.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// How much worse a metric's median may get: `10%` or `0.1`.
        #[arg(long, default_value = "10%")]
        tolerance: String,
        /// Write the baseline from this run instead of comparing with it.
        #[arg(long)]
        update_baseline: bool,
        /// Threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run every seed twice; different trace hashes fail the check (exit 4).
        #[arg(long)]
        check_determinism: bool,
    },
    /// Shrink a failing run: delta debugging over the fault script, the random fault kinds,
    /// the duration and the node count, keeping the same verdict and failed check. Writes the
    /// minimal scenario and prints the command that reproduces it. Exit: the minimal run's
    /// verdict (1 safety, 2 liveness); 3 if the seed passes or the file is bad.
    Shrink {
        /// The scenario file.
        file: PathBuf,
        /// The failing seed.
        #[arg(long)]
        seed: u64,
        /// The variant, for a scenario with variants.
        #[arg(long)]
        variant: Option<String>,
        /// Where to write the minimal scenario (default: syncsim-out/<scenario>/shrunk-seed-<S>.yaml).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Candidate runs to try at most.
        #[arg(long, default_value_t = 500)]
        max_runs: u32,
        /// Other seeds a step that perturbs the run (a shorter run, earlier faults, a lighter
        /// workload, fewer nodes) tries when the failure does not survive under the current
        /// one; the result names the seed it fails under. 0 keeps the seed.
        #[arg(long, default_value_t = crate::shrink::RESEEDS)]
        reseeds: u64,
    },
    /// Hunt the planted bugs (builds with the `planted-bugs` feature): each bug of the
    /// catalogue planted into the shipped scenario that should find it, over the seeds; per
    /// bug, whether it was caught, the check that fired, the first failing seed, the share of
    /// seeds failing and the shrunk failure's size; the same scenarios without bugs as the
    /// control. Writes hunt.md and hunt.json. Exit 0 every bug caught and no false alarm, 1
    /// otherwise, 3 bad input or a build without planted bugs.
    Hunt {
        /// Seeds: `N` for 0..N, `A..B` (B excluded) or `A..=B`.
        #[arg(long, default_value = "1000")]
        seeds: String,
        /// Hunt only this bug (repeatable; default: the whole catalogue).
        #[arg(long = "bug")]
        bugs: Vec<String>,
        /// Threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Candidate runs shrinking may try per bug (0: no shrinking).
        #[arg(long, default_value_t = 1000)]
        shrink_runs: u32,
        /// Skip the control runs of the scenarios without bugs.
        #[arg(long)]
        no_control: bool,
        /// The repository root, where the shipped scenarios are.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Output folder (default: syncsim-out/hunt).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Join the outputs of a sweep's shards (folders or sweep.json files) into the report one
    /// machine would have written.
    Merge {
        /// The shards' output folders or sweep.json files.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder (default: syncsim-out/<scenario>/sweep).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Solve a Max-Cut graph (Gset/rudy edge list) or a QUBO file by annealing; print the best
    /// cut or energy, the mean over reads and the time per read.
    Anneal {
        /// The problem file (format: docs/anneal.md).
        file: PathBuf,
        /// The solver.
        #[arg(long, value_enum, default_value = "sa")]
        solver: SolverName,
        /// Independent reads.
        #[arg(long, default_value_t = 20)]
        reads: u32,
        /// Sweeps per read.
        #[arg(long, default_value_t = 1000)]
        sweeps: u32,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run a scenario's protocol, unchanged, as a real cluster on loopback: a tokio task and a
    /// TCP endpoint per node, wall-clock time for the scenario's duration and settle phase. The
    /// host applies partitions (dropping a cut link's traffic) and crashes (stopping a node's
    /// task); the scenario's latency, loss and duplication are those of loopback TCP. Writes
    /// the same report as `run`, judged by the same checkers.
    Live {
        /// The scenario file.
        file: PathBuf,
        /// Master seed for the nodes' and clients' random streams (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder (default: syncsim-out/<scenario>/live-seed-<seed>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The variant, for a scenario with variants.
        #[arg(long)]
        variant: Option<String>,
    },
    /// Run a scenario's protocol, unchanged, on madsim's deterministic simulator (only in a
    /// build made by `scripts/madsim.sh`): partitions are madsim clogs, crashes are node kills,
    /// latency and loss are madsim's network settings. What madsim cannot express is refused.
    Madsim {
        /// The scenario file.
        file: PathBuf,
        /// Master seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder (default: syncsim-out/<scenario>/madsim-seed-<seed>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The variant, for a scenario with variants.
        #[arg(long)]
        variant: Option<String>,
    },
    /// Check scenario files without running them.
    Validate {
        /// The scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the protocols with their parameters and defaults, and what scenarios can use.
    List,
    /// Check a history file for linearizability (exit 0 yes, 1 no, 2 unknown, 3 bad input).
    Lincheck {
        /// The history: syncsim's history.jsonl, a Jepsen etcd log, or Porcupine's key-value EDN.
        file: PathBuf,
        /// The sequential model (default: from the format and the operations).
        #[arg(long, value_enum)]
        model: Option<ModelName>,
        /// The file's format (default: detected from its first line).
        #[arg(long, value_enum)]
        format: Option<FormatName>,
        /// Check all keys as one object instead of each key alone.
        #[arg(long)]
        whole: bool,
        /// Memory the search of one partition may use before the verdict is unknown, in MiB.
        #[arg(long, default_value_t = 2048)]
        budget_mb: usize,
        /// Wall-clock time the check may take before the verdict is unknown (e.g. `30s`).
        #[arg(long)]
        timeout: Option<syncsim_sim::SimDuration>,
        /// Write a violation as an SVG chart of the operations per process to this file.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Print the verdict as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Annealing solvers on the command line.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SolverName {
    /// Simulated annealing, single-spin flips.
    Sa,
    /// Simulated quantum annealing, path-integral Monte Carlo (8 Trotter slices).
    Sqa,
    /// Ballistic simulated bifurcation (a sweep is one integration step); `sb` also names it.
    #[value(alias = "sb")]
    Bsb,
    /// Discrete simulated bifurcation (a sweep is one integration step).
    Dsb,
}

/// History formats on the command line.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FormatName {
    /// syncsim's history.jsonl.
    Jsonl,
    /// Jepsen etcd log lines.
    Etcd,
    /// Porcupine's key-value EDN.
    Edn,
}

/// Parses the command line, runs the command with syncsim's own protocol families, and
/// returns the process exit code.
pub fn main() -> i32 {
    main_with(Registry::builtin())
}

/// The whole `syncsim` command line over the families of `registry`: a crate that registers
/// its own protocol gets a binary with every command from
/// `fn main() { std::process::exit(syncsim::cli::main_with(Registry::builtin().with::<MyProtocol>())) }`.
/// Reproducing commands name the binary as it was invoked.
pub fn main_with(registry: Registry) -> i32 {
    registry.install();
    if let Some(name) = std::env::args_os()
        .next()
        .and_then(|a| std::path::Path::new(&a).file_stem().map(|s| s.to_string_lossy().into_owned()))
    {
        runner::set_program(name);
    }
    let program = runner::program();
    let command = Cli::command()
        .name(program)
        .bin_name(program.to_string())
        .after_help(format!("Exit codes (every command):\n{}", Exit::table()));
    let cli = match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_BAD_INPUT } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Run { file, seed, out, trace, variant, window } => {
            let window = match window.as_deref().map(syncsim_reports::spacetime::parse_window).transpose() {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("error: --window: {e}");
                    return EXIT_BAD_INPUT;
                }
            };
            run(file, seed, out, trace || window.is_some(), variant, window)
        }
        Command::Compare { files, seeds, out } => compare(&files, &seeds, out),
        Command::Anneal { file, solver, reads, sweeps, seed, json } => {
            let solver = match solver {
                SolverName::Sa => Solver::Sa,
                SolverName::Sqa => Solver::Sqa,
                SolverName::Bsb => Solver::Bsb,
                SolverName::Dsb => Solver::Dsb,
            };
            crate::anneal::run(&file, solver, reads, sweeps, seed, json)
        }
        Command::Sweep { file, seeds, jobs, shard, out, variant, check_determinism } => {
            let seeds = match parse_seeds(&seeds) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: --seeds: {e}");
                    return EXIT_BAD_INPUT;
                }
            };
            let shard = match shard.as_deref().map(crate::sweep::Shard::parse).transpose() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: --shard: {e}");
                    return EXIT_BAD_INPUT;
                }
            };
            crate::sweep_cmd::sweep(crate::sweep_cmd::SweepArgs {
                file,
                seeds,
                jobs,
                shard,
                out,
                variant,
                check_determinism,
            })
        }
        Command::Hunt { seeds, bugs, jobs, shrink_runs, no_control, root, out } => {
            let seeds = match parse_seeds(&seeds) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: --seeds: {e}");
                    return EXIT_BAD_INPUT;
                }
            };
            crate::hunt_cmd::hunt(crate::hunt_cmd::Args {
                seeds,
                bugs,
                jobs,
                shrink_runs,
                control: !no_control,
                root,
                out: out.unwrap_or_else(|| PathBuf::from("syncsim-out/hunt")),
            })
        }
        Command::Merge { dirs, out } => crate::sweep_cmd::merge(&dirs, out),
        Command::Shrink { file, seed, variant, out, max_runs, reseeds } => {
            shrink(&file, seed, variant.as_deref(), out, max_runs, reseeds)
        }
        Command::Check { files, seeds, baseline, tolerance, update_baseline, jobs, check_determinism } => {
            let parsed = parse_seeds(&seeds).map_err(|e| format!("--seeds: {e}")).and_then(|s| {
                crate::check::parse_tolerance(&tolerance).map(|t| (s, t)).map_err(|e| format!("--tolerance: {e}"))
            });
            match parsed {
                Ok((seeds, tolerance)) => crate::check::check(crate::check::CheckArgs {
                    files,
                    seeds,
                    baseline,
                    tolerance,
                    update_baseline,
                    jobs,
                    check_determinism,
                }),
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_BAD_INPUT
                }
            }
        }
        Command::Live { file, seed, out, variant } => {
            crate::host_cmd::run(runner::Host::Live, &file, seed, out, variant.as_deref())
        }
        Command::Madsim { file, seed, out, variant } => {
            crate::host_cmd::run(runner::Host::Madsim, &file, seed, out, variant.as_deref())
        }
        Command::Validate { files } => validate(&files),
        Command::List => {
            print!("{}", list(&Registry::current()));
            0
        }
        Command::Lincheck { file, model, format, whole, budget_mb, timeout, svg, json } => {
            let format = format.map(|f| match f {
                FormatName::Jsonl => Format::Jsonl,
                FormatName::Etcd => Format::Etcd,
                FormatName::Edn => Format::Edn,
            });
            let budget = Budget { max_bytes: budget_mb.saturating_mul(1 << 20) };
            let started = Instant::now();
            // A check that runs more than a second shows its progress on stderr (when it is a
            // terminal); a timeout stops it with an unknown verdict.
            let mut bar: Option<indicatif::ProgressBar> = None;
            let mut watch = |p: lincheck::Progress| {
                let elapsed = started.elapsed();
                if let Some(t) = timeout
                    && elapsed.as_nanos() > u128::from(t.as_nanos())
                {
                    return Err(format!("the check ran past its --timeout of {t}"));
                }
                if elapsed.as_secs() >= 1 {
                    let bar = bar.get_or_insert_with(|| {
                        let b = indicatif::ProgressBar::new_spinner();
                        b.enable_steady_tick(std::time::Duration::from_millis(200));
                        b
                    });
                    bar.set_message(format!(
                        "checking: {} of {} partitions done, {} states explored in the current one, {:.0}s",
                        p.partitions_done,
                        p.partitions,
                        p.explored,
                        elapsed.as_secs_f64()
                    ));
                }
                Ok(())
            };
            let result = lincheck::lincheck(&file, format, model, !whole, budget, &mut watch);
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            match result {
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_BAD_INPUT
                }
                Ok(report) => {
                    if let (Some(path), Some(v)) = (&svg, &report.result.violation) {
                        let unit = lincheck::time_unit(report.format);
                        let written = syncsim_reports::run_charts::violation_chart(v, unit, 1.0)
                            .map_err(|e| e.to_string())
                            .and_then(|chart| std::fs::write(path, chart).map_err(|e| e.to_string()));
                        if let Err(e) = written {
                            eprintln!("error: {}: cannot write the chart: {e}", path.display());
                            return EXIT_BAD_INPUT;
                        }
                    }
                    if json {
                        println!("{}", serde_json::to_string(&report).expect("reports serialize"));
                    } else {
                        print!(
                            "{}",
                            lincheck::render(&file.display().to_string(), &report, started.elapsed().as_secs_f64())
                        );
                    }
                    lincheck::exit_code(report.result.verdict)
                }
            }
        }
    }
}

fn run(
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

/// Parses `N` (0..N) or `A..B`.
pub fn parse_seeds(text: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = || format!("`{text}` is not a seed range: write `N` (seeds 0..N), `A..B` (B excluded) or `A..=B`");
    let range = match text.split_once("..") {
        Some((a, b)) => match b.strip_prefix('=') {
            Some(last) => {
                let last: u64 = last.trim().parse().map_err(|_| bad())?;
                a.trim().parse().map_err(|_| bad())?..last.checked_add(1).ok_or_else(bad)?
            }
            None => a.trim().parse().map_err(|_| bad())?..b.trim().parse().map_err(|_| bad())?,
        },
        None => 0..text.trim().parse().map_err(|_| bad())?,
    };
    if range.is_empty() {
        return Err(format!("`{text}` holds no seed"));
    }
    Ok(range)
}

fn compare(files: &[PathBuf], seeds: &str, out: Option<PathBuf>) -> i32 {
    let seeds = match parse_seeds(seeds) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --seeds: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut scenarios = Vec::new();
    for f in files {
        match Scenario::load(f) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let entries = crate::compare::entries(&scenarios);
    let names: Vec<&str> = scenarios.iter().map(|s| s.name()).collect();
    let title = names.join(" vs ");
    let dir = out.unwrap_or_else(|| output::default_dir(&format!("compare-{}", names.join("-")), seeds.start));
    println!("seeds: {}..{}", seeds.start, seeds.end);
    println!("comparing: {}", entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "));
    let _ = std::io::stdout().flush();
    let started = Instant::now();
    let (summary, charts) = match crate::compare::many_seeds(&entries, seeds.clone()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let md = crate::compare::many_seeds_markdown(&summary, &title);
    let html = crate::compare::many_seeds_html(&summary, &title, &charts);
    if let Err(e) = output::write_many_seeds(&dir, &summary, &md, &html, &charts) {
        eprintln!("error: {e:#}");
        return EXIT_BAD_INPUT;
    }
    println!(
        "\nran {} runs in {:.2}s of wall time; page: {}\n",
        entries.len() * seeds.count(),
        started.elapsed().as_secs_f64(),
        dir.join("index.html").display()
    );
    print!("{md}");
    summary.exit_code
}

fn shrink(
    file: &std::path::Path,
    seed: u64,
    variant: Option<&str>,
    out: Option<PathBuf>,
    max_runs: u32,
    reseeds: u64,
) -> i32 {
    let scenario = match Scenario::load(file).map_err(|e| e.to_string()).and_then(|s| s.pick(variant)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    println!("seed: {seed}");
    println!("scenario: {} ({})", scenario.name(), scenario.file);
    println!("budget: {max_runs} runs, {reseeds} other seeds per perturbing step");
    let shrunk = match crate::shrink::shrink(&scenario, seed, max_runs, reseeds) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let path = out.unwrap_or_else(|| {
        output::default_dir(scenario.name(), seed).with_file_name(format!("shrunk-seed-{seed}.yaml"))
    });
    let header = format!(
        "# Shrunk by `{} shrink {} --seed {seed}`: {} under seed {} ({}), {} of {} faults kept.\n",
        runner::program(),
        scenario.file,
        shrunk.kind.verdict.words(),
        shrunk.seed.1,
        shrunk.kind.check,
        shrunk.faults.1,
        shrunk.faults.0
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: {}: {e}", dir.display());
        return EXIT_BAD_INPUT;
    }
    if let Err(e) = std::fs::write(&path, header + &shrunk.yaml) {
        eprintln!("error: {}: {e}", path.display());
        return EXIT_BAD_INPUT;
    }
    println!("failure kept: {} ({})", shrunk.kind.verdict.words(), shrunk.kind.check);
    println!("seed: {} -> {}", shrunk.seed.0, shrunk.seed.1);
    println!("faults: {} -> {} (scripted and drawn at random)", shrunk.faults.0, shrunk.faults.1);
    println!("duration: {} -> {}", shrunk.duration.0, shrunk.duration.1);
    println!("nodes: {} -> {}", shrunk.nodes.0, shrunk.nodes.1);
    println!("runs tried: {}", shrunk.runs);
    println!("minimal scenario: {}", path.display());
    // The minimal run once more, recorded, with the messages of the second before it failed.
    let minimal = match Scenario::parse(&shrunk.yaml, &path.display().to_string()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: the minimal scenario: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let result = match runner::run(&minimal, shrunk.seed.1, true) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: the minimal run: {e}");
            return EXIT_BAD_INPUT;
        }
    };
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
    if let Err(e) = output::write_run(&dir, &result, &minimal.node_names, Some(window)) {
        eprintln!("error: {e:#}");
        return EXIT_BAD_INPUT;
    }
    println!("the last second before it: {}", dir.join("charts").join("spacetime.svg").display());
    println!("reproduce: {} run {} --seed {}", runner::program(), path.display(), shrunk.seed.1);
    shrunk.kind.verdict.exit_code()
}

fn validate(files: &[PathBuf]) -> i32 {
    let mut code = 0;
    for file in files {
        match Scenario::load(file) {
            Ok(s) => println!("ok: {} ({}, {} nodes)", file.display(), s.name(), s.node_names.len()),
            Err(e) => {
                eprintln!("error: {e}");
                code = EXIT_BAD_INPUT;
            }
        }
    }
    code
}

/// The text of `syncsim list`: every protocol with its parameters and defaults, the defaults
/// of every scenario section, and the vocabularies scenarios use.
pub fn list(registry: &Registry) -> String {
    let mut s = String::new();
    let yaml = |v: &dyn erased::Yaml| v.to_yaml();
    s.push_str("PROTOCOLS (protocol: { kind: <name>, <parameter>: <value>, ... })\n");
    for family in registry.describe() {
        let info = family.info;
        let ops: Vec<&str> = info.ops.iter().map(|o| o.name()).collect();
        s.push_str(&format!(
            "\n  {}: {}\n    consistency {:?}; operations: {}\n",
            family.kind,
            family.about,
            info.consistency,
            if ops.is_empty() { "none".to_string() } else { ops.join(", ") }
        ));
        for (name, default, help) in family.params {
            s.push_str(&format!("    {name:<16} default {default:<10} {help}\n"));
        }
        for line in family.notes {
            s.push_str(&format!("    {line}\n"));
        }
    }
    s.push_str("\nSCENARIO DEFAULTS (any section left out takes these)\n");
    s.push_str("  seed: 0\n  settle:\n");
    s.push_str(&indent(&yaml(&Settle::default()), 4));
    s.push_str("  network:\n");
    s.push_str(&indent(&yaml(&RawNetwork::default()), 4));
    s.push_str("  workload:\n");
    s.push_str(&indent(&yaml(&RawWorkload::default()), 4));
    s.push_str("  engine:\n");
    s.push_str(&indent(&yaml(&RawEngine::default()), 4));
    s.push_str(
        "\nNODES\n  nodes: 5 (named n0..n4) | nodes: [a, b, c] | nodes: { regions: { eu: 3, us: [us-a, us-b] } } (eu-0, eu-1, ...)\n",
    );
    s.push_str("\nLATENCY DISTRIBUTIONS\n");
    for d in [
        "{ constant: 5ms }",
        "{ uniform: { min: 1ms, max: 10ms } }",
        "{ normal: { mean: 5ms, stddev: 1ms } }            (truncated at 0)",
        "{ lognormal: { median: 2ms, p99: 20ms } }",
        "{ exponential: { mean: 5ms } }",
        "{ pareto: { scale: 1ms, shape: 1.5 } }",
    ] {
        s.push_str(&format!("  {d}\n"));
    }
    s.push_str("\nTOPOLOGIES\n  mesh | ring | { star: { hub: n0 } } | { links: [[n0, n1], [n1, n2]] }   (multi-hop over the lowest-latency path)\n");
    s.push_str("\nFAULTS (faults: [ { at: 10s, <action> }, ... ])\n");
    for f in [
        "partition: [[n0, n1], [n2, n3, n4]]     groups cannot talk; unlisted nodes are unaffected",
        "cut: { from: [n0], to: [n1, n2] }       one direction only",
        "heal: all                               every partition and cut ends",
        "crash: n2 / restart: n2                 volatile state, timers and inbound messages are lost",
        "pause: n1 / resume: n1                  the node freezes; what arrives waits",
        "clock: { node: n3, rate: 1.5, jump: -20ms }   the node's clock runs fast or slow",
        "network: { latency: ..., loss: 5%, duplicate: 1%, between: [n0, n1] }   links change",
        "loss_burst: 30%                         every link also loses 30% (stacks on the links' loss)",
        "drift: { node: n3, factor: 1.2, jump: 1s }   the node's clock runs 1.2 times its rate (after stepping 1s)",
        "lose_disk: n2                           n2 reboots with an empty disk",
    ] {
        s.push_str(&format!("  {f}\n"));
    }
    s.push_str(
        "  lasts: 2s                               a crash, pause, partition, loss_burst or drift ends by itself\n    \
         after 2s; with lose_disk, the disk stops persisting for 2s, then the node reboots from it\n",
    );
    s.push_str("\nRANDOM FAULTS (random_faults: { <kind>: { every: 10s, lasts: 1s..5s } })\n");
    s.push_str(
        "  crash | partition | pause | clock (with factor: 2.0, optionally jump: 500ms) | loss (with loss: 20%) | disk\n  \
         swarm                                   each seed draws the kinds, their rates and lengths, the workload's\n    \
         shape and the network's duplication and reordering (random_faults: { swarm: { kinds, every, lasts,\n    \
         workload, network } }; docs/swarm.md)\n",
    );
    s.push_str(
        "\nSETTLE (settle: { duration: 5s, restart_crashed: true, heal: all | core })\n  heal: core heals only a \
         random core (a majority for linearizable protocols) and keeps the rest down\n",
    );
    s.push_str("\nEXPECTATIONS (expect: { <metric>: <threshold> })\n");
    for m in syncsim_reports::expect::metric_names() {
        s.push_str(&format!("  {m}\n"));
    }
    s.push_str("  writes.lost is a safety metric (exit 1 when it fails); the others are liveness (exit 2).\n");
    s.push_str("\nEXIT CODES (every command)\n");
    s.push_str(&Exit::table());
    s
}

fn indent(text: &str, by: usize) -> String {
    text.lines().map(|l| format!("{}{l}\n", " ".repeat(by))).collect()
}

/// Serializing defaults as YAML, with enums written as maps the way scenarios write them.
mod erased {
    use serde::Serialize;

    pub trait Yaml {
        fn to_yaml(&self) -> String;
    }

    impl<T: Serialize> Yaml for T {
        fn to_yaml(&self) -> String {
            let mut out = Vec::new();
            let mut ser = serde_yaml::Serializer::new(&mut out);
            serde_yaml::with::singleton_map_recursive::serialize(self, &mut ser).expect("defaults serialize");
            String::from_utf8(out).expect("YAML is UTF-8")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_seeds;

    #[test]
    fn seeds_are_a_count_or_a_range() {
        assert_eq!(parse_seeds("20"), Ok(0..20));
        assert_eq!(parse_seeds("5..9"), Ok(5..9));
        assert!(parse_seeds("9..5").unwrap_err().contains("no seed"));
        assert!(parse_seeds("many").unwrap_err().contains("not a seed range"));
    }
}
