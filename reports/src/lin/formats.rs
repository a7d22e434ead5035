//! History files the checker reads: syncsim's own `history.jsonl`, Jepsen's etcd logs as
//! Porcupine tests them, and Porcupine's key-value EDN histories. Jepsen and EDN files carry no
//! times: their line order is the order of events, so the line number is the time.

use std::fmt;

use syncsim_sim::{Op, Outcome, Output};

use super::Operation;
use super::edn::{self, Edn};
use super::model::{CounterInput, KvInput, RegisterInput, RegisterOutput};

/// A history file's format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// syncsim's `history.jsonl` (docs/history-format.md).
    Jsonl,
    /// Jepsen log lines `INFO jepsen.util - <process>\t:<type>\t:<f>\t<value>` (a CAS register).
    Etcd,
    /// EDN maps: Porcupine's key-value `{:process 0, :type :invoke, :f :get, :key "1", ...}`
    /// or Knossos's register `[{:process 0, :type :invoke, :f :cas, :value [1 2]} ...]`.
    Edn,
}

impl Format {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Etcd => "etcd",
            Format::Edn => "edn",
        }
    }

    /// Guesses the format from the first line that says anything.
    pub fn detect(text: &str) -> Option<Format> {
        let line = text.lines().map(|l| l.trim_start_matches('\u{feff}').trim()).find(|l| !l.is_empty())?;
        if line.starts_with("{:") || line.starts_with(['[', '(', ';']) {
            Some(Format::Edn)
        } else if line.starts_with('{') {
            Some(Format::Jsonl)
        } else if line.contains("jepsen.util - ") {
            Some(Format::Etcd)
        } else {
            None
        }
    }
}

/// A history that cannot be read, with the line (1-based) at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { line, message: message.into() })
}

/// Operations of a register history.
pub type RegisterOps = Vec<Operation<RegisterInput, RegisterOutput>>;
/// Operations of a key-value history.
pub type KvOps = Vec<Operation<KvInput, String>>;
/// Operations of a counter history.
pub type CounterOps = Vec<Operation<CounterInput, i64>>;

/// Pairs invocations with completions by process: a completion belongs to its process's
/// latest invocation. As in Porcupine, an invocation left without a completion (`:info`, or
/// a process that invokes again) stays pending and completes, unknown, after the end.
struct Pending<I> {
    open: std::collections::BTreeMap<u64, (u64, I)>,
    abandoned: Vec<(u64, u64, I)>,
}

impl<I> Pending<I> {
    fn new() -> Self {
        Pending { open: Default::default(), abandoned: Vec::new() }
    }
    fn invoke(&mut self, process: u64, time: u64, input: I) {
        if let Some((t, i)) = self.open.insert(process, (time, input)) {
            self.abandoned.push((process, t, i));
        }
    }
    fn complete(&mut self, line: usize, process: u64) -> Result<(u64, I), ParseError> {
        self.open.remove(&process).ok_or_else(|| ParseError {
            line,
            message: format!("process {process} completes an operation it never invoked"),
        })
    }
    /// Operations still pending at the end: their outcome is unknown.
    fn rest(self) -> impl Iterator<Item = (u64, u64, I)> {
        self.abandoned.into_iter().chain(self.open.into_iter().map(|(p, (t, i))| (p, t, i)))
    }
}

