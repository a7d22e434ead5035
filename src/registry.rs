//! The protocol families a binary knows, and the scenario's `protocol:` map that names one.
//!
//! [`Registry::builtin`] is the one list of syncsim's own families; a team's crate adds its own
//! with [`Registry::with`] and hands the result to [`crate::cli::main_with`] (a binary with
//! every command) or to [`Scenario::parse_with`](crate::Scenario::parse_with) (the library).
//! Scenario parsing, the runner's dispatch, validation and `syncsim list` all read the registry,
//! so a registered family is used exactly as a built-in one.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use syncsim_protocols::{CrdtFamily, DynamoNode, FloodNode, GossipNode, PbftNode, RaftNode, SchedNode};
use syncsim_sim::{Family, Load, Param, ParamError, ProtocolInfo};

use crate::runner::{RunError, RunResult, Runner};

/// The protocol families a binary knows, in the order `syncsim list` shows them. Cheap to
/// clone.
#[derive(Clone)]
pub struct Registry {
    families: Arc<Vec<Entry>>,
}

/// One family, type-erased.
#[derive(Copy, Clone)]
struct Entry {
    kind: &'static str,
    about: &'static str,
    params: fn() -> Vec<Param>,
    notes: fn() -> Vec<String>,
    default: fn() -> ProtocolConfig,
    read: fn(&mut dyn erased_serde::Deserializer<'_>) -> Result<ProtocolConfig, erased_serde::Error>,
}

/// One family as `syncsim list` describes it.
#[derive(Clone, Debug)]
pub struct FamilyDescription {
    /// The kind name scenarios use.
    pub kind: &'static str,
    /// One line on what it is.
    pub about: &'static str,
    /// What it offers under its default configuration.
    pub info: ProtocolInfo,
    /// Each parameter: its path, its default (as YAML) and its meaning.
    pub params: Vec<(&'static str, String, &'static str)>,
    /// Further lines.
    pub notes: Vec<String>,
}

impl Registry {
    /// A registry without families.
    pub fn empty() -> Registry {
        Registry { families: Arc::new(Vec::new()) }
    }

    /// syncsim's own families: the one list to extend when a family is added.
    pub fn builtin() -> Registry {
        Registry::empty()
            .with::<GossipNode>()
            .with::<SchedNode>()
            .with::<RaftNode>()
            .with::<PbftNode>()
            .with::<CrdtFamily>()
            .with::<DynamoNode>()
            .with::<FloodNode>()
    }

    /// This registry and family `F`.
    ///
    /// # Panics
    /// When `F::KIND` is not a valid kind name (lowercase letters, digits and `-`) or another
    /// family already has it: both are mistakes in the program, not in its input.
    pub fn with<F: Family>(mut self) -> Registry {
        let kind = F::KIND;
        let valid = !kind.is_empty()
            && kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !kind.starts_with('-');
        assert!(valid, "`{kind}` is not a valid protocol kind: lowercase letters, digits and `-`");
        assert!(self.entry(kind).is_none(), "two protocol families are called `{kind}`");
        Arc::make_mut(&mut self.families).push(Entry {
            kind,
            about: F::ABOUT,
            params: F::params,
            notes: F::notes,
            default: || ProtocolConfig::new::<F>(F::Config::default()),
            read: |d| erased_serde::deserialize::<F::Config>(d).map(ProtocolConfig::new::<F>),
        });
        self
    }

    /// The kind names, in registration order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.families.iter().map(|e| e.kind).collect()
    }

    /// The default configuration of family `kind`.
    pub fn default_config(&self, kind: &str) -> Option<ProtocolConfig> {
        self.entry(kind).map(|e| (e.default)())
    }

    /// Every family with its parameters and their defaults, for `syncsim list`.
    pub fn describe(&self) -> Vec<FamilyDescription> {
        self.families
            .iter()
            .map(|e| {
                let default = (e.default)();
                let fields = default.0.fields();
                let params = (e.params)()
                    .into_iter()
                    .map(|p| {
                        let shown = lookup(&fields, p.name)
                            .map(show)
                            .or(p.unwritten_default.map(str::to_string))
                            .unwrap_or_else(|| "-".into());
                        (p.name, shown, p.help)
                    })
                    .collect();
                FamilyDescription { kind: e.kind, about: e.about, info: default.info(), params, notes: (e.notes)() }
            })
            .collect()
    }

    fn entry(&self, kind: &str) -> Option<&Entry> {
        self.families.iter().find(|e| e.kind == kind)
    }

    /// Makes this registry the process's default, which [`Scenario::parse`](crate::Scenario::parse)
    /// and [`Scenario::load`](crate::Scenario::load) use. The first installation wins; false
    /// when another registry was installed already.
    pub fn install(self) -> bool {
        INSTALLED.set(self).is_ok()
    }

    /// The registry scenarios are read with here: the one [`Registry::scoped`] set on this
    /// thread, else the installed one, else the built-in families.
    pub fn current() -> Registry {
        SCOPED
            .with(|s| s.borrow().clone())
            .or_else(|| INSTALLED.get().cloned())
            .unwrap_or_else(|| BUILTIN.get_or_init(Registry::builtin).clone())
    }

