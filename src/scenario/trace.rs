//! Trace replay: a workload read from a file of timestamped operations, so that users can bring
//! their production access pattern (`workload: { trace: ops.csv }`).
//!
//! Two formats, chosen by the file's extension:
//! - **CSV** (`.csv`) with a header row naming the columns `at`, `node`, `op`, `key` and,
//!   where the operation needs them, `value` and `pos`;
//! - **JSON lines** (`.jsonl`, `.ndjson`): one object per line with the same fields.
//!
//! `at` is a duration from the start (`1.5s`, `250ms`) or a plain number of seconds; `node`
//! a node's name; `op` one of the operations (`put`, `get`, `incr`, `decr`, `read`, `add`,
//! `remove`, `insert`, `delete`). `value` is a put's value, an increment's amount (1 if left
//! out), or the element added, removed or inserted; `pos` a sequence position. Each operation is
//! issued at its time by a client of its own, as scripted operations are.

use std::path::Path;

use serde::Deserialize;
use syncsim_sim::workload::ScriptedOp;
use syncsim_sim::{Op, SimDuration, SimTime};

/// The most operations a trace may hold.
pub const MAX_TRACE_OPS: usize = 2_000_000;
/// The largest trace file read.
const MAX_TRACE_BYTES: u64 = 256 << 20;

/// One record of a trace, before it is checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    at: String,
    node: String,
    op: String,
    key: u64,
    #[serde(default)]
    value: Option<u64>,
    #[serde(default)]
    pos: Option<u64>,
}

/// What is wrong with a trace, and where: line and column (from 1) when known, and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// Line and column in the trace file.
    pub position: Option<(u64, u64)>,
    /// The column or field at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((line, column)) = self.position {
            write!(f, "line {line}, column {column}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

fn error(position: Option<(u64, u64)>, field: Option<&str>, message: impl Into<String>) -> TraceError {
    TraceError { position, field: field.map(str::to_string), message: message.into() }
}

/// How a record's operation is checked against the scenario: the node's id, and whether the
/// protocol serves the operation (`Err` says why not).
pub struct Checks<'a> {
    /// The scenario's duration: operations after it are refused.
    pub duration: SimDuration,
    /// The id of a node by name.
    pub node: &'a dyn Fn(&str) -> Option<syncsim_sim::NodeId>,
    /// Whether the protocol serves an operation kind.
    pub supported: &'a dyn Fn(syncsim_sim::OpKind) -> Result<(), String>,
}

/// Reads the trace at `path`.
pub fn load(path: &Path, checks: &Checks<'_>) -> Result<Vec<ScriptedOp>, TraceError> {
    let meta = std::fs::metadata(path).map_err(|e| error(None, None, format!("cannot read the trace: {e}")))?;
    if meta.len() > MAX_TRACE_BYTES {
        return Err(error(
            None,
            None,
            format!("the trace is {} bytes; traces are limited to {MAX_TRACE_BYTES}", meta.len()),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| error(None, None, format!("cannot read the trace: {e}")))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => parse_csv(&text, checks),
        Some("jsonl" | "ndjson") => parse_jsonl(&text, checks),
        _ => Err(error(None, None, "a trace is a `.csv` file or a `.jsonl` (JSON lines) file")),
    }
}

/// Parses a CSV trace with a header row.
pub fn parse_csv(text: &str, checks: &Checks<'_>) -> Result<Vec<ScriptedOp>, TraceError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| csv_error(&e, "the header row"))?.clone();
    for required in ["at", "node", "op", "key"] {
        if !headers.iter().any(|h| h == required) {
            return Err(error(Some((1, 1)), Some(required), "the header row has no such column"));
        }
    }
    let mut ops = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(&e, "a record")),
        }
        let line = record.position().map_or(0, |p| p.line());
        let raw_line = record.position().map_or("", |p| text[p.byte() as usize..].lines().next().unwrap_or(""));
        // The column of a field: where it starts on the record's line, from 1.
        let column = |name: &str| {
            let i = headers.iter().position(|h| h == name)?;
            Some((line, field_column(raw_line, i)))
        };
        let parsed: Record = record.deserialize(Some(&headers)).map_err(|e| {
            let field = match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => {
                    err.field().and_then(|i| headers.get(i as usize)).map(str::to_string)
                }
                _ => None,
            };
            let at = field.as_deref().and_then(column).or(Some((line, 1)));
            TraceError { position: at, field, message: csv_message(&e) }
        })?;
        ops.push(check(parsed, &|name| column(name).or(Some((line, 1))), checks)?);
        if ops.len() > MAX_TRACE_OPS {
            return Err(error(Some((line, 1)), None, format!("more than {MAX_TRACE_OPS} operations")));
        }
    }
    Ok(ops)
}

