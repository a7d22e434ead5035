//! The engine's contract, pinned with a tiny protocol: crash, restart, pause, clock skew,
//! timers, client timeouts and determinism.

use syncsim_sim::dist::Latency;
use syncsim_sim::fault::{Fault, TimedFault};
use syncsim_sim::history::{OpKind, Outcome, Output};
use syncsim_sim::network::{LinkSpec, NetworkConfig};
use syncsim_sim::protocol::Consistency;
use syncsim_sim::workload::{Arrival, ScriptedOp, WorkloadConfig};
use syncsim_sim::{
    Ctx, Departure, Message, NoMonitor, NodeId, Op, Protocol, ProtocolInfo, RequestId, Sim, SimConfig, SimDuration,
    SimTime,
};

/// Every `tick`, node k pings a random peer. It counts pings in a durable and a volatile
/// counter, and answers `get` with the durable count after `reply_after`.
#[derive(Debug)]
struct Pinger {
    tick: SimDuration,
    reply_after: SimDuration,
    payload: u64,
    durable_pings: u64,
    volatile_pings: u64,
    ticks: u64,
    /// The node's own clock at its latest tick.
    last_tick: SimTime,
    pending: Option<RequestId>,
}

#[derive(Clone, Debug, Hash)]
struct Ping(u64);
impl Message for Ping {
    fn wire_size(&self) -> usize {
        8
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Tick,
    Reply,
}

#[derive(Clone, Debug)]
struct Config {
    tick: SimDuration,
    reply_after: SimDuration,
    /// Carried in every ping: changes what is sent, never when or how much.
    payload: u64,
}

impl Protocol for Pinger {
    type Msg = Ping;
    type Timer = Timer;
    type Durable = u64;
    type Config = Config;
    type Note = ();
    type Monitor = NoMonitor;

    fn monitor(_: &Config, _: u32) -> NoMonitor {
        NoMonitor
    }

    fn info(_: &Config) -> ProtocolInfo {
        ProtocolInfo {
            name: "pinger",
            variant: String::new(),
            ops: vec![OpKind::Get],
            consistency: Consistency::Eventual,
            round: None,
            datatype: syncsim_sim::Datatype::KeyValue,
            reads_state: false,
            leaders: false,
        }
    }
    fn new(_: NodeId, config: &Config, durable: Option<u64>) -> Self {
        Pinger {
            tick: config.tick,
            reply_after: config.reply_after,
            payload: config.payload,
            durable_pings: durable.unwrap_or(0),
            volatile_pings: 0,
            ticks: 0,
            last_tick: SimTime::ZERO,
            pending: None,
        }
    }
    fn durable(&self) -> u64 {
        self.durable_pings
    }
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.set_timer(Timer::Tick, self.tick);
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: Ping) {
        self.durable_pings += 1;
        self.volatile_pings += 1;
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match timer {
            Timer::Tick => {
                self.ticks += 1;
                self.last_tick = ctx.now();
                if let Some(p) = ctx.random_peer() {
                    ctx.send(p, Ping(self.payload));
                }
                ctx.set_timer(Timer::Tick, self.tick);
            }
            Timer::Reply => {
                if let Some(req) = self.pending.take() {
                    ctx.reply(req, Ok(Output::Count(self.durable_pings as i64)));
                }
            }
        }
    }
    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, _: Op) {
        self.pending = Some(req);
        ctx.set_timer(Timer::Reply, self.reply_after);
    }
    fn state_digest(&self) -> u64 {
        self.durable_pings
    }
}

fn config(seed: u64, faults: Vec<TimedFault>) -> SimConfig {
    SimConfig {
        seed,
        nodes: 3,
        duration: SimDuration::from_secs(1),
        settle: SimDuration::ZERO,
        restart_on_settle: false,
        network: NetworkConfig {
            default: LinkSpec {
                latency: Latency::Uniform { min: SimDuration::from_millis(1), max: SimDuration::from_millis(3) },
                ..LinkSpec::default()
            },
            ..NetworkConfig::default()
        },
        faults,
        ..SimConfig::default()
    }
}

const PROTO: Config =
    Config { payload: 1, tick: SimDuration::from_millis(10), reply_after: SimDuration::from_millis(5) };

fn at(ms: u64, fault: Fault) -> TimedFault {
    TimedFault { at: SimTime(ms * 1_000_000), fault }
}

