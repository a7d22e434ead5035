//! Quantities written with units in scenario files: probabilities (`0.5%`), rates (`500/s`),
//! bandwidths (`100Mbit/s`). Each reads from text and writes back the same way.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::{SimDuration, scale_decimal};

/// A probability in [0, 1], written as a fraction (`0.005`) or a percentage (`0.5%`).
#[derive(Copy, Clone, Debug, Default, PartialEq, PartialOrd)]
pub struct Probability(f64);

impl Probability {
    /// Never.
    pub const ZERO: Probability = Probability(0.0);
    /// Always.
    pub const ONE: Probability = Probability(1.0);

    /// A probability, if `p` lies in [0, 1].
    pub fn new(p: f64) -> Result<Self, String> {
        if p.is_finite() && (0.0..=1.0).contains(&p) {
            Ok(Probability(p))
        } else {
            Err(format!("a probability must lie between 0 and 1 (0% and 100%), not {p}"))
        }
    }
    /// The probability as a fraction in [0, 1].
    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Probability {
    /// The shortest percentage that reads back as exactly this probability: `14.1%`, not
    /// `14.099999999999998%` (a written-out scenario must be the same run, bit for bit); the
    /// fraction itself when no percentage does (`0.3333333333333333`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = self.0 * 100.0;
        match (0..=17)
            .map(|digits| format!("{pct:.digits$}"))
            .find(|text| text.parse::<f64>().is_ok_and(|v| v / 100.0 == self.0))
        {
            Some(shortest) => write!(f, "{shortest}%"),
            None => write!(f, "{}", self.0),
        }
    }
}

impl FromStr for Probability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let value = match s.strip_suffix('%') {
            Some(pct) => pct
                .trim()
                .parse::<f64>()
                .map(|v| v / 100.0)
                .map_err(|_| format!("`{s}` is not a percentage such as `0.5%`"))?,
            None => s.parse::<f64>().map_err(|_| format!("`{s}` is not a probability such as `0.005` or `0.5%`"))?,
        };
        Probability::new(value)
    }
}

impl Serialize for Probability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumberOrText::deserialize(d)? {
            NumberOrText::Number(v) => Probability::new(v),
            NumberOrText::Text(t) => t.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// A YAML scalar that may be written as a number or as text with a unit.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(f64),
    Text(String),
}

/// Events per second, written `500/s`, `30/min`, `2/h` or `1/ms`.
#[derive(Copy, Clone, Debug, PartialEq, PartialOrd)]
pub struct Rate {
    per_sec: f64,
}

impl Rate {
    /// A rate of `per_sec` events per second; must be positive and finite.
    pub fn per_sec(per_sec: f64) -> Result<Self, String> {
        if per_sec.is_finite() && per_sec > 0.0 {
            Ok(Rate { per_sec })
        } else {
            Err(format!("a rate must be positive, not {per_sec}/s"))
        }
    }
    /// Events per second.
    pub fn get(self) -> f64 {
        self.per_sec
    }
    /// Mean time between events, in nanoseconds.
    pub fn mean_gap_ns(self) -> f64 {
        1e9 / self.per_sec
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_sec)
    }
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (count, per) =
            s.split_once('/').ok_or_else(|| format!("`{s}` is not a rate such as `500/s` or `30/min`"))?;
        let count: f64 = count.trim().parse().map_err(|_| format!("`{s}`: `{count}` is not a number"))?;
        let per = per.trim();
        let unit =
            if per.chars().next().is_some_and(|c| c.is_ascii_digit()) { per.to_string() } else { format!("1{per}") };
        let span: SimDuration =
            unit.parse().map_err(|_| format!("`{s}`: `{per}` is not a time unit (ns, us, ms, s, min, h)"))?;
        if span == SimDuration::ZERO {
            return Err(format!("`{s}`: the time span must not be zero"));
        }
        Rate::per_sec(count / span.as_secs_f64())
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A link's capacity in bytes per second, written `100Mbit/s`, `1Gbit/s`, `10MB/s`, `500kB/s`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bandwidth {
    bytes_per_sec: u64,
}