/// Reads a Jepsen etcd log with Porcupine's semantics: `:fail` CAS operations stay as CAS calls
/// that returned false, `:fail :read :timed-out` reads match any state, and `:info` operations
/// stay pending and complete with an unknown result after the end.
pub fn parse_etcd(text: &str) -> Result<RegisterOps, ParseError> {
    let mut ops = Vec::new();
    let mut pending = Pending::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let Some((_, rest)) = raw.split_once("jepsen.util - ") else {
            // Other log lines are skipped, but not an operation whose prefix is mangled.
            if looks_like_operation(raw) {
                return err(line, "this looks like an operation but lacks the `jepsen.util - ` prefix");
            }
            continue;
        };
        // Fields are separated by tabs, or in some logs by runs of spaces; the value (`[1 2]`)
        // may itself hold a space.
        let Some((process, kind, f, value)) = jepsen_fields(rest) else {
            return err(line, format!("expected `<process> :<type> :<f> <value>`, got `{rest}`"));
        };
        let process: u64 = process
            .parse()
            .map_err(|_| ParseError { line, message: format!("`{process}` is not a process number") })?;
        let time = line as u64;
        let int = |s: &str| -> Result<i64, ParseError> {
            s.parse().map_err(|_| ParseError { line, message: format!("`{s}` is not an integer") })
        };
        let pair = |s: &str| -> Result<(i64, i64), ParseError> {
            let inner = s.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
            match inner.map(|s| s.split_whitespace().collect::<Vec<_>>()).as_deref() {
                Some([a, b]) => Ok((int(a)?, int(b)?)),
                _ => err(line, format!("`{s}` is not a CAS pair `[from to]`")),
            }
        };
        match (kind, f) {
            (":invoke", ":read") => pending.invoke(process, time, RegisterInput::Read { key: 0 }),
            (":invoke", ":write") => pending.invoke(process, time, RegisterInput::Write { key: 0, value: int(value)? }),
            (":invoke", ":cas") => {
                let (expect, new) = pair(value)?;
                pending.invoke(process, time, RegisterInput::Cas { key: 0, expect, new })
            }
            (":ok", _) => {
                let (call, input) = pending.complete(line, process)?;
                let invoked = match input {
                    RegisterInput::Read { .. } => ":read",
                    RegisterInput::Write { .. } => ":write",
                    RegisterInput::Cas { .. } => ":cas",
                };
                if f != invoked {
                    return err(line, format!("process {process} completes `{f}` but invoked `{invoked}`"));
                }
                let output = match &input {
                    RegisterInput::Read { .. } if value == "nil" => RegisterOutput::Value(None),
                    RegisterInput::Read { .. } => RegisterOutput::Value(Some(int(value)?)),
                    RegisterInput::Write { .. } => RegisterOutput::Written,
                    RegisterInput::Cas { .. } => RegisterOutput::Swapped(true),
                };
                ops.push(Operation { client: process, call, ret: Some(time), input, output: Some(output) });
            }
            (":fail", _) => {
                let (call, input) = pending.complete(line, process)?;
                match input {
                    RegisterInput::Cas { .. } => ops.push(Operation {
                        client: process,
                        call,
                        ret: Some(time),
                        input,
                        output: Some(RegisterOutput::Swapped(false)),
                    }),
                    // A failed read returned nothing: it matches any state.
                    RegisterInput::Read { .. } => {
                        ops.push(Operation { client: process, call, ret: Some(time), input, output: None })
                    }
                    // Porcupine has no rule for a failed write: it stays pending, like `:info`.
                    RegisterInput::Write { .. } => pending.invoke(process, call, input),
                }
            }
            // Crashed or timed out: still pending, completed after the end.
            (":info", _) => {}
            _ => return err(line, format!("unknown event `{kind} {f}`")),
        }
    }
    ops.extend(pending.rest().map(|(client, call, input)| Operation { client, call, ret: None, input, output: None }));
    Ok(ops)
}

/// True for a line holding `<process> :<type> :<f>` somewhere, as Jepsen logs operations.
fn looks_like_operation(line: &str) -> bool {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    tokens.windows(3).any(|w| {
        w[0].parse::<u64>().is_ok()
            && matches!(w[1], ":invoke" | ":ok" | ":fail" | ":info")
            && matches!(w[2], ":read" | ":write" | ":cas")
    })
}

/// Splits `<process> :<type> :<f> <value>` on runs of whitespace; the value is the rest.
fn jepsen_fields(s: &str) -> Option<(&str, &str, &str, &str)> {
    let mut rest = s.trim();
    let mut token = || {
        let end = rest.find(char::is_whitespace)?;
        let (tok, tail) = rest.split_at(end);
        rest = tail.trim_start();
        Some(tok)
    };
    let (process, kind, f) = (token()?, token()?, token()?);
    (!rest.is_empty()).then_some((process, kind, f, rest))
}

/// The operations of an EDN history, which holds either model's.
#[derive(Clone, Debug, PartialEq)]
pub enum EdnHistory {
    /// Porcupine's key-value operations (get, put, append on string keys).
    Kv(KvOps),
    /// Knossos's register operations (read, write, cas on one register).
    Register(RegisterOps),
}

