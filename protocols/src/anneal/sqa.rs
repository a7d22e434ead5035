//! Simulated quantum annealing by path-integral Monte Carlo (Martoňák, Santoro and Tosatti,
//! 2002): the transverse-field Ising model is mapped, by the Suzuki–Trotter decomposition, onto
//! `P` classical replicas of the spins (Trotter slices) at temperature `P·T`, each spin coupled
//! to its copies in the neighbouring slices by `J⊥ = −(P·T/2)·ln tanh(Γ/(P·T))`. The
//! transverse field Γ falls linearly towards zero over the sweeps, so the coupling between
//! slices grows until they agree. Each sweep tries a local flip of every spin of every slice,
//! then a world-line flip of every spin in all slices at once.

use syncsim_sim::rng::{SimRng, unit_f64};

use super::model::Ising;
use super::sa::{Sample, random_spins, read_rng};

/// Path-integral annealing parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SqaParams {
    /// Sweeps per read.
    pub sweeps: u32,
    /// Independent reads.
    pub reads: u32,
    /// Trotter slices `P`.
    pub slices: u32,
    /// `P·T`, the temperature the slices run at; default: the model's smallest single-flip
    /// energy change.
    pub pt: Option<f64>,
    /// The transverse field at the start and end; default: from three times the largest
    /// single-flip change down to a thousandth of `P·T`.
    pub gamma: Option<(f64, f64)>,
    /// The seed; read `r` draws from its own stream.
    pub seed: u64,
}

impl Default for SqaParams {
    fn default() -> Self {
        SqaParams { sweeps: 1000, reads: 10, slices: 8, pt: None, gamma: None, seed: 0 }
    }
}

/// The coupling between neighbouring Trotter slices under transverse field `gamma` at `pt`.
pub fn j_perp(gamma: f64, pt: f64) -> f64 {
    -(pt / 2.0) * libm::log(libm::tanh(gamma / pt))
}

/// Anneals `model` `params.reads` times; each read returns its best slice.
pub fn anneal(model: &Ising, params: &SqaParams) -> Vec<Sample> {
    let (max_rise, min_rise) = model.flip_scales();
    let pt = params.pt.unwrap_or(min_rise);
    let (g0, g1) = params.gamma.unwrap_or((3.0 * max_rise, pt * 1e-3));
    (0..params.reads)
        .map(|r| {
            let mut rng = read_rng(params.seed, r);
            let slices = anneal_read(model, params.slices.max(1) as usize, params.sweeps, pt, (g0, g1), &mut rng);
            slices
                .into_iter()
                .map(|spins| {
                    let energy = model.energy(&spins);
                    Sample { spins, energy }
                })
                .min_by(|a, b| a.energy.total_cmp(&b.energy))
                .expect("at least one slice")
        })
        .collect()
}

fn anneal_read(model: &Ising, p: usize, sweeps: u32, pt: f64, (g0, g1): (f64, f64), rng: &mut SimRng) -> Vec<Vec<i8>> {
    let n = model.len();
    let mut spins: Vec<Vec<i8>> = (0..p).map(|_| random_spins(rng, n)).collect();
    let mut fields: Vec<Vec<f64>> = spins.iter().map(|s| model.fields(s)).collect();
    let beta = 1.0 / pt;
    for sweep in 0..sweeps {
        let frac = if sweeps > 1 { f64::from(sweep) / f64::from(sweeps - 1) } else { 1.0 };
        let gamma = g0 + (g1 - g0) * frac;
        let jp = if p > 1 { j_perp(gamma, pt) } else { 0.0 };
        // Local moves: one spin of one slice, against its field and its two copies.
        for k in 0..p {
            let (up, down) = ((k + p - 1) % p, (k + 1) % p);
            for i in 0..n {
                let s = f64::from(spins[k][i]);
                let copies = if p > 1 { f64::from(spins[up][i]) + f64::from(spins[down][i]) } else { 0.0 };
                let rise = -2.0 * s * fields[k][i] + 2.0 * jp * s * copies;
                if rise <= 0.0 || (rise * beta < 40.0 && unit_f64(rng) < libm::exp(-beta * rise)) {
                    model.flip(&mut spins[k], &mut fields[k], i);
                }
            }
        }
        // World-line moves: a spin in every slice at once leaves the slice couplings as they were.
        for i in 0..n {
            let rise: f64 = (0..p).map(|k| -2.0 * f64::from(spins[k][i]) * fields[k][i]).sum();
            if rise <= 0.0 || (rise * beta < 40.0 && unit_f64(rng) < libm::exp(-beta * rise)) {
                for k in 0..p {
                    model.flip(&mut spins[k], &mut fields[k], i);
                }
            }
        }
    }
    spins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slices_bind_harder_as_the_field_falls() {
        let pt = 1.0;
        assert!(j_perp(3.0, pt) < j_perp(1.0, pt) && j_perp(1.0, pt) < j_perp(0.01, pt));
        assert!(j_perp(3.0, pt) > 0.0, "ferromagnetic between slices");
    }
}
