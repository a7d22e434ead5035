//! One name for each annealer, so that `syncsim anneal` and the sync scheduler pick them the
//! same way.

use serde::{Deserialize, Serialize};

use super::model::Ising;
use super::sa::{self, SaParams, Sample};
use super::sb::{self, SbParams};
use super::sqa::{self, SqaParams};

/// The annealers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Simulated annealing, single-spin flips.
    Sa,
    /// Simulated quantum annealing, path-integral Monte Carlo.
    Sqa,
    /// Ballistic simulated bifurcation (`sb` is accepted for it too).
    #[serde(alias = "sb")]
    Bsb,
    /// Discrete simulated bifurcation.
    Dsb,
}

impl Solver {
    /// Every solver.
    pub const ALL: [Solver; 4] = [Solver::Sa, Solver::Sqa, Solver::Bsb, Solver::Dsb];

    /// The solver's name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Sa => "sa",
            Solver::Sqa => "sqa",
            Solver::Bsb => "bsb",
            Solver::Dsb => "dsb",
        }
    }

    /// Runs `reads` reads of `sweeps` sweeps on `model` under `seed` (for simulated
    /// bifurcation a sweep is one integration step: every spin's force once).
    pub fn solve(self, model: &Ising, reads: u32, sweeps: u32, seed: u64) -> Vec<Sample> {
        match self {
            Solver::Sa => sa::anneal(model, &SaParams { sweeps, reads, beta: None, seed }),
            Solver::Sqa => sqa::anneal(model, &SqaParams { sweeps, reads, seed, ..SqaParams::default() }),
            Solver::Bsb => sb::anneal(model, &SbParams { variant: sb::Variant::Ballistic, steps: sweeps, reads, seed }),
            Solver::Dsb => sb::anneal(model, &SbParams { variant: sb::Variant::Discrete, steps: sweeps, reads, seed }),
        }
    }
}
