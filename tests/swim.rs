//! SWIM membership (issue 20) held against Das, Gupta and Motivala (DSN 2002): first
//! detection time against the model T' / (1 − e^(−q_f)) (plus the half period between a
//! crash and the first period that can detect it), the probe failure rate under loss
//! against (1 − q²)(1 − q_f·q⁴)^k, and a load per member that does not grow with the group.

use syncsim::runner;
use syncsim::scenario::Scenario;

/// The shipped scenario with `edits` (text replacements) applied.
fn variant(edits: &[(&str, &str)]) -> Scenario {
    let mut text = std::fs::read_to_string("scenarios/swim-detection.yaml").unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    Scenario::parse(&text, "scenarios/swim-detection.yaml").unwrap_or_else(|e| panic!("{e}"))
}

const NO_CRASHES: (&str, &str) = ("  crash: { every: 2s, lasts: 1s..3s }", "  crash: { every: 1000s, lasts: 1s }");

#[test]
fn first_detection_takes_the_time_the_papers_model_predicts() {
    let s = variant(&[]);
    let (mut measured, mut model, mut crashes) = (0.0, 0.0, 0.0);
    for seed in 1..=6 {
        let r = runner::run(&s, seed, false).unwrap();
        assert_eq!(r.report.exit_code, 0, "seed {seed}: {:?}", r.report.failures);
        let m = &r.report.protocol_metrics;
        let n = m.durations["swim_first_detection"].count as f64;
        measured += m.numbers["swim_detection_mean_ns"] * n;
        model += m.numbers["swim_detection_model_ns"] * n;
        crashes += n;
    }
    let (measured, model) = (measured / crashes, model / crashes);
    eprintln!("first detection over {crashes} crashes: {:.0} ms, model {:.0} ms", measured / 1e6, model / 1e6);
    assert!(crashes >= 60.0, "enough crashes to judge ({crashes})");
    assert!((measured / model - 1.0).abs() < 0.2, "measured {measured:.0} ns against the model's {model:.0} ns");
}

#[test]
fn probes_of_live_members_fail_as_often_as_the_model_says_and_none_is_declared_dead() {
    // 10% loss, no crashes: a probe fails when the ping or its ack is lost and each of the
    // k = 3 relayed probes (four messages) is too.
    let s = variant(&[NO_CRASHES, ("  loss: 1%", "  loss: 10%")]);
    let q: f64 = 0.9;
    let model = (1.0 - q * q) * (1.0 - q.powi(4)).powi(3);
    let (mut failed, mut probes) = (0.0, 0.0);
    for seed in 1..=3 {
        let r = runner::run(&s, seed, false).unwrap();
        let m = &r.report.protocol_metrics.numbers;
        failed += m["swim_probe_failure_rate"] * m["swim_probes"];
        probes += m["swim_probes"];
        assert_eq!(m["swim_false_deaths"], 0.0, "seed {seed}: suspicions are refuted in time");
        assert_eq!(m["swim_wrongly_dead"], 0.0, "seed {seed}");
    }
    let rate = failed / probes;
    eprintln!("probe failure rate {rate:.5} over {probes} probes, model {model:.5}");
    assert!((rate / model - 1.0).abs() < 0.25, "measured {rate:.5}, model {model:.5}");
}

#[test]
fn the_load_per_member_does_not_grow_with_the_group() {
    // Without failures each member sends one ping and one ack per period, whatever n.
    let mut per_member = Vec::new();
    for n in [8, 32, 96] {
        let s = variant(&[NO_CRASHES, ("nodes: 32", &format!("nodes: {n}"))]);
        let r = runner::run(&s, 1, false).unwrap();
        let swim: u64 =
            r.report.traffic.kinds.iter().filter(|k| k.kind.starts_with("Swim")).map(|k| k.sent.messages).sum();
        let periods = 65.0 / 0.2;
        per_member.push(swim as f64 / (f64::from(n) * periods));
    }
    eprintln!("SWIM messages per member per period at n = 8, 32, 96: {per_member:?}");
    // A ping and its ack, the ping-reqs, relayed pings and acks of the ~2% of probes whose
    // direct ping or ack is lost, and a view swap (two messages) every ten periods.
    for &m in &per_member {
        assert!((1.9..2.6).contains(&m), "{per_member:?}");
    }
    let (lo, hi) = per_member.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &m| (lo.min(m), hi.max(m)));
    assert!(hi / lo < 1.05, "constant as the group grows 12-fold: {per_member:?}");
}
