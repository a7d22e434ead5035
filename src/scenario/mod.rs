//! Scenario files: reading, checking and resolving them into what the engine runs.
//!
//! A scenario is read in three steps. The YAML is indexed for positions ([`locate`]);
//! deserialized into the file's model ([`raw`]), with every unknown field and malformed value
//! rejected; then resolved ([`resolve`]) into the engine's configuration, with every impossible
//! value rejected. Each error names the file, the line and column, and the field.

pub mod error;
pub mod locate;
pub mod raw;
pub mod resolve;
pub mod swarm;
pub mod trace;

use std::path::Path;

use serde::Deserialize;
use syncsim_reports::expect::Expectation;
use syncsim_sim::SimConfig;

use crate::registry::{ProtocolConfig, Registry};

pub use error::ScenarioError;
use locate::{Locations, Position};
pub use raw::RawScenario;

/// Largest scenario file accepted.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// A scenario file as read: one scenario, or a scenario listing `variants:` (the same
/// workload and faults under several protocols or networks), which runs as each of its variants and never
/// as itself. Commands that take a file read it as this; code that runs one scenario takes a
/// [`Scenario`], so nothing outside this module asks whether a file has variants.
#[derive(Clone, Debug)]
pub enum ScenarioFile {
    /// A file without variants.
    One(Box<Scenario>),
    /// A file with `variants:`.
    Variants(Variants),
}

/// A scenario file's variants, each a scenario of its own.
#[derive(Clone, Debug)]
pub struct Variants {
    /// The file as given.
    pub file: String,
    /// The file as parsed, its `variants:` list included (for the banner).
    pub raw: Box<RawScenario>,
    /// The variants, in the file's order, each ready to run.
    pub runs: Vec<Scenario>,
}

/// A checked scenario, ready to run under any seed.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file as given (or a label for text that came from elsewhere).
    pub file: String,
    /// The file's contents as parsed, every default filled in.
    pub raw: RawScenario,
    /// Node names, indexed by node id.
    pub node_names: Vec<String>,
    /// The engine configuration, with the file's seed.
    pub sim: SimConfig,
    /// The expectations to judge.
    pub expectations: Vec<Expectation>,
    /// The variant this scenario is, when it came from a scenario's `variants:` list.
    pub variant: Option<String>,
    /// For a scenario drawn from a swarm by [`Scenario::for_seed`]: what the seed drew.
    pub swarm_draw: Option<String>,
    /// The protocol families the scenario was read with (and any scenario derived from it,
    /// such as a shrunk one, is read with).
    pub registry: Registry,
}

impl ScenarioFile {
    /// Reads and checks the scenario file at `path`, with the [current](Registry::current)
    /// protocol families.
    pub fn load(path: &Path) -> Result<ScenarioFile, ScenarioError> {
        ScenarioFile::load_with(path, &Registry::current())
    }

    /// Reads and checks the scenario file at `path`, with the families of `registry`.
    pub fn load_with(path: &Path, registry: &Registry) -> Result<ScenarioFile, ScenarioError> {
        let file = path.display().to_string();
        let fail = |message: String| ScenarioError { file: file.clone(), position: None, field: None, message };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read the scenario: {e}")))?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail(format!("the file is {} bytes; scenarios are limited to {MAX_FILE_BYTES}", meta.len())));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read the scenario: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| fail(format!("the file is not UTF-8 text: {e}")))?;
        ScenarioFile::parse_with(&text, &file, registry)
    }