/// Reads an EDN history (see [`edn`]): Porcupine's key-value maps, or Knossos's register
/// maps (`{:process 0, :type :invoke, :f :cas, :value [1 2]}`), told apart by the first
/// operation's `:f`. Operations of processes that are keywords (`:nemesis`) are not client
/// operations and are skipped.
pub fn parse_edn(text: &str) -> Result<EdnHistory, ParseError> {
    let maps = edn::history(text)?;
    let first = maps.iter().find_map(|(_, m)| match (m.get("process"), m.get("f")) {
        (Some(Edn::Int(_)), Some(Edn::Keyword(f))) => Some(f.as_str()),
        _ => None,
    });
    match first {
        Some("read" | "write" | "cas") => parse_register_maps(&maps).map(EdnHistory::Register),
        Some(_) => parse_kv_maps(&maps).map(EdnHistory::Kv),
        None => err(1, "no client operation (a map with an integer `:process` and an `:f`) in the history"),
    }
}

/// Reads Porcupine's key-value EDN history: invocations and completions of get, put and append.
pub fn parse_kv_edn(text: &str) -> Result<KvOps, ParseError> {
    match parse_edn(text)? {
        EdnHistory::Kv(ops) => Ok(ops),
        EdnHistory::Register(_) => err(1, "a register history (read, write, cas), not key-value operations"),
    }
}

/// A client operation's process, type and line, or `None` for a map of another process
/// (`:process :nemesis`).
fn event(line: usize, m: &Edn) -> Result<Option<(u64, &str)>, ParseError> {
    let process = match m.get("process") {
        Some(Edn::Int(p)) if *p >= 0 => *p as u64,
        Some(Edn::Keyword(_)) => return Ok(None),
        _ => return err(line, "`:process` must be a non-negative integer (or a keyword such as :nemesis)"),
    };
    let Some(Edn::Keyword(kind)) = m.get("type") else { return err(line, "`:type` must be a keyword") };
    Ok(Some((process, kind.as_str())))
}

fn parse_kv_maps(maps: &[(usize, Edn)]) -> Result<KvOps, ParseError> {
    let mut ops = Vec::new();
    let mut pending = Pending::new();
    for (time, (line, m)) in maps.iter().enumerate() {
        let (line, time) = (*line, time as u64 + 1);
        let Some((process, kind)) = event(line, m)? else { continue };
        match kind {
            "invoke" => {
                let Some(Edn::Keyword(f)) = m.get("f") else { return err(line, "`:f` must be a keyword") };
                let Some(Edn::Str(key)) = m.get("key") else { return err(line, "`:key` must be a string") };
                let value = || match m.get("value") {
                    Some(Edn::Str(v)) => Ok(v.clone()),
                    _ => err(line, "`:value` must be a string"),
                };
                let input = match f.as_str() {
                    "get" => KvInput::Get(key.clone()),
                    "put" => KvInput::Put(key.clone(), value()?),
                    "append" => KvInput::Append(key.clone(), value()?),
                    other => return err(line, format!("unknown operation `:{other}` (get, put, append)")),
                };
                pending.invoke(process, time, input);
            }
            "ok" => {
                let (call, input) = pending.complete(line, process)?;
                let output = match (&input, m.get("value")) {
                    (KvInput::Get(_), Some(Edn::Str(v))) => Some(v.clone()),
                    (KvInput::Get(_), Some(Edn::Nil) | None) => Some(String::new()),
                    (KvInput::Get(_), Some(_)) => return err(line, "a get returns a string"),
                    // What put and append return is not checked.
                    _ => None,
                };
                ops.push(Operation { client: process, call, ret: Some(time), input, output });
            }
            "fail" => {
                pending.complete(line, process)?;
            }
            "info" => {}
            other => return err(line, format!("unknown `:type :{other}` (invoke, ok, fail, info)")),
        }
    }
    ops.extend(pending.rest().map(|(client, call, input)| Operation { client, call, ret: None, input, output: None }));
    Ok(ops)
}

