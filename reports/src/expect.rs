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

/// The operations `<op>` stands for in metric names.
pub const OPS: &[&str] = &["all", "put", "get", "cas", "incr", "decr", "read", "add", "remove", "insert", "delete"];

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

/// One family of metrics an expectation can name: the table [`METRICS`] that `metric` parses
/// names with, `syncsim list` prints and reports' figures try.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MetricSpec {
    /// The name, with placeholders: `<op>` an operation (see [`OPS`]), `<duration>` a time such
    /// as `2s`, `<a|b>` one of the words listed, any other `<...>` a name the protocol reports.
    pub pattern: &'static str,
    /// How its thresholds are written.
    pub kind: Kind,
    /// Whether failing it is a safety violation or a liveness failure.
    pub class: Class,
    /// What it measures, in one line.
    pub meaning: &'static str,
}

const fn spec(pattern: &'static str, kind: Kind, class: Class, meaning: &'static str) -> MetricSpec {
    MetricSpec { pattern, kind, class, meaning }
}

/// Every metric an expectation can use: the one table the parser, `syncsim list` and reports
/// read.
pub const METRICS: &[MetricSpec] = {
    use Class::*;
    use Kind::*;
    &[
        spec("availability", Fraction, Liveness, "share of all operations that succeeded"),
        spec("availability.<op>", Fraction, Liveness, "share of <op> operations that succeeded"),
        spec(
            "latency.<op>.<p50|p90|p99|p99.9|max|mean>",
            Duration,
            Liveness,
            "time from call to reply of successful <op> operations",
        ),
        spec("converged", Bool, Liveness, "every live replica holds the same state at the end"),
        spec(
            "converged_within",
            Duration,
            Liveness,
            "how soon after the settle phase began the replicas agreed for good",
        ),
        spec(
            "visibility.<p50|p99|max>",
            Duration,
            Liveness,
            "time from a write's call until every live replica had it",
        ),
        spec("visibility.everywhere", Fraction, Liveness, "share of writes that reached every live replica"),
        spec(
            "visibility.residue",
            Fraction,
            Liveness,
            "mean share of live replicas a write never reached (Demers's residue)",
        ),
        spec(
            "visibility.within.<duration>",
            Fraction,
            Liveness,
            "share of writes at every live replica within <duration>",
        ),
        spec("sec", Bool, Safety, "each live replica's state is what the updates it received imply (CRDTs)"),
        spec("sec.converged", Bool, Liveness, "every live replica reads the same on every key (CRDTs)"),
        spec("sec.stranded", Number, Liveness, "acknowledged updates held only by replicas down at the end (CRDTs)"),
        spec("reads.stale", Fraction, Liveness, "share of reads that missed an update completed before they began"),
        spec("reads.missed.max", Number, Liveness, "most updates one read missed"),
        spec(
            "reads.consistent",
            Fraction,
            Safety,
            "share of reads after a commit to their key that returned it or newer (PBS)",
        ),
        spec(
            "reads.consistent.at.<duration>",
            Fraction,
            Liveness,
            "that share among reads called about <duration> after the commit (PBS t-visibility)",
        ),
        spec("session.read_your_writes", Number, Safety, "reads that missed their client's own earlier write"),
        spec("session.read_your_writes.share", Fraction, Safety, "share of judged reads that broke read-your-writes"),
        spec("session.monotonic_reads", Number, Safety, "reads that went back before what their client read earlier"),
        spec("session.monotonic_reads.share", Fraction, Safety, "share of judged reads that broke monotonic reads"),
        spec(
            "session.monotonic_writes",
            Number,
            Safety,
            "client writes seen at a replica without that client's earlier write",
        ),
        spec("session.monotonic_writes.share", Fraction, Safety, "share of judged writes that broke monotonic writes"),
        spec("rounds.<p50|p99|max|mean>", Number, Liveness, "rounds until a write reached every live replica"),
        spec("writes.lost", Number, Safety, "acknowledged writes that no live replica holds at the end"),
        spec("linearizable", Bool, Safety, "the history is linearizable (checked for protocols that claim it)"),
        spec(
            "audit.consistent",
            Bool,
            Safety,
            "the honest replicas' committed hash chains are prefixes of one another (protocols that keep a log)",
        ),
        spec("messages_per_op", Number, Liveness, "messages sent per client operation"),
        spec("bytes_per_op", Number, Liveness, "bytes sent per client operation"),
        spec("bytes_per_write", Number, Liveness, "bytes sent per write: what spreading one update cost"),
        spec("protocol.<count>", Number, Liveness, "a number the protocol reports (e.g. protocol.elections)"),
        spec(
            "protocol.<span>.<p50|p90|p99|max|mean>",
            Duration,
            Liveness,
            "a time the protocol measures (e.g. protocol.leaderless_windows.max)",
        ),
    ]
};

