//! Expectations: a scenario's `expect:` map, e.g. `latency.put.p99: "< 50ms"`,
//! `availability: ">= 99%"`, `converged_within: 2s`, `writes.lost: 0`, checked against the
//! report's metrics. Each metric is a safety or a liveness matter, which decides the exit code.

use std::fmt;

use serde::Serialize;
use syncsim_sim::SimDuration;

/// Whether failing an expectation is a safety violation or a liveness failure.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Something bad happened (lost data, an inconsistent read).
    Safety,
    /// Something good did not happen, or not fast enough (no convergence, low availability,
    /// high latency).
    Liveness,
}

/// What a metric measures, which decides how its threshold is written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A span of time: thresholds like `< 50ms`.
    Duration,
    /// A share: `>= 99%` or `>= 0.99`.
    Fraction,
    /// A plain number: `<= 3`, `0`.
    Number,
    /// True or false.
    Bool,
}

/// A comparison.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Cmp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
}

impl Cmp {
    fn holds(self, actual: f64, threshold: f64) -> bool {
        match self {
            Cmp::Lt => actual < threshold,
            Cmp::Le => actual <= threshold,
            Cmp::Gt => actual > threshold,
            Cmp::Ge => actual >= threshold,
            Cmp::Eq => actual == threshold,
        }
    }
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Eq => "==",
        }
    }
}

/// An expectation value as the scenario wrote it.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    /// `true` / `false`.
    Bool(bool),
    /// A bare number.
    Number(f64),
    /// Text such as `< 50ms` or `>= 99%`.
    Text(String),
}

/// One parsed expectation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expectation {
    /// The metric's name.
    pub metric: String,
    /// The comparison.
    pub cmp: Cmp,
    /// The threshold in the metric's unit (nanoseconds, fraction, number, 0/1 for booleans).
    pub threshold: f64,
    /// Safety or liveness.
    pub class: Class,
    /// The threshold as written.
    pub written: String,
    #[serde(skip)]
    kind: Kind,
}

impl Expectation {
    /// The metric's kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether `actual` (in the metric's unit) meets the expectation.
    pub fn holds(&self, actual: f64) -> bool {
        self.cmp.holds(actual, self.threshold)
    }
}

const OPS: &[&str] = &["all", "put", "get", "cas", "incr", "decr", "read", "add", "remove", "insert", "delete"];
const PERCENTILES: &[&str] = &["p50", "p90", "p99", "p99.9", "max", "mean"];

/// What a run must do for a metric to be measurable at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Nothing.
    Nothing,
    /// Operations of this kind (by name).
    Op(&'static str),
    /// Some writes.
    Writes,
    /// A protocol that works in rounds, and some writes.
    Rounds,
}

/// What the metric `name` needs the run to do (see [`Needs`]).
pub fn needs(name: &str) -> Needs {
    let parts: Vec<&str> = name.splitn(3, '.').collect();
    match parts.as_slice() {
        ["availability" | "latency", op, ..] if *op != "all" => {
            OPS.iter().find(|o| *o == op).map_or(Needs::Nothing, |o| Needs::Op(o))
        }
        ["rounds", ..] => Needs::Rounds,
        ["visibility", ..] | ["writes", "lost"] => Needs::Writes,
        _ => Needs::Nothing,
    }
}