#[test]
fn same_seed_same_hash_and_different_seed_different_hash() {
    let run = |seed| Sim::<Pinger>::new(config(seed, vec![]), PROTO, ()).unwrap().run();
    let (a, b, c) = (run(1), run(1), run(2));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn the_trace_hash_covers_what_messages_carry() {
    let run = |payload| Sim::<Pinger>::new(config(1, vec![]), Config { payload, ..PROTO }, ()).unwrap().run();
    let (a, b) = (run(1), run(2));
    assert_eq!(a.events, b.events, "the same events at the same times ...");
    assert_eq!(a.net, b.net);
    assert_ne!(a.trace_hash, b.trace_hash, "... but different contents: a different trace");
}

#[test]
fn a_crash_keeps_durable_state_and_loses_the_rest() {
    let mut sim = Sim::<Pinger>::new(
        config(3, vec![at(500, Fault::Crash(NodeId(1))), at(700, Fault::Restart(NodeId(1)))]),
        PROTO,
        (),
    )
    .unwrap();
    sim.run_until(SimTime(499_000_000));
    let before = sim.node(NodeId(1)).unwrap().durable_pings;
    assert!(before > 20);
    sim.run_until(SimTime(600_000_000));
    assert!(sim.node(NodeId(1)).is_none(), "crashed nodes have no state");
    sim.run_until(SimTime(700_000_000));
    let restarted = sim.node(NodeId(1)).unwrap();
    assert_eq!(restarted.durable_pings, before, "nothing delivered while down, durable count kept");
    assert_eq!(restarted.volatile_pings, 0, "volatile state is lost");
    assert_eq!(restarted.ticks, 0, "old timers died with the crash");
    let out = sim.run();
    assert!(out.net.dropped_down > 0, "pings sent to the crashed node were dropped");
}

#[test]
fn pause_holds_messages_and_timers_until_resume() {
    let mut sim = Sim::<Pinger>::new(
        config(4, vec![at(200, Fault::Pause(NodeId(0))), at(400, Fault::Resume(NodeId(0)))]),
        PROTO,
        (),
    )
    .unwrap();
    sim.run_until(SimTime(201_000_000));
    let (ticks, pings) = (sim.node(NodeId(0)).unwrap().ticks, sim.node(NodeId(0)).unwrap().durable_pings);
    sim.run_until(SimTime(399_000_000));
    assert_eq!(sim.node(NodeId(0)).unwrap().ticks, ticks, "no timer fires while paused");
    assert_eq!(sim.node(NodeId(0)).unwrap().durable_pings, pings, "no message is handled while paused");
    sim.run_until(SimTime(400_000_000));
    let after = sim.node(NodeId(0)).unwrap();
    assert!(after.durable_pings > pings + 5, "held pings are handled at resume");
    assert_eq!(after.ticks, ticks + 1, "the held timer fires once at resume");
}

#[test]
fn a_fast_clock_fires_timers_early() {
    let skew = at(0, Fault::Clock { node: NodeId(2), rate: 2.0, jump: 0 });
    let out = Sim::<Pinger>::new(config(5, vec![skew]), PROTO, ()).unwrap();
    let mut sim = out;
    sim.run_until(SimTime(1_000_000_000));
    let normal = sim.node(NodeId(0)).unwrap().ticks;
    let fast = sim.node(NodeId(2)).unwrap().ticks;
    assert_eq!(normal, 100);
    // The first tick was armed at start, before the skew: it fires at 10 ms, then every 5 ms.
    assert_eq!(fast, 1 + (1000 - 10) / 5);
}

/// A drift window with a jump steps the node's clock at its start and not back at its end.
#[test]
fn a_drift_with_a_jump_steps_the_clock_once() {
    let on = Fault::Drift { node: NodeId(2), factor: 1.0, jump: 5_000_000_000, on: true };
    let off = syncsim_sim::fault::window_end(&on).unwrap();
    let mut sim = Sim::<Pinger>::new(config(5, vec![at(100, on), at(300, off)]), PROTO, ()).unwrap();
    let local = |sim: &Sim<Pinger>, k: u32| sim.node(NodeId(k)).unwrap().last_tick.as_nanos() / 1_000_000;
    sim.run_until(SimTime(200_000_000));
    assert!((190..=200).contains(&local(&sim, 0)), "n0 reads {} ms", local(&sim, 0));
    assert!((5_190..=5_200).contains(&local(&sim, 2)), "n2 stepped 5 s ahead: {} ms", local(&sim, 2));
    sim.run_until(SimTime(500_000_000));
    assert!((5_490..=5_500).contains(&local(&sim, 2)), "the end does not step back: {} ms", local(&sim, 2));
}

#[test]
fn timeouts_give_unknown_and_down_nodes_fail_fast() {
    let mut c = config(6, vec![at(100, Fault::Crash(NodeId(1))), at(100, Fault::Pause(NodeId(2)))]);
    c.workload = WorkloadConfig {
        timeout: SimDuration::from_millis(50),
        arrival: Arrival::Closed { think: SimDuration::ZERO },
        script: vec![
            ScriptedOp { at: SimTime(10_000_000), node: NodeId(0), op: Op::Get { key: 0 } },
            ScriptedOp { at: SimTime(200_000_000), node: NodeId(1), op: Op::Get { key: 0 } },
            ScriptedOp { at: SimTime(200_000_000), node: NodeId(2), op: Op::Get { key: 0 } },
        ],
        ..WorkloadConfig::default()
    };
    let out = Sim::<Pinger>::new(c, PROTO, ()).unwrap().run();
    let e = out.history.entries();
    assert_eq!(e.len(), 3);
    assert!(matches!(e[0].outcome, Outcome::Ok(Output::Count(_))));
    assert_eq!(e[0].ret, Some(SimTime(15_000_000)), "answered 5 ms after the call");
    assert_eq!(e[1].outcome, Outcome::Failed("node down".into()));
    assert_eq!(e[2].outcome, Outcome::Unknown, "a paused node never answers in time");
    assert_eq!(e[2].ret, None);
}

#[test]
fn re_arming_a_timer_replaces_the_earlier_arming() {
    #[derive(Debug)]
    struct Rearm(u32);
    impl Protocol for Rearm {
        type Msg = Ping;
        type Timer = Timer;
        type Durable = ();
        type Config = ();
        type Note = ();
        type Monitor = NoMonitor;
        fn monitor(_: &(), _: u32) -> NoMonitor {
            NoMonitor
        }
        fn info(_: &()) -> ProtocolInfo {
            Pinger::info(&PROTO)
        }
        fn new(_: NodeId, _: &(), _: Option<()>) -> Self {
            Rearm(0)
        }
        fn durable(&self) {}
        fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
            ctx.set_timer(Timer::Tick, SimDuration::from_millis(10));
            ctx.set_timer(Timer::Tick, SimDuration::from_millis(20));
            ctx.set_timer(Timer::Reply, SimDuration::from_millis(5));
            ctx.cancel_timer(Timer::Reply);
        }
        fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: Ping) {}
        fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
            assert_eq!(timer, Timer::Tick, "the cancelled timer never fires");
            assert_eq!(ctx.now(), SimTime(20_000_000), "only the second arming fires");
            self.0 += 1;
        }
        fn on_request(&mut self, _: &mut Ctx<'_, Self>, _: RequestId, _: Op) {}
        fn state_digest(&self) -> u64 {
            u64::from(self.0)
        }
    }
    let out = Sim::<Rearm>::new(config(7, vec![]), (), ()).unwrap().run();
    assert_eq!(out.final_digests, vec![Some(1), Some(1), Some(1)]);
}

