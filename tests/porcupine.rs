//! The linearizability checker against Porcupine's reference histories: every file with a
//! known verdict (tests/data/porcupine/expected.tsv) must get exactly that verdict; the
//! key-value files partitioned per key and, where Porcupine checks them so, unpartitioned.

use std::path::Path;

use syncsim::reports::lin::formats::{parse_etcd, parse_kv_edn};
use syncsim::reports::lin::model::{CasRegister, KvStore};
use syncsim::reports::lin::{Budget, Verdict, check};
use syncsim::reports::lin::{PerKey, Whole};

const DATA: &str = "tests/data/porcupine";

fn expected() -> Vec<(String, Verdict)> {
    let text = std::fs::read_to_string(Path::new(DATA).join("expected.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let verdict = match cols[1] {
                "linearizable" => Verdict::Linearizable,
                "not_linearizable" => Verdict::NotLinearizable,
                // etcd_095.log is empty: Porcupine has no verdict for it.
                v if v.starts_with("none") => return None,
                other => panic!("unknown verdict {other}"),
            };
            Some((cols[0].to_string(), verdict))
        })
        .collect()
}

#[test]
fn every_etcd_log_gets_porcupines_verdict() {
    let mut checked = 0;
    for (file, verdict) in expected().into_iter().filter(|(f, _)| f.starts_with("jepsen/")) {
        let text = std::fs::read_to_string(Path::new(DATA).join(&file)).unwrap();
        let ops = parse_etcd(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let r = check(&PerKey(CasRegister), &ops, Budget::default());
        assert_eq!(r.verdict, verdict, "{file}");
        if verdict == Verdict::NotLinearizable {
            let v = r.violation.expect("a violation is explained");
            assert!(!v.stuck.is_empty());
        }
        checked += 1;
    }
    assert_eq!(checked, 102, "etcd_000..102 except the empty 095");
}

#[test]
fn every_kv_history_gets_porcupines_verdict_partitioned_and_whole() {
    for (file, verdict) in expected().into_iter().filter(|(f, _)| f.starts_with("kv/")) {
        let text = std::fs::read_to_string(Path::new(DATA).join(&file)).unwrap();
        let ops = parse_kv_edn(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let r = check(&PerKey(KvStore), &ops, Budget::default());
        assert_eq!(r.verdict, verdict, "{file} partitioned per key");
        assert!(r.partitions > 1);
        // Porcupine checks c01 and c10 whole as well (c50 whole is beyond it too).
        if !file.contains("c50") {
            let whole = check(&Whole(KvStore), &ops, Budget::default());
            assert_eq!(whole.verdict, verdict, "{file} as one object");
            assert_eq!(whole.partitions, 1);
        }
    }
}
