//! `syncsim lincheck`: reads a history file in any supported format, picks the model, and
//! checks it.

use std::path::Path;

pub use syncsim_reports::lin::Progress;
use syncsim_reports::lin::formats::{EdnHistory, Format, parse_edn, parse_etcd, parse_jsonl};
use syncsim_reports::lin::model::{CasRegister, Counter, KvStore};
use syncsim_reports::lin::{Budget, CheckResult, Operation, PerKey, Verdict, Whole, check_watched};
use syncsim_reports::lin::{Model, Object};

/// The sequential models `lincheck` knows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelName {
    /// Integer registers with read, write and compare-and-set (Jepsen etcd; syncsim put/get/cas).
    Register,
    /// String keys with get, put and append (Porcupine's key-value histories).
    Kv,
    /// Integer counters with incr and read.
    Counter,
}

/// What `lincheck` found, and how it read the file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LincheckReport {
    /// The file's format.
    pub format: &'static str,
    /// The model checked against.
    pub model: &'static str,
    /// Whether keys were checked one at a time.
    pub per_key: bool,
    /// The verdict and its explanation.
    #[serde(flatten)]
    pub result: CheckResult,
}

/// Why a history could not be checked: bad input, exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct LincheckError {
    /// The file.
    pub file: String,
    /// What is wrong (with the line, when one is at fault).
    pub message: String,
}

/// Watches a check: `Err(reason)` stops it (a timeout), and it may show progress.
pub type Watch<'a> = &'a mut dyn FnMut(Progress) -> Result<(), String>;

fn run<O: Object>(
    object: O,
    per_key: bool,
    ops: &[Operation<O::Input, O::Output>],
    budget: Budget,
    watch: Watch,
) -> CheckResult
where
    PerKey<O>: Model<Input = O::Input, Output = O::Output>,
    Whole<O>: Model<Input = O::Input, Output = O::Output>,
{
    if per_key {
        check_watched(&PerKey(object), ops, budget, watch)
    } else {
        check_watched(&Whole(object), ops, budget, watch)
    }
}

/// Checks the history in `path`. `format` and `model` are detected when not given; `watch` is
/// called as the search goes (see [`check_watched`]).
pub fn lincheck(
    path: &Path,
    format: Option<Format>,
    model: Option<ModelName>,
    per_key: bool,
    budget: Budget,
    watch: Watch,
) -> Result<LincheckReport, LincheckError> {
    let file = path.display().to_string();
    let fail = |message: String| LincheckError { file: file.clone(), message };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read the history: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if text.trim().is_empty() {
        return Err(fail("the history is empty".into()));
    }
    let format = format
        .or_else(|| Format::detect(text))
        .ok_or_else(|| fail("cannot tell the format from the first line: give --format jsonl|etcd|edn".into()))?;
    let bad = |e: syncsim_reports::lin::formats::ParseError| fail(format!("{} ({} format)", e, format.name()));
    // A file in which the chosen format finds no operation is bad input, never a verdict.
    let none = |n: usize| {
        if n == 0 { Err(fail(format!("no operation in the history ({} format)", format.name()))) } else { Ok(()) }
    };
    let (model, result) = match (format, model) {
        (Format::Etcd, None | Some(ModelName::Register)) => {
            let ops = parse_etcd(text).map_err(bad)?;
            none(ops.len())?;
            (ModelName::Register, run(CasRegister, per_key, &ops, budget, watch))
        }
        (Format::Edn, model) => match (parse_edn(text).map_err(bad)?, model) {
            (EdnHistory::Kv(ops), None | Some(ModelName::Kv)) => {
                none(ops.len())?;
                (ModelName::Kv, run(KvStore, per_key, &ops, budget, watch))
            }
            (EdnHistory::Register(ops), None | Some(ModelName::Register)) => {
                none(ops.len())?;
                (ModelName::Register, run(CasRegister, per_key, &ops, budget, watch))
            }
            (EdnHistory::Kv(_), Some(m)) => {
                return Err(fail(format!("this EDN history holds key-value operations, not {m:?} ones")));
            }
            (EdnHistory::Register(_), Some(m)) => {
                return Err(fail(format!("this EDN history holds register operations, not {m:?} ones")));
            }
        },
        (Format::Jsonl, model) => {
            let h = parse_jsonl(text).map_err(bad)?;
            match model {
                Some(ModelName::Kv) => {
                    return Err(fail("syncsim histories have no key-value (append) operations".into()));
                }
                Some(ModelName::Register) => {
                    none(h.registers.len())?;
                    (ModelName::Register, run(CasRegister, per_key, &h.registers, budget, watch))
                }
                Some(ModelName::Counter) => {
                    none(h.counters.len())?;
                    (ModelName::Counter, run(Counter, per_key, &h.counters, budget, watch))
                }
                None if !h.registers.is_empty() && !h.counters.is_empty() => {
                    return Err(fail("the history mixes registers and counters: choose one with --model".into()));
                }
                None if !h.counters.is_empty() => {
                    (ModelName::Counter, run(Counter, per_key, &h.counters, budget, watch))
                }
                None => {
                    none(h.registers.len())?;
                    (ModelName::Register, run(CasRegister, per_key, &h.registers, budget, watch))
                }
            }
        }
        (format, Some(model)) => {
            return Err(fail(format!("the {} format holds no {model:?} operations", format.name())));
        }
    };
    let model = match model {
        ModelName::Register => "register",
        ModelName::Kv => "kv",
        ModelName::Counter => "counter",
    };
    Ok(LincheckReport { format: format.name(), model, per_key, result })
}

