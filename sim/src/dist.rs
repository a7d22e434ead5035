//! Latency distributions of network links, and their samplers.
//!
//! All maths that turns random bits into a latency goes through `libm`, so the same seed gives
//! the same latencies on every platform.

use serde::{Deserialize, Serialize};

use rand_core::Rng;

use crate::rng::{SimRng, unit_f64};
use crate::time::SimDuration;

/// The 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_840_8;

/// No sampled latency exceeds an hour: heavy tails are cut there so times never overflow.
const MAX_LATENCY_NS: f64 = 3_600e9;

/// A one-way latency distribution, as written in a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Latency {
    /// Always the same latency.
    Constant(SimDuration),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Lowest latency.
        min: SimDuration,
        /// Highest latency.
        max: SimDuration,
    },
    /// Normal, truncated at zero.
    Normal {
        /// Mean latency.
        mean: SimDuration,
        /// Standard deviation.
        stddev: SimDuration,
    },
    /// Log-normal, given by its median and 99th percentile: the usual shape of real RTTs.
    Lognormal {
        /// Median latency.
        median: SimDuration,
        /// 99th-percentile latency; at least the median.
        p99: SimDuration,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean latency.
        mean: SimDuration,
    },
    /// Pareto (heavy-tailed): never below `scale`, tail index `shape`.
    Pareto {
        /// Minimum latency.
        scale: SimDuration,
        /// Tail index; smaller is heavier. Must be positive.
        shape: f64,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Constant(SimDuration::from_millis(1))
    }
}

impl Latency {
    /// Checks the parameters; the message names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Latency::Uniform { min, max } if min > max => Err(format!("uniform: min ({min}) is above max ({max})")),
            Latency::Lognormal { median, .. } if median == SimDuration::ZERO => {
                Err("lognormal: the median must be positive".into())
            }
            Latency::Lognormal { median, p99 } if p99 < median => {
                Err(format!("lognormal: p99 ({p99}) is below the median ({median})"))
            }
            Latency::Pareto { scale, .. } if scale == SimDuration::ZERO => {
                Err("pareto: the scale must be positive".into())
            }
            Latency::Pareto { shape, .. } if !(shape.is_finite() && shape > 0.0) => {
                Err(format!("pareto: the shape must be positive, not {shape}"))
            }
            _ => Ok(()),
        }
    }

    /// The median latency: the weight of a link when routing over the lowest-latency path.
    pub fn median(&self) -> SimDuration {
        let ns = match *self {
            Latency::Constant(d) => d.0 as f64,
            Latency::Uniform { min, max } => (min.0 as f64 + max.0 as f64) / 2.0,
            Latency::Normal { mean, .. } => mean.0 as f64,
            Latency::Lognormal { median, .. } => median.0 as f64,
            Latency::Exponential { mean } => mean.0 as f64 * core::f64::consts::LN_2,
            Latency::Pareto { scale, shape } => scale.0 as f64 * libm::pow(2.0, 1.0 / shape),
        };
        SimDuration(ns.min(MAX_LATENCY_NS) as u64)
    }

    /// A sampler with the distribution's constants worked out once.
    pub fn sampler(&self) -> Sampler {
        match *self {
            Latency::Constant(d) => Sampler::Constant(d.0),
            Latency::Uniform { min, max } => Sampler::Uniform { min: min.0, span: max.0 - min.0 },
            Latency::Normal { mean, stddev } => Sampler::Normal { mean: mean.0 as f64, stddev: stddev.0 as f64 },
            Latency::Lognormal { median, p99 } => {
                // In base 2: exp2 is twice as fast as exp, and the distribution is the same.
                let mu = libm::log2(median.0 as f64);
                Sampler::Lognormal { mu, sigma: (libm::log2(p99.0 as f64) - mu) / Z99 }
            }
            Latency::Exponential { mean } => Sampler::Exponential { mean: mean.0 as f64 },
            Latency::Pareto { scale, shape } => Sampler::Pareto { scale: scale.0 as f64, inv_shape: 1.0 / shape },
        }
    }
}

/// A ready-to-draw latency distribution.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Sampler {
    /// Always `0` nanoseconds; draws nothing.
    Constant(u64),
    /// `min + U·span`.
    Uniform {
        /// Lowest value (ns).
        min: u64,
        /// Width of the range (ns).
        span: u64,
    },
    /// Normal, truncated at zero.
    Normal {
        /// Mean (ns).
        mean: f64,
        /// Standard deviation (ns).
        stddev: f64,
    },
    /// `2^(mu + sigma·Z)`.
    Lognormal {
        /// Base-2 log of the median (ns).
        mu: f64,
        /// Spread in base-2 log space.
        sigma: f64,
    },
    /// Exponential with this mean (ns).
    Exponential {
        /// Mean (ns).
        mean: f64,
    },
    /// `scale / U^(1/shape)`.
    Pareto {
        /// Minimum (ns).
        scale: f64,
        /// One over the tail index.
        inv_shape: f64,
    },
}

impl Sampler {
    /// Draws one latency.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        let ns = match *self {
            Sampler::Constant(ns) => return SimDuration(ns),
            Sampler::Uniform { min, span } => {
                if span == 0 {
                    return SimDuration(min);
                }
                return SimDuration(min + crate::rng::below(rng, span + 1));
            }
            Sampler::Normal { mean, stddev } => mean + stddev * standard_normal(rng),
            Sampler::Lognormal { mu, sigma } => libm::exp2(mu + sigma * standard_normal(rng)),
            Sampler::Exponential { mean } => -mean * libm::log(1.0 - unit_f64(rng)),
            Sampler::Pareto { scale, inv_shape } => scale * libm::exp(-libm::log(1.0 - unit_f64(rng)) * inv_shape),
        };
        SimDuration(ns.clamp(0.0, MAX_LATENCY_NS) as u64)
    }
}