    /// Checks scenario `text`, with the [current](Registry::current) protocol families; `file`
    /// names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<ScenarioFile, ScenarioError> {
        ScenarioFile::parse_with(text, file, &Registry::current())
    }

    /// Checks scenario `text`, with the families of `registry`; `file` names it in errors.
    pub fn parse_with(text: &str, file: &str, registry: &Registry) -> Result<ScenarioFile, ScenarioError> {
        let at = |position: Option<Position>, field: Option<String>, message: String| ScenarioError {
            file: file.to_string(),
            position,
            field,
            message,
        };
        let locations =
            Locations::index(text).map_err(|(pos, msg)| at(Some(pos), None, format!("YAML syntax error: {msg}")))?;
        if text.trim().is_empty() {
            return Err(at(None, None, "the file is empty".into()));
        }
        let de = serde_yaml::Deserializer::from_str(text);
        let mut raw: RawScenario = registry
            .scoped(|| serde_path_to_error::deserialize::<_, EnumsAsMaps<RawScenario>>(de))
            .map(|r| r.0)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let fallback = inner.location().map(|l| Position { line: l.line(), column: l.column() });
                let message = clean_message(&inner.to_string(), &path);
                let path = if path == "." { String::new() } else { path };
                let position = locations.find(&path).filter(|_| !path.is_empty()).or(fallback);
                at(position, Some(path), message)
            })?;
        // A trace is read relative to the scenario's folder.
        raw.workload.base = Some(Path::new(file).parent().map(Path::to_path_buf).unwrap_or_default());
        let resolved = resolve::resolve(&raw).map_err(|e| {
            let position = locations.find(&e.path);
            at(position, Some(e.path), e.message)
        })?;
        let mut variants = Vec::new();
        for (i, v) in raw.variants.iter().enumerate() {
            let mut names = raw.variants[..i].iter().map(|w| &w.name);
            let problem = if !resolve::valid_name(&v.name) || v.name.starts_with('.') {
                Some(format!(
                    "`{}` is not a valid variant name: letters, digits, `-`, `_` and `.`, not starting with `.`",
                    v.name
                ))
            } else if names.any(|n| *n == v.name) {
                Some(format!("two variants are called `{}`", v.name))
            } else if raw.experiment.is_some() {
                Some("a scenario runs either an experiment or variants, not both".into())
            } else if v.protocol.is_none() && v.network.is_none() && v.autoscale.is_none() {
                Some(format!(
                    "variant `{}` changes nothing: give it a `protocol`, a `network` or an `autoscale`",
                    v.name
                ))
            } else if v.autoscale == Some(raw::RawAutoscaleChoice::Off(true)) {
                Some(format!("variant `{}`: `autoscale: true` says nothing; give its settings, or `false`", v.name))
            } else {
                None
            };
            if let Some(message) = problem {
                let path = format!("variants[{i}].name");
                return Err(at(locations.find(&path), Some(path), message));
            }
            let mut one = raw.clone();
            if let Some(protocol) = &v.protocol {
                one.protocol = protocol.clone();
            }
            if let Some(network) = &v.network {
                one.network = network.clone();
            }
            match &v.autoscale {
                None => {}
                Some(raw::RawAutoscaleChoice::Off(_)) => one.autoscale = None,
                Some(raw::RawAutoscaleChoice::On(a)) => one.autoscale = Some(a.clone()),
            }
            one.variants.clear();
            let resolved = resolve::resolve(&one).map_err(|e| {
                // Protocol errors point into the variant; others are the shared parts' fault
                // under this variant's protocol.
                let own = |part: &str| {
                    e.path.strip_prefix(part).filter(|_| match part {
                        "protocol" => v.protocol.is_some(),
                        _ => v.network.is_some(),
                    })
                };
                let (path, message) = match (own("protocol"), own("network")) {
                    (Some(rest), _) => (format!("variants[{i}].protocol{rest}"), e.message.clone()),
                    (_, Some(rest)) => (format!("variants[{i}].network{rest}"), e.message.clone()),
                    _ => (e.path.clone(), format!("under variant `{}`: {}", v.name, e.message)),
                };
                at(locations.find(&path), Some(path), message)
            })?;
            variants.push(Scenario {
                file: file.to_string(),
                node_names: resolved.node_names,
                sim: resolved.sim,
                expectations: resolved.expectations,
                raw: one,
                variant: Some(v.name.clone()),
                swarm_draw: None,
                registry: registry.clone(),
            });
        }
        if !variants.is_empty() {
            return Ok(ScenarioFile::Variants(Variants { file: file.to_string(), raw: Box::new(raw), runs: variants }));
        }
        Ok(ScenarioFile::One(Box::new(Scenario {
            file: file.to_string(),
            node_names: resolved.node_names,
            sim: resolved.sim,
            expectations: resolved.expectations,
            raw,
            variant: None,
            swarm_draw: None,
            registry: registry.clone(),
        })))
    }

    /// The file as given.
    pub fn file(&self) -> &str {
        match self {
            ScenarioFile::One(s) => &s.file,
            ScenarioFile::Variants(v) => &v.file,
        }
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        match self {
            ScenarioFile::One(s) => s.name(),
            ScenarioFile::Variants(v) => &v.raw.name,
        }
    }

    /// What the file runs: each of its variants, or its one scenario.
    pub fn runs(&self) -> &[Scenario] {
        match self {
            ScenarioFile::One(s) => std::slice::from_ref(s),
            ScenarioFile::Variants(v) => &v.runs,
        }
    }

    /// The variant called `name`.
    pub fn variant(&self, name: &str) -> Option<&Scenario> {
        self.runs().iter().find(|v| v.variant.as_deref() == Some(name))
    }

    /// The names of the file's variants, in its order (none for a file without variants).
    pub fn variant_names(&self) -> Vec<&str> {
        self.runs().iter().filter_map(|v| v.variant.as_deref()).collect()
    }

    /// The one run a command asked for: the variant `variant`, or the file's one scenario; a
    /// file with variants needs one named. The message names the file and the variants there are.
    pub fn pick(&self, variant: Option<&str>) -> Result<Scenario, ScenarioError> {
        let names = self.variant_names();
        let fail =
            |message: String| ScenarioError { file: self.file().to_string(), position: None, field: None, message };
        match (self, variant) {
            (ScenarioFile::One(s), None) => Ok((**s).clone()),
            (ScenarioFile::Variants(_), None) => {
                Err(fail(format!("the scenario has variants; name one with --variant ({})", names.join(", "))))
            }
            (_, Some(v)) => self.variant(v).cloned().ok_or_else(|| {
                fail(format!(
                    "no variant `{v}`; the scenario has: {}",
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                ))
            }),
        }
    }
}

