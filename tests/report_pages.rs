//! The pages and charts a run writes are checked for content, not just existence: each chart
//! has its title, axis labels with units, one legend entry per series, and the scenario's fault
//! windows shaded and labelled at their times; `summary.md` and `index.html` carry the outcome,
//! the checks and every chart inline.

use syncsim::reports::page;
use syncsim::reports::run_charts::{Chart, run_charts};
use syncsim::runner::{self, RunResult};
use syncsim::scenario::Scenario;

fn run(path: &str) -> RunResult {
    let s = Scenario::load(path.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    runner::run(&s, s.raw.seed, false).unwrap()
}

/// Runs the `syncsim` binary with `args` and `--out` a fresh folder named after `what`;
/// returns the folder and what the process gave back.
fn syncsim_out(what: &str, args: &[&str]) -> (std::path::PathBuf, std::process::Output) {
    let dir = std::env::temp_dir().join(format!("syncsim-{what}-{}", std::process::id()));
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).arg("--out").arg(&dir).output().unwrap();
    (dir, out)
}

fn chart<'a>(charts: &'a [Chart], file: &str) -> &'a str {
    &charts.iter().find(|c| c.file == file).unwrap_or_else(|| panic!("no {file}")).svg
}

fn assert_contains(text: &str, what: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{what} lacks `{n}`");
    }
}

/// Every text an SVG shows (titles, axis labels, tick labels, legend entries).
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim().to_string()))
        .collect()
}

/// Asserts that a chart shows each of these texts.
fn assert_shows(svg: &str, what: &str, labels: &[&str]) {
    let shown = texts(svg);
    for l in labels {
        assert!(shown.iter().any(|t| t == l), "{what} does not show `{l}`; it shows {shown:?}");
    }
}

/// A chart's shaded fault windows: rectangles filled at 12% opacity.
fn shaded_rects(svg: &str) -> usize {
    svg.split("<rect")
        .filter(|r| r.split_once('>').is_some_and(|(attrs, _)| attrs.contains("opacity=\"0.12\"")))
        .count()
}