/// Parses a JSON-lines trace: one object per line; blank lines are skipped.
pub fn parse_jsonl(text: &str, checks: &Checks<'_>) -> Result<Vec<ScriptedOp>, TraceError> {
    let mut ops = Vec::new();
    for (i, line_text) in text.lines().enumerate() {
        let line = i as u64 + 1;
        if line_text.trim().is_empty() {
            continue;
        }
        let parsed: Record =
            serde_json::from_str(line_text).map_err(|e| error(Some((line, e.column() as u64)), None, e.to_string()))?;
        // The column of a field: where its name starts on the line.
        let column = |name: &str| {
            let at = line_text.find(&format!("\"{name}\"")).map_or(1, |c| c as u64 + 1);
            Some((line, at))
        };
        ops.push(check(parsed, &column, checks)?);
        if ops.len() > MAX_TRACE_OPS {
            return Err(error(Some((line, 1)), None, format!("more than {MAX_TRACE_OPS} operations")));
        }
    }
    Ok(ops)
}

/// Checks one record and makes it a scripted operation; `at` locates a field.
fn check(r: Record, at: &dyn Fn(&str) -> Option<(u64, u64)>, checks: &Checks<'_>) -> Result<ScriptedOp, TraceError> {
    let fail = |field: &str, message: String| error(at(field), Some(field), message);
    let when = parse_at(&r.at).map_err(|m| fail("at", m))?;
    if when > checks.duration {
        return Err(fail(
            "at",
            format!("{when} is after the scenario's duration ({}), when clients stop", checks.duration),
        ));
    }
    let node = (checks.node)(&r.node).ok_or_else(|| fail("node", format!("no node is called `{}`", r.node)))?;
    let key = r.key;
    let value = |what: &str| r.value.ok_or_else(|| fail("value", format!("`{}` needs a value ({what})", r.op)));
    let pos = || r.pos.ok_or_else(|| fail("pos", format!("`{}` needs a position", r.op)));
    let op = match r.op.as_str() {
        "put" => Op::Put { key, value: value("the value written")? },
        "get" => Op::Get { key },
        "read" => Op::Read { key },
        "incr" => Op::Incr { key, by: r.value.unwrap_or(1) },
        "decr" => Op::Decr { key, by: r.value.unwrap_or(1) },
        "add" => Op::Add { key, elem: value("the element")? },
        "remove" => Op::Remove { key, elem: value("the element")? },
        "insert" => Op::Insert { key, pos: pos()?, elem: value("the element")? },
        "delete" => Op::Delete { key, pos: pos()? },
        other => {
            return Err(fail(
                "op",
                format!(
                    "unknown operation `{other}` (operations: put, get, read, incr, decr, add, remove, insert, delete)"
                ),
            ));
        }
    };
    (checks.supported)(op.kind()).map_err(|m| fail("op", m))?;
    Ok(ScriptedOp { at: SimTime::ZERO + when, node, op })
}

/// A time from the start: a duration (`1.5s`) or a plain number of seconds.
fn parse_at(text: &str) -> Result<SimDuration, String> {
    if let Ok(secs) = text.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return Err(format!("a time from the start, 0 or more, not {text}"));
        }
        return Ok(SimDuration((secs * 1e9).round() as u64));
    }
    text.parse::<SimDuration>().map_err(|e| format!("`{text}` is neither a duration nor a number of seconds: {e}"))
}

