//! `syncsim lincheck`: a history file checked for linearizability (exit 0 yes, 1 no, 2 unknown,
//! 3 bad input), with progress on stderr past a second and an optional `--timeout`.

use std::path::PathBuf;
use std::time::Instant;

use syncsim_reports::lin::Budget;
use syncsim_reports::lin::formats::Format;

use super::{Context, Outcome};
use crate::lincheck::{self, ModelName};

/// The command's arguments.
pub struct Args {
    /// The history file.
    pub file: PathBuf,
    /// The model (default: from the history).
    pub model: Option<ModelName>,
    /// The format (default: from the file).
    pub format: Option<Format>,
    /// Check the whole history at once, not per key.
    pub whole: bool,
    /// Memory budget in MiB.
    pub budget_mb: usize,
    /// Give up (unknown) after this long.
    pub timeout: Option<syncsim_sim::SimDuration>,
    /// Where to draw a violation.
    pub svg: Option<PathBuf>,
    /// Print JSON.
    pub json: bool,
}

/// Runs `syncsim lincheck`; ends with the verdict (0 linearizable, 1 not, 2 unknown).
pub fn lincheck(args: Args) -> Outcome {
    let Args { file, model, format, whole, budget_mb, timeout, svg, json } = args;
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
    let report = result.map_err(super::Error::bad_input)?;
    if let (Some(path), Some(v)) = (&svg, &report.result.violation) {
        let unit = lincheck::time_unit(report.format);
        syncsim_reports::run_charts::violation_chart(v, unit, 1.0)
            .map_err(|e| e.to_string())
            .and_then(|chart| std::fs::write(path, chart).map_err(|e| e.to_string()))
            .context(format_args!("{}: cannot write the chart", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string(&report).expect("reports serialize"));
    } else {
        print!("{}", lincheck::render(&file.display().to_string(), &report, started.elapsed().as_secs_f64()));
    }
    Ok(lincheck::exit(report.result.verdict))
}
