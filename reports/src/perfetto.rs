//! The trace in the Chrome trace-event JSON format, which Perfetto (ui.perfetto.dev) and
//! `chrome://tracing` open: one track per node, a short slice per handled event (message,
//! timer, request, reply), a flow arrow from each message's sending slice to its delivery, and
//! faults as global instant events.

use serde_json::{Value, json};
use syncsim_sim::trace::{TraceKind, TraceRecord};

/// Length given to each handled event's slice (µs): handlers take no simulated time, but a
/// slice needs a width to be seen and to anchor flow arrows.
const SLICE_US: f64 = 1.0;

/// The trace-event document for `records`, naming node `i` `names[i]`.
pub fn chrome_trace(records: &[TraceRecord], names: &[String]) -> Value {
    let mut events = Vec::with_capacity(records.len() * 2 + names.len());
    events.push(json!({"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "syncsim"}}));
    for (i, name) in names.iter().enumerate() {
        events.push(json!({"ph": "M", "pid": 1, "tid": i, "name": "thread_name", "args": {"name": name}}));
        events.push(json!({"ph": "M", "pid": 1, "tid": i, "name": "thread_sort_index", "args": {"sort_index": i}}));
    }
    for (id, r) in records.iter().enumerate() {
        let ts = r.time.0 as f64 / 1e3;
        let Some(node) = r.node else {
            events.push(json!({"ph": "i", "s": "g", "pid": 1, "tid": 0, "ts": ts, "name": r.detail, "cat": "fault"}));
            continue;
        };
        let (cat, name) = match r.kind {
            TraceKind::Deliver => ("message", first_word(&r.detail)),
            TraceKind::Timer => ("timer", first_word(&r.detail)),
            TraceKind::Request => ("request", "request".to_string()),
            TraceKind::Reply => ("reply", "reply".to_string()),
            TraceKind::Fault => ("fault", first_word(&r.detail)),
        };
        events.push(json!({
            "ph": "X", "pid": 1, "tid": node.0, "ts": ts, "dur": SLICE_US,
            "name": name, "cat": cat, "args": {"detail": r.detail}
        }));
        if let (TraceKind::Deliver, Some(from), Some(sent)) = (r.kind, r.from, r.sent) {
            // The arrow leaves from inside the sender's handler slice at the sending instant.
            let start = sent.0 as f64 / 1e3 + SLICE_US / 2.0;
            events
                .push(json!({"ph": "s", "pid": 1, "tid": from.0, "ts": start, "id": id, "name": name, "cat": "flow"}));
            events.push(json!({
                "ph": "f", "bp": "e", "pid": 1, "tid": node.0, "ts": ts + SLICE_US / 2.0,
                "id": id, "name": name, "cat": "flow"
            }));
        }
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}

/// The message or timer's name: its text up to the first space, brace or parenthesis.
pub fn first_word(detail: &str) -> String {
    detail.split([' ', '{', '(']).next().unwrap_or(detail).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::{NodeId, SimTime};

    #[test]
    fn a_delivery_is_a_slice_with_a_flow_from_its_sender() {
        let records = vec![
            TraceRecord {
                time: SimTime(5_000),
                kind: TraceKind::Timer,
                node: Some(NodeId(0)),
                from: None,
                sent: None,
                detail: "Round".into(),
            },
            TraceRecord {
                time: SimTime(9_000),
                kind: TraceKind::Deliver,
                node: Some(NodeId(1)),
                from: Some(NodeId(0)),
                sent: Some(SimTime(5_000)),
                detail: "Digest { want_back: true }".into(),
            },
            TraceRecord {
                time: SimTime(10_000),
                kind: TraceKind::Fault,
                node: None,
                from: None,
                sent: None,
                detail: "heal".into(),
            },
        ];
        let doc = chrome_trace(&records, &["n0".into(), "n1".into()]);
        let events = doc["traceEvents"].as_array().unwrap();
        let of = |ph: &str| events.iter().filter(|e| e["ph"] == ph).cloned().collect::<Vec<_>>();
        assert_eq!(of("M").len(), 5, "process and two threads named and ordered");
        let slices = of("X");
        assert_eq!(slices.len(), 2);
        assert_eq!(
            (slices[1]["name"].as_str(), slices[1]["tid"].as_u64(), slices[1]["ts"].as_f64()),
            (Some("Digest"), Some(1), Some(9.0))
        );
        let (s, f) = (&of("s")[0], &of("f")[0]);
        assert_eq!((s["tid"].as_u64(), f["tid"].as_u64()), (Some(0), Some(1)), "from the sender to the receiver");
        assert_eq!(s["id"], f["id"]);
        assert!(s["ts"].as_f64().unwrap() < f["ts"].as_f64().unwrap());
        assert_eq!(of("i")[0]["name"], "heal");
    }
}