/// Reads Knossos's register history with Knossos's semantics: `:fail` operations did not take
/// effect and are dropped, `:info` ones (and invocations never completed) may take effect at
/// any time after their call; the register starts as `nil`.
fn parse_register_maps(maps: &[(usize, Edn)]) -> Result<RegisterOps, ParseError> {
    let mut ops = Vec::new();
    let mut pending = Pending::new();
    for (time, (line, m)) in maps.iter().enumerate() {
        let (line, time) = (*line, time as u64 + 1);
        let Some((process, kind)) = event(line, m)? else { continue };
        let Some(Edn::Keyword(f)) = m.get("f") else { return err(line, "`:f` must be a keyword") };
        let value = m.get("value");
        let int = |v: Option<&Edn>| match v {
            Some(Edn::Int(n)) => Ok(*n),
            other => err(line, format!("expected an integer `:value`, found {other:?}")),
        };
        match kind {
            "invoke" => {
                let input = match f.as_str() {
                    "read" => RegisterInput::Read { key: 0 },
                    "write" => RegisterInput::Write { key: 0, value: int(value)? },
                    "cas" => match value {
                        Some(Edn::Seq(pair)) if pair.len() == 2 => {
                            RegisterInput::Cas { key: 0, expect: int(pair.first())?, new: int(pair.get(1))? }
                        }
                        other => return err(line, format!("a cas takes `:value [old new]`, not {other:?}")),
                    },
                    other => return err(line, format!("unknown operation `:{other}` (read, write, cas)")),
                };
                pending.invoke(process, time, input);
            }
            "ok" | "fail" => {
                let (call, input) = pending.complete(line, process)?;
                let invoked = match input {
                    RegisterInput::Read { .. } => "read",
                    RegisterInput::Write { .. } => "write",
                    RegisterInput::Cas { .. } => "cas",
                };
                if f != invoked {
                    return err(line, format!("process {process} completes `:{f}` but invoked `:{invoked}`"));
                }
                if kind == "fail" {
                    continue;
                }
                let output = match input {
                    RegisterInput::Read { .. } => match value {
                        Some(Edn::Nil) | None => RegisterOutput::Value(None),
                        v => RegisterOutput::Value(Some(int(v)?)),
                    },
                    RegisterInput::Write { .. } => RegisterOutput::Written,
                    RegisterInput::Cas { .. } => RegisterOutput::Swapped(true),
                };
                ops.push(Operation { client: process, call, ret: Some(time), input, output: Some(output) });
            }
            "info" => {}
            other => return err(line, format!("unknown `:type :{other}` (invoke, ok, fail, info)")),
        }
    }
    ops.extend(pending.rest().map(|(client, call, input)| Operation { client, call, ret: None, input, output: None }));
    Ok(ops)
}

/// A syncsim history, split by the model its operations need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncsimHistory {
    /// put, get and cas operations (registers).
    pub registers: RegisterOps,
    /// incr and read operations (counters).
    pub counters: CounterOps,
    /// Operations that may have taken effect but no model here covers (decr, sets, sequences).
    pub uncovered: usize,
}