#[test]
fn crdt_partition_charts_show_every_series_axis_and_fault_window() {
    let r = run("scenarios/crdt-partition.yaml");
    let charts = run_charts(&r.report, &r.history).unwrap();
    let files: Vec<&str> = charts.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "latency-cdf.svg",
            "latency-over-time.svg",
            "latency-by-outcome.svg",
            "throughput-by-outcome.svg",
            "divergence.svg",
            "traffic.svg",
            "network.svg"
        ]
    );
    assert_shows(
        chart(&charts, "latency-cdf.svg"),
        "latency CDF",
        &["Latency CDF per operation", "latency (µs)", "cumulative percent", "add", "read", "remove"],
    );
    // The partition (2 s to 5 s) and n4's crash (3 s to 4 s), on every chart over time.
    for file in [
        "latency-over-time.svg",
        "latency-by-outcome.svg",
        "throughput-by-outcome.svg",
        "divergence.svg",
        "network.svg",
    ] {
        let svg = chart(&charts, file);
        assert_shows(svg, file, &["simulated time (s)", "partition 2.0–5.0s", "crash n4 3.0–4.0s", "settle 7.0–10.0s"]);
        assert_eq!(shaded_rects(svg), 3, "{file}: two fault windows and the settle phase shaded");
    }
    assert_shows(
        chart(&charts, "latency-over-time.svg"),
        "latency over time",
        &["latency (µs)", "add", "read", "remove"],
    );
    // n4's crash fails its clients' operations: outcomes are told apart, as Jepsen's latency-raw does.
    assert!(r.report.operations["all"].failed > 0, "the crash fails some operations");
    assert_shows(chart(&charts, "latency-by-outcome.svg"), "latency by outcome", &["latency (µs)", "ok", "failed"]);
    // Dots sit where their operations were: between the ticks of 0 s and 7 s (clients stop
    // when the settle phase begins), not shifted by the legend or the axis.
    let svg = chart(&charts, "latency-by-outcome.svg");
    let tick_x = |label: &str| -> f64 {
        let at = svg.find(&format!(">\n{label}\n</text>")).unwrap_or_else(|| panic!("no tick {label}"));
        let open = &svg[..at];
        let text = &open[open.rfind("<text").unwrap()..];
        text.split("x=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap()
    };
    let (zero, seven) = (tick_x("0"), tick_x("7"));
    let dots: Vec<f64> = svg
        .split("<circle")
        .skip(1)
        .filter(|c| c.contains("r=\"2\""))
        .map(|c| c.split("cx=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
        .collect();
    assert!(dots.len() > 100, "{} dots", dots.len());
    assert!(dots.iter().all(|&x| x >= zero - 1.0 && x <= seven + 1.0), "dots outside 0–7 s: {zero}..{seven}");
    assert!(dots.iter().any(|&x| x > seven - 10.0), "the last operations reach 7 s");
    assert_shows(
        chart(&charts, "throughput-by-outcome.svg"),
        "throughput by outcome",
        &["operations per second", "ok", "failed"],
    );
    assert_shows(
        chart(&charts, "divergence.svg"),
        "divergence",
        &["distinct replica states", "differing replica pairs (%)"],
    );
    assert_shows(
        chart(&charts, "network.svg"),
        "network",
        &["messages per second", "kilobytes per second", "messages/s", "kB/s"],
    );
    // The heat map: a row and a column per node, every cell written out, and the counts are
    // the report's (n0's row sums to what n0 sent).
    let heat = chart(&charts, "traffic.svg");
    let names: Vec<String> = (0..9).map(|i| format!("n{i}")).collect();
    let shown = texts(heat);
    for n in &names {
        assert_eq!(shown.iter().filter(|t| *t == n).count(), 2, "{n} labels a row and a column");
    }
    let t = &r.report.traffic;
    assert_eq!(t.pair_messages.len(), 9);
    assert_eq!(t.pair_messages[0].iter().sum::<u64>(), t.nodes[0].traffic.sent.messages);
    assert_eq!(t.nodes.iter().map(|n| n.traffic.sent.messages).sum::<u64>(), r.report.network.stats.sent);
    let counts = shown.iter().filter(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit())).count();
    assert!(counts >= 81, "every one of the 81 cells is written out: {counts} numbers shown");
}

#[test]
fn raft_charts_show_leader_and_term_and_no_divergence() {
    let r = run("scenarios/raft-leader-partition.yaml");
    let charts = run_charts(&r.report, &r.history).unwrap();
    let files: Vec<&str> = charts.iter().map(|c| c.file.as_str()).collect();
    assert!(files.contains(&"leader.svg") && !files.contains(&"divergence.svg"), "{files:?}");
    assert!(r.report.timeline.leaders.iter().any(|l| l.term >= 2), "the partition forces a new term");
    // A lane per node that led, one for "no leader", a bar per term labelled with it; no
    // fractional node numbers.
    let spans = &r.report.timeline.leader_spans;
    let first = &spans[0];
    let second = spans.iter().find(|s| s.term > first.term).expect("a second term");
    assert_ne!(first.node, second.node, "the partitioned leader is replaced by another node");
    let leader = chart(&charts, "leader.svg");
    let term = |s: &syncsim::reports::timeline::LeaderSpan| format!("term {}", s.term);
    assert_shows(
        leader,
        "leader",
        &["Leader per node over time", "no leader", &first.node, &second.node, &term(first), &term(second)],
    );
    assert!(!texts(leader).iter().any(|t| t.contains('.') && t.parse::<f64>().is_ok_and(|v| v.fract() != 0.0)));
    // Elections at the start leave a stretch with no leader: drawn red in the "no leader" lane.
    assert!(r.report.timeline.leaders.iter().any(|l| l.leader.is_none()));
    let red = leader.split("<rect").filter(|r| r.contains("fill=\"#D62728\"")).count();
    assert!(red >= 1, "a red bar for the time without a leader");
    // The heat map and the per-kind table name Raft's messages.
    let kinds: Vec<&str> = r.report.traffic.kinds.iter().map(|k| k.kind).collect();
    for k in ["Append", "AppendReply", "PreVote", "RequestVote", "Vote"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let md = page::markdown(&r.report);
    assert!(md.contains("### Per message kind") && md.contains("| Append |"), "{md}");
}

/// A Raft with a planted double vote (seed 7): two nodes lead term 2, and the event that
/// makes the second one stops the run at 10.152 s of 35 s.
#[test]
fn a_run_stopped_by_a_second_leader_shows_both_leaders_and_where_it_stopped() {
    let text = std::fs::read_to_string("scenarios/raft-leader-partition.yaml").unwrap();
    let text = text.replacen("  kind: raft\n", "  kind: raft\n  bug: vote-twice\n", 1);
    let file = std::env::temp_dir().join(format!("syncsim-vote-twice-{}.yaml", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let s = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let r = runner::run(&s, 7, false).unwrap();
    let _ = std::fs::remove_file(&file);
    let report = &r.report;
    let v = report.invariant_violation.as_ref().expect("election safety breaks");
    // Both leaders of term 2 are in the timeline, the second from the state the run stopped in.
    let mut term2: Vec<&str> =
        report.timeline.leader_spans.iter().filter(|l| l.term == 2).map(|l| l.node.as_str()).collect();
    term2.sort_unstable();
    assert_eq!(term2.len(), 2, "two leaders of term 2: {:?}", report.timeline.leader_spans);
    let charts = run_charts(report, &r.history).unwrap();
    assert_shows(chart(&charts, "leader.svg"), "leader", &[term2[0], term2[1]]);
    // The page says where the run stopped, against the whole plan (30 s and 5 s of settling).
    assert_eq!(report.run.end_ns, v.time_ns);
    assert!(report.stopped_early());
    let html = page::html(report, &charts, &[]);
    let said = format!("The run stopped early at {} of 35.000s", syncsim::reports::report::format_ns(v.time_ns));
    assert!(html.contains(&said), "{said}");
    // The broken invariant is the first row of the checks, with its time, node and event.
    let first = &html[html.find("<tbody>").unwrap()..];
    let first = &first[..first.find("</tr>").unwrap()];
    assert!(
        first.contains(">invariants<") && first.contains("FAILED") && first.contains("a message to node"),
        "{first}"
    );
}

#[test]
fn summary_and_page_carry_the_outcome_checks_and_charts() {
    let r = run("scenarios/crdt-partition.yaml");
    let charts = run_charts(&r.report, &r.history).unwrap();
    let md = page::markdown(&r.report);
    assert!(md.starts_with("# crdt-partition: PASS (seed 4)"), "{md}");
    assert_contains(&md, "summary.md", &["| check |", "| sec |", "| operation |", "Strong eventual consistency: OK"]);
    let html = page::html(&r.report, &charts, &[("report.json", "report.json")]);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), charts.len(), "every chart inline");
    // Self-contained: nothing to fetch (SVG's namespace URI names a namespace, it is not fetched).
    for fetch in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(fetch), "the page must not load anything: found `{fetch}`");
    }
    // Links go only to the files beside the page.
    let hrefs: Vec<&str> = html.split("href=\"").skip(1).filter_map(|h| h.split_once('"').map(|x| x.0)).collect();
    assert_eq!(hrefs, ["report.json"]);
    assert!(html.contains("syncsim run scenarios/crdt-partition.yaml --seed 4"));
}