impl Variants {
    /// Every parameter of the file as written, its variants included, as YAML for the banner.
    pub fn parameters_yaml(&self) -> String {
        yaml_of(&self.raw)
    }
}

impl Scenario {
    /// Reads and checks the scenario file at `path`, which must be one scenario (a file with
    /// `variants:` is read with [`ScenarioFile::load`]), with the [current](Registry::current)
    /// protocol families.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        ScenarioFile::load(path)?.pick(None)
    }

    /// [`Scenario::load`] with the families of `registry`.
    pub fn load_with(path: &Path, registry: &Registry) -> Result<Scenario, ScenarioError> {
        ScenarioFile::load_with(path, registry)?.pick(None)
    }

    /// Checks scenario `text`, which must be one scenario, with the [current](Registry::current)
    /// protocol families; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        ScenarioFile::parse(text, file)?.pick(None)
    }

    /// [`Scenario::parse`] with the families of `registry`.
    pub fn parse_with(text: &str, file: &str, registry: &Registry) -> Result<Scenario, ScenarioError> {
        ScenarioFile::parse_with(text, file, registry)?.pick(None)
    }

    /// The scenario as `seed` runs it: itself, or, under `random_faults: swarm`, with the fault
    /// kinds and workload shape the seed draws made concrete (see [`swarm`]).
    pub fn for_seed(&self, seed: u64) -> Result<std::borrow::Cow<'_, Scenario>, ScenarioError> {
        let Some((raw, said)) = swarm::draw(&self.raw, seed) else { return Ok(std::borrow::Cow::Borrowed(self)) };
        let resolved = resolve::resolve(&raw).map_err(|e| ScenarioError {
            file: self.file.clone(),
            position: None,
            field: Some(e.path),
            message: format!("the swarm's draw for seed {seed} ({said}) is not a valid scenario: {}", e.message),
        })?;
        Ok(std::borrow::Cow::Owned(Scenario {
            file: self.file.clone(),
            node_names: resolved.node_names,
            sim: resolved.sim,
            expectations: resolved.expectations,
            raw,
            variant: self.variant.clone(),
            swarm_draw: Some(said),
            registry: self.registry.clone(),
        }))
    }

    /// The scenario's name, with `/variant` for a variant: how sweeps, checks and output
    /// folders name it.
    pub fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{v}", self.name()),
            None => self.name().to_string(),
        }
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.raw.name
    }

    /// The protocol and its parameters.
    pub fn protocol(&self) -> &ProtocolConfig {
        &self.raw.protocol
    }

    /// Every resolved parameter as JSON, for reports.
    pub fn parameters(&self) -> serde_json::Value {
        serde_json::to_value(&self.raw).expect("scenarios serialize")
    }

    /// Every resolved parameter as YAML, for the banner.
    pub fn parameters_yaml(&self) -> String {
        yaml_of(&self.raw)
    }

    /// What one run will cost, estimated before it starts (reading refused what cannot fit).
    pub fn cost(&self) -> syncsim_sim::Cost {
        syncsim_sim::Cost::estimate(&self.sim, &self.protocol().load(self.node_names.len()))
    }
}

/// A parsed file as YAML, enums as single-key maps the way they are written.
fn yaml_of(raw: &RawScenario) -> String {
    let mut out = Vec::new();
    let mut ser = serde_yaml::Serializer::new(&mut out);
    serde_yaml::with::singleton_map_recursive::serialize(raw, &mut ser).expect("scenarios serialize");
    String::from_utf8(out).expect("YAML is UTF-8")
}

