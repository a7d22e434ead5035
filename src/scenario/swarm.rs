//! Swarm testing (Groce et al., "Swarm testing", ISSTA 2012; TigerBeetle's VOPR
//! `options_swarm`): instead of every seed running every fault kind at fixed rates, each seed
//! draws which kinds are on, how often and how long they strike, and the workload's shape.
//! A seed with only short crashes and a hot key reaches schedules that a seed with everything
//! at once drowns out.
//!
//! The draw comes from its own RNG stream ([`Stream::Swarm`]), so the faults drawn afterwards
//! and everything else in the run use the streams they always use: the drawn scenario, written
//! out, is the same run.

use std::fmt::Write as _;

use syncsim_sim::network::Ordering;
use syncsim_sim::rng::{SimRng, Stream, below, unit_f64};
use syncsim_sim::units::{Probability, Rate};
use syncsim_sim::{DurationRange, SimDuration};

use super::raw::{RawArrival, RawRandomFault, RawRandomFaults, RawScenario, RawSwarm, SwarmKind};

/// The default bounds of a kind's mean time between faults: a fortieth to a half of the run.
pub fn default_every(duration: SimDuration) -> DurationRange {
    let d = duration.as_nanos();
    DurationRange { min: SimDuration((d / 40).max(1_000_000)), max: SimDuration((d / 2).max(2_000_000)) }
}

/// The default bounds of how long a fault lasts: 10 ms (a crash and restart so short that the
/// node's peers still hold its messages) to an eighth of the run.
pub fn default_lasts(duration: SimDuration) -> DurationRange {
    let d = duration.as_nanos();
    DurationRange { min: SimDuration::from_millis(10), max: SimDuration((d / 8).max(20_000_000)) }
}

/// `raw` with its swarm drawn for `seed`: the random fault kinds made concrete and, when the
/// swarm draws the workload, its clients, rate, keys and operation mix; with a line saying
/// what was drawn. `None` when `raw` has no swarm.
pub fn draw(raw: &RawScenario, seed: u64) -> Option<(RawScenario, String)> {
    let swarm = raw.random_faults.swarm.as_ref()?;
    let mut rng = Stream::Swarm.rng(seed);
    let mut out = raw.clone();
    let mut said = String::new();
    out.random_faults = draw_faults(swarm, raw.duration, &mut rng, &mut said);
    if swarm.workload {
        draw_workload(&mut out, &mut rng, &mut said);
    }
    if swarm.network {
        draw_network(&mut out, &mut rng, &mut said);
    }
    Some((out, said))
}

fn draw_faults(swarm: &RawSwarm, duration: SimDuration, rng: &mut SimRng, said: &mut String) -> RawRandomFaults {
    let every = swarm.every.unwrap_or_else(|| default_every(duration));
    let lasts = swarm.lasts.unwrap_or_else(|| default_lasts(duration));
    // Each kind is on with probability one half; a seed with none on gets one.
    let mut on: Vec<bool> = swarm.kinds.iter().map(|_| below(rng, 2) == 1).collect();
    if !on.iter().any(|x| *x) && !on.is_empty() {
        let pick = below(rng, on.len() as u64) as usize;
        on[pick] = true;
    }
    let mut faults = RawRandomFaults::default();
    for (&kind, _) in swarm.kinds.iter().zip(&on).filter(|(_, on)| **on) {
        let mean = log_uniform(rng, every);
        let short = log_uniform(rng, lasts);
        let long_ms = (short.as_nanos() as f64 * (1.0 + 3.0 * unit_f64(rng)) / 1e6).round() as u64;
        let long = SimDuration::from_millis(long_ms).clamp(short, lasts.max.max(short));
        let mut fault = RawRandomFault {
            every: mean,
            lasts: DurationRange { min: short, max: long },
            factor: None,
            loss: None,
            jump: None,
        };
        let _ = write!(said, "{}{} every {} lasting {}", sep(said), kind.name(), mean, fault.lasts);
        match kind {
            SwarmKind::Crash => faults.crash = Some(fault),
            SwarmKind::Partition => faults.partition = Some(fault),
            SwarmKind::Pause => faults.pause = Some(fault),
            SwarmKind::Clock => {
                let factor = round2(1.1 + 2.9 * unit_f64(rng));
                fault.factor = Some(factor);
                let _ = write!(said, " by up to {factor}x");
                // On half the seeds the clock also steps, 1 ms to 2 s either way.
                if below(rng, 2) == 1 {
                    let steps = DurationRange { min: SimDuration::from_millis(1), max: SimDuration::from_secs(2) };
                    let jump = log_uniform(rng, steps);
                    fault.jump = Some(jump);
                    let _ = write!(said, ", stepping up to ±{jump}");
                }
                faults.clock = Some(fault);
            }
            SwarmKind::Loss => {
                let loss = Probability::new(round2(0.05 + 0.55 * unit_f64(rng))).expect("5% to 60% is a probability");
                fault.loss = Some(loss);
                let _ = write!(said, " losing {:.0}%", loss.get() * 100.0);
                faults.loss = Some(fault);
            }
            SwarmKind::Disk => faults.disk = Some(fault),
        }
    }
    faults
}

