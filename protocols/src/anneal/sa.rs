//! Simulated annealing with single-spin flips (Kirkpatrick et al. 1983), as D-Wave's `neal`
//! does it: sweeps over the spins in order, Metropolis acceptance, each spin's local field
//! cached and updated when a neighbour flips, and a geometric inverse-temperature schedule whose
//! default range follows from the model's coefficients.

use syncsim_sim::rng::{SimRng, Stream, unit_f64};

use super::model::Ising;

/// Annealing parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SaParams {
    /// Sweeps per read (each sweep proposes a flip of every spin once).
    pub sweeps: u32,
    /// Independent reads, each from a random start.
    pub reads: u32,
    /// Inverse temperatures at the first and last sweep; default: hot enough that the largest
    /// single-flip energy rise is accepted half the time, cold enough that the smallest one is
    /// accepted once in a hundred.
    pub beta: Option<(f64, f64)>,
    /// The seed; read `r` draws from its own stream.
    pub seed: u64,
}

impl Default for SaParams {
    fn default() -> Self {
        SaParams { sweeps: 1000, reads: 10, beta: None, seed: 0 }
    }
}

/// One read's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The spins, ±1.
    pub spins: Vec<i8>,
    /// Their energy.
    pub energy: f64,
}

/// The default inverse-temperature range of `model` (see [`SaParams::beta`]).
pub fn default_beta(model: &Ising) -> (f64, f64) {
    let (max_rise, min_rise) = model.flip_scales();
    // libm, not std: the scheduler anneals inside simulations, whose runs must match bit for bit
    // on every platform.
    (std::f64::consts::LN_2 / max_rise, libm::log(100.0) / min_rise)
}

/// A random start for read `read`.
pub fn random_spins(rng: &mut SimRng, n: usize) -> Vec<i8> {
    (0..n).map(|_| if unit_f64(rng) < 0.5 { -1 } else { 1 }).collect()
}

/// The generator of read `read` under `seed`.
pub fn read_rng(seed: u64, read: u32) -> SimRng {
    Stream::Node(read).rng(seed)
}

/// Anneals `model` `params.reads` times; the samples come in read order.
pub fn anneal(model: &Ising, params: &SaParams) -> Vec<Sample> {
    let (b0, b1) = params.beta.unwrap_or_else(|| default_beta(model));
    let betas = geometric(b0, b1, params.sweeps);
    (0..params.reads)
        .map(|r| {
            let mut rng = read_rng(params.seed, r);
            let mut spins = random_spins(&mut rng, model.len());
            anneal_from(model, &mut spins, &betas, &mut rng);
            let energy = model.energy(&spins);
            Sample { spins, energy }
        })
        .collect()
}

/// `n` inverse temperatures from `b0` to `b1`, evenly spaced on a log scale.
pub fn geometric(b0: f64, b1: f64, n: u32) -> Vec<f64> {
    match n {
        0 => vec![],
        1 => vec![b1],
        _ => {
            let ratio = libm::pow(b1 / b0, 1.0 / f64::from(n - 1));
            (0..n).map(|k| b0 * libm::pow(ratio, f64::from(k))).collect()
        }
    }
}

/// Runs the schedule `betas` on `spins` in place.
pub fn anneal_from(model: &Ising, spins: &mut [i8], betas: &[f64], rng: &mut SimRng) {
    let n = model.len();
    let mut field = model.fields(spins);
    // Acceptance probabilities of recent rises: most models have few distinct coefficients, so
    // a handful of rises recur all sweep long and exp() need not run for each proposal.
    let mut cache = [(f64::NAN, 0.0f64); 64];
    for &beta in betas {
        // Rises costlier than this are never accepted (exp(-40) < 1e-17).
        let hopeless = 40.0 / beta;
        cache.fill((f64::NAN, 0.0));
        for i in 0..n {
            let s = f64::from(spins[i]);
            let rise = -2.0 * s * field[i];
            let accept = rise <= 0.0
                || (rise < hopeless && {
                    let bits = rise.to_bits();
                    let slot = &mut cache[(bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize];
                    if slot.0 != rise {
                        *slot = (rise, libm::exp(-beta * rise));
                    }
                    unit_f64(rng) < slot.1
                });
            if accept {
                model.flip(spins, &mut field, i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_runs_from_hot_to_cold_geometrically() {
        let b = geometric(0.1, 10.0, 3);
        assert!((b[0] - 0.1).abs() < 1e-12 && (b[1] - 1.0).abs() < 1e-12 && (b[2] - 10.0).abs() < 1e-9);
        let m = Ising::new(2, vec![0.5, 0.0], &[(0, 1, 2.0)], 0.0);
        let (hot, cold) = default_beta(&m);
        // The largest rise (2 × (0.5 + 2)) accepted half the time, the smallest (2 × 0.5) 1%.
        assert!((libm::exp(-hot * 5.0) - 0.5).abs() < 1e-12);
        assert!((libm::exp(-cold * 1.0) - 0.01).abs() < 1e-12);
    }

    #[test]
    fn reads_are_reproducible_from_the_seed() {
        let m = Ising::new(3, vec![], &[(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0)], 0.0);
        let p = SaParams { sweeps: 50, reads: 4, beta: None, seed: 9 };
        assert_eq!(anneal(&m, &p), anneal(&m, &p));
        // A frustrated triangle: the best any assignment does is -1.
        assert!(anneal(&m, &p).iter().all(|s| s.energy == -1.0));
    }
}
