//! The charts of one run, drawn from its report and history: latency CDF per operation kind,
//! latency of every operation over time, divergence over time (eventually consistent
//! protocols), session-guarantee violations per second (when there were any), leader and term
//! over time (protocols with leaders), a linearizability violation drawn per client, read
//! consistency against time since commit (register stores), and message and byte rates,
//! each with the fault windows shaded.

use std::collections::BTreeMap;

use syncsim_sim::Consistency;
use syncsim_sim::history::{History, Outcome};

use crate::charts::{self, Series, Shade, Style, TimeChart};
use crate::report::Report;

/// One chart: its file name under `charts/`, its title, and the SVG.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// File name, e.g. `latency-cdf.svg`.
    pub file: String,
    /// Title, for the page that shows it.
    pub title: String,
    /// The SVG text.
    pub svg: String,
}

/// Most dots per operation kind on the latency-over-time chart.
const MAX_DOTS: usize = 4000;

/// The longest fault description a chart's shade shows; longer ones (a partition of many
/// groups) show only their kind, the whole being in the Faults table.
const SHADE_LABEL: usize = 24;

/// The fault windows of `report` as chart shades (seconds), labelled with the fault (its
/// kind and nodes, when short enough) and span, then the settle phase (clients and faults
/// stopped; what is left is the protocol catching up).
pub fn shades(report: &Report) -> Vec<Shade> {
    let mut out: Vec<Shade> = report
        .fault_windows
        .iter()
        .map(|w| {
            let (from, to) = (w.from_ns as f64 / 1e9, w.to_ns as f64 / 1e9);
            let what = w.label.trim_end_matches(" starts");
            let what = if what.chars().count() <= SHADE_LABEL { what } else { w.kind };
            Shade { from, to, label: format!("{what} {from:.1}–{to:.1}s"), kind: w.kind }
        })
        .collect();
    if report.run.settle_ns > 0 && report.run.end_ns > report.run.duration_ns {
        let (from, to) = (report.run.duration_ns as f64 / 1e9, report.run.end_ns as f64 / 1e9);
        out.push(Shade { from, to, label: format!("settle {from:.1}–{to:.1}s"), kind: "settle" });
    }
    out
}

/// Points `(t, v)` of a quantity that holds its value until the next point, as a step line
/// ending at `end`.
pub fn steps(points: &[(f64, f64)], end: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2 + 1);
    for (i, &(t, v)) in points.iter().enumerate() {
        if i > 0 {
            out.push((t, points[i - 1].1));
        }
        out.push((t, v));
    }
    if let Some(&(_, v)) = points.last() {
        out.push((end, v));
    }
    out
}

/// The unit latency charts use for latencies up to `max_ms`, and how many of it a millisecond
/// makes: ticks read 1 to 1000 rather than 0.000 (a fast local operation) or 120000.
fn latency_unit(max_ms: f64) -> (&'static str, f64) {
    match max_ms {
        m if m < 1e-3 => ("ns", 1e6),
        m if m < 1.0 => ("µs", 1e3),
        m if m < 1e4 => ("ms", 1.0),
        _ => ("s", 1e-3),
    }
}

/// The outcomes, in the order their series are drawn.
const OUTCOMES: [&str; 3] = ["ok", "failed", "unknown (timed out)"];