    /// Runs `f` with this registry as [`Registry::current`] on this thread.
    pub fn scoped<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(Option<Registry>);
        impl Drop for Restore {
            fn drop(&mut self) {
                SCOPED.with(|s| *s.borrow_mut() = self.0.take());
            }
        }
        let _restore = Restore(SCOPED.with(|s| s.borrow_mut().replace(self.clone())));
        f()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Registry").field(&self.kinds()).finish()
    }
}

static INSTALLED: OnceLock<Registry> = OnceLock::new();
static BUILTIN: OnceLock<Registry> = OnceLock::new();

thread_local! {
    static SCOPED: RefCell<Option<Registry>> = const { RefCell::new(None) };
}

/// The value at dotted `path` of a YAML mapping.
fn lookup<'a>(value: &'a serde_yaml::Value, path: &str) -> Option<&'a serde_yaml::Value> {
    path.split('.').try_fold(value, |v, key| v.as_mapping()?.get(key))
}

/// A default as `syncsim list` shows it: scalars bare, anything else as flow YAML.
fn show(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::Null => "null".into(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).map(|s| s.trim().replace('\n', " ")).unwrap_or_default(),
    }
}

/// A protocol and its parameters, as a scenario gives them: `protocol: { kind: raft, ... }`.
pub struct ProtocolConfig(Box<dyn AnyConfig>);

impl ProtocolConfig {
    /// Family `F` under `config`.
    pub fn new<F: Family>(config: F::Config) -> ProtocolConfig {
        ProtocolConfig(Box::new(Typed::<F>(config)))
    }

    /// The family's kind name.
    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }

    /// The protocol's description under these parameters.
    pub fn info(&self) -> ProtocolInfo {
        self.0.info()
    }

    /// The kinds of message the family sends ([`Family::MESSAGES`]).
    pub fn messages(&self) -> &'static [&'static str] {
        self.0.messages()
    }

    /// Checks the parameters for a cluster whose nodes are called `nodes`:
    /// `Err((field, message))` names the offending field, relative to `protocol:`.
    pub fn validate(&self, nodes: &[String]) -> Result<(), ParamError> {
        self.0.validate(nodes)
    }

    /// Whether it runs in a cluster whose members change ([`Family::elastic`]).
    pub fn elastic(&self) -> Result<(), ParamError> {
        self.0.elastic()
    }

    /// What the protocol costs per unit of load on `nodes` nodes ([`Family::load`]).
    pub fn load(&self, nodes: usize) -> Load {
        self.0.load(nodes)
    }

    /// Whether the protocol is an oracle that reads the future workload
    /// ([`syncsim_sim::Protocol::foresight`]).
    pub fn foresight(&self) -> bool {
        self.0.foresight()
    }

    /// The parameters, if they are family `F`'s.
    pub fn get<F: Family>(&self) -> Option<&F::Config> {
        self.0.as_any().downcast_ref::<Typed<F>>().map(|t| &t.0)
    }

    /// The parameters to change, if they are family `F`'s.
    pub fn get_mut<F: Family>(&mut self) -> Option<&mut F::Config> {
        self.0.as_any_mut().downcast_mut::<Typed<F>>().map(|t| &mut t.0)
    }

    /// Runs the family's protocol through `runner`.
    pub(crate) fn launch(&self, nodes: &[String], runner: &Runner<'_>) -> Result<RunResult, RunError> {
        self.0.launch(nodes, runner)
    }
}

/// The launcher that runs nothing: it asks the chosen protocol whether it reads the future.
struct Foresees;

impl syncsim_sim::Launch for Foresees {
    type Output = bool;
    fn launch<P: syncsim_sim::Hostable>(self, config: P::Config) -> bool {
        <P as syncsim_sim::Protocol>::foresight(&config)
    }
}

/// A family's configuration behind [`ProtocolConfig`].
trait AnyConfig: Send + Sync {
    fn kind(&self) -> &'static str;
    fn info(&self) -> ProtocolInfo;
    fn messages(&self) -> &'static [&'static str];
    fn validate(&self, nodes: &[String]) -> Result<(), ParamError>;
    fn elastic(&self) -> Result<(), ParamError>;
    fn load(&self, nodes: usize) -> Load;
    fn foresight(&self) -> bool;
    /// The parameters as a YAML mapping, enums as single-key maps (as scenarios write them).
    fn fields(&self) -> serde_yaml::Value;
    fn clone_box(&self) -> Box<dyn AnyConfig>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn same(&self, other: &dyn AnyConfig) -> bool;
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    fn launch(&self, nodes: &[String], runner: &Runner<'_>) -> Result<RunResult, RunError>;
}

/// Family `F`'s configuration.
struct Typed<F: Family>(F::Config);

