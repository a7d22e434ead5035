//! Annealing a problem file for `syncsim anneal` ([`crate::cmd::anneal`]): the best and mean
//! result over reads and the time per read.

use std::time::Instant;

use serde::Serialize;
pub use syncsim_protocols::anneal::Solver;
use syncsim_protocols::anneal::formats::Problem;

/// What `--json` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnnealResult {
    /// The solver.
    pub solver: &'static str,
    /// Variables.
    pub variables: usize,
    /// Max-Cut: the largest cut found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_cut: Option<f64>,
    /// QUBO: the lowest energy found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_energy: Option<f64>,
    /// The mean cut (Max-Cut) or energy (QUBO) over reads.
    pub mean: f64,
    /// Reads.
    pub reads: u32,
    /// Sweeps per read.
    pub sweeps: u32,
    /// Wall time per read, one thread (ms).
    pub time_per_read_ms: f64,
}

/// Solves `problem` with `solver`; the wall time is measured around the reads only.
pub fn solve_with(solver: Solver, problem: &Problem, reads: u32, sweeps: u32, seed: u64) -> AnnealResult {
    let model = problem.ising();
    // Wall-clock time only for the time-per-read figure; the results depend on the seed alone.
    let started = Instant::now();
    let samples = solver.solve(&model, reads, sweeps, seed);
    let per_read = started.elapsed().as_secs_f64() * 1e3 / f64::from(reads.max(1));
    let values: Vec<f64> = match problem {
        Problem::MaxCut { .. } => samples.iter().map(|s| problem.cut(&s.spins).unwrap_or(0.0)).collect(),
        Problem::Qubo(_) => samples.iter().map(|s| s.energy).collect(),
    };
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let (best_cut, best_energy) = match problem {
        Problem::MaxCut { .. } => (values.iter().copied().reduce(f64::max), None),
        Problem::Qubo(_) => (None, values.iter().copied().reduce(f64::min)),
    };
    AnnealResult {
        solver: solver.name(),
        variables: model.len(),
        best_cut,
        best_energy,
        mean,
        reads,
        sweeps,
        time_per_read_ms: per_read,
    }
}

/// Solves `problem` by simulated annealing.
pub fn solve(problem: &Problem, reads: u32, sweeps: u32, seed: u64) -> AnnealResult {
    solve_with(Solver::Sa, problem, reads, sweeps, seed)
}
