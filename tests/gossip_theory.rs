//! Gossip against the theory of epidemics: the simulator's push gossip and rumor mongering
//! reproduce closed-form results from the literature, end to end through scenario files.

use syncsim::runner;
use syncsim::scenario::Scenario;

/// One rumor, written at node n0 halfway through round 0, spread by rumor mongering under
/// `rumor` on `n` nodes in synchronous rounds of 100 ms over 1 ms links.
fn one_rumor(n: u32, rumor: &str, until: &str) -> Scenario {
    let text = format!(
        "name: one-rumor\nduration: 100ms\nsettle: {until}\nnodes: {n}\n\
         protocol: {{ kind: gossip, mode: rumor, interval: 100ms, fanout: 1, phase: aligned, rumor: {rumor} }}\n\
         network: {{ latency: {{ constant: 1ms }} }}\n\
         workload: {{ script: [ {{ at: 50ms, node: n0, put: {{ key: 1, value: 1 }} }} ] }}\n\
         engine: {{ sample_every: 1s }}\n"
    );
    Scenario::parse(&text, "one-rumor").unwrap()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Pittel (1987), "On spreading a rumor": when every informed node pushes the rumor to one
/// random node per round, the rounds until all n nodes know it are log2(n) + ln(n) + O(1).
/// The mean over seeds must grow with n exactly as log2(n) + ln(n) does, and stay within a
/// small constant of it.
#[test]
fn push_gossip_informs_everyone_in_log2_n_plus_ln_n_rounds() {
    let mut excess = Vec::new();
    for (n, seeds) in [(100u32, 200u64), (1000, 60), (10_000, 12)] {
        let s = one_rumor(n, "{ response: blind, stop: never }", "3500ms");
        let rounds: Vec<f64> = (0..seeds)
            .map(|seed| {
                let r = runner::run(&s, seed, false).unwrap();
                assert_eq!(r.report.visibility.visible_everywhere, 1, "n={n} seed={seed}: the rumor reached everyone");
                r.report.visibility.rounds_max as f64
            })
            .collect();
        let theory = f64::from(n).log2() + f64::from(n).ln();
        let m = mean(&rounds);
        println!("n = {n:>5}: mean rounds {m:.2} over {seeds} seeds; log2 n + ln n = {theory:.2}");
        assert!((0.0..=2.5).contains(&(m - theory)), "n={n}: mean {m:.2} is not log2 n + ln n + O(1) ({theory:.2})");
        excess.push((theory, m));
    }
    // Growth: each tenfold increase of n adds log2(10) + ln(10) = 5.63 rounds.
    for w in excess.windows(2) {
        let slope = (w[1].1 - w[0].1) / (w[1].0 - w[0].0);
        assert!((0.8..=1.2).contains(&slope), "rounds grow {slope:.2} times as fast as log2 n + ln n");
    }
}

/// Demers et al. (1987), "Epidemic algorithms for replicated database maintenance": for push
/// rumor mongering the residue s (the share of nodes a rumor never reaches) and the traffic m
/// (pushes per node) obey s = e^(−m); and the "coin" variants follow the mean-field fixed
/// points s = e^(−(k+1)(1−s)) with feedback and s = e^(−k(1−s)) blind.
#[test]
fn rumor_mongering_matches_demers_residue_and_traffic() {
    let fixed_point = |c: f64| (0..500).fold(0.5f64, |s, _| (-c * (1.0 - s)).exp());
    let variants: [(&str, bool, Option<f64>); 6] = [
        ("{ response: feedback, stop: counter, k: 1 }", true, Some(fixed_point(2.0))),
        ("{ response: feedback, stop: counter, k: 2 }", true, None),
        ("{ response: feedback, stop: coin, k: 2 }", true, Some(fixed_point(3.0))),
        ("{ response: feedback, stop: coin, k: 3 }", true, Some(fixed_point(4.0))),
        ("{ response: blind, stop: coin, k: 2 }", false, Some(fixed_point(2.0))),
        ("{ response: blind, stop: coin, k: 3 }", false, Some(fixed_point(3.0))),
    ];
    let n = 1000;
    for (rumor, feedback, ode) in variants {
        let s = one_rumor(n, rumor, "4s");
        let (mut residue, mut traffic) = (Vec::new(), Vec::new());
        for seed in 0..40 {
            let r = runner::run(&s, seed, false).unwrap();
            residue.push(r.report.visibility.residue);
            // Every push gets one feedback message back when the variant asks for feedback.
            let pushes = r.report.network.stats.sent as f64 / if feedback { 2.0 } else { 1.0 };
            traffic.push(pushes / f64::from(n));
        }
        let (s_mean, m_mean) = (mean(&residue), mean(&traffic));
        println!("{rumor}: residue {s_mean:.4}, traffic {m_mean:.2}, e^-m {:.4}, mean field {ode:?}", (-m_mean).exp());
        let law = (-m_mean).exp();
        assert!((s_mean - law).abs() <= 0.1 * law + 0.002, "{rumor}: residue {s_mean:.4} but e^-m = {law:.4}");
        if let Some(expected) = ode {
            assert!(
                (s_mean - expected).abs() <= 0.1 * expected + 0.002,
                "{rumor}: residue {s_mean:.4}, mean field {expected:.4}"
            );
        }
    }
}

/// Demers et al. (1987), section 1.4: residue and traffic of push rumor mongering among 1000
/// sites. Table 1 (feedback, counter) and Table 2 (blind, coin), for k = 1 to 5, as (k,
/// residue s, traffic m).
const TABLE_1: [(u32, f64, f64); 5] =
    [(1, 0.176, 1.74), (2, 0.037, 3.30), (3, 0.011, 4.53), (4, 0.0036, 5.64), (5, 0.0012, 6.68)];
const TABLE_2: [(u32, f64, f64); 5] =
    [(1, 0.960, 0.04), (2, 0.205, 1.59), (3, 0.060, 2.82), (4, 0.021, 3.91), (5, 0.008, 4.95)];

/// The shipped `scenarios/demers-rumor.yaml` reproduces Tables 1 and 2: each variant's mean
/// residue and traffic over seeds within a quarter of the paper's (plus three standard errors
/// of the mean, for the smallest residues: 0.0012 is one site in a thousand).
#[test]
fn the_demers_scenario_reproduces_tables_1_and_2() {
    let file = syncsim::scenario::ScenarioFile::load("scenarios/demers-rumor.yaml".as_ref()).unwrap();
    let seeds = 40u64;
    for s in file.runs() {
        let name = s.variant.clone().unwrap();
        let (table, feedback) = if name.starts_with("feedback") { (&TABLE_1, true) } else { (&TABLE_2, false) };
        let k: u32 = name.rsplit('-').next().unwrap().parse().unwrap();
        let &(_, paper_s, paper_m) = table.iter().find(|row| row.0 == k).unwrap();
        let (mut residue, mut traffic) = (Vec::new(), Vec::new());
        for seed in 0..seeds {
            let r = runner::run(s, seed, false).unwrap();
            residue.push(r.report.visibility.residue);
            let pushes = r.report.network.stats.sent as f64 / if feedback { 2.0 } else { 1.0 };
            traffic.push(pushes / f64::from(s.sim.nodes));
        }
        let stderr = |xs: &[f64]| {
            let m = mean(xs);
            (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0)).sqrt()
                / (xs.len() as f64).sqrt()
        };
        let (s_mean, m_mean) = (mean(&residue), mean(&traffic));
        println!("{name}: residue {s_mean:.4} (paper {paper_s}), traffic {m_mean:.2} (paper {paper_m})");
        let near = |got: f64, paper: f64, se: f64| (got - paper).abs() <= 0.25 * paper + 3.0 * se;
        assert!(near(s_mean, paper_s, stderr(&residue)), "{name}: residue {s_mean:.4}, the paper's {paper_s}");
        assert!(near(m_mean, paper_m, stderr(&traffic)), "{name}: traffic {m_mean:.2}, the paper's {paper_m}");
    }
}