/// The kind and class of a metric name, or `None` if there is no such metric.
pub fn metric(name: &str) -> Option<(Kind, Class)> {
    use Class::*;
    use Kind::*;
    let parts: Vec<&str> = name.splitn(3, '.').collect();
    Some(match parts.as_slice() {
        ["availability"] => (Fraction, Liveness),
        ["availability", op] if OPS.contains(op) => (Fraction, Liveness),
        ["latency", op, p] if OPS.contains(op) && PERCENTILES.contains(p) => (Duration, Liveness),
        ["converged"] => (Bool, Liveness),
        ["converged_within"] => (Duration, Liveness),
        ["visibility", "p50" | "p99" | "max"] => (Duration, Liveness),
        ["visibility", "everywhere" | "residue"] => (Fraction, Liveness),
        ["visibility", "within", d] if d.parse::<SimDuration>().is_ok() => (Fraction, Liveness),
        ["sec"] => (Bool, Safety),
        ["sec", "converged"] => (Bool, Liveness),
        ["sec", "stranded"] => (Number, Liveness),
        ["session", "read_your_writes" | "monotonic_reads" | "monotonic_writes"] => (Number, Safety),
        ["session", "read_your_writes" | "monotonic_reads" | "monotonic_writes", "share"] => (Fraction, Safety),
        ["reads", "stale"] => (Fraction, Liveness),
        ["reads", "missed", "max"] => (Number, Liveness),
        ["rounds", "p50" | "p99" | "max" | "mean"] => (Number, Liveness),
        ["writes", "lost"] => (Number, Safety),
        ["linearizable"] => (Bool, Safety),
        ["protocol", _] => (Number, Liveness),
        ["protocol", _, "p50" | "p90" | "p99" | "max" | "mean"] => (Duration, Liveness),
        ["messages_per_op" | "bytes_per_op" | "bytes_per_write"] => (Number, Liveness),
        _ => return None,
    })
}

/// The metrics with one fixed name (no operation, percentile, duration or protocol metric in
/// it): what `syncsim list` shows and what a report's figures try.
pub const FIXED_METRICS: &[&str] = &[
    "converged",
    "converged_within",
    "visibility.p50",
    "visibility.p99",
    "visibility.max",
    "visibility.everywhere",
    "visibility.residue",
    "sec",
    "sec.converged",
    "sec.stranded",
    "reads.stale",
    "reads.missed.max",
    "session.read_your_writes",
    "session.read_your_writes.share",
    "session.monotonic_reads",
    "session.monotonic_reads.share",
    "session.monotonic_writes",
    "session.monotonic_writes.share",
    "rounds.p50",
    "rounds.p99",
    "rounds.max",
    "rounds.mean",
    "writes.lost",
    "linearizable",
    "messages_per_op",
    "bytes_per_op",
    "bytes_per_write",
];

/// Every metric name an expectation can use, for `syncsim list` and error messages.
pub fn metric_names() -> Vec<String> {
    let mut names = vec!["availability".to_string(), "availability.<op>".into()];
    names.push(format!("latency.<op>.<{}>", PERCENTILES.join("|")));
    names.extend(FIXED_METRICS.iter().map(|m| m.to_string()));
    names.extend(
        ["visibility.within.<duration>", "protocol.<number>", "protocol.<duration>.<p50|p90|p99|max|mean>"]
            .map(String::from),
    );
    names.push(format!("(<op> is one of {})", OPS.join(", ")));
    names
}

