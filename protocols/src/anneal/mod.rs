//! Quantum-inspired annealing on classical hardware, usable on its own: Ising and QUBO models
//! ([`model`]), simulated annealing ([`sa`]), simulated quantum annealing by path-integral
//! Monte Carlo ([`sqa`]), simulated bifurcation ([`sb`]), exhaustive search for small
//! instances ([`exhaustive`]), and the problem files `syncsim anneal` reads ([`formats`]).
//!
//! [`sched`] is the annealing sync scheduler built on them (`kind: anneal-sync`).

pub mod exhaustive;
pub mod formats;
pub mod model;
pub mod sa;
pub mod sb;
pub mod sched;
pub mod solver;
pub mod sqa;

pub use model::{Ising, Qubo};
pub use sa::{SaParams, Sample, anneal};
pub use solver::Solver;

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::rng::{Stream, below, unit_f64};

    /// Random small models: annealing finds the exhaustive ground state.
    #[test]
    fn annealing_agrees_with_exhaustive_search_on_small_models() {
        for seed in 0..30u64 {
            let mut rng = Stream::Workload.rng(seed);
            let n = 4 + below(&mut rng, 9) as usize;
            let mut couplings = Vec::new();
            for a in 0..n as u32 {
                for b in a + 1..n as u32 {
                    if unit_f64(&mut rng) < 0.5 {
                        couplings.push((a, b, (unit_f64(&mut rng) * 4.0 - 2.0).round()));
                    }
                }
            }
            let h: Vec<f64> = (0..n).map(|_| (unit_f64(&mut rng) * 2.0 - 1.0).round()).collect();
            let model = Ising::new(n, h, &couplings, 0.0);
            let (_, best) = exhaustive::ground_state(&model).unwrap();
            let found = anneal(&model, &SaParams { sweeps: 300, reads: 10, beta: None, seed })
                .iter()
                .map(|s| s.energy)
                .fold(f64::INFINITY, f64::min);
            assert!((found - best).abs() < 1e-9, "seed {seed}: annealing {found}, exhaustive {best}");
            let quantum = sqa::anneal(&model, &sqa::SqaParams { sweeps: 300, reads: 5, seed, ..Default::default() })
                .iter()
                .map(|s| s.energy)
                .fold(f64::INFINITY, f64::min);
            assert!((quantum - best).abs() < 1e-9, "seed {seed}: quantum annealing {quantum}, exhaustive {best}");
            for variant in [sb::Variant::Ballistic, sb::Variant::Discrete] {
                let found = sb::anneal(&model, &sb::SbParams { variant, steps: 500, reads: 20, seed })
                    .iter()
                    .map(|s| s.energy)
                    .fold(f64::INFINITY, f64::min);
                assert!((found - best).abs() < 1e-9, "seed {seed}: {variant:?} bifurcation {found}, exhaustive {best}");
            }
        }
    }
}