impl<F: Family> AnyConfig for Typed<F> {
    fn kind(&self) -> &'static str {
        F::KIND
    }
    fn info(&self) -> ProtocolInfo {
        F::info(&self.0)
    }
    fn messages(&self) -> &'static [&'static str] {
        F::MESSAGES
    }
    fn validate(&self, nodes: &[String]) -> Result<(), ParamError> {
        F::validate(&self.0, nodes)
    }
    fn elastic(&self) -> Result<(), ParamError> {
        F::elastic(&self.0)
    }
    fn load(&self, nodes: usize) -> Load {
        F::load(&self.0, nodes)
    }
    fn foresight(&self) -> bool {
        F::launch(&self.0, &[], Foresees)
    }
    fn fields(&self) -> serde_yaml::Value {
        serde_yaml::with::singleton_map_recursive::serialize(&self.0, serde_yaml::value::Serializer)
            .unwrap_or_else(|e| panic!("the `{}` configuration does not serialize: {e}", F::KIND))
    }
    fn clone_box(&self) -> Box<dyn AnyConfig> {
        Box::new(Typed::<F>(self.0.clone()))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn same(&self, other: &dyn AnyConfig) -> bool {
        other.as_any().downcast_ref::<Typed<F>>().is_some_and(|o| o.0 == self.0)
    }
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", F::KIND, self.0)
    }
    fn launch(&self, nodes: &[String], runner: &Runner<'_>) -> Result<RunResult, RunError> {
        F::launch(&self.0, nodes, runner)
    }
}

impl Clone for ProtocolConfig {
    fn clone(&self) -> Self {
        ProtocolConfig(self.0.clone_box())
    }
}

impl PartialEq for ProtocolConfig {
    fn eq(&self, other: &Self) -> bool {
        self.0.same(&*other.0)
    }
}

impl fmt::Debug for ProtocolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug(f)
    }
}

/// `kind` first, then the family's own parameters.
impl Serialize for ProtocolConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.0.fields();
        let fields = fields.as_mapping();
        let mut map = s.serialize_map(Some(1 + fields.map_or(0, |m| m.len())))?;
        map.serialize_entry("kind", self.kind())?;
        for (key, value) in fields.into_iter().flatten() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Reads `kind` first, then hands the rest of the map to the family's own parameters (of the
/// [`Registry::current`] registry), so that errors inside them keep their position in the file.
impl<'de> Deserialize<'de> for ProtocolConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KindFirst(Registry);
        impl<'de> Visitor<'de> for KindFirst {
            type Value = ProtocolConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a map starting with `kind: <{}>`", self.0.kinds().join("|"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProtocolConfig, A::Error> {
                match map.next_key::<String>()?.as_deref() {
                    Some("kind") => {}
                    Some(other) => {
                        return Err(de::Error::custom(format!(
                            "`kind` must be the first field of `protocol` (found `{other}` first)"
                        )));
                    }
                    None => return Err(de::Error::missing_field("kind")),
                }
                let kind: String = map.next_value()?;
                let Some(entry) = self.0.entry(&kind) else {
                    return Err(de::Error::custom(format!(
                        "unknown variant `{kind}`, expected {}",
                        one_of(&self.0.kinds())
                    )));
                };
                let rest = de::value::MapAccessDeserializer::new(map);
                let mut rest = <dyn erased_serde::Deserializer>::erase(rest);
                (entry.read)(&mut rest).map_err(de::Error::custom)
            }
        }
        d.deserialize_map(KindFirst(Registry::current()))
    }
}

/// serde's wording for a list of choices: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
fn one_of(kinds: &[&str]) -> String {
    match kinds {
        [] => "no variants".into(),
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => format!("one of {}", kinds.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_described_parameter_has_a_default_and_every_field_is_described() {
        for family in Registry::builtin().describe() {
            let default = Registry::builtin().default_config(family.kind).unwrap();
            let fields = default.0.fields();
            for (name, shown, _) in &family.params {
                assert_ne!(shown, "-", "{}: `{name}` is not a field of the default configuration", family.kind);
            }
            for (key, value) in fields.as_mapping().unwrap() {
                let key = key.as_str().unwrap();
                let nested: Vec<String> = match value.as_mapping() {
                    Some(m) => m.keys().map(|k| format!("{key}.{}", k.as_str().unwrap())).collect(),
                    None => vec![key.to_string()],
                };
                for path in nested {
                    assert!(
                        family.params.iter().any(|(name, _, _)| *name == path),
                        "{}: `{path}` is not described for `syncsim list`",
                        family.kind
                    );
                }
            }
        }
    }

    #[test]
    fn a_config_serializes_kind_first_and_reads_back_equal() {
        for kind in Registry::builtin().kinds() {
            let config = Registry::builtin().default_config(kind).unwrap();
            let yaml = serde_yaml::to_string(&config).unwrap();
            assert!(yaml.starts_with(&format!("kind: {kind}\n")), "{yaml}");
            let back: ProtocolConfig =
                serde_yaml::with::singleton_map_recursive::deserialize(serde_yaml::Deserializer::from_str(&yaml))
                    .unwrap();
            assert_eq!(back, config, "{yaml}");
        }
    }

    #[test]
    #[should_panic(expected = "two protocol families are called `raft`")]
    fn a_kind_registered_twice_is_refused() {
        let _ = Registry::builtin().with::<RaftNode>();
    }
}