/// Operations by outcome, as Jepsen draws them: the latency of every operation over time, ok,
/// failed and timed out apart (a timed-out one at its timeout, where its client gave up), and
/// throughput per second by outcome. Fault windows are shaded on both.
fn outcome_charts(report: &Report, history: &History, shades: &[Shade], x_max: f64) -> Result<Vec<Chart>, String> {
    if history.entries().is_empty() {
        return Ok(Vec::new());
    }
    let timeout_ns = report.parameters["workload"]["timeout"]
        .as_str()
        .and_then(|t| t.parse::<syncsim_sim::SimDuration>().ok())
        .map_or(0, |d| d.0);
    let mut latency: [Vec<(f64, f64)>; 3] = Default::default();
    // Operations per outcome per whole second of their call.
    let seconds = x_max.ceil().max(1.0) as usize;
    let mut per_second = [vec![0u64; seconds], vec![0u64; seconds], vec![0u64; seconds]];
    for e in history.entries() {
        let (i, took) = match (&e.outcome, e.ret) {
            (Outcome::Ok(_), Some(ret)) => (0, ret.0 - e.call.0),
            (Outcome::Failed(_), Some(ret)) => (1, ret.0 - e.call.0),
            (Outcome::Unknown, _) => (2, timeout_ns),
            _ => continue,
        };
        let t = e.call.0 as f64 / 1e9;
        latency[i].push((t, took as f64 / 1e6));
        per_second[i][(t as usize).min(seconds - 1)] += 1;
    }
    let hi = latency.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
    let (unit, per_ms) = latency_unit(hi);
    let axis = format!("latency ({unit})");
    let dots: Vec<Series> = OUTCOMES
        .iter()
        .zip(&latency)
        .filter(|(_, pts)| !pts.is_empty())
        .map(|(name, pts)| {
            let scaled: Vec<(f64, f64)> = pts.iter().map(|&(t, ms)| (t, ms * per_ms)).collect();
            (name.to_string(), charts::thin(&scaled, MAX_DOTS))
        })
        .collect();
    let rates: Vec<Series> = OUTCOMES
        .iter()
        .zip(&per_second)
        .filter(|(_, counts)| counts.iter().any(|&c| c > 0))
        .map(|(name, counts)| {
            let points = counts.iter().enumerate().map(|(s, &c)| (s as f64 + 0.5, c as f64)).collect();
            (name.to_string(), points)
        })
        .collect();
    let chart = |title: &str, y_label: &str, series: &[Series], style| {
        charts::time_chart(&TimeChart { style, ..TimeChart::lines(title, y_label, series, shades, x_max) })
    };
    Ok(vec![
        Chart {
            file: "latency-by-outcome.svg".into(),
            title: "Latency of every operation by outcome".into(),
            svg: chart("Latency of every operation by outcome", &axis, &dots, Style::Dots)?,
        },
        Chart {
            file: "throughput-by-outcome.svg".into(),
            title: "Operations per second by outcome".into(),
            svg: chart("Operations per second by outcome", "operations per second", &rates, Style::Lines)?,
        },
    ])
}