/// Reads syncsim's `history.jsonl` into the engine's operations and outcomes, then into model
/// operations (the same conversion a run's own history gets).
pub fn parse_jsonl(text: &str) -> Result<SyncsimHistory, ParseError> {
    #[derive(serde::Deserialize)]
    struct Line {
        #[serde(default)]
        id: Option<u64>,
        client: u64,
        f: String,
        key: u64,
        #[serde(default)]
        arg: Option<u64>,
        #[serde(default)]
        expect: Option<u64>,
        call_ns: u64,
        #[serde(default)]
        return_ns: Option<u64>,
        outcome: String,
        #[serde(default)]
        result: Option<serde_json::Value>,
    }
    let mut ops = Vec::new();
    let mut ids = std::collections::BTreeMap::new();
    // Per counter, the most its value could reach: it must fit the model's 64-bit integers.
    let mut reach: std::collections::BTreeMap<u64, i64> = std::collections::BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |message: String| ParseError { line, message };
        let l: Line = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
        if let Some(id) = l.id
            && let Some(first) = ids.insert(id, line)
        {
            return err(line, format!("operation id {id} appears twice (first on line {first})"));
        }
        if let Some(ret) = l.return_ns
            && ret < l.call_ns
        {
            return err(line, format!("it returns at {ret} ns, before its call at {} ns", l.call_ns));
        }
        for (name, v) in [("arg", l.arg), ("expect", l.expect)] {
            if v.is_some_and(|v| v > i64::MAX as u64) {
                return err(line, format!("`{name}` {} does not fit a 64-bit signed integer", v.unwrap_or(0)));
            }
        }
        if l.f == "incr" {
            let by = l.arg.unwrap_or(0) as i64;
            let sum = reach.entry(l.key).or_default();
            *sum = sum
                .checked_add(by)
                .ok_or_else(|| bad(format!("the increments of counter {} overflow a 64-bit signed integer", l.key)))?;
        }
        let arg = |name: &str, v: Option<u64>| v.ok_or_else(|| bad(format!("`{}` needs `{name}`", l.f)));
        let key = l.key;
        let op = match l.f.as_str() {
            "put" => Op::Put { key, value: arg("arg", l.arg)? },
            "get" => Op::Get { key },
            "cas" => Op::Cas { key, expect: arg("expect", l.expect)?, new: arg("arg", l.arg)? },
            "incr" => Op::Incr { key, by: arg("arg", l.arg)? },
            "read" => Op::Read { key },
            "add" | "remove" => return err(line, "there is no linearizability model for sets yet"),
            "insert" | "delete" => return err(line, "there is no linearizability model for sequences yet"),
            "decr" => return err(line, "there is no linearizability model for counters with decrements yet"),
            other => return err(line, format!("unknown operation `{other}`")),
        };
        let outcome = match l.outcome.as_str() {
            "ok" => {
                let ret = l.return_ns.ok_or_else(|| bad("an `ok` operation needs `return_ns`".into()))?;
                let int =
                    |v: &serde_json::Value| v.as_i64().ok_or_else(|| bad(format!("`{v}` is not an integer result")));
                let output = match (&op, &l.result) {
                    (Op::Get { .. }, None | Some(serde_json::Value::Null)) => Output::Value(None),
                    (Op::Get { .. }, Some(v)) => Output::Value(Some(int(v)? as u64)),
                    (Op::Read { .. }, Some(v)) => Output::Count(int(v)?),
                    (Op::Read { .. }, None) => return err(line, "a read returns a count"),
                    (Op::Cas { .. }, Some(serde_json::Value::Bool(b))) => Output::Swapped(*b),
                    (Op::Cas { .. }, _) => return err(line, "a cas result is true or false"),
                    _ => Output::Done,
                };
                (Some(ret), Outcome::Ok(output))
            }
            "failed" => (l.return_ns, Outcome::Failed(String::new())),
            "unknown" => (None, Outcome::Unknown),
            other => return err(line, format!("unknown outcome `{other}` (ok, failed, unknown)")),
        };
        ops.push((l.client, l.call_ns, outcome.0, op, outcome.1));
    }
    Ok(from_ops(ops.iter().map(|(c, call, ret, op, out)| (*c, *call, *ret, op, out))))
}

