//! `syncsim compare`: scenarios and variants side by side over many seeds, each swept as
//! `syncsim sweep` would.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use super::{Context, Outcome, exit_of};
use crate::cli::parse_seeds;
use crate::output;
use crate::scenario::ScenarioFile;

/// Runs `syncsim compare`.
pub fn compare(files: &[PathBuf], seeds: &str, out: Option<PathBuf>) -> Outcome {
    let seeds = parse_seeds(seeds).context("--seeds")?;
    let scenarios = files.iter().map(|f| ScenarioFile::load(f)).collect::<Result<Vec<_>, _>>()?;
    let entries = crate::compare::entries(&scenarios);
    // The files by scenario name, or by file name where two share one.
    let mut names: Vec<String> = scenarios.iter().map(|s| s.name().to_string()).collect();
    if (1..names.len()).any(|i| names[..i].contains(&names[i])) {
        names =
            files.iter().map(|f| f.file_name().map_or(f.display().to_string(), |n| n.display().to_string())).collect();
    }
    let title = names.join(" vs ");
    let dir = out.unwrap_or_else(|| output::scenario_dir(&format!("compare-{}", names.join("-"))));
    println!("seeds: {}..{}", seeds.start, seeds.end);
    println!("comparing: {}", entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "));
    let _ = std::io::stdout().flush();
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new((entries.len() * seeds.clone().count()) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} runs  {per_sec}  eta {eta}")
            .expect("a valid template"),
    );
    let (summary, charts) =
        crate::compare::many_seeds(&entries, seeds.clone(), None, &|_| bar.inc(1)).inspect_err(|_| bar.abandon())?;
    bar.finish_and_clear();
    // One run page per entry, of the seed that stands for it, linked from the comparison.
    let mut runs: Vec<crate::compare::RunLink> = Vec::new();
    for (i, (entry, sum)) in entries.iter().zip(&summary.entries).enumerate() {
        let Some(seed) = crate::compare::representative(&sum.sweep) else { continue };
        // Names that differ only in characters a folder cannot hold get their position too.
        let mut folder = format!("runs/{}", output::safe_name(&entry.name));
        if runs.iter().any(|r| r.page.starts_with(&format!("{folder}/"))) {
            folder = format!("{folder}-{i}");
        }
        let result = crate::runner::run(&entry.scenario, seed, false).context(&entry.name)?;
        crate::cmd::run::write_explained(&dir.join(&folder), &entry.scenario, seed, &result)?;
        runs.push(crate::compare::RunLink { entry: entry.name.clone(), page: format!("{folder}/index.html"), seed });
    }
    let md = crate::compare::many_seeds_markdown(&summary, &title);
    let html = crate::compare::many_seeds_html(&summary, &title, &charts, &runs);
    output::write_many_seeds(&dir, &summary, &md, &html, &charts)?;
    println!(
        "\nran {} runs in {:.2}s of wall time; page: {}\n",
        entries.len() * seeds.count(),
        started.elapsed().as_secs_f64(),
        dir.join("index.html").display()
    );
    print!("{md}");
    exit_of(summary.exit_code)
}
