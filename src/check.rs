//! Baselines for `syncsim check` ([`crate::cmd::check`]): the median of every metric per
//! scenario, stored, and the regressions of a new sweep against it. Runs are deterministic, so
//! an unchanged protocol reproduces its baseline exactly and any drift is a real change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncsim_reports::report::higher_is_better;

use crate::sweep::SweepReport;

/// Version of the baseline file's schema.
pub const BASELINE_SCHEMA: u32 = 1;

/// Stored medians per scenario (or `scenario/variant`) and metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_SCHEMA`].
    pub schema: u32,
    /// The seeds the medians were taken over, `start..end`.
    pub seeds: (u64, u64),
    /// Median of every metric, per entry. Read strictly: an entry or a metric named twice is
    /// an error, not the last one silently winning.
    #[serde(deserialize_with = "unique_entries")]
    pub entries: BTreeMap<String, BTreeMap<String, f64>>,
}

/// A JSON object whose keys must be distinct (serde's maps keep the last of a repeated key).
struct Unique<V>(BTreeMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Unique<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Keys<V> {
            type Value = Unique<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique<V>, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!("`{key}` appears twice")));
                    }
                    let value = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(Unique(out))
            }
        }
        d.deserialize_map(Keys(std::marker::PhantomData))
    }
}

fn unique_entries<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, BTreeMap<String, f64>>, D::Error> {
    let Unique(entries) = Unique::<Unique<f64>>::deserialize(d)?;
    Ok(entries.into_iter().map(|(entry, Unique(metrics))| (entry, metrics)).collect())
}

impl Baseline {
    /// What is wrong with the stored values: metrics syncsim does not know, and values no run
    /// can measure (a negative duration or count, a share outside 0..1, a truth value other
    /// than 0 or 1). Each problem names its entry and metric.
    pub fn problems(&self) -> Vec<String> {
        use syncsim_reports::expect::{Kind, metric};
        let mut out = Vec::new();
        for (entry, metrics) in &self.entries {
            for (name, &v) in metrics {
                let Some((kind, _)) = metric(name) else {
                    out.push(format!("{entry}: unknown metric `{name}`"));
                    continue;
                };
                let possible = v.is_finite()
                    && match kind {
                        Kind::Duration => v >= 0.0,
                        Kind::Fraction => (0.0..=1.0).contains(&v),
                        Kind::Bool => v == 0.0 || v == 1.0,
                        // Protocols may measure signed numbers; syncsim's own counts are >= 0.
                        Kind::Number => name.starts_with("protocol.") || v >= 0.0,
                    };
                if !possible {
                    out.push(format!("{entry}: `{name}` is {v}, which no run can measure"));
                }
            }
        }
        out
    }

    /// The metrics `now` measured for an entry this baseline holds but that it lacks: a
    /// baseline taken before they existed, to be updated.
    pub fn missing(&self, now: &Baseline) -> Vec<String> {
        let mut out = Vec::new();
        for (entry, metrics) in &now.entries {
            let Some(old) = self.entries.get(entry) else { continue };
            for name in metrics.keys().filter(|m| !old.contains_key(*m)) {
                out.push(format!("{entry}: the baseline has no `{name}`, which this run measured"));
            }
        }
        out
    }
}

/// A metric that got worse than its baseline allows.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    /// The scenario (or `scenario/variant`).
    pub entry: String,
    /// The metric.
    pub metric: String,
    /// Its baseline median.
    pub baseline: f64,
    /// Its median now.
    pub now: f64,
}

impl Regression {
    /// The change from the baseline, as a fraction of it (infinite from zero).
    pub fn change(&self) -> f64 {
        if self.baseline == 0.0 { f64::INFINITY } else { (self.now - self.baseline) / self.baseline.abs() }
    }
}

/// Metrics of `now` that are worse than in `base` by more than `tolerance` (a fraction): larger
/// where less is better, smaller where more is better. A metric at zero in the baseline (lost
/// writes, say) regresses on any rise. Metrics only one side measured are not compared.
pub fn regressions(base: &Baseline, now: &Baseline, tolerance: f64) -> Vec<Regression> {
    let mut out = Vec::new();
    for (entry, metrics) in &now.entries {
        let Some(old) = base.entries.get(entry) else { continue };
        for (metric, &value) in metrics {
            let Some(&was) = old.get(metric) else { continue };
            let worse = if higher_is_better(metric) {
                value < was - tolerance * was.abs()
            } else {
                value > was + tolerance * was.abs()
            };
            if worse {
                out.push(Regression { entry: entry.clone(), metric: metric.clone(), baseline: was, now: value });
            }
        }
    }
    out
}

/// The medians of `sweeps` as a baseline.
pub fn baseline_of(seeds: std::ops::Range<u64>, sweeps: &[SweepReport]) -> Baseline {
    Baseline {
        schema: BASELINE_SCHEMA,
        seeds: (seeds.start, seeds.end),
        entries: sweeps
            .iter()
            .map(|s| (s.scenario.clone(), s.aggregates.iter().map(|(m, a)| (m.clone(), a.median)).collect()))
            .collect(),
    }
}

/// Parses `10%` or `0.1` as a fraction.
pub fn parse_tolerance(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{text}` is not a tolerance: write `10%` or `0.1`"))?;
    if !(0.0..=10.0).contains(&v) {
        return Err(format!("`{text}` is not a tolerance between 0% and 1000%"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(entries: &[(&str, f64)]) -> Baseline {
        Baseline {
            schema: BASELINE_SCHEMA,
            seeds: (0, 10),
            entries: [("s".to_string(), entries.iter().map(|(m, v)| (m.to_string(), *v)).collect())].into(),
        }
    }

    #[test]
    fn a_metric_regresses_only_beyond_the_tolerance_and_in_its_bad_direction() {
        let old = base(&[("latency.all.p99", 100.0), ("availability", 0.99), ("writes.lost", 0.0)]);
        let ok = base(&[("latency.all.p99", 109.0), ("availability", 0.995), ("writes.lost", 0.0)]);
        assert!(regressions(&old, &ok, 0.1).is_empty());
        let faster = base(&[("latency.all.p99", 50.0)]);
        assert!(regressions(&old, &faster, 0.1).is_empty(), "better is no regression");
        let bad = base(&[("latency.all.p99", 111.0), ("availability", 0.85), ("writes.lost", 1.0)]);
        let found: Vec<String> = regressions(&old, &bad, 0.1).into_iter().map(|r| r.metric).collect();
        assert_eq!(found, ["availability", "latency.all.p99", "writes.lost"]);
    }

    #[test]
    fn tolerances_read_as_percentages_or_fractions() {
        assert_eq!(parse_tolerance("10%"), Ok(0.1));
        assert_eq!(parse_tolerance("0.25"), Ok(0.25));
        assert!(parse_tolerance("ten").is_err() && parse_tolerance("-5%").is_err());
    }
}
