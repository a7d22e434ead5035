//! The `syncsim` command line: `run`, `compare`, `sweep`, `check`, `shrink`, `live`, `madsim`, `validate`,
//! `list`, `lincheck`, ...
//!
//! Exit codes: [`syncsim_reports::Exit`], one list for every command (0 pass, 1 safety,
//! 2 liveness, 3 bad input, 4 nondeterminism, 5 regression), printed by `syncsim list` and
//! `--help`.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use syncsim_reports::Exit;
use syncsim_reports::lin::formats::Format;

use crate::anneal::Solver;
use crate::cmd::{self, Context};
use crate::lincheck::ModelName;
use crate::registry::Registry;
use crate::runner;

pub use crate::cmd::list::list;

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
    /// p10–p90, worst seed), every failing seed with its reproducing command. Writes sweep.json,
    /// sweep.md and a page, index.html. Exit 0 all passed, 1 a safety violation, 2 a liveness failure, 4 a seed
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
        /// Merge shards that are not one whole sweep (missing shards or seeds, mixed totals);
        /// the report then says it is partial. Without it they are refused (exit 3).
        #[arg(long)]
        allow_partial: bool,
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
            let code = if e.use_stderr() { Exit::BadInput.code() } else { Exit::Pass.code() };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(cli.command) {
        Ok(exit) => exit.code(),
        // The one place a command's error is said.
        Err(e) => {
            for message in e.messages() {
                eprintln!("error: {message}");
            }
            e.exit().code()
        }
    }
}

/// Hands each command its arguments, parsed from the text clap leaves to it.
fn dispatch(command: Command) -> cmd::Outcome {
    match command {
        Command::Run { file, seed, out, trace, variant, window } => {
            let window =
                window.as_deref().map(syncsim_reports::spacetime::parse_window).transpose().context("--window")?;
            cmd::run::run(file, seed, out, trace || window.is_some(), variant, window)
        }
        Command::Compare { files, seeds, out } => cmd::compare::compare(&files, &seeds, out),
        Command::Anneal { file, solver, reads, sweeps, seed, json } => {
            let solver = match solver {
                SolverName::Sa => Solver::Sa,
                SolverName::Sqa => Solver::Sqa,
                SolverName::Bsb => Solver::Bsb,
                SolverName::Dsb => Solver::Dsb,
            };
            cmd::anneal::run(&file, solver, reads, sweeps, seed, json)
        }
        Command::Sweep { file, seeds, jobs, shard, out, variant, check_determinism } => {
            let seeds = parse_seeds(&seeds).context("--seeds")?;
            let shard = shard.as_deref().map(crate::sweep::Shard::parse).transpose().context("--shard")?;
            cmd::sweep::sweep(cmd::sweep::SweepArgs { file, seeds, jobs, shard, out, variant, check_determinism })
        }
        Command::Hunt { seeds, bugs, jobs, shrink_runs, no_control, root, out } => {
            let seeds = parse_seeds(&seeds).context("--seeds")?;
            cmd::hunt::hunt(cmd::hunt::Args {
                seeds,
                bugs,
                jobs,
                shrink_runs,
                control: !no_control,
                root,
                out: out.unwrap_or_else(|| PathBuf::from("syncsim-out/hunt")),
            })
        }
        Command::Merge { dirs, out, allow_partial } => cmd::sweep::merge(&dirs, out, allow_partial),
        Command::Shrink { file, seed, variant, out, max_runs, reseeds } => {
            cmd::shrink::shrink(&file, seed, variant.as_deref(), out, max_runs, reseeds)
        }
        Command::Check { files, seeds, baseline, tolerance, update_baseline, jobs, check_determinism } => {
            let seeds = parse_seeds(&seeds).context("--seeds")?;
            let tolerance = crate::check::parse_tolerance(&tolerance).context("--tolerance")?;
            cmd::check::check(cmd::check::CheckArgs {
                files,
                seeds,
                baseline,
                tolerance,
                update_baseline,
                jobs,
                check_determinism,
            })
        }
        Command::Live { file, seed, out, variant } => {
            cmd::host::run(runner::Host::Live, &file, seed, out, variant.as_deref())
        }
        Command::Madsim { file, seed, out, variant } => {
            cmd::host::run(runner::Host::Madsim, &file, seed, out, variant.as_deref())
        }
        Command::Validate { files } => cmd::validate::validate(&files),
        Command::List => {
            print!("{}", cmd::list::list(&Registry::current()));
            Ok(Exit::Pass)
        }
        Command::Lincheck { file, model, format, whole, budget_mb, timeout, svg, json } => {
            let format = format.map(|f| match f {
                FormatName::Jsonl => Format::Jsonl,
                FormatName::Etcd => Format::Etcd,
                FormatName::Edn => Format::Edn,
            });
            cmd::lincheck::lincheck(cmd::lincheck::Args { file, model, format, whole, budget_mb, timeout, svg, json })
        }
    }
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
