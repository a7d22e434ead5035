//! Simulated time: instants and spans in integer nanoseconds, written `150ms`, `2s`, `1.5s`.
//!
//! Integer nanoseconds keep every run exact and portable; no wall clock is ever read.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;
const NS_PER_MIN: u64 = 60 * NS_PER_S;
const NS_PER_H: u64 = 60 * NS_PER_MIN;

/// A point in simulated time: nanoseconds since the run began.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of simulated time in nanoseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    /// Nanoseconds since the start of the run.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A span of `ns` nanoseconds.
    pub const fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }
    /// A span of `us` microseconds.
    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us * NS_PER_US)
    }
    /// A span of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * NS_PER_MS)
    }
    /// A span of `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * NS_PER_S)
    }
    /// The span in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// The span in (fractional) milliseconds, for display and statistics only.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NS_PER_MS as f64
    }
    /// The span in (fractional) seconds, for display and statistics only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.since(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

/// Formats a span exactly, in the largest unit that divides it: `2s`, `150ms`, `1500us`.
impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        for (unit, name) in [(NS_PER_H, "h"), (NS_PER_MIN, "m"), (NS_PER_S, "s"), (NS_PER_MS, "ms"), (NS_PER_US, "us")]
        {
            if ns.is_multiple_of(unit) {
                return write!(f, "{}{}", ns / unit, name);
            }
        }
        write!(f, "{ns}ns")
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}", SimDuration(self.0))
    }
}

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseDurationError(String);

impl FromStr for SimDuration {
    type Err = ParseDurationError;

    /// Reads `150ms`, `2s`, `1.5s`, `250us`, `10ns`, `1m`, `1h`; a bare `0` is allowed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        if s == "0" {
            return Ok(SimDuration::ZERO);
        }
        if s.starts_with('-') {
            return Err(ParseDurationError(format!("`{s}`: a duration cannot be negative")));
        }
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(|| {
            ParseDurationError(format!(
                "`{s}` has no unit: write it as e.g. `150ms`, `2s` (units: ns, us, ms, s, m, h)"
            ))
        })?;
        let (number, unit) = s.split_at(split);
        let unit_ns = match unit.trim() {
            "ns" => 1,
            "us" | "µs" => NS_PER_US,
            "ms" => NS_PER_MS,
            "s" => NS_PER_S,
            "m" | "min" => NS_PER_MIN,
            "h" => NS_PER_H,
            other => {
                return Err(ParseDurationError(format!(
                    "unknown time unit `{other}` in `{s}` (units: ns, us, ms, s, m, h)"
                )));
            }
        };
        let ns = scale_decimal(number, unit_ns).ok_or_else(|| {
            ParseDurationError(format!("`{s}` is not a non-negative duration such as `150ms` or `1.5s`"))
        })?;
        Ok(SimDuration(ns))
    }
}

/// `number × unit` for a decimal written as text, exactly in integers; `None` if malformed,
/// negative, finer than one nanosecond, or too large.
pub(crate) fn scale_decimal(number: &str, unit: u64) -> Option<u64> {
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.chars().all(|c| c.is_ascii_digit()) || !frac_part.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int: u64 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
    let mut total = int.checked_mul(unit)?;
    let mut place = unit;
    for digit in frac_part.chars() {
        let d = u64::from(digit.to_digit(10)?);
        if !place.is_multiple_of(10) {
            // Finer than the base unit allows: only exact values are accepted.
            if d != 0 {
                return None;
            }
            continue;
        }
        place /= 10;
        total = total.checked_add(d * place)?;
    }
    Some(total)
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `150ms` or `2s`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SimDuration, E> {
                if v == 0 {
                    Ok(SimDuration::ZERO)
                } else {
                    Err(E::custom(format!("`{v}` has no unit: write it as e.g. `{v}ms` or `{v}s`")))
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SimDuration, E> {
                if v < 0 {
                    Err(E::custom(format!("a duration cannot be negative (`{v}`)")))
                } else {
                    self.visit_u64(v as u64)
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SimDuration, E> {
                Err(E::custom(format!("`{v}` has no unit: write it as e.g. `{v}s` or `{v}ms`")))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// An inclusive span of durations, written `150ms..300ms` (or one value, `200ms`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DurationRange {
    /// The shortest span.
    pub min: SimDuration,
    /// The longest span; never less than `min`.
    pub max: SimDuration,
}

impl DurationRange {
    /// A range holding exactly one value.
    pub const fn exactly(d: SimDuration) -> Self {
        DurationRange { min: d, max: d }
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max { write!(f, "{}", self.min) } else { write!(f, "{}..{}", self.min, self.max) }
    }
}

impl FromStr for DurationRange {
    type Err = ParseDurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once("..") {
            None => Ok(DurationRange::exactly(s.parse()?)),
            Some((lo, hi)) => {
                let (min, max): (SimDuration, SimDuration) = (lo.parse()?, hi.parse()?);
                if min > max {
                    return Err(ParseDurationError(format!("range `{s}` is empty: its start is after its end")));
                }
                Ok(DurationRange { min, max })
            }
        }
    }
}

impl Serialize for DurationRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DurationRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_exactly() {
        assert_eq!("150ms".parse::<SimDuration>().unwrap(), SimDuration::from_millis(150));
        assert_eq!("2s".parse::<SimDuration>().unwrap(), SimDuration::from_secs(2));
        assert_eq!("1.5s".parse::<SimDuration>().unwrap(), SimDuration::from_millis(1500));
        assert_eq!("250us".parse::<SimDuration>().unwrap(), SimDuration::from_micros(250));
        assert_eq!("7ns".parse::<SimDuration>().unwrap(), SimDuration(7));
        assert_eq!("1m".parse::<SimDuration>().unwrap(), SimDuration::from_secs(60));
        assert_eq!("0.25ms".parse::<SimDuration>().unwrap(), SimDuration::from_micros(250));
        assert_eq!("0".parse::<SimDuration>().unwrap(), SimDuration::ZERO);
    }

    #[test]
    fn rejects_missing_units_negative_and_sub_nanosecond_values() {
        for bad in ["150", "-1s", "1.5ns", "ms", "1 parsec", "1e3ms", ""] {
            assert!(bad.parse::<SimDuration>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["2s", "150ms", "1500us", "3m", "7ns", "0s"] {
            let d: SimDuration = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn ranges_must_be_ordered() {
        let r: DurationRange = "150ms..300ms".parse().unwrap();
        assert_eq!((r.min, r.max), (SimDuration::from_millis(150), SimDuration::from_millis(300)));
        assert!("300ms..150ms".parse::<DurationRange>().is_err());
        assert_eq!("5ms".parse::<DurationRange>().unwrap().to_string(), "5ms");
    }
}