/// The terminal rendering of a report.
pub fn render(file: &str, r: &LincheckReport, seconds: f64) -> String {
    let c = &r.result;
    let mut s = format!(
        "history: {file} ({} format, {} model, {})\n\
         operations: {} in {} partition(s); {} checked; {} states explored; {:.3}s\n",
        r.format,
        r.model,
        if r.per_key { "per key" } else { "as one object" },
        c.operations,
        c.partitions,
        c.partitions_checked,
        c.states_explored,
        seconds
    );
    match c.verdict {
        Verdict::Linearizable => s.push_str("verdict: LINEARIZABLE\n"),
        Verdict::Unknown => {
            s.push_str(&format!("verdict: UNKNOWN: {}\n", c.unknown_reason.as_deref().unwrap_or("budget exhausted")));
        }
        Verdict::NotLinearizable => {
            s.push_str("verdict: NOT LINEARIZABLE\n");
            if let Some(v) = &c.violation {
                let key =
                    if v.partition.is_empty() { "the history".to_string() } else { format!("key {}", v.partition) };
                s.push_str(&format!(
                    "  {key}: {} operations; the longest linearizable prefix has {}",
                    v.partition_operations,
                    v.prefix.len()
                ));
                let shown = v.prefix.len().min(10);
                if shown < v.prefix.len() {
                    s.push_str(&format!(", ending:\n    ... {} more\n", v.prefix.len() - shown));
                } else {
                    s.push_str(":\n");
                }
                for (i, op) in v.prefix.iter().enumerate().skip(v.prefix.len() - shown) {
                    s.push_str(&format!("    {:>4}. {op}\n", i + 1));
                }
                s.push_str(&format!("  then no order can place: {}\n", v.stuck));
                let time = |t: Option<u64>| t.map_or("never".to_string(), |t| t.to_string());
                s.push_str(&format!("  operations around it ({}):\n", time_unit(r.format)));
                for o in &v.operations {
                    let mark = match (o.stuck, o.linearized) {
                        (true, _) => "  CANNOT PLACE".to_string(),
                        (false, Some(k)) => format!("  (#{k} of the prefix)"),
                        (false, None) => String::new(),
                    };
                    s.push_str(&format!(
                        "    process {:>4}  call {:>12}  return {:>12}  {}{mark}\n",
                        o.client,
                        o.call,
                        time(o.ret),
                        o.op
                    ));
                }
            }
        }
    }
    s
}

/// What the times of a format count.
pub fn time_unit(format: &str) -> &'static str {
    if format == "jsonl" { "times in ns" } else { "times are event numbers in the file" }
}

/// The exit for a verdict: pass when linearizable, safety when not, liveness when unknown.
pub fn exit(v: Verdict) -> syncsim_reports::Exit {
    match v {
        Verdict::Linearizable => syncsim_reports::Exit::Pass,
        Verdict::NotLinearizable => syncsim_reports::Exit::Safety,
        Verdict::Unknown => syncsim_reports::Exit::Liveness,
    }
}