/// Where the `i`-th field of a CSV line starts, from 1 (commas inside quotes do not count).
fn field_column(line: &str, i: usize) -> u64 {
    let mut quoted = false;
    let mut field = 0;
    for (at, c) in line.char_indices() {
        if field == i {
            return at as u64 + 1;
        }
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => field += 1,
            _ => {}
        }
    }
    line.len() as u64 + 1
}

fn csv_error(e: &csv::Error, what: &str) -> TraceError {
    let position = e.position().map(|p| (p.line(), 1));
    error(position, None, format!("cannot read {what}: {}", csv_message(e)))
}

/// The CSV error's own words, without the position the error report gives anyway.
fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("this record has {len} fields, the header {expected_len}")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::NodeId;

    fn checks<'a>(
        node: &'a dyn Fn(&str) -> Option<NodeId>,
        supported: &'a dyn Fn(syncsim_sim::OpKind) -> Result<(), String>,
    ) -> Checks<'a> {
        Checks { duration: SimDuration::from_secs(10), node, supported }
    }

    fn nodes(name: &str) -> Option<NodeId> {
        name.strip_prefix('n')?.parse().ok().filter(|&k: &u32| k < 3).map(NodeId)
    }

    fn any(_: syncsim_sim::OpKind) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn csv_and_json_lines_give_the_same_operations() {
        let csv = "at,node,op,key,value\n0.5,n0,put,3,7\n750ms,n2,get,3,\n1s,n1,incr,4,\n";
        let jsonl = "{\"at\":\"0.5\",\"node\":\"n0\",\"op\":\"put\",\"key\":3,\"value\":7}\n\n\
                     {\"at\":\"750ms\",\"node\":\"n2\",\"op\":\"get\",\"key\":3}\n\
                     {\"at\":\"1s\",\"node\":\"n1\",\"op\":\"incr\",\"key\":4}\n";
        let a = parse_csv(csv, &checks(&nodes, &any)).unwrap();
        let b = parse_jsonl(jsonl, &checks(&nodes, &any)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0], ScriptedOp { at: SimTime(500_000_000), node: NodeId(0), op: Op::Put { key: 3, value: 7 } });
        assert_eq!(a[1].op, Op::Get { key: 3 });
        assert_eq!(a[2].op, Op::Incr { key: 4, by: 1 }, "an increment's amount defaults to 1");
    }

    #[test]
    fn errors_name_the_line_the_column_and_the_field() {
        let c = checks(&nodes, &any);
        let e = parse_csv("at,node,op,key\n1s,n0,get,1\n2s,n9,get,1\n", &c).unwrap_err();
        assert_eq!((e.position, e.field.as_deref()), (Some((3, 4)), Some("node")), "{e}");
        assert!(e.message.contains("n9"), "{e}");
        let e = parse_csv("at,node,op,key\n1s,n0,gte,1\n", &c).unwrap_err();
        assert_eq!((e.position, e.field.as_deref()), (Some((2, 7)), Some("op")), "{e}");
        let e = parse_csv("at,node,op,key\n1s,n0,get,x\n", &c).unwrap_err();
        assert_eq!((e.position, e.field.as_deref()), (Some((2, 11)), Some("key")), "{e}");
        let e = parse_csv("at,node,op,key\n20s,n0,get,1\n", &c).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("at"), "after the duration: {e}");
        let e = parse_csv("at,node,key\n1s,n0,1\n", &c).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("op"), "a missing column: {e}");
        let e = parse_jsonl("{\"at\":\"1s\",\"node\":\"n0\",\"op\":\"put\",\"key\":1}\n", &c).unwrap_err();
        assert_eq!((e.position, e.field.as_deref()), (Some((1, 1)), Some("value")), "{e}");
        let e = parse_jsonl("{\"at\":\"1s\",\n", &c).unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(1), "broken JSON: {e}");
        let refuse = |_: syncsim_sim::OpKind| Err("not served".to_string());
        let e = parse_csv("at,node,op,key\n1s,n0,get,1\n", &checks(&nodes, &refuse)).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("op"), "{e}");
    }
}
