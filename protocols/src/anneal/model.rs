//! Ising and QUBO models: sparse couplings in compressed rows, fields, an offset, and the
//! conversions between them.
//!
//! Ising energy: `E(s) = Σ_{i<j} J_ij s_i s_j + Σ_i h_i s_i + offset`, spins `s_i ∈ {-1, +1}`.
//! QUBO energy: `E(x) = Σ_{i<j} Q_ij x_i x_j + Σ_i q_i x_i + offset`, bits `x_i ∈ {0, 1}`,
//! and `x = (1 + s) / 2`.

/// An Ising model, its couplings stored once per direction in compressed rows so that a spin's
/// neighbours are one slice.
#[derive(Clone, Debug, PartialEq)]
pub struct Ising {
    /// Fields `h_i`.
    pub h: Vec<f64>,
    /// A constant added to every energy.
    pub offset: f64,
    /// Row starts into `nbr`/`j`: spin `i`'s couplings are `start[i]..start[i + 1]`.
    start: Vec<usize>,
    nbr: Vec<u32>,
    j: Vec<f64>,
}

impl Ising {
    /// The model of `n` spins with fields `h` (zero if empty), couplings `(i, j, J_ij)` for
    /// `i != j` (repeated pairs add up) and an offset.
    pub fn new(n: usize, h: Vec<f64>, couplings: &[(u32, u32, f64)], offset: f64) -> Ising {
        let h = if h.is_empty() { vec![0.0; n] } else { h };
        assert_eq!(h.len(), n, "one field per spin");
        let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
        for &(a, b, w) in couplings {
            assert!(a != b && (a as usize) < n && (b as usize) < n, "coupling ({a}, {b}) out of range or on one spin");
            rows[a as usize].push((b, w));
            rows[b as usize].push((a, w));
        }
        let mut start = Vec::with_capacity(n + 1);
        let (mut nbr, mut j) = (Vec::new(), Vec::new());
        for row in &mut rows {
            start.push(nbr.len());
            row.sort_by_key(|&(k, _)| k);
            // Repeated pairs merge into one coupling.
            let mut merged: Vec<(u32, f64)> = Vec::with_capacity(row.len());
            for &(k, w) in row.iter() {
                match merged.last_mut() {
                    Some(last) if last.0 == k => last.1 += w,
                    _ => merged.push((k, w)),
                }
            }
            for (k, w) in merged.into_iter().filter(|&(_, w)| w != 0.0) {
                nbr.push(k);
                j.push(w);
            }
        }
        start.push(nbr.len());
        Ising { h, offset, start, nbr, j }
    }

    /// Number of spins.
    pub fn len(&self) -> usize {
        self.h.len()
    }

    /// True for a model of no spins.
    pub fn is_empty(&self) -> bool {
        self.h.is_empty()
    }

    /// Spin `i`'s neighbours and couplings.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.start[i]..self.start[i + 1];
        (&self.nbr[r.clone()], &self.j[r])
    }

    /// Spin `i`'s local field under `spins`: `h_i + Σ_j J_ij s_j`. Flipping `s_i` changes the
    /// energy by `-2 s_i field_i`.
    #[inline]
    pub fn field(&self, spins: &[i8], i: usize) -> f64 {
        let (nbr, j) = self.row(i);
        self.h[i] + nbr.iter().zip(j).map(|(&k, &w)| w * f64::from(spins[k as usize])).sum::<f64>()
    }

    /// Every spin's local field under `spins`.
    pub fn fields(&self, spins: &[i8]) -> Vec<f64> {
        (0..self.len()).map(|i| self.field(spins, i)).collect()
    }

    /// Flips spin `i` and updates its neighbours' cached `fields`.
    #[inline]
    pub fn flip(&self, spins: &mut [i8], fields: &mut [f64], i: usize) {
        let step = -2.0 * f64::from(spins[i]);
        spins[i] = -spins[i];
        let (nbr, j) = self.row(i);
        for (&k, &w) in nbr.iter().zip(j) {
            fields[k as usize] += w * step;
        }
    }

    /// Every coupling once, as `(i, j, J_ij)` with `i < j`.
    pub fn couplings(&self) -> impl Iterator<Item = (u32, u32, f64)> + '_ {
        (0..self.len()).flat_map(move |i| {
            let (nbr, j) = self.row(i);
            nbr.iter().zip(j).filter(move |(k, _)| (**k as usize) > i).map(move |(&k, &w)| (i as u32, k, w))
        })
    }

    /// The energy of `spins` (each ±1).
    pub fn energy(&self, spins: &[i8]) -> f64 {
        let mut e = self.offset;
        for i in 0..self.len() {
            let s = f64::from(spins[i]);
            e += self.h[i] * s;
            let (nbr, j) = self.row(i);
            for (&k, &w) in nbr.iter().zip(j) {
                if (k as usize) > i {
                    e += w * s * f64::from(spins[k as usize]);
                }
            }
        }
        e
    }

    /// The largest energy change one flip can make, and the smallest nonzero coefficient's
    /// (twice it: the smallest change a flip can make, when it changes anything): the ends of
    /// the default temperature range.
    pub fn flip_scales(&self) -> (f64, f64) {
        let mut max = 0.0f64;
        let mut min = f64::INFINITY;
        for i in 0..self.len() {
            let (_, j) = self.row(i);
            let total = self.h[i].abs() + j.iter().map(|w| w.abs()).sum::<f64>();
            max = max.max(2.0 * total);
            for w in j.iter().chain(std::iter::once(&self.h[i])).map(|w| w.abs()).filter(|&w| w > 0.0) {
                min = min.min(2.0 * w);
            }
        }
        if !min.is_finite() {
            min = 1.0;
        }
        (max.max(min), min)
    }

    /// The same energy function over bits.
    pub fn to_qubo(&self) -> Qubo {
        let mut linear: Vec<f64> = self.h.iter().map(|h| 2.0 * h).collect();
        let mut offset = self.offset - self.h.iter().sum::<f64>();
        let mut quadratic = Vec::new();
        for (a, b, w) in self.couplings() {
            quadratic.push((a, b, 4.0 * w));
            linear[a as usize] -= 2.0 * w;
            linear[b as usize] -= 2.0 * w;
            offset += w;
        }
        Qubo { linear, quadratic, offset }
    }
}