/// Parses `metric: value` from a scenario's `expect:` map.
pub fn parse(metric_name: &str, value: &Written) -> Result<Expectation, String> {
    let (kind, class) = metric(metric_name).ok_or_else(|| {
        format!("unknown metric `{metric_name}`; expectations can use: {}", metric_names().join(", "))
    })?;
    let (cmp, rest, written) = match value {
        Written::Bool(b) => (Cmp::Eq, b.to_string(), b.to_string()),
        Written::Number(x) => {
            // A bare number means "exactly" only where that is what anyone would mean.
            match kind {
                Kind::Fraction => {
                    return Err(format!("`{x}`: write a comparison, e.g. `>= {}%`", x * 100.0));
                }
                Kind::Duration => return Err(format!("`{x}` has no unit: write it as e.g. `< {x}ms`")),
                Kind::Number | Kind::Bool => (Cmp::Eq, x.to_string(), x.to_string()),
            }
        }
        Written::Text(t) => {
            let t = t.trim();
            let (cmp, rest) = [("<=", Cmp::Le), (">=", Cmp::Ge), ("==", Cmp::Eq), ("<", Cmp::Lt), (">", Cmp::Gt)]
                .iter()
                .find_map(|(sym, c)| t.strip_prefix(sym).map(|r| (Some(*c), r.trim())))
                .unwrap_or((None, t));
            let cmp = match cmp {
                Some(c) => c,
                None if matches!(kind, Kind::Number | Kind::Bool) => Cmp::Eq,
                None if metric_name == "converged_within" => Cmp::Le,
                None => {
                    return Err(format!(
                        "`{t}`: write a comparison, e.g. `< 50ms` or `>= 99%` (one of <, <=, >, >=, ==)"
                    ));
                }
            };
            (cmp, rest.to_string(), t.to_string())
        }
    };
    let threshold = match kind {
        Kind::Duration => {
            rest.parse::<SimDuration>().map_err(|e| format!("`{metric_name}` is a time: {e}"))?.as_nanos() as f64
        }
        Kind::Fraction => {
            let v = match rest.strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
                None => rest.parse::<f64>(),
            }
            .map_err(|_| format!("`{metric_name}` is a share: write e.g. `>= 99%` or `>= 0.99`, not `{rest}`"))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("`{metric_name}` is a share between 0% and 100%, not `{rest}`"));
            }
            v
        }
        Kind::Number => rest
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{metric_name}` is a number, not `{rest}`"))?,
        Kind::Bool => match rest.as_str() {
            "true" => 1.0,
            "false" => 0.0,
            _ => return Err(format!("`{metric_name}` is true or false, not `{rest}`")),
        },
    };
    if kind == Kind::Bool && cmp != Cmp::Eq {
        return Err(format!("`{metric_name}` is true or false: compare it with `==` only"));
    }
    Ok(Expectation { metric: metric_name.to_string(), cmp, threshold, class, written, kind })
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Bool => write!(f, "{}: {}", self.metric, self.threshold != 0.0),
            Kind::Duration => write!(f, "{} {} {}", self.metric, self.cmp.symbol(), SimDuration(self.threshold as u64)),
            Kind::Fraction => write!(f, "{} {} {}%", self.metric, self.cmp.symbol(), self.threshold * 100.0),
            Kind::Number => write!(f, "{} {} {}", self.metric, self.cmp.symbol(), self.threshold),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Written {
        Written::Text(s.into())
    }

    #[test]
    fn parses_comparisons_with_units() {
        let e = parse("latency.put.p99", &text("< 50ms")).unwrap();
        assert_eq!((e.cmp, e.threshold, e.class), (Cmp::Lt, 50e6, Class::Liveness));
        assert!(e.holds(49e6) && !e.holds(50e6));
        let e = parse("availability", &text(">= 99%")).unwrap();
        assert_eq!((e.cmp, e.threshold), (Cmp::Ge, 0.99));
        let e = parse("converged_within", &text("2s")).unwrap();
        assert_eq!((e.cmp, e.threshold), (Cmp::Le, 2e9));
        let e = parse("writes.lost", &Written::Number(0.0)).unwrap();
        assert_eq!((e.cmp, e.class), (Cmp::Eq, Class::Safety));
        let e = parse("converged", &Written::Bool(true)).unwrap();
        assert!(e.holds(1.0) && !e.holds(0.0));
    }

    #[test]
    fn rejects_unknown_metrics_and_bad_thresholds() {
        assert!(parse("latency.put.p42", &text("< 1ms")).unwrap_err().contains("unknown metric"));
        assert!(parse("latency.put.p99", &text("< 50")).unwrap_err().contains("time"));
        assert!(parse("availability", &text("99%")).unwrap_err().contains("comparison"));
        assert!(parse("availability", &text(">= 120%")).is_err());
        assert!(parse("converged", &text("maybe")).is_err());
        assert!(parse("availability", &Written::Number(0.99)).unwrap_err().contains("comparison"));
        assert!(parse("latency.put.p99", &Written::Number(5.0)).unwrap_err().contains("unit"));
        assert!(parse("latency.put.p99", &text("5ms")).unwrap_err().contains("comparison"));
    }
}