impl MetricSpec {
    /// The pattern's segments: split at dots outside `<...>`.
    fn segments(&self) -> Vec<&'static str> {
        let p = self.pattern;
        let (mut out, mut depth, mut from) = (Vec::new(), 0, 0);
        for (i, c) in p.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                '.' if depth == 0 => {
                    out.push(&p[from..i]);
                    from = i + 1;
                }
                _ => {}
            }
        }
        out.push(&p[from..]);
        out
    }

    /// Whether `name` is one of this family's metrics.
    pub fn matches(&self, name: &str) -> bool {
        let pattern = self.segments();
        let parts: Vec<&str> = name.splitn(pattern.len(), '.').collect();
        parts.len() == pattern.len()
            && pattern.iter().zip(&parts).all(|(seg, part)| {
                match seg.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                    None => seg == part,
                    Some("op") => OPS.contains(part),
                    Some("duration") => part.parse::<SimDuration>().is_ok(),
                    Some(words) if words.contains('|') => words.split('|').any(|w| w == *part),
                    Some(_) => !part.is_empty() && !part.contains('.'),
                }
            })
    }

    /// Every name of this family, if it has fixed names only (words, no operation, duration or
    /// protocol name).
    fn expand(&self) -> Option<Vec<String>> {
        let mut names = vec![String::new()];
        for seg in self.segments() {
            let words: Vec<&str> = match seg.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                None => vec![seg],
                Some(words) if words.contains('|') => words.split('|').collect(),
                Some(_) => return None,
            };
            names = names
                .iter()
                .flat_map(|n| words.iter().map(move |w| if n.is_empty() { w.to_string() } else { format!("{n}.{w}") }))
                .collect();
        }
        Some(names)
    }
}

impl Kind {
    /// How a threshold of this kind is written, in a word.
    pub fn unit(self) -> &'static str {
        match self {
            Kind::Duration => "time",
            Kind::Fraction => "share",
            Kind::Number => "number",
            Kind::Bool => "bool",
        }
    }
}

impl Class {
    /// `safety` or `liveness`.
    pub fn name(self) -> &'static str {
        match self {
            Class::Safety => "safety",
            Class::Liveness => "liveness",
        }
    }
}

/// The table entry naming `name`, or `None` if there is no such metric.
pub fn spec_of(name: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.matches(name))
}

/// The kind and class of a metric name, or `None` if there is no such metric.
pub fn metric(name: &str) -> Option<(Kind, Class)> {
    spec_of(name).map(|m| (m.kind, m.class))
}

/// The metrics with fixed names (no operation, duration or protocol metric in them), every
/// one spelled out: what a report's figures try.
pub fn fixed_metrics() -> Vec<String> {
    METRICS.iter().filter_map(MetricSpec::expand).flatten().collect()
}

/// Every metric name an expectation can use, as patterns, for error messages.
pub fn metric_names() -> Vec<String> {
    let mut names: Vec<String> = METRICS.iter().map(|m| m.pattern.to_string()).collect();
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

    #[test]
    fn every_listed_metric_parses_with_its_kind_and_class() {
        for m in METRICS {
            let example: Vec<String> = m
                .segments()
                .iter()
                .map(|seg| match seg.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                    None => seg.to_string(),
                    Some("op") => "put".into(),
                    Some("duration") => "2s".into(),
                    Some(words) => words.split('|').next_back().unwrap().into(),
                })
                .collect();
            let name = example.join(".");
            assert_eq!(metric(&name), Some((m.kind, m.class)), "`{name}` from `{}`", m.pattern);
        }
        assert!(fixed_metrics().contains(&"session.monotonic_reads.share".to_string()));
        assert!(fixed_metrics().contains(&"visibility.max".to_string()));
        assert!(!fixed_metrics().iter().any(|m| m.contains('<')));
        assert_eq!(metric("visibility.within.1.5s"), Some((Kind::Fraction, Class::Liveness)));
        assert_eq!(metric("protocol.elections.p50"), Some((Kind::Duration, Class::Liveness)));
        assert_eq!(metric("protocol.a.b.c"), None);
    }
}
