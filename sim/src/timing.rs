//! The node timing model: what real servers add to a protocol's own timing and exact
//! experiments leave out. Handling an event takes time, timers fire late by the slop of the
//! OS's timers, and each node's clock runs a little fast or slow. All are off by default; all
//! break the perfect symmetry of simulated servers, which real split votes never have
//! (docs/fidelity.md).

use serde::{Deserialize, Serialize};

use crate::dist::{Latency, Sampler};
use crate::rng::{SimRng, unit_f64};
use crate::time::SimDuration;

/// The largest clock drift accepted: 1% (10,000 ppm). Crystal oscillators drift by tens of
/// ppm; more than this is a clock fault (`faults: clock`), not drift.
pub const MAX_DRIFT: f64 = 0.01;

/// How nodes' timing departs from the ideal, as written under a scenario's `timing:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimingConfig {
    /// Time a node takes to handle each event: what it sends leaves, the timers it sets start
    /// and the replies it gives reach their clients that much later (`None`: instantly). The
    /// node is not busy meanwhile: events are not queued behind each other.
    pub processing: Option<Latency>,
    /// Added to every timer a node sets: how late the OS wakes it (`None`: never late).
    pub timer_jitter: Option<Latency>,
    /// Each node's clock runs at a rate drawn once, uniformly from 1 − d to 1 + d, given in
    /// parts per million (`50` for 50 ppm; `0`: exact clocks).
    pub clock_drift_ppm: f64,
}

impl TimingConfig {
    /// Whether any part of the model is on.
    pub fn is_on(&self) -> bool {
        self.processing.is_some() || self.timer_jitter.is_some() || self.clock_drift_ppm != 0.0
    }

    /// Whether the model is off (exact timing), for leaving it out of printed parameters.
    pub fn is_off(&self) -> bool {
        !self.is_on()
    }

    /// Checks the values; the message names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(processing) = &self.processing {
            processing.validate().map_err(|m| ("timing.processing", m))?;
        }
        if let Some(jitter) = &self.timer_jitter {
            jitter.validate().map_err(|m| ("timing.timer_jitter", m))?;
        }
        let d = self.clock_drift_ppm;
        if !(0.0..=MAX_DRIFT * 1e6).contains(&d) {
            return Err((
                "timing.clock_drift_ppm",
                format!("{d} is not a drift between 0 and {} ppm (larger steps are clock faults)", MAX_DRIFT * 1e6),
            ));
        }
        Ok(())
    }
}

/// The model at run time: its samplers and its own random stream ([`crate::rng::Stream::Timing`]),
/// so that turning it on changes no other draw.
#[derive(Clone, Debug)]
pub struct Timing {
    processing: Option<Sampler>,
    jitter: Option<Sampler>,
    drift: f64,
    rng: SimRng,
}

impl Timing {
    /// The model of `config`, drawing from `rng`.
    pub fn new(config: &TimingConfig, rng: SimRng) -> Timing {
        Timing {
            processing: config.processing.as_ref().map(Latency::sampler),
            jitter: config.timer_jitter.as_ref().map(Latency::sampler),
            drift: config.clock_drift_ppm * 1e-6,
            rng,
        }
    }

    /// How long handling the next event takes.
    #[inline(always)]
    pub fn processing(&mut self) -> SimDuration {
        match &self.processing {
            None => SimDuration::ZERO,
            Some(s) => s.sample(&mut self.rng),
        }
    }

    /// How late the next timer fires.
    #[inline]
    pub fn jitter(&mut self) -> SimDuration {
        match &self.jitter {
            None => SimDuration::ZERO,
            Some(s) => s.sample(&mut self.rng),
        }
    }

    /// A node's clock rate: 1 when drift is off, else drawn uniformly from 1 ± the drift.
    pub fn clock_rate(&mut self) -> f64 {
        if self.drift == 0.0 {
            return 1.0;
        }
        1.0 + self.drift * (2.0 * unit_f64(&mut self.rng) - 1.0)
    }
}