/// The ziggurat tables of Marsaglia & Tsang (2000), 128 layers, worked out once with `libm`.
struct Ziggurat {
    /// Acceptance thresholds per layer, scaled to 2^31.
    k: [u32; 128],
    /// Layer widths, scaled down by 2^31.
    w: [f64; 128],
    /// The density at each layer's edge.
    f: [f64; 128],
}

/// Where the normal's tail begins (the base layer's edge).
const ZIG_R: f64 = 3.442_619_855_899;

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let m1 = 2_147_483_648.0;
        let v = 9.912_563_035_262_17e-3;
        let mut dn = ZIG_R;
        let mut tn = dn;
        let q = v / libm::exp(-0.5 * dn * dn);
        let mut z = Ziggurat { k: [0; 128], w: [0.0; 128], f: [0.0; 128] };
        z.k[0] = ((dn / q) * m1) as u32;
        z.k[1] = 0;
        z.w[0] = q / m1;
        z.w[127] = dn / m1;
        z.f[0] = 1.0;
        z.f[127] = libm::exp(-0.5 * dn * dn);
        for i in (1..=126).rev() {
            dn = libm::sqrt(-2.0 * libm::log(v / dn + libm::exp(-0.5 * dn * dn)));
            z.k[i + 1] = ((dn / tn) * m1) as u32;
            tn = dn;
            z.f[i] = libm::exp(-0.5 * dn * dn);
            z.w[i] = dn / m1;
        }
        z
    })
}

/// One standard normal draw by the ziggurat method: exact (a rejection sampler), and nearly
/// always a single 64-bit draw, a table look-up and a multiplication.
#[inline]
fn standard_normal(rng: &mut SimRng) -> f64 {
    let z = ziggurat();
    loop {
        let bits = rng.next_u64();
        let layer = (bits & 127) as usize;
        let hz = (bits >> 32) as u32 as i32;
        let x = f64::from(hz) * z.w[layer];
        if hz.unsigned_abs() < z.k[layer] {
            return x;
        }
        if layer == 0 {
            // The tail beyond ZIG_R, by Marsaglia's exponential rejection.
            loop {
                let t = -libm::log(1.0 - unit_f64(rng)) / ZIG_R;
                let y = -libm::log(1.0 - unit_f64(rng));
                if y + y >= t * t {
                    return if hz > 0 { ZIG_R + t } else { -ZIG_R - t };
                }
            }
        }
        // The wedge between this layer and the one below.
        if z.f[layer] + unit_f64(rng) * (z.f[layer - 1] - z.f[layer]) < libm::exp(-0.5 * x * x) {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn quantile(latency: &Latency, q: f64) -> f64 {
        let sampler = latency.sampler();
        let mut rng = Stream::Network.rng(42);
        let mut xs: Vec<u64> = (0..100_000).map(|_| sampler.sample(&mut rng).0).collect();
        xs.sort_unstable();
        xs[((xs.len() as f64) * q) as usize] as f64
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let l = Latency::Lognormal { median: SimDuration::from_millis(2), p99: SimDuration::from_millis(20) };
        let p50 = quantile(&l, 0.5) / 1e6;
        let p99 = quantile(&l, 0.99) / 1e6;
        assert!((p50 - 2.0).abs() < 0.05, "median {p50}ms");
        assert!((p99 - 20.0).abs() < 1.0, "p99 {p99}ms");
    }

    #[test]
    fn exponential_and_pareto_follow_their_medians() {
        let e = Latency::Exponential { mean: SimDuration::from_millis(10) };
        assert!((quantile(&e, 0.5) - e.median().0 as f64).abs() / 1e6 < 0.2);
        let p = Latency::Pareto { scale: SimDuration::from_millis(1), shape: 2.0 };
        assert!((quantile(&p, 0.5) - p.median().0 as f64).abs() / 1e6 < 0.02);
        assert!(quantile(&p, 0.0) >= 1e6, "pareto never goes below its scale");
    }

    #[test]
    fn normal_is_truncated_at_zero_and_uniform_stays_in_range() {
        let n = Latency::Normal { mean: SimDuration::from_millis(1), stddev: SimDuration::from_millis(5) };
        assert_eq!(quantile(&n, 0.0), 0.0);
        let u = Latency::Uniform { min: SimDuration::from_millis(3), max: SimDuration::from_millis(4) };
        assert!(quantile(&u, 0.0) >= 3e6 && quantile(&u, 0.9999) <= 4e6);
    }

    #[test]
    fn the_ziggurat_draws_a_standard_normal() {
        let mut rng = Stream::Network.rng(9);
        let n = 400_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        // Tail shares against the normal CDF: P(|Z| > 1) = 0.3173, > 2 = 0.0455, > 3 = 0.0027,
        // > 3.4426 (the ziggurat's base layer) = 0.000576.
        for (t, p) in [(1.0, 0.3173), (2.0, 0.0455), (3.0, 0.0027), (ZIG_R, 0.000576)] {
            let share = xs.iter().filter(|x| x.abs() > t).count() as f64 / n as f64;
            assert!((share - p).abs() < 4.0 * (p / n as f64).sqrt() + 1e-4, "P(|Z| > {t}) = {share}, expected {p}");
        }
    }

    #[test]
    fn invalid_parameters_are_named() {
        let bad = Latency::Lognormal { median: SimDuration::from_millis(5), p99: SimDuration::from_millis(1) };
        assert!(bad.validate().unwrap_err().contains("p99"));
        let bad = Latency::Pareto { scale: SimDuration::from_millis(1), shape: -1.0 };
        assert!(bad.validate().unwrap_err().contains("shape"));
    }
}