/// Reads enums as single-key maps (`{ lognormal: { median: 2ms, p99: 20ms } }`), the way
/// people write YAML, instead of serde_yaml's `!tags`.
struct EnumsAsMaps<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for EnumsAsMaps<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_yaml::with::singleton_map_recursive::deserialize(d).map(EnumsAsMaps)
    }
}

/// serde_yaml's message without the path prefix and position suffix we print ourselves.
/// (serde_yaml's own path can stop short of ours, e.g. `network: ...` for `network.loss`.)
fn clean_message(message: &str, path: &str) -> String {
    let mut m = message.to_string();
    if let Some((prefix, rest)) = m.split_once(": ")
        && !prefix.is_empty()
        && (path == prefix || path.starts_with(&format!("{prefix}.")) || path.starts_with(&format!("{prefix}[")))
    {
        m = rest.to_string();
    }
    if let Some(i) = m.rfind(" at line ")
        && m[i..].split_whitespace().nth(2).is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
    {
        m.truncate(i);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name: t\nduration: 1s\nnodes: 3\nprotocol: { kind: gossip }\n";

    fn err(text: &str) -> ScenarioError {
        Scenario::parse(text, "t.yaml").unwrap_err()
    }

    #[test]
    fn a_minimal_scenario_takes_every_default() {
        let s = Scenario::parse(MINIMAL, "t.yaml").unwrap();
        assert_eq!(s.node_names, vec!["n0", "n1", "n2"]);
        assert_eq!(s.sim.settle, syncsim_sim::SimDuration::from_secs(5));
        let yaml = s.parameters_yaml();
        assert!(yaml.contains("interval: 100ms"), "{yaml}");
        assert!(yaml.contains("constant: 1ms"), "{yaml}");
    }

    #[test]
    fn errors_name_file_line_column_and_field() {
        let e = err(&format!("{MINIMAL}faults:\n  - {{ at: 1s, crash: n7 }}\n"));
        assert_eq!(e.field.as_deref(), Some("faults[0].crash"));
        assert_eq!(e.position, Some(Position { line: 6, column: 22 }));
        assert!(e.message.contains("unknown node `n7`"), "{}", e.message);
        assert!(e.to_string().starts_with("t.yaml:6:22: faults[0].crash: unknown node"), "{e}");
    }

    #[test]
    fn values_rejected_by_unit_parsers_are_located() {
        let e = err(&format!("{MINIMAL}network:\n  loss: 150%\n"));
        assert_eq!(e.field.as_deref(), Some("network.loss"));
        assert_eq!(e.position.map(|p| p.line), Some(6));
        assert!(e.message.contains("between 0 and 1"), "{}", e.message);
    }

    #[test]
    fn protocol_errors_keep_their_position() {
        let e = err("name: t\nduration: 1s\nnodes: 3\nprotocol:\n  kind: gossip\n  fanout: 0\n");
        assert_eq!(e.field.as_deref(), Some("protocol.fanout"));
        assert_eq!(e.position.map(|p| p.line), Some(6));
        let e = err("name: t\nduration: 1s\nnodes: 3\nprotocol:\n  kind: gossip\n  fanuot: 2\n");
        assert_eq!(e.field.as_deref(), Some("protocol.fanuot"));
        assert!(e.message.contains("unknown field `fanuot`"), "{}", e.message);
    }

    #[test]
    fn node_ranges_expand_and_bad_ranges_are_rejected() {
        let with = |partition: &str| format!("{MINIMAL}faults:\n  - {{ at: 1s, partition: {partition} }}\n");
        let s = Scenario::parse(&with("[[n0..n1], [n2]]"), "t.yaml").unwrap();
        let syncsim_sim::fault::Fault::Partition(groups) = &s.sim.faults[0].fault else { panic!() };
        assert_eq!(groups[0].len(), 2);
        for (bad, fragment) in [
            ("[[n0..n5], [n2]]", "unknown node `n5`"),
            ("[[n2..n0], [n1]]", "not a node range"),
            ("[[n0..x1], [n2]]", "not a node range"),
            ("[[n0..n1], [n1]]", "must not overlap"),
        ] {
            let e = err(&with(bad));
            assert!(e.message.contains(fragment), "{bad}: {}", e.message);
            assert_eq!(e.position.map(|p| p.line), Some(6), "{bad}");
        }
    }
}
