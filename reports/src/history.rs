//! The history as JSON lines: one client operation per line, the format `history.jsonl` is
//! written in (documented in docs/history-format.md).

use std::io::{self, Write};

use serde::Serialize;
use syncsim_sim::history::{Entry, History, Op, Outcome, Output};

/// One line of `history.jsonl`.
#[derive(Debug, PartialEq, Serialize)]
pub struct HistoryLine<'a> {
    /// Operation id.
    pub id: u64,
    /// Client (process) that issued it.
    pub client: u32,
    /// Node it was sent to.
    pub node: &'a str,
    /// Operation: put, get, cas, incr, decr, read, add, remove, insert, delete.
    pub f: &'static str,
    /// Key.
    pub key: u64,
    /// The argument: value written (put, cas), amount (incr, decr) or element (add, remove,
    /// insert).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arg: Option<u64>,
    /// The position in the sequence (insert, delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pos: Option<u64>,
    /// The value a cas expects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<u64>,
    /// Call time, nanoseconds since the run began.
    pub call_ns: u64,
    /// Return time; absent for unknown outcomes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_ns: Option<u64>,
    /// ok, failed or unknown.
    pub outcome: &'static str,
    /// What a successful operation returned: a value (or null) for get, a count or a list of
    /// elements for read; the failure reason for failed operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

fn line<'a>(e: &Entry, names: &'a [String]) -> HistoryLine<'a> {
    let expect = match e.op {
        Op::Cas { expect, .. } => Some(expect),
        _ => None,
    };
    let pos = match e.op {
        Op::Insert { pos, .. } | Op::Delete { pos, .. } => Some(pos),
        _ => None,
    };
    let arg = match e.op {
        Op::Put { value, .. } | Op::Cas { new: value, .. } => Some(value),
        Op::Incr { by, .. } | Op::Decr { by, .. } => Some(by),
        Op::Insert { elem, .. } => Some(elem),
        Op::Add { elem, .. } | Op::Remove { elem, .. } => Some(elem),
        Op::Get { .. } | Op::Read { .. } | Op::Delete { .. } => None,
    };
    let (outcome, result) = match &e.outcome {
        Outcome::Ok(out) => (
            "ok",
            match out {
                Output::Done => None,
                Output::Value(v) => Some(serde_json::json!(v)),
                Output::Count(c) => Some(serde_json::json!(c)),
                Output::Elems(xs) => Some(serde_json::json!(xs)),
                Output::Swapped(b) => Some(serde_json::json!(b)),
            },
        ),
        Outcome::Failed(reason) => ("failed", Some(serde_json::json!(reason))),
        Outcome::Unknown | Outcome::Pending => ("unknown", None),
    };
    HistoryLine {
        id: e.id.0,
        client: e.client,
        node: names.get(e.node.index()).map_or("?", String::as_str),
        f: e.op.kind().name(),
        key: e.op.key(),
        arg,
        pos,
        expect,
        call_ns: e.call.0,
        return_ns: e.ret.map(|t| t.0),
        outcome,
        result,
    }
}

/// Writes `history` as JSON lines, naming nodes with `names`.
pub fn write_jsonl(history: &History, names: &[String], out: &mut impl Write) -> io::Result<()> {
    for e in history.entries() {
        serde_json::to_writer(&mut *out, &line(e, names))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::{NodeId, SimTime};

    #[test]
    fn one_line_per_operation_with_outcome_and_result() {
        let mut h = History::new();
        let a = h.call(2, NodeId(1), Op::Put { key: 3, value: 9 }, SimTime(10));
        h.complete(a, SimTime(20), Outcome::Ok(Output::Done));
        let b = h.call(2, NodeId(0), Op::Get { key: 3 }, SimTime(30));
        h.complete(b, SimTime(40), Outcome::Ok(Output::Value(Some(9))));
        h.call(1, NodeId(0), Op::Get { key: 3 }, SimTime(50));
        h.close();
        let mut buf = Vec::new();
        write_jsonl(&h, &["a".into(), "b".into()], &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"id":0,"client":2,"node":"b","f":"put","key":3,"arg":9,"call_ns":10,"return_ns":20,"outcome":"ok"}"#
        );
        assert_eq!(
            lines[1],
            r#"{"id":1,"client":2,"node":"a","f":"get","key":3,"call_ns":30,"return_ns":40,"outcome":"ok","result":9}"#
        );
        assert_eq!(lines[2], r#"{"id":2,"client":1,"node":"a","f":"get","key":3,"call_ns":50,"outcome":"unknown"}"#);
    }
}
