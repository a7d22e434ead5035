//! Exhaustive search of small Ising models, for checking the heuristics: every assignment in
//! Gray-code order, so each step flips one spin and updates the energy incrementally.

use super::model::Ising;

/// Spins searched at most (2^n assignments).
pub const MAX_SPINS: usize = 26;

/// A ground state of `model` and its energy; `None` above [`MAX_SPINS`] spins.
pub fn ground_state(model: &Ising) -> Option<(Vec<i8>, f64)> {
    let n = model.len();
    if n > MAX_SPINS {
        return None;
    }
    let mut spins = vec![-1i8; n];
    let mut energy = model.energy(&spins);
    let mut best = (spins.clone(), energy);
    for step in 1u64..(1u64 << n) {
        // The Gray code flips the spin of the lowest set bit of the step.
        let i = step.trailing_zeros() as usize;
        energy -= 2.0 * f64::from(spins[i]) * model.field(&spins, i);
        spins[i] = -spins[i];
        if energy < best.1 {
            best = (spins.clone(), energy);
        }
    }
    // Recompute, so that accumulated rounding never reports an energy the state does not have.
    let e = model.energy(&best.0);
    Some((best.0, e))
}