/// `syncsim compare` over 20 seeds: the page, the table and the charts, each variant in the
/// same colour everywhere, the fault windows at the scenario's times.
#[test]
fn compare_writes_a_page_with_the_spread_across_seeds() {
    let (dir, out) = syncsim_out("compare", &["compare", "scenarios/compare-sync.yaml", "--seeds", "20"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("comparison.json")).unwrap()).unwrap();
    let entries = json["entries"].as_array().unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["raft", "gossip", "crdt-delta"]);
    for e in entries {
        assert_eq!(e["sweep"]["runs"], 20);
        let p99 = &e["sweep"]["aggregates"]["latency.all.p99"];
        let (p10, median, p90) =
            (p99["p10"].as_f64().unwrap(), p99["median"].as_f64().unwrap(), p99["p90"].as_f64().unwrap());
        assert!(p10 <= median && median <= p90, "{}: a spread is ordered", e["name"]);
    }
    assert_eq!(entries[0]["consistency"]["linearizable"], "20 of 20");
    assert_eq!(entries[2]["consistency"]["strong eventual consistency"], "20 of 20");
    let md = std::fs::read_to_string(dir.join("comparison.md")).unwrap();
    assert!(md.contains("| raft |") && md.contains("| crdt-delta |") && md.contains("20 of 20"), "{md}");

    let chart = |file: &str| std::fs::read_to_string(dir.join("charts").join(file)).unwrap();
    for file in [
        "latency.svg",
        "availability.svg",
        "messages.svg",
        "bytes.svg",
        "bytes-per-write.svg",
        "convergence.svg",
        "latency-cdf.svg",
    ] {
        assert_shows(&chart(file), file, &["raft", "gossip", "crdt-delta"]);
    }
    assert_shows(&chart("latency.svg"), "latency bars", &["latency (ms)", "p50", "p99", "p99.9"]);
    assert_shows(&chart("bytes.svg"), "bytes bars", &["bytes per operation"]);
    assert_shows(&chart("bytes-per-write.svg"), "bytes per write bars", &["bytes sent per write"]);
    let divergence = chart("divergence.svg");
    assert_shows(
        &divergence,
        "divergence",
        &["differing replica pairs (%)", "partition 8.0–14.0s", "crash n4 18.0–20.0s"],
    );
    assert_eq!(shaded_rects(&divergence), 3, "two fault windows and the settle phase");
    // Each variant keeps its colour: the first palette colour is raft's in every bar chart.
    for file in ["latency.svg", "bytes.svg", "convergence.svg"] {
        let svg = chart(file);
        let first_bar = svg.split("<rect").find(|r| r.contains("#1F77B4")).map(|_| ());
        assert!(first_bar.is_some(), "{file}: raft's colour");
    }
    // Gossip is a register store: its reads are judged against the time since commit.
    assert_shows(&chart("t-visibility.svg"), "t-visibility", &["gossip", "reads that saw it (%)"]);
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 9);
    // Each variant heads a column and links to the page of a run that stands for it.
    for name in ["raft", "gossip", "crdt-delta"] {
        let page = format!("runs/{name}/index.html");
        assert!(html.contains(&format!("<a href=\"{page}\">{name}</a>")), "{name} links its run page");
        let run = std::fs::read_to_string(dir.join(&page)).unwrap();
        assert!(run.contains(": <span class=\"pass\">PASS</span></h1>"), "{name}'s run page");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--window` draws the messages of that window as a space-time diagram, and a recorded trace
/// is also written in the Chrome trace-event format for Perfetto.
#[test]
fn a_window_gets_a_space_time_diagram_and_the_trace_opens_in_perfetto() {
    let (dir, out) =
        syncsim_out("window", &["run", "scenarios/raft-leader-partition.yaml", "--window", "9.95s..10.25s"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let svg = std::fs::read_to_string(dir.join("charts/spacetime.svg")).unwrap();
    assert_shows(
        &svg,
        "space-time",
        &["n0", "n1", "n2", "n3", "n4", "simulated time (ms)", "Messages between 9.950s and 10.250s"],
    );
    assert!(texts(&svg).iter().any(|t| t.starts_with("partition")), "the partition at 10 s is marked");
    // Every delivery in the window is an arrow (a line and a head); the trace says how many.
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
    let in_window = |ns: u64| (9_950_000_000..=10_250_000_000).contains(&ns);
    let deliveries = trace
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| {
            r["kind"] == "deliver" && (in_window(r["time"].as_u64().unwrap()) || in_window(r["sent"].as_u64().unwrap()))
        })
        .count();
    assert!(deliveries > 50, "a busy window: {deliveries}");
    assert!(svg.matches("<polygon").count() >= deliveries, "one arrowhead per delivery");
    assert!(std::fs::read_to_string(dir.join("index.html")).unwrap().contains("id=\"spacetime.svg\""));
    let chrome: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("trace.json")).unwrap()).unwrap();
    let events = chrome["traceEvents"].as_array().unwrap();
    let threads: Vec<&str> =
        events.iter().filter(|e| e["name"] == "thread_name").map(|e| e["args"]["name"].as_str().unwrap()).collect();
    assert_eq!(threads, ["n0", "n1", "n2", "n3", "n4"]);
    let flows = events.iter().filter(|e| e["ph"] == "s").count();
    assert_eq!(flows, events.iter().filter(|e| e["ph"] == "f").count(), "every flow starts and ends");
    assert_eq!(
        flows,
        trace.lines().filter(|l| l.contains("\"kind\":\"deliver\"")).count(),
        "a flow per delivered message"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A history that is not linearizable is drawn on the page: operations per client on a time
/// axis, the one no order can place marked (Porcupine's visualizer's view).
#[test]
fn a_linearizability_violation_is_drawn_per_client() {
    // Raft committing on a minority, with the monitor off so the checker, not an invariant,
    // catches it.
    let text = std::fs::read_to_string("tests/data/shrink/raft-minority-commit.yaml")
        .unwrap()
        .replace("  bug: minority-commit", "  bug: minority-commit\n  check_invariants: false");
    let s = Scenario::parse(&text, "minority-commit.yaml").unwrap();
    let r = runner::run(&s, 1, false).unwrap();
    let v = r.report.linearizability.as_ref().and_then(|l| l.violation.as_ref()).expect("a violation");
    let stuck = v.operations.iter().find(|o| o.stuck).expect("the stuck operation is listed");
    assert!(stuck.ret.is_some() && stuck.call > 0, "with its times: {stuck:?}");
    let charts = run_charts(&r.report, &r.history).unwrap();
    let svg = chart(&charts, "linearizability.svg");
    let shown = texts(svg);
    assert!(
        shown.iter().any(|t| t.starts_with("CANNOT PLACE") && t.ends_with(&stuck.op.replace('>', "&gt;"))),
        "{shown:?}"
    );
    assert!(shown.iter().any(|t| t == &format!("client {}", stuck.client)), "{shown:?}");
    assert_shows(svg, "the violation chart", &["time (ms)"]);
    let html = page::html(&r.report, &charts, &[]);
    assert!(html.contains("id=\"linearizability.svg\""));
}

/// Latency charts pick the unit that makes their ticks readable: the default client latency
/// (a LAN hop each way) reads in microseconds, and even a scenario that asks for none at all
/// (every local reply takes the engine's 1 ns) gets a nanosecond axis with distinct ticks, not a
/// millisecond axis reading 0.000 everywhere.
#[test]
fn latency_charts_read_in_a_unit_that_fits_the_values() {
    let mut s = Scenario::parse(
        "name: lan\nduration: 5s\nnodes: 3\nprotocol: { kind: gossip }\n\
         workload: { clients: 2, arrival: { poisson: 100/s }, ops: { put: 50%, get: 50% } }\n",
        "lan.yaml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let lan = runner::run(&s, 1, false).unwrap();
    let p50 = lan.report.latency["all"].p50_ns;
    assert!((100_000..1_000_000).contains(&p50), "the default client latency is a LAN round trip: {p50} ns");
    let charts = run_charts(&lan.report, &lan.history).unwrap();
    assert_shows(chart(&charts, "latency-cdf.svg"), "default latency", &["latency (µs)"]);

    s.sim.workload.client_latency = syncsim::sim::dist::Latency::Constant(syncsim::sim::SimDuration::ZERO);
    let local = runner::run(&s, 1, false).unwrap();
    let charts = run_charts(&local.report, &local.history).unwrap();
    for file in ["latency-cdf.svg", "latency-over-time.svg"] {
        let svg = chart(&charts, file);
        assert_shows(svg, file, &["latency (ns)"]);
        let ticks: std::collections::BTreeSet<String> =
            texts(svg).into_iter().filter(|t| t.parse::<f64>().is_ok()).collect();
        assert!(ticks.len() >= 3, "{file} has distinct ticks: {ticks:?}");
    }
}

/// A Dynamo run's page plots the share of consistent reads against the time since commit, and
/// the PBS comparison overlays one curve per write latency, as the paper's figure does.
#[test]
fn read_consistency_is_plotted_against_the_time_since_commit() {
    let r = run("scenarios/dynamo-strict.yaml");
    let charts = run_charts(&r.report, &r.history).unwrap();
    let svg = chart(&charts, "t-visibility.svg");
    assert_shows(
        svg,
        "t-visibility",
        &[
            "Consistent reads against time since commit (PBS t-visibility)",
            "time from the latest commit to the read (ms)",
            "reads that saw it (%)",
            "reads",
        ],
    );
    let t = r.report.t_visibility.as_ref().unwrap();
    assert!(t.reads > 1000 && t.consistent == t.reads, "strict quorums: {} of {}", t.consistent, t.reads);
    let html = page::html(&r.report, &charts, &[]);
    assert!(html.contains(&format!("Read consistency: {} of {} reads", t.consistent, t.reads)), "the page says it");

    let (dir, out) = syncsim_out("pbs", &["compare", "scenarios/pbs.yaml", "--seeds", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(dir.join("charts/t-visibility.svg")).unwrap();
    assert_shows(&svg, "PBS curves", &["w-0.25ms", "w-0.5ms", "w-1ms", "w-2ms", "w-5ms", "w-10ms"]);
    let md = std::fs::read_to_string(dir.join("comparison.md")).unwrap();
    assert!(md.contains("consistent reads"), "the table has the share of consistent reads");
    let _ = std::fs::remove_dir_all(&dir);
}