/// Converts syncsim operations (client, call, return, operation, outcome) into model
/// operations: failed ones did not happen and are left out; unknown ones may take effect any
/// time after their call.
pub fn from_ops<'a>(ops: impl IntoIterator<Item = (u64, u64, Option<u64>, &'a Op, &'a Outcome)>) -> SyncsimHistory {
    let mut h = SyncsimHistory::default();
    for (client, call, ret, op, outcome) in ops {
        let (ret, known) = match outcome {
            Outcome::Ok(out) => (ret, Some(out)),
            Outcome::Failed(_) => continue,
            Outcome::Unknown | Outcome::Pending => (None, None),
        };
        let int = |v: u64| v as i64;
        match *op {
            Op::Put { key, value } => h.registers.push(Operation {
                client,
                call,
                ret,
                input: RegisterInput::Write { key, value: int(value) },
                output: known.map(|_| RegisterOutput::Written),
            }),
            Op::Get { key } => h.registers.push(Operation {
                client,
                call,
                ret,
                input: RegisterInput::Read { key },
                output: match known {
                    Some(Output::Value(v)) => Some(RegisterOutput::Value(v.map(int))),
                    _ => None,
                },
            }),
            Op::Cas { key, expect, new } => h.registers.push(Operation {
                client,
                call,
                ret,
                input: RegisterInput::Cas { key, expect: int(expect), new: int(new) },
                output: match known {
                    Some(Output::Swapped(b)) => Some(RegisterOutput::Swapped(*b)),
                    _ => None,
                },
            }),
            Op::Incr { key, by } => h.counters.push(Operation {
                client,
                call,
                ret,
                input: CounterInput::Incr { key, by: int(by) },
                output: None,
            }),
            Op::Read { key } => h.counters.push(Operation {
                client,
                call,
                ret,
                input: CounterInput::Read { key },
                output: match known {
                    Some(Output::Count(c)) => Some(*c),
                    _ => None,
                },
            }),
            // Counters with decrements, sets and sequences have no model here yet.
            Op::Decr { .. } | Op::Add { .. } | Op::Remove { .. } | Op::Insert { .. } | Op::Delete { .. } => {
                h.uncovered += 1;
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_lines_follow_porcupines_semantics() {
        let log = "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\n\
                   INFO  jepsen.util - 1\t:invoke\t:write\t4\n\
                   INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
                   INFO  jepsen.util - 0\t:fail\t:cas\t[1 2]\n\
                   INFO  jepsen.util - 1\t:info\t:write\t:timed-out\n\
                   INFO  jepsen.util - 2\t:fail\t:read\t:timed-out\n";
        let ops = parse_etcd(log).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].output, Some(RegisterOutput::Swapped(false)), "a failed CAS stays, as false");
        assert_eq!((ops[1].ret, ops[1].output.clone()), (Some(6), None), "a timed-out read matches anything");
        assert_eq!((ops[2].ret, ops[2].output.clone()), (None, None), "an :info write stays pending");
    }

    #[test]
    fn edn_maps_pair_by_process() {
        let text = "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
                    {:process 1, :type :invoke, :f :get, :key \"4\", :value nil}\n\
                    {:process 0, :type :ok, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
                    {:process 1, :type :ok, :f :get, :key \"4\", :value \"x 0 1 y\"}\n";
        let ops = parse_kv_edn(text).unwrap();
        assert_eq!(ops[0].input, KvInput::Append("4".into(), "x 0 1 y".into()));
        assert_eq!((ops[0].call, ops[0].ret), (1, Some(3)));
        assert_eq!(ops[1].output, Some("x 0 1 y".into()));
        assert_eq!(parse_kv_edn("{:process 0 :type}").unwrap_err().line, 1);
    }

    #[test]
    fn formats_are_detected_from_the_first_line() {
        assert_eq!(Format::detect("\n{:process 0}"), Some(Format::Edn));
        assert_eq!(Format::detect("{\"id\":0}"), Some(Format::Jsonl));
        assert_eq!(Format::detect("INFO  jepsen.util - 0\t:invoke"), Some(Format::Etcd));
        assert_eq!(Format::detect("hello"), None);
    }

    #[test]
    fn syncsim_histories_drop_failed_operations_and_keep_unknown_ones_open() {
        let text = r#"{"id":0,"client":2,"node":"n1","f":"put","key":3,"arg":9,"call_ns":10,"return_ns":20,"outcome":"ok"}
{"id":1,"client":2,"node":"n0","f":"get","key":3,"call_ns":30,"return_ns":40,"outcome":"ok","result":9}
{"id":2,"client":1,"node":"n0","f":"put","key":3,"arg":4,"call_ns":50,"return_ns":55,"outcome":"failed","result":"node down"}
{"id":3,"client":1,"node":"n0","f":"cas","key":3,"expect":9,"arg":5,"call_ns":60,"outcome":"unknown"}"#;
        let h = parse_jsonl(text).unwrap();
        assert_eq!(h.registers.len(), 3);
        assert_eq!(h.registers[1].output, Some(RegisterOutput::Value(Some(9))));
        assert_eq!((h.registers[2].ret, h.registers[2].output.clone()), (None, None));
        assert!(parse_jsonl("{\"nope\": 1}").unwrap_err().message.contains("missing field"));
        let backwards = r#"{"client":1,"f":"get","key":3,"call_ns":50,"return_ns":40,"outcome":"ok","result":9}"#;
        assert!(parse_jsonl(backwards).unwrap_err().message.contains("before its call"));
    }
}
