use syncsim::protocols::{FloodConfig, FloodNode};
use syncsim::sim::dist::Latency;
use syncsim::sim::network::{LinkSpec, NetworkConfig};
use syncsim::sim::units::Probability;
use syncsim::sim::{Sim, SimConfig, SimDuration};
fn main() {
    let cfg = SimConfig {
        seed: 1,
        nodes: 100,
        duration: SimDuration::from_secs(25),
        settle: SimDuration::ZERO,
        sample_every: SimDuration::ZERO,
        network: NetworkConfig {
            default: LinkSpec {
                latency: Latency::Lognormal {
                    median: SimDuration::from_millis(2),
                    p99: SimDuration::from_millis(20),
                },
                loss: Probability::new(0.001).unwrap(),
                duplicate: Probability::new(0.001).unwrap(),
                bandwidth: None,
            },
            ..NetworkConfig::default()
        },
        ..SimConfig::default()
    };
    let t = std::time::Instant::now();
    let out = Sim::<FloodNode>::new(cfg, FloodConfig { tokens: 4, size: 64 }, ())
        .unwrap()
        .run();
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} delivered in {:.3}s: {:.2} M/s",
        out.net.delivered,
        s,
        out.net.delivered as f64 / s / 1e6
    );
}
