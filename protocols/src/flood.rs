//! Flood: every node keeps passing tokens to random peers. It does no useful work; it exists to
//! load the engine and the network model with a steady stream of small messages (the engine
//! throughput benchmark runs it).

use serde::{Deserialize, Serialize};
use syncsim_sim::{
    Consistency, Ctx, Family, Launch, Message, NoMonitor, NodeId, Op, Param, ParamError, Protocol, ProtocolInfo,
    RequestId,
};

use crate::planted::{Planted, planted_bugs};

/// Flood parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloodConfig {
    /// Tokens each node puts in circulation when it starts.
    pub tokens: u32,
    /// Encoded size of a token in bytes.
    pub size: u32,
    /// A planted bug (test builds only).
    #[serde(skip_serializing_if = "Planted::is_none")]
    pub bug: Bug,
}

planted_bugs! {
    /// Flood's planted bug (see [`crate::planted`]).
    pub enum Bug {
        /// Token sizes also count a process-wide counter, so two runs of one seed in one
        /// process differ: a determinism leak for `sweep --check-determinism` to find.
        Leak = "leak",
    }
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig { tokens: 4, size: 64, bug: Bug::None }
    }
}

/// The planted leak's state: shared by every run in the process (what real leaks look like).
static LEAK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl FloodConfig {
    /// Checks the parameters; the message names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.bug.check()
    }
}

/// The `flood` family: tokens passed between random peers, to load the engine.
impl Family for FloodNode {
    const KIND: &'static str = "flood";
    const ABOUT: &'static str = "tokens passed between random peers: no useful work, a load for the engine";
    type Config = FloodConfig;

    fn params() -> Vec<Param> {
        vec![
            Param::new("tokens", "tokens each node puts in circulation at start"),
            Param::new("size", "encoded size of a token in bytes"),
        ]
        .into_iter()
        .chain(Bug::param())
        .collect()
    }

    fn validate(config: &FloodConfig, _: &[String]) -> Result<(), ParamError> {
        config.validate()
    }

    fn launch<L: Launch>(config: &FloodConfig, _: &[String], launch: L) -> L::Output {
        launch.launch::<FloodNode>(config.clone())
    }
}

/// A token passed from node to node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Token {
    /// Hops so far.
    pub hops: u32,
    /// Encoded size in bytes.
    pub size: u32,
}

impl Message for Token {
    fn wire_size(&self) -> usize {
        self.size as usize
    }

    fn kind(&self) -> &'static str {
        "Token"
    }
}

/// A flood node: counts the tokens it passed on.
#[derive(Clone, Debug)]
pub struct FloodNode {
    config: FloodConfig,
    forwarded: u64,
}

impl Protocol for FloodNode {
    type Msg = Token;
    type Timer = ();
    type Durable = ();
    type Config = FloodConfig;
    type Note = ();
    type Monitor = NoMonitor;

    fn monitor(_: &FloodConfig, _: u32) -> NoMonitor {
        NoMonitor
    }

    fn info(_: &FloodConfig) -> ProtocolInfo {
        ProtocolInfo {
            name: "flood",
            variant: "tokens".into(),
            ops: vec![],
            consistency: Consistency::Eventual,
            round: None,
            datatype: syncsim_sim::Datatype::KeyValue,
            reads_state: false,
            leaders: false,
        }
    }

    fn new(_: NodeId, config: &FloodConfig, _: Option<()>) -> Self {
        FloodNode { config: config.clone(), forwarded: 0 }
    }

    fn durable(&self) {}

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        // Never the same in two runs of one process (4 node starts a run, far below 4096),
        // so every seed's rerun differs, whatever order parallel seeds take.
        let extra = if self.config.bug.is(Bug::Leak) {
            LEAK.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4096
        } else {
            0
        };
        for _ in 0..self.config.tokens {
            if let Some(peer) = ctx.random_peer() {
                ctx.send(peer, Token { hops: 0, size: self.config.size + extra });
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _: NodeId, token: Token) {
        if let Some(peer) = ctx.random_peer() {
            self.forwarded += 1;
            ctx.send(peer, Token { hops: token.hops + 1, ..token });
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, Self>, _: ()) {}

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        ctx.reply(req, Err(format!("flood does not support {}", op.kind())));
    }

    fn state_digest(&self) -> u64 {
        0
    }
}
