use syncsim::runner;
use syncsim::scenario::Scenario;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args[1].parse().unwrap();
    let seeds: u64 = args[2].parse().unwrap();
    let rumor = &args[3];
    let text = format!(
        "name: p\nduration: 1s\nsettle: 5s\nnodes: {n}\nprotocol: {{ kind: gossip, mode: rumor, interval: 100ms, fanout: 1, phase: aligned, rumor: {rumor} }}\nnetwork: {{ latency: {{ constant: 1ms }} }}\nworkload: {{ script: [ {{ at: 50ms, node: n0, put: {{ key: 1, value: 1 }} }} ] }}\nengine: {{ sample_every: 1s }}\n"
    );
    let s = Scenario::parse(&text, "p").unwrap();
    let mut rounds = vec![];
    let mut frac = vec![];
    let mut msgs = vec![];
    for seed in 0..seeds {
        let r = runner::run(&s, seed, false).unwrap();
        let v = &r.report.visibility;
        rounds.push(v.rounds_max as f64);
        frac.push(v.residue);
        msgs.push(r.report.network.stats.sent as f64 / n as f64);
        let _ = v;
    }
    let mean = |x: &Vec<f64>| x.iter().sum::<f64>() / x.len() as f64;
    let nn = n as f64;
    println!(
        "n={n} mean rounds {:.3} (log2+ln = {:.3}) residue {:.4} msgs/site {:.2}",
        mean(&rounds),
        nn.log2() + nn.ln(),
        mean(&frac),
        mean(&msgs)
    );
}
