//! Protocol families as plugins: what a scenario's `protocol: { kind: ... }` names.
//!
//! A [`Family`] ties a kind name to its configuration (defaults, self-description, validation)
//! and to the [`Protocol`] state machine that runs it. The syncsim crate's registry builds
//! the scenario parser, the runner's dispatch and `syncsim list` from a list of families, so a
//! protocol from another crate runs under every command exactly as the built-in ones do.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cost::Load;
use crate::protocol::{Protocol, ProtocolInfo};

/// A protocol every host can run: its messages encode with serde (the async host puts them on
/// a wire), and its state and configuration can move between tasks.
pub trait Hostable:
    Protocol<
        Msg: Serialize + DeserializeOwned + Send + 'static,
        Timer: Send + 'static,
        Durable: Send + 'static,
        Config: Send + Sync + 'static,
        Note: Send + 'static,
        Monitor: Send + 'static,
    > + Send
    + 'static
{
}

impl<P> Hostable for P where
    P: Protocol<
            Msg: Serialize + DeserializeOwned + Send + 'static,
            Timer: Send + 'static,
            Durable: Send + 'static,
            Config: Send + Sync + 'static,
            Note: Send + 'static,
            Monitor: Send + 'static,
        > + Send
        + 'static
{
}

/// One parameter of a family's configuration, for `syncsim list`: its path in the `protocol:`
/// map (`rumor.k`) and what it means. The default is read from the family's default
/// configuration, so it cannot drift from the code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The parameter's path inside `protocol:` (dotted for nested maps).
    pub name: &'static str,
    /// What it means, with its choices.
    pub help: &'static str,
    /// The default to show when the default configuration does not write the field out
    /// (fields skipped when they hold their default, such as `bug`).
    pub unwritten_default: Option<&'static str>,
}

impl Param {
    /// A parameter called `name`, meaning `help`.
    pub const fn new(name: &'static str, help: &'static str) -> Param {
        Param { name, help, unwritten_default: None }
    }

    /// The same parameter, shown with `default` when the default configuration leaves it out.
    pub const fn unwritten(self, default: &'static str) -> Param {
        Param { unwritten_default: Some(default), ..self }
    }
}

/// An invalid parameter: the field's path inside `protocol:` and what is wrong with it. The
/// scenario reader turns the path into a line and column.
pub type ParamError = (String, String);

/// A protocol family: a kind name, its parameters, and the protocol that runs them.
pub trait Family: 'static {
    /// The name scenarios give (`protocol: { kind: raft }`): lowercase letters, digits and `-`.
    const KIND: &'static str;
    /// One line on what the family is, for `syncsim list`.
    const ABOUT: &'static str;
    /// The kinds its messages report ([`crate::Message::kind`]), for scenarios that give a
    /// kind its own latency (`network.kinds`); empty when the family does not list them.
    const MESSAGES: &'static [&'static str] = &[];

    /// The parameters from the scenario's `protocol:` map (every field but `kind`). Its
    /// `Default` fills what a scenario leaves out; it should deny unknown fields.
    type Config: Clone + Debug + PartialEq + Default + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// What the protocol is and offers under `config`: its operations, consistency model and
    /// data type decide which checkers judge it. By default, what the protocol [`launch`]
    /// chooses says of itself ([`Protocol::info`]).
    ///
    /// [`launch`]: Family::launch
    fn info(config: &Self::Config) -> ProtocolInfo {
        Self::launch(config, &[], Describe)
    }

    /// Every parameter with its meaning, for `syncsim list` (defaults come from
    /// `Config::default()`).
    fn params() -> Vec<Param>;

    /// Checks `config` for a cluster whose nodes are called `nodes`: `Err((field, message))`
    /// names the offending field, relative to `protocol:`.
    fn validate(config: &Self::Config, nodes: &[String]) -> Result<(), ParamError> {
        let _ = (config, nodes);
        Ok(())
    }

    /// Whether the protocol under `config` runs in an elastic cluster, whose members join and
    /// leave (`spares`, `join`, `leave`, churn): `Err((field, why not))` when it does not.
    /// By default it does not: a family says so once its nodes bootstrap and hand off.
    fn elastic(config: &Self::Config) -> Result<(), ParamError> {
        let _ = config;
        Err(("kind".into(), format!("{} runs a fixed set of nodes: none may join or leave", Self::KIND)))
    }

    /// What the protocol costs per unit of load under `config` on `nodes` nodes, for the
    /// estimate made before a run ([`crate::cost`]). By default: rounds of
    /// [`ProtocolInfo::round`] (or heartbeat-like timers without one), and each operation sent
    /// to every node and back.
    fn load(config: &Self::Config, nodes: usize) -> Load {
        let _ = nodes;
        Load::typical(Self::info(config).round)
    }

    /// Further lines for `syncsim list` (e.g. the operations of each data type).
    fn notes() -> Vec<String> {
        Vec::new()
    }

    /// Runs `config` on a cluster whose nodes are called `nodes`: chooses the protocol type
    /// and its configuration, and hands them to `launch`.
    fn launch<L: Launch>(config: &Self::Config, nodes: &[String], launch: L) -> L::Output;
}

/// The launcher that runs nothing: it asks the chosen protocol to describe itself.
struct Describe;

impl Launch for Describe {
    type Output = ProtocolInfo;
    fn launch<P: Hostable>(self, config: P::Config) -> ProtocolInfo {
        P::info(&config)
    }
}

/// What runs a protocol once a family has chosen it: the engine, madsim, or a live cluster.
pub trait Launch {
    /// What a run gives back.
    type Output;
    /// Runs protocol `P` under `config`.
    fn launch<P: Hostable>(self, config: P::Config) -> Self::Output;
}