/// Clients and rate drawn up to the declared values, keys from a quarter of the declared count
/// up to it; each operation's share scaled by
/// a factor from a tenth to one, the mix renormalised (in whole tenths of a percent).
fn draw_workload(raw: &mut RawScenario, rng: &mut SimRng, said: &mut String) {
    let w = &mut raw.workload;
    if w.clients == 0 {
        return;
    }
    w.clients = 1 + below(rng, u64::from(w.clients)) as u32;
    if let RawArrival::Poisson(rate) = &mut w.arrival {
        let scaled = rate.get() * (0.25 + 0.75 * unit_f64(rng));
        *rate = Rate::per_sec(round2(scaled).max(0.01)).expect("a positive rate");
    }
    // Keys from a quarter of the declared count: fewer keys make hotter ones, but a history
    // of one hot key with many unknown outcomes is one the linearizability search cannot
    // finish (docs/notes.md, issue 17).
    let keys = w.keys.count.max(1);
    let fewest = keys.div_ceil(4) as f64;
    w.keys.count = (fewest * (keys as f64 / fewest).powf(unit_f64(rng))).round().clamp(fewest, keys as f64) as u64;
    let weights: Vec<f64> = w.ops.0.iter().map(|(_, p)| p.get() * (0.1 + 0.9 * unit_f64(rng))).collect();
    let total: f64 = weights.iter().sum();
    if total > 0.0 {
        let mut permille: Vec<u64> = weights.iter().map(|x| (x / total * 1000.0).round() as u64).collect();
        // Whole tenths of a percent that add up to exactly 100%: the largest share absorbs the
        // rounding.
        let sum: u64 = permille.iter().sum();
        if let Some(largest) = (0..permille.len()).max_by_key(|&i| permille[i]) {
            permille[largest] = (permille[largest] + 1000).saturating_sub(sum);
        }
        for ((_, share), p) in w.ops.0.iter_mut().zip(&permille) {
            *share = Probability::new(*p as f64 / 1000.0).expect("a share of a thousand is a probability");
        }
    }
    let mix: Vec<String> = w.ops.0.iter().map(|(name, p)| format!("{name} {:.1}%", p.get() * 100.0)).collect();
    let rate = match &w.arrival {
        RawArrival::Poisson(rate) => format!(" at {rate}"),
        RawArrival::Closed { .. } => String::new(),
    };
    let _ =
        write!(said, "{}workload: {} clients{rate}, {} keys, {}", sep(said), w.clients, w.keys.count, mix.join(", "));
}

/// Duplication on half the seeds (0.5% to 5%, or the declared rate if higher), reordering
/// on half.
fn draw_network(raw: &mut RawScenario, rng: &mut SimRng, said: &mut String) {
    let net = &mut raw.network;
    if below(rng, 2) == 1 {
        let p = round2(0.005 + 0.045 * unit_f64(rng)).max(net.duplicate.get());
        net.duplicate = Probability::new(p).expect("up to 5% is a probability");
    }
    if below(rng, 2) == 1 {
        net.ordering = Ordering::Reorder;
    }
    let order = match net.ordering {
        Ordering::Reorder => "reordered",
        Ordering::Fifo => "fifo",
    };
    let p = net.duplicate.get();
    let dup = if p > 0.0 { format!("{:.1}% duplicated", p * 100.0) } else { "none duplicated".to_string() };
    let _ = write!(said, "{}network: {dup}, {order}", sep(said));
}

/// A duration between `range.min` and `range.max`, uniform in its logarithm (milliseconds
/// and seconds equally likely), in whole milliseconds.
fn log_uniform(rng: &mut SimRng, range: DurationRange) -> SimDuration {
    let (lo, hi) = (range.min.as_nanos().max(1) as f64, range.max.as_nanos().max(1) as f64);
    let x = (lo.ln() + (hi.ln() - lo.ln()) * unit_f64(rng)).exp();
    let ms = (x / 1e6).round().max(1.0) as u64;
    SimDuration::from_millis(ms).clamp(range.min, range.max.max(range.min))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn sep(s: &str) -> &'static str {
    if s.is_empty() { "" } else { "; " }
}
