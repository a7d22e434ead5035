//! `syncsim anneal`: solves a Max-Cut or QUBO file with an annealer ([`crate::anneal`]) and
//! prints the best and mean result and the time per read.

use std::path::Path;

use syncsim_protocols::anneal::formats;
use syncsim_reports::Exit;

use super::{Context, Error, Outcome};
use crate::anneal::{Solver, solve_with};

/// Runs `syncsim anneal`.
pub fn run(file: &Path, solver: Solver, reads: u32, sweeps: u32, seed: u64, json: bool) -> Outcome {
    if reads == 0 || sweeps == 0 {
        return Err(Error::bad_input("--reads and --sweeps must be at least 1"));
    }
    let text = std::fs::read_to_string(file).context(format_args!("{}: cannot read the problem", file.display()))?;
    // The parser's error starts with its line and column, so the file goes first with a colon.
    let problem = formats::parse(&text).map_err(|e| Error::bad_input(format!("{}:{e}", file.display())))?;
    let r = solve_with(solver, &problem, reads, sweeps, seed);
    if json {
        println!("{}", serde_json::to_string(&r).expect("results serialize"));
    } else {
        println!("problem: {} ({} variables)", file.display(), r.variables);
        println!("solver: {} ({} reads of {} sweeps, seed {seed})", r.solver, r.reads, r.sweeps);
        match (r.best_cut, r.best_energy) {
            (Some(cut), _) => println!("best cut: {cut}\nmean cut: {:.2}", r.mean),
            (_, Some(e)) => println!("best energy: {e}\nmean energy: {:.4}", r.mean),
            _ => {}
        }
        println!("time per read: {:.2} ms", r.time_per_read_ms);
    }
    Ok(Exit::Pass)
}