/// A QUBO: linear terms, quadratic terms `(i, j, Q_ij)` with `i != j`, an offset.
#[derive(Clone, Debug, PartialEq)]
pub struct Qubo {
    /// `q_i`.
    pub linear: Vec<f64>,
    /// `Q_ij`, each pair once (repeats add up).
    pub quadratic: Vec<(u32, u32, f64)>,
    /// A constant added to every energy.
    pub offset: f64,
}

impl Qubo {
    /// A QUBO of `n` bits with no terms yet.
    pub fn new(n: usize) -> Qubo {
        Qubo { linear: vec![0.0; n], quadratic: Vec::new(), offset: 0.0 }
    }

    /// Adds a bit with no terms yet and returns its index.
    pub fn add_bit(&mut self) -> usize {
        self.linear.push(0.0);
        self.linear.len() - 1
    }

    /// Adds `weight · (Σ a_k x_k + constant)²`, expanded with `x² = x`: the penalty form of the
    /// constraint `Σ a_k x_k = −constant`.
    pub fn add_squared(&mut self, terms: &[(usize, f64)], constant: f64, weight: f64) {
        for (k, &(i, a)) in terms.iter().enumerate() {
            self.linear[i] += weight * (a * a + 2.0 * constant * a);
            for &(j, b) in &terms[k + 1..] {
                if i == j {
                    self.linear[i] += weight * 2.0 * a * b;
                } else {
                    self.quadratic.push((i as u32, j as u32, weight * 2.0 * a * b));
                }
            }
        }
        self.offset += weight * constant * constant;
    }

    /// The energy of `bits` (each 0 or 1).
    pub fn energy(&self, bits: &[u8]) -> f64 {
        let lin: f64 = self.linear.iter().zip(bits).map(|(q, &x)| q * f64::from(x)).sum();
        let quad: f64 =
            self.quadratic.iter().map(|&(a, b, q)| q * f64::from(bits[a as usize] & bits[b as usize])).sum();
        self.offset + lin + quad
    }

    /// The same energy function over spins.
    pub fn to_ising(&self) -> Ising {
        let n = self.linear.len();
        let mut h: Vec<f64> = self.linear.iter().map(|q| q / 2.0).collect();
        let mut offset = self.offset + self.linear.iter().sum::<f64>() / 2.0;
        let mut couplings = Vec::with_capacity(self.quadratic.len());
        for &(a, b, q) in &self.quadratic {
            couplings.push((a, b, q / 4.0));
            h[a as usize] += q / 4.0;
            h[b as usize] += q / 4.0;
            offset += q / 4.0;
        }
        Ising::new(n, h, &couplings, offset)
    }
}

/// Spins to bits: `x = (1 + s) / 2`.
pub fn bits_of(spins: &[i8]) -> Vec<u8> {
    spins.iter().map(|&s| u8::from(s > 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qubo_and_ising_give_the_same_energy_to_every_assignment() {
        let q = Qubo {
            linear: vec![1.0, -2.0, 0.5, 3.0],
            quadratic: vec![(0, 1, 2.0), (1, 2, -1.5), (0, 3, 4.0), (2, 3, -0.25)],
            offset: 0.75,
        };
        let ising = q.to_ising();
        let back = ising.to_qubo();
        for m in 0..16u32 {
            let spins: Vec<i8> = (0..4).map(|i| if m >> i & 1 == 1 { 1 } else { -1 }).collect();
            let bits = bits_of(&spins);
            let e = q.energy(&bits);
            assert!((ising.energy(&spins) - e).abs() < 1e-12, "assignment {m}");
            assert!((back.energy(&bits) - e).abs() < 1e-12, "round trip, assignment {m}");
        }
    }

    #[test]
    fn a_squared_penalty_is_zero_exactly_where_its_constraint_holds() {
        // 2·(x0 + 2·x1 + x2 − 2)²: zero when x0 + 2·x1 + x2 = 2.
        let mut q = Qubo::new(3);
        q.add_squared(&[(0, 1.0), (1, 2.0), (2, 1.0)], -2.0, 2.0);
        for m in 0..8u8 {
            let bits: Vec<u8> = (0..3).map(|i| m >> i & 1).collect();
            let sum = f64::from(bits[0]) + 2.0 * f64::from(bits[1]) + f64::from(bits[2]);
            assert!((q.energy(&bits) - 2.0 * (sum - 2.0).powi(2)).abs() < 1e-12, "assignment {m}");
        }
    }

    #[test]
    fn repeated_couplings_add_up() {
        let m = Ising::new(2, vec![], &[(0, 1, 1.0), (1, 0, 2.0)], 0.0);
        assert_eq!(m.couplings().collect::<Vec<_>>(), vec![(0, 1, 3.0)]);
        assert_eq!(m.energy(&[1, 1]), 3.0);
        assert_eq!(m.flip_scales(), (6.0, 6.0));
    }
}
