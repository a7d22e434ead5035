//! The `sweep` and `merge` commands: banner, progress bar, files and exit codes around
//! [`crate::sweep`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::{Context, Error, Outcome, exit_of};
use crate::scenario::ScenarioFile;
use crate::sweep::{self, Shard, SweepReport};

/// What `syncsim sweep` was asked to do.
#[derive(Clone, Debug)]
pub struct SweepArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// The seeds, `A..B`.
    pub seeds: std::ops::Range<u64>,
    /// Threads (default: every core).
    pub jobs: Option<usize>,
    /// Run only this slice of the seeds.
    pub shard: Option<Shard>,
    /// Output folder.
    pub out: Option<PathBuf>,
    /// The variant to sweep, for a scenario with variants.
    pub variant: Option<String>,
    /// Run each seed twice and compare trace hashes.
    pub check_determinism: bool,
}

/// Runs `syncsim sweep`; ends with the worst seed's verdict (nondeterminism above all).
pub fn sweep(args: SweepArgs) -> Outcome {
    let scenario = ScenarioFile::load(&args.file)?.pick(args.variant.as_deref())?;
    if args.jobs == Some(0) {
        return Err(Error::bad_input("--jobs must be at least 1"));
    }
    let seeds: Vec<u64> = match args.shard {
        Some(sh) => sh.seeds(args.seeds.clone()),
        None => args.seeds.clone().collect(),
    };
    let name = scenario.label();
    // Every parameter first, as a run prints its seed first: the log alone reproduces the sweep.
    println!("seeds: {}..{} ({} to run here)", args.seeds.start, args.seeds.end, seeds.len());
    println!("scenario: {name} ({})", scenario.file);
    println!("shard: {}", args.shard.map_or("none (every seed)".to_string(), |s| format!("{}/{}", s.index, s.count)));
    println!("jobs: {}", args.jobs.map_or(format!("{} (every core)", rayon::current_num_threads()), |j| j.to_string()));
    println!("check determinism: {}", if args.check_determinism { "yes (every seed twice)" } else { "no" });
    let bar = ProgressBar::new(seeds.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} seeds  {msg}  {per_sec}  eta {eta}")
            .expect("a valid template"),
    );
    bar.set_message("0 failing");
    let failing = AtomicU64::new(0);
    let started = Instant::now();
    let done = |r: &sweep::SeedRecord| {
        if r.outcome != syncsim_reports::Verdict::Pass || r.nondeterminism.is_some() {
            let f = failing.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_message(format!("{f} failing"));
        }
        bar.inc(1);
    };
    let records = sweep::run_seeds(&scenario, &seeds, args.jobs, args.check_determinism, &done).inspect_err(|_| {
        bar.abandon();
    })?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let report = sweep::summarise(&name, &scenario.file, args.seeds.clone(), args.shard, records);
    let dir = args.out.unwrap_or_else(|| default_dir(&name, args.shard));
    write(&dir, &report).context(dir.display())?;
    print_summary(&report);
    println!(
        "ran {} seeds in {elapsed:.2}s of wall time ({:.1} seeds/s)",
        report.runs,
        report.runs as f64 / elapsed.max(1e-9)
    );
    println!("report: {} (page: {})", dir.join("sweep.md").display(), dir.join("index.html").display());
    let nondeterministic: Vec<&sweep::SeedRecord> =
        report.records.iter().filter(|r| r.nondeterminism.is_some()).collect();
    for r in &nondeterministic {
        println!("NONDETERMINISTIC seed {}: {}", r.seed, r.nondeterminism.as_deref().unwrap_or_default());
    }
    exit_of(report.exit_code)
}

fn default_dir(name: &str, shard: Option<Shard>) -> PathBuf {
    let leaf = shard.map_or("sweep".to_string(), |s| format!("sweep-shard-{}-of-{}", s.index, s.count));
    crate::output::scenario_dir(name).join(leaf)
}

/// Writes `sweep.json`, `sweep.md`, and the page: `index.html` with `charts/*.svg`.
fn write(dir: &Path, report: &SweepReport) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("sweep.json"), serde_json::to_string_pretty(report).expect("sweeps serialize") + "\n")?;
    std::fs::write(dir.join("sweep.md"), sweep::markdown(report))?;
    let charts = crate::sweep_page::charts(report).map_err(|e| anyhow::anyhow!("drawing the charts: {e}"))?;
    std::fs::write(dir.join("index.html"), crate::sweep_page::html(report, &charts))?;
    crate::output::write_charts(&dir.join("charts"), charts.iter().map(|c| (c.file.as_str(), c.svg.as_str())))
}

/// Key metrics, then failing seeds with their reproducers, then the verdict line.
fn print_summary(r: &SweepReport) {
    for name in ["latency.all.p99", "availability", "converged_within", "visibility.p99", "bytes_per_op"] {
        if let Some(a) = r.aggregates.get(name) {
            let ms = |v: f64| {
                if name == "availability" { format!("{:.2}%", v * 100.0) } else { format!("{:.3}ms", v / 1e6) }
            };
            let ms = |v: f64| if name == "bytes_per_op" { format!("{v:.1}") } else { ms(v) };
            println!(
                "  {name:<18} median {} [p10 {} – p90 {}], worst {} (seed {})",
                ms(a.median),
                ms(a.p10),
                ms(a.p90),
                ms(a.worst),
                a.worst_seed
            );
        }
    }
    for f in r.failing.iter().take(20) {
        println!("FAIL seed {}: {}: {}", f.seed, f.outcome.words(), f.failures.join("; "));
        println!("  reproduce: {}", f.reproduce);
    }
    if r.failing.len() > 20 {
        println!("... and {} more failing seeds (sweep.md lists them all)", r.failing.len() - 20);
    }
    println!("outcome: {} (exit {})   {} of {} seeds passed", r.outcome.words(), r.exit_code, r.passed, r.runs);
}

/// Runs `syncsim merge DIR...`; ends with the merged sweep's verdict.
pub fn merge(dirs: &[PathBuf], out: Option<PathBuf>, allow_partial: bool) -> Outcome {
    let mut parts = Vec::new();
    for d in dirs {
        let file = if d.is_dir() { d.join("sweep.json") } else { d.clone() };
        let text = std::fs::read_to_string(&file).context(file.display())?;
        let part = serde_json::from_str::<SweepReport>(&text).map_err(|e| {
            Error::bad_input(format!("{}:{}:{}: not a sweep report: {e}", file.display(), e.line(), e.column()))
        })?;
        parts.push(part);
    }
    let merged = sweep::merge(parts, allow_partial)?;
    // A partial merge gets its own folder rather than overwriting a shard's.
    let dir = out.unwrap_or_else(|| match merged.shard {
        None => default_dir(&merged.scenario, None),
        Some(_) => default_dir(&merged.scenario, None).with_file_name("sweep-partial-merge"),
    });
    write(&dir, &merged).context(dir.display())?;
    if let Some(partial) = &merged.partial {
        println!(
            "note: these reports cover {} of the sweep's {} seeds; the report is partial: {partial}",
            merged.runs,
            merged.seeds.1 - merged.seeds.0
        );
    }
    print_summary(&merged);
    for r in merged.records.iter().filter(|r| r.nondeterminism.is_some()) {
        println!("NONDETERMINISTIC seed {}: {}", r.seed, r.nondeterminism.as_deref().unwrap_or_default());
    }
    println!("report: {}", dir.join("sweep.md").display());
    exit_of(merged.exit_code)
}