/// Ticks every 10 ms; a node that leaves drains for `drain_ticks` ticks, then departs.
#[derive(Debug)]
struct Drainer {
    drain_ticks: u64,
    left_ticks: Option<u64>,
    heard: u64,
}

impl Protocol for Drainer {
    type Msg = Ping;
    type Timer = Timer;
    type Durable = ();
    type Config = u64;
    type Note = ();
    type Monitor = NoMonitor;

    fn monitor(_: &u64, _: u32) -> NoMonitor {
        NoMonitor
    }
    fn info(_: &u64) -> ProtocolInfo {
        Pinger::info(&PROTO)
    }
    fn new(_: NodeId, drain_ticks: &u64, _: Option<()>) -> Self {
        Drainer { drain_ticks: *drain_ticks, left_ticks: None, heard: 0 }
    }
    fn durable(&self) {}
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.set_timer(Timer::Tick, SimDuration::from_millis(10));
    }
    fn on_leave(&mut self, _: &mut Ctx<'_, Self>) -> Departure {
        self.left_ticks = Some(0);
        Departure::Drain
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: Ping) {
        self.heard += 1;
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _: Timer) {
        if let Some(t) = self.left_ticks.as_mut() {
            *t += 1;
            if *t >= self.drain_ticks {
                ctx.depart();
            }
        }
        for peer in ctx.peers().iter() {
            ctx.send(peer, Ping(0));
        }
        ctx.set_timer(Timer::Tick, SimDuration::from_millis(10));
    }
    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, _: Op) {
        ctx.reply(req, Ok(Output::Done));
    }
    fn state_digest(&self) -> u64 {
        0
    }
}

#[test]
fn a_draining_node_runs_outside_the_membership_until_it_departs() {
    let mut sim = Sim::<Drainer>::new(config(1, vec![at(100, Fault::Leave(NodeId(2)))]), 8, ()).unwrap();
    sim.run_until(SimTime(101_000_000));
    let heard = sim.node(NodeId(0)).unwrap().heard;
    sim.run_until(SimTime(135_000_000));
    let draining = sim.node(NodeId(2)).expect("still running while it drains");
    assert!(matches!(draining.left_ticks, Some(1..8)), "{:?}", draining.left_ticks);
    // It still sends (to the members), but the members no longer send to it.
    assert!(sim.node(NodeId(0)).unwrap().heard > heard + 3);
    let before = draining.heard;
    sim.run_until(SimTime(160_000_000));
    assert_eq!(sim.node(NodeId(2)).map(|d| d.heard), Some(before), "no member sends to a leaver");
    sim.run_until(SimTime(200_000_000));
    assert!(sim.node(NodeId(2)).is_none(), "it departed after its eighth tick");
    // A draining node that crashes is gone at once.
    let faults = vec![at(100, Fault::Leave(NodeId(2))), at(120, Fault::Crash(NodeId(2)))];
    let mut sim = Sim::<Drainer>::new(config(1, faults), 50, ()).unwrap();
    sim.run_until(SimTime(121_000_000));
    assert!(sim.node(NodeId(2)).is_none());
    let out = sim.run();
    assert!(out.faults.iter().any(|(_, f)| *f == Fault::Crash(NodeId(2))));
}
