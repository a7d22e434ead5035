//! The library face of a sweep, for a protocol crate's own tests:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! syncsim::Scenario::from_file("scenarios/quickstart.yaml")?.seeds(0..4).run()?.assert_passed();
//! # Ok(())
//! # }
//! ```
//!
//! A failing seed panics with its verdict, what failed and the command that reproduces it.

use std::ops::Range;
use std::path::Path;

use crate::scenario::{Scenario, ScenarioError};
use crate::sweep::{self, SweepReport};

/// A sweep that could not run (a scenario the engine refused, or a thread pool that could not
/// start); failing seeds are not errors, they are in the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SweepError(pub String);

impl Scenario {
    /// Reads and checks the scenario file at `path` (as [`Scenario::load`]); a file with
    /// `variants:` is read with [`ScenarioFile::load`](crate::scenario::ScenarioFile::load)
    /// and one of them picked.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        Scenario::load(path.as_ref())
    }

    /// Reads and checks the scenario file at `path` with the protocol families of `registry`
    /// (a crate's own family among them): `Scenario::from_file_with(path, &registry)?.seeds(0..200).run()`.
    pub fn from_file_with(path: impl AsRef<Path>, registry: &crate::Registry) -> Result<Scenario, ScenarioError> {
        Scenario::load_with(path.as_ref(), registry)
    }

    /// This scenario under `seeds`, ready to [`Seeds::run`].
    pub fn seeds(&self, seeds: Range<u64>) -> Seeds {
        Seeds { scenario: self.clone(), seeds, jobs: None }
    }
}

/// A scenario and the seeds to run it under.
#[derive(Clone, Debug)]
pub struct Seeds {
    scenario: Scenario,
    seeds: Range<u64>,
    jobs: Option<usize>,
}

impl Seeds {
    /// Runs on `jobs` threads instead of every core.
    pub fn jobs(mut self, jobs: usize) -> Seeds {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// Runs every seed (in parallel) and returns the sweep's report, failures included.
    pub fn run(&self) -> Result<SweepReport, SweepError> {
        let seeds: Vec<u64> = self.seeds.clone().collect();
        let records = sweep::run_seeds(&self.scenario, &seeds, self.jobs, false, &|_| {}).map_err(SweepError)?;
        Ok(sweep::summarise(&self.scenario.label(), &self.scenario.file, self.seeds.clone(), None, records))
    }
}

impl SweepReport {
    /// Panics unless every seed passed; the message names each failing seed (up to ten), what
    /// failed and its reproducing command.
    #[track_caller]
    pub fn assert_passed(&self) {
        if self.failing.is_empty() {
            return;
        }
        let mut lines = vec![format!(
            "{}: {} of {} seeds failed ({})",
            self.scenario,
            self.failing.len(),
            self.runs,
            self.outcome.words()
        )];
        for f in self.failing.iter().take(10) {
            lines.push(format!("  seed {}: {}: {}", f.seed, f.outcome.words(), f.failures.join("; ")));
            lines.push(format!("    reproduce: {}", f.reproduce));
        }
        if self.failing.len() > 10 {
            lines.push(format!("  ... and {} more", self.failing.len() - 10));
        }
        panic!("{}", lines.join("\n"));
    }
}