/// Every chart of the run.
pub fn run_charts(report: &Report, history: &History) -> Result<Vec<Chart>, String> {
    let shades = shades(report);
    let x_max = report.run.end_ns as f64 / 1e9;
    let mut out = Vec::new();

    // Latency per kind, from the history: (call time s, latency ms) of every success.
    let mut by_kind: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for e in history.entries() {
        if let (Outcome::Ok(_), Some(ret)) = (&e.outcome, e.ret) {
            let ms = (ret.0 - e.call.0) as f64 / 1e6;
            by_kind.entry(e.op.kind().name()).or_default().push((e.call.0 as f64 / 1e9, ms));
        }
    }
    if !by_kind.is_empty() {
        let all = by_kind.values().flatten().map(|p| p.1);
        let (lo, hi) = all.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let (unit, per_ms) = latency_unit(hi);
        for pts in by_kind.values_mut() {
            pts.iter_mut().for_each(|p| p.1 *= per_ms);
        }
        let cdfs: Vec<Series> = by_kind
            .iter()
            .map(|(k, pts)| {
                let v: Vec<f64> = pts.iter().map(|p| p.1).collect();
                (k.to_string(), charts::cdf_points(&v, v.len(), 400))
            })
            .collect();
        let log = lo > 0.0 && hi / lo > 50.0;
        let axis = format!("latency ({unit})");
        out.push(Chart {
            file: "latency-cdf.svg".into(),
            title: "Latency CDF per operation".into(),
            svg: charts::cdf("Latency CDF per operation", &axis, &cdfs, log)?,
        });
        if let Some(t) = report.t_visibility.as_ref().filter(|t| t.reads > 0) {
            let title = "Consistent reads against time since commit (PBS t-visibility)";
            let points = crate::pbs::TVisibility::chart_points(&t.curve);
            out.push(Chart {
                file: "t-visibility.svg".into(),
                title: title.into(),
                svg: charts::percent_curves(
                    title,
                    "time from the latest commit to the read (ms)",
                    "reads that saw it (%)",
                    &[("reads".to_string(), points)],
                    true,
                )?,
            });
        }
        let dots: Vec<Series> = by_kind.iter().map(|(k, pts)| (k.to_string(), charts::thin(pts, MAX_DOTS))).collect();
        out.push(Chart {
            file: "latency-over-time.svg".into(),
            title: "Latency of every operation over time".into(),
            svg: charts::time_chart(&TimeChart {
                title: "Latency of every operation over time",
                y_label: &axis,
                series: &dots,
                style: Style::Dots,
                log_y: log,
                right: None,
                shades: &shades,
                x_max,
                bands: &[],
            })?,
        });
    }

    out.extend(outcome_charts(report, history, &shades, x_max)?);

    if matches!(report.protocol.consistency, Consistency::Eventual | Consistency::StrongEventual) {
        let t = &report.convergence.timeline;
        let distinct: Vec<(f64, f64)> = t.iter().map(|p| (p.t_ns as f64 / 1e9, f64::from(p.distinct))).collect();
        let pairs: Vec<(f64, f64)> = t.iter().map(|p| (p.t_ns as f64 / 1e9, p.differing_pairs * 100.0)).collect();
        let left = [("distinct replica states".to_string(), distinct)];
        let right = [("differing replica pairs (%)".to_string(), pairs)];
        out.push(Chart {
            file: "divergence.svg".into(),
            title: "Divergence over time".into(),
            svg: charts::time_chart(&TimeChart {
                title: "Divergence over time",
                y_label: "distinct replica states",
                series: &left,
                style: Style::Lines,
                log_y: false,
                right: Some(("differing replica pairs (%)", &right)),
                shades: &shades,
                x_max,
                bands: &[],
            })?,
        });
    }

    if let Some(v) = report.linearizability.as_ref().and_then(|l| l.violation.as_ref()) {
        out.push(Chart {
            file: "linearizability.svg".into(),
            title: format!("Linearizability violation on key {}", v.partition),
            svg: violation_chart(v, "time (ms)", 1e-6)?,
        });
    }

    let buckets = &report.session.per_second;
    if !buckets.is_empty() {
        // Each second with violations as a bar-like step: zero before and after it.
        let series = |f: fn(&crate::session::SessionBucket) -> u64| {
            let mut pts = vec![(0.0, 0.0)];
            for b in buckets {
                let t = b.t_ns as f64 / 1e9;
                pts.extend([(t, 0.0), (t, f(b) as f64), (t + 1.0, f(b) as f64), (t + 1.0, 0.0)]);
            }
            pts.push((x_max, 0.0));
            pts
        };
        let lines = [
            ("read your writes".to_string(), series(|b| b.read_your_writes)),
            ("monotonic reads".to_string(), series(|b| b.monotonic_reads)),
            ("monotonic writes".to_string(), series(|b| b.monotonic_writes)),
        ];
        out.push(Chart {
            file: "session.svg".into(),
            title: "Session-guarantee violations per second".into(),
            svg: charts::time_chart(&TimeChart::lines(
                "Session-guarantee violations per second",
                "violations per second",
                &lines,
                &shades,
                x_max,
            ))?,
        });
    }

    let sizes = &report.timeline.cluster;
    if !sizes.is_empty() {
        let line = |f: fn(&crate::timeline::ClusterPoint) -> u32| {
            let pts: Vec<(f64, f64)> = sizes.iter().map(|p| (p.t_ns as f64 / 1e9, f64::from(f(p)))).collect();
            steps(&pts, x_max)
        };
        let lines = [("members".to_string(), line(|p| p.members)), ("running".to_string(), line(|p| p.up))];
        out.push(Chart {
            file: "cluster-size.svg".into(),
            title: "Cluster size over time".into(),
            svg: charts::time_chart(&TimeChart::lines("Cluster size over time", "nodes", &lines, &shades, x_max))?,
        });
    }

    if !report.timeline.leaders.is_empty() {
        out.push(Chart {
            file: "leader.svg".into(),
            title: "Leader per node over time".into(),
            svg: leader_chart(report, &shades, x_max)?,
        });
    }

    let t = &report.traffic;
    if !t.pair_messages.is_empty() && report.network.stats.sent > 0 {
        let names: Vec<String> = t.nodes.iter().map(|n| n.node.clone()).collect();
        out.push(Chart {
            file: "traffic.svg".into(),
            title: "Messages between nodes (row: sender, column: receiver)".into(),
            svg: charts::heat_map("Messages sent between nodes", &names, &t.pair_messages)?,
        });
    }

    let net = &report.timeline.network;
    if !net.is_empty() {
        let msgs: Vec<(f64, f64)> = net.iter().map(|p| (p.t_ns as f64 / 1e9, p.messages_per_s)).collect();
        let bytes: Vec<(f64, f64)> = net.iter().map(|p| (p.t_ns as f64 / 1e9, p.bytes_per_s / 1e3)).collect();
        let left = [("messages/s".to_string(), msgs)];
        let right = [("kB/s".to_string(), bytes)];
        out.push(Chart {
            file: "network.svg".into(),
            title: "Messages and bytes per second".into(),
            svg: charts::time_chart(&TimeChart {
                title: "Messages and bytes per second",
                y_label: "messages per second",
                series: &left,
                style: Style::Lines,
                log_y: false,
                right: Some(("kilobytes per second", &right)),
                shades: &shades,
                x_max,
                bands: &[],
            })?,
        });
    }
    Ok(out)
}

