//! Writes a run's files into its output folder, and nowhere else.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use syncsim_sim::SimTime;
use syncsim_sim::trace::TraceRecord;

use crate::runner::RunResult;

/// The default output folder of a run: `syncsim-out/<scenario>/seed-<seed>`.
pub fn default_dir(name: &str, seed: u64) -> PathBuf {
    scenario_dir(name).join(format!("seed-{seed}"))
}

/// `syncsim-out/<scenario>`, the name made safe for a folder.
pub fn scenario_dir(name: &str) -> PathBuf {
    Path::new("syncsim-out").join(safe_name(name))
}

/// `name` made safe for a folder: `/` of a variant, spaces and the like become `_`.
pub fn safe_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

/// A space-time diagram to draw beside a run: the trace to draw it from, its window, and its
/// caption.
pub struct Diagram<'a> {
    /// The trace: the run's own, or a replay's.
    pub trace: &'a [TraceRecord],
    /// The window's start.
    pub from: SimTime,
    /// The window's end.
    pub to: SimTime,
    /// What the page calls it.
    pub caption: String,
}

impl<'a> Diagram<'a> {
    /// The diagram of a window the user asked for (`--window`), from the run's trace.
    pub fn asked(trace: &'a [TraceRecord], (from, to): (SimTime, SimTime)) -> Diagram<'a> {
        let caption = format!(
            "Messages between {} and {}",
            syncsim_reports::report::format_ns(from.0),
            syncsim_reports::report::format_ns(to.0)
        );
        Diagram { trace, from, to, caption }
    }
}

/// Writes `report.json`, `summary.md`, `index.html`, `charts/*.svg`, `history.jsonl` and (if
/// recorded) `trace.jsonl` into `dir`.
///
/// With a recorded trace, also `trace.json` (Chrome trace-event format, for Perfetto); with a
/// `diagram`, `charts/spacetime.svg`, the message diagram of its window.
pub fn write_run(dir: &Path, result: &RunResult, node_names: &[String], diagram: Option<Diagram<'_>>) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let mut report = serde_json::to_string_pretty(&result.report).context("serializing the report")?;
    report.push('\n');
    write_file(&dir.join("report.json"), |w| w.write_all(report.as_bytes()))?;
    let mut charts = syncsim_reports::run_charts::run_charts(&result.report, &result.history)
        .map_err(|e| anyhow::anyhow!("drawing the charts: {e}"))?;
    if let Some(d) = diagram {
        let svg = syncsim_reports::spacetime::diagram(d.trace, node_names, d.from, d.to)
            .map_err(|e| anyhow::anyhow!("drawing the space-time diagram: {e}"))?;
        charts.push(syncsim_reports::run_charts::Chart { file: "spacetime.svg".into(), title: d.caption, svg });
    }
    write_charts(&dir.join("charts"), charts.iter().map(|c| (c.file.as_str(), c.svg.as_str())))?;
    let md = syncsim_reports::page::markdown(&result.report);
    write_file(&dir.join("summary.md"), |w| w.write_all(md.as_bytes()))?;
    let mut files =
        vec![("report.json", "report.json"), ("summary.md", "summary.md"), ("history (JSON lines)", "history.jsonl")];
    if !result.trace.is_empty() {
        files.push(("trace (JSON lines)", "trace.jsonl"));
        files.push(("trace for Perfetto (ui.perfetto.dev)", "trace.json"));
    }
    let html = syncsim_reports::page::html(&result.report, &charts, &files);
    write_file(&dir.join("index.html"), |w| w.write_all(html.as_bytes()))?;
    write_file(&dir.join("history.jsonl"), |w| syncsim_reports::history::write_jsonl(&result.history, node_names, w))?;
    let trace_path = dir.join("trace.jsonl");
    let chrome_path = dir.join("trace.json");
    if result.trace.is_empty() {
        // A trace from an earlier run of this folder would no longer match its report.
        for path in [&trace_path, &chrome_path] {
            if path.exists() {
                fs::remove_file(path).with_context(|| format!("cannot remove the stale {}", path.display()))?;
            }
        }
    } else {
        let chrome = syncsim_reports::perfetto::chrome_trace(&result.trace, node_names);
        write_file(&chrome_path, |w| {
            serde_json::to_writer(&mut *w, &chrome)?;
            w.write_all(b"\n")
        })?;
        write_file(&trace_path, |w| {
            for record in &result.trace {
                serde_json::to_writer(&mut *w, record)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn write_file(path: &Path, body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = BufWriter::new(file);
    body(&mut w).and_then(|_| w.flush()).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes an experiment's `report.json` and charts into `dir`.
pub fn write_experiment(
    dir: &Path,
    report: &crate::experiment::ExperimentReport,
    charts: &[(String, String)],
) -> Result<()> {
    fs::create_dir_all(dir.join("charts"))
        .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let mut json = serde_json::to_string_pretty(report).context("serializing the report")?;
    json.push('\n');
    write_file(&dir.join("report.json"), |w| w.write_all(json.as_bytes()))?;
    for (file, svg) in charts {
        write_file(&dir.join(file), |w| w.write_all(svg.as_bytes()))?;
    }
    Ok(())
}

/// Writes a comparison of variants as `comparison.json` into `dir`.
pub fn write_comparison(dir: &Path, comparison: &crate::compare::Comparison) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let mut json = serde_json::to_string_pretty(comparison).context("serializing the comparison")?;
    json.push('\n');
    write_file(&dir.join("comparison.json"), |w| w.write_all(json.as_bytes()))
}

/// Writes `charts` (file name, SVG) into `dir`, first removing charts of an earlier run there.
pub fn write_charts<'a>(dir: &Path, charts: impl Iterator<Item = (&'a str, &'a str)>) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "svg") {
            fs::remove_file(&path).with_context(|| format!("cannot remove the stale {}", path.display()))?;
        }
    }
    for (file, svg) in charts {
        write_file(&dir.join(file), |w| w.write_all(svg.as_bytes()))?;
    }
    Ok(())
}

/// Writes a many-seed comparison: `comparison.json`, `comparison.md`, `index.html` and
/// `charts/*.svg` into `dir`.
pub fn write_many_seeds(
    dir: &Path,
    summary: &crate::compare::ManySeeds,
    markdown: &str,
    html: &str,
    charts: &[syncsim_reports::run_charts::Chart],
) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let mut json = serde_json::to_string_pretty(summary).context("serializing the comparison")?;
    json.push('\n');
    write_file(&dir.join("comparison.json"), |w| w.write_all(json.as_bytes()))?;
    write_file(&dir.join("comparison.md"), |w| w.write_all(markdown.as_bytes()))?;
    write_file(&dir.join("index.html"), |w| w.write_all(html.as_bytes()))?;
    write_charts(&dir.join("charts"), charts.iter().map(|c| (c.file.as_str(), c.svg.as_str())))
}