impl Bandwidth {
    /// A capacity of `bytes_per_sec`; must be positive.
    pub fn bytes_per_sec(bytes_per_sec: u64) -> Result<Self, String> {
        if bytes_per_sec == 0 { Err("a bandwidth must be positive".into()) } else { Ok(Bandwidth { bytes_per_sec }) }
    }
    /// Bytes per second.
    pub fn get(self) -> u64 {
        self.bytes_per_sec
    }
    /// Time to put `bytes` on the wire, rounded up to a whole nanosecond.
    pub fn serialisation_delay(self, bytes: u64) -> SimDuration {
        let ns = (u128::from(bytes) * 1_000_000_000).div_ceil(u128::from(self.bytes_per_sec));
        SimDuration(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.bytes_per_sec;
        for (unit, name) in [(1_000_000_000, "GB/s"), (1_000_000, "MB/s"), (1_000, "kB/s")] {
            if b.is_multiple_of(unit) {
                return write!(f, "{}{}", b / unit, name);
            }
        }
        write!(f, "{b}B/s")
    }
}

impl FromStr for Bandwidth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{t}` has no unit: write e.g. `100Mbit/s` or `10MB/s`"))?;
        let (number, unit) = t.split_at(split);
        // (numerator, denominator) of bytes per unit: bits are an eighth of a byte.
        let (num, den) = match unit.trim() {
            "B/s" => (1, 1),
            "kB/s" => (1_000, 1),
            "MB/s" => (1_000_000, 1),
            "GB/s" => (1_000_000_000, 1),
            "bit/s" | "bps" => (1, 8),
            "kbit/s" | "kbps" => (1_000, 8),
            "Mbit/s" | "Mbps" => (1_000_000, 8),
            "Gbit/s" | "Gbps" => (1_000_000_000, 8),
            other => {
                return Err(format!(
                    "unknown bandwidth unit `{other}` in `{t}` (B/s, kB/s, MB/s, GB/s, bit/s, kbit/s, Mbit/s, Gbit/s)"
                ));
            }
        };
        let bytes =
            scale_decimal(number, num).ok_or_else(|| format!("`{t}` is not a bandwidth such as `100Mbit/s`"))? / den;
        Bandwidth::bytes_per_sec(bytes)
    }
}

impl Serialize for Bandwidth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Bandwidth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_read_as_fractions_or_percentages() {
        assert_eq!("0.5%".parse::<Probability>().unwrap().get(), 0.005);
        assert_eq!("0.25".parse::<Probability>().unwrap().get(), 0.25);
        assert!("150%".parse::<Probability>().is_err());
        assert!("-0.1".parse::<Probability>().is_err());
        assert!("NaN".parse::<Probability>().is_err());
    }

    #[test]
    fn probabilities_print_as_the_shortest_percentage_that_reads_back_exactly() {
        assert_eq!(Probability::new(0.141).unwrap().to_string(), "14.1%");
        assert_eq!(Probability::new(0.5).unwrap().to_string(), "50%");
        assert_eq!(Probability::new(0.0).unwrap().to_string(), "0%");
        for x in [0.141, 1.0 / 3.0, 0.005, 1e-9, 0.999_999_999_7, 0.1 + 0.2 - 0.2] {
            let p = Probability::new(x).unwrap();
            assert_eq!(p.to_string().parse::<Probability>().unwrap().get(), x, "{p}");
        }
    }

    #[test]
    fn rates_convert_to_per_second() {
        assert_eq!("500/s".parse::<Rate>().unwrap().get(), 500.0);
        assert_eq!("30/min".parse::<Rate>().unwrap().get(), 0.5);
        assert_eq!("1/ms".parse::<Rate>().unwrap().get(), 1000.0);
        assert_eq!("5/10s".parse::<Rate>().unwrap().get(), 0.5);
        assert!("0/s".parse::<Rate>().is_err());
        assert!("500".parse::<Rate>().is_err());
    }

    #[test]
    fn bandwidth_in_bits_and_bytes() {
        assert_eq!("100Mbit/s".parse::<Bandwidth>().unwrap().get(), 12_500_000);
        assert_eq!("10MB/s".parse::<Bandwidth>().unwrap().get(), 10_000_000);
        assert_eq!("1.5GB/s".parse::<Bandwidth>().unwrap().get(), 1_500_000_000);
        let b = Bandwidth::bytes_per_sec(1_000_000).unwrap();
        assert_eq!(b.serialisation_delay(1000), SimDuration::from_millis(1));
        assert!("0MB/s".parse::<Bandwidth>().is_err());
        assert!("10 furlongs".parse::<Bandwidth>().is_err());
    }
}