/// Who led, per node: a lane per node that ever led, a bar per term it believed it led
/// (coloured by term, labelled when there is room), and a "no leader" lane where no node led.
/// Two bars at one time are two nodes that both believed they led: a deposed leader that has
/// not heard of the new term yet, or, in one term, a broken election.
fn leader_chart(report: &Report, shades: &[Shade], x_max: f64) -> Result<String, String> {
    let t = &report.timeline;
    let mut nodes: Vec<(u32, &str)> = t.leader_spans.iter().map(|s| (s.node_index, s.node.as_str())).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut lanes: Vec<String> = nodes.iter().map(|(_, name)| name.to_string()).collect();
    let none = lanes.len();
    lanes.push("no leader".into());
    // The term picks the colour; red is kept for "no leader".
    const TERM_COLOURS: [usize; 8] = [0, 1, 2, 4, 5, 6, 8, 9];
    let mut spans: Vec<charts::LaneSpan> = t
        .leader_spans
        .iter()
        .map(|s| charts::LaneSpan {
            lane: nodes.binary_search(&(s.node_index, s.node.as_str())).unwrap_or(0),
            from: s.from_ns as f64 / 1e9,
            to: s.to_ns as f64 / 1e9,
            label: format!("term {}", s.term),
            colour: TERM_COLOURS[s.term as usize % TERM_COLOURS.len()],
        })
        .collect();
    let end = report.run.end_ns as f64 / 1e9;
    for (i, p) in t.leaders.iter().enumerate().filter(|(_, p)| p.leader.is_none()) {
        let to = t.leaders.get(i + 1).map_or(end, |n| n.t_ns as f64 / 1e9);
        spans.push(charts::LaneSpan { lane: none, from: p.t_ns as f64 / 1e9, to, label: "none".into(), colour: 3 });
    }
    charts::time_lanes("Leader per node over time", &lanes, &spans, shades, x_max)
}

/// How many operations of the linearizable prefix a violation chart shows (the last ones).
const CHART_PREFIX: usize = 8;

/// A linearizability violation drawn as operations per client on a time axis (times scaled by
/// `scale` into `x_label`'s unit): the end of the longest linearizable prefix in order, the
/// operation no order can place marked, the operations overlapping it.
pub fn violation_chart(v: &crate::lin::Violation, x_label: &str, scale: f64) -> Result<String, String> {
    // The last few of the prefix are enough to read the chart; more only crowd it.
    let last = v.operations.iter().filter_map(|o| o.linearized).max().unwrap_or(0);
    let shown: Vec<&crate::lin::ViolationOp> =
        v.operations.iter().filter(|o| o.linearized.is_none_or(|k| k + CHART_PREFIX > last)).collect();
    let clients: Vec<u64> = {
        let mut c: Vec<u64> = shown.iter().map(|o| o.client).collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let lanes: Vec<String> = clients.iter().map(|c| format!("client {c}")).collect();
    let ops: Vec<charts::LaneOp> = shown
        .iter()
        .map(|o| charts::LaneOp {
            lane: clients.binary_search(&o.client).unwrap_or(0),
            from: o.call as f64 * scale,
            to: o.ret.map_or(f64::INFINITY, |r| r as f64 * scale),
            open: o.ret.is_none(),
            label: match (o.stuck, o.linearized) {
                (true, _) => format!("CANNOT PLACE {}", o.op),
                (false, Some(k)) => format!("{k}. {}", o.op),
                (false, None) => o.op.clone(),
            },
            mark: if o.stuck {
                charts::LaneMark::Stuck
            } else if o.linearized.is_some() {
                charts::LaneMark::Linearized
            } else {
                charts::LaneMark::Other
            },
        })
        .collect();
    let title = if v.partition.is_empty() {
        "No order explains these operations".to_string()
    } else {
        format!("No order explains these operations on key {}", v.partition)
    };
    charts::operation_lanes(&title, x_label, &lanes, &ops)
}
