//! Simulated bifurcation (Goto, Tatsumura and Dixon 2019; Goto et al., "High-performance
//! combinatorial optimization based on classical mechanics", Science Advances 2021): each spin
//! is an oscillator with position `x` and momentum `y`. The pump `a(t)` rises from 0 to `a0`;
//! as it does, the positions bifurcate towards ±1 in a configuration that lowers the Ising
//! energy. *Ballistic* SB (bSB) couples the oscillators through their positions, *discrete* SB
//! (dSB) through their signs; both stop an oscillator that reaches ±1 at an inelastic wall.
//! The equations are integrated by symplectic Euler with a time step chosen per instance so
//! that the integration stays stable.

use syncsim_sim::rng::unit_f64;

use super::model::Ising;
use super::sa::{Sample, read_rng};

/// Which simulated bifurcation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Ballistic: the force follows the positions.
    Ballistic,
    /// Discrete: the force follows the positions' signs.
    Discrete,
}

/// Simulated bifurcation parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SbParams {
    /// Ballistic or discrete.
    pub variant: Variant,
    /// Integration steps per read.
    pub steps: u32,
    /// Independent reads, each from random small positions and momenta.
    pub reads: u32,
    /// The seed.
    pub seed: u64,
}

/// The time step and coupling strength for `model`: `c0 = 0.5 / (σ √n)` as Goto et al. choose
/// it (σ the couplings' root mean square over all pairs), and the largest step at which
/// symplectic Euler stays stable, `Δt < 2 / √(a0 · (a0 + c0 · λ))`, with `λ` bounded by the
/// largest row sum of |J| (Gershgorin), capped at Goto's 1.25.
pub fn constants(model: &Ising) -> (f64, f64) {
    let n = model.len().max(2) as f64;
    let sum_sq: f64 =
        model.couplings().map(|(_, _, w)| w * w).sum::<f64>() + model.h.iter().map(|h| h * h).sum::<f64>();
    let sigma = (2.0 * sum_sq / (n * (n - 1.0))).sqrt().max(1e-12);
    let c0 = 0.5 / (sigma * n.sqrt());
    let rho = (0..model.len())
        .map(|i| model.row(i).1.iter().map(|w| w.abs()).sum::<f64>() + model.h[i].abs())
        .fold(0.0f64, f64::max);
    let a0 = 1.0;
    let dt = (1.9 / (a0 * (a0 + c0 * rho)).sqrt()).min(1.25);
    (c0, dt)
}

/// Runs `params.reads` reads on `model`.
pub fn anneal(model: &Ising, params: &SbParams) -> Vec<Sample> {
    let n = model.len();
    let (c0, dt) = constants(model);
    let a0 = 1.0;
    (0..params.reads)
        .map(|r| {
            let mut rng = read_rng(params.seed, r);
            let mut x: Vec<f64> = (0..n).map(|_| 0.2 * (unit_f64(&mut rng) - 0.5)).collect();
            let mut y: Vec<f64> = (0..n).map(|_| 0.2 * (unit_f64(&mut rng) - 0.5)).collect();
            let mut force = vec![0.0; n];
            let steps = params.steps.max(1);
            for step in 0..steps {
                let a = a0 * f64::from(step) / f64::from(steps);
                // The Ising energy Σ J s s + Σ h s falls along -∂E/∂x.
                for (i, f) in force.iter_mut().enumerate() {
                    let (nbr, j) = model.row(i);
                    let pull: f64 = match params.variant {
                        Variant::Ballistic => nbr.iter().zip(j).map(|(&k, &w)| w * x[k as usize]).sum(),
                        Variant::Discrete => nbr.iter().zip(j).map(|(&k, &w)| w * x[k as usize].signum()).sum(),
                    };
                    *f = -c0 * (pull + model.h[i]);
                }
                for i in 0..n {
                    y[i] += dt * (-(a0 - a) * x[i] + force[i]);
                    x[i] += dt * a0 * y[i];
                    if x[i].abs() > 1.0 {
                        x[i] = x[i].signum();
                        y[i] = 0.0;
                    }
                }
            }
            let spins: Vec<i8> = x.iter().map(|&v| if v >= 0.0 { 1 } else { -1 }).collect();
            let energy = model.energy(&spins);
            Sample { spins, energy }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_keeps_the_integration_stable() {
        // A dense, strongly coupled model gets a smaller step than a sparse one.
        let dense: Vec<(u32, u32, f64)> = (0..20u32).flat_map(|a| (a + 1..20).map(move |b| (a, b, 5.0))).collect();
        let sparse = [(0u32, 1u32, 1.0)];
        let (_, dt_dense) = constants(&Ising::new(20, vec![], &dense, 0.0));
        let (_, dt_sparse) = constants(&Ising::new(20, vec![], &sparse, 0.0));
        assert!(dt_dense <= dt_sparse && dt_sparse <= 1.25);
    }
}
