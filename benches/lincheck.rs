//! Linearizability checker speed on Porcupine's reference histories (tests/data/porcupine):
//! all 102 etcd logs, kv/c50-ok per key, kv/c10-ok as one object, kv/c50-bad per key.
//!
//! `cargo bench --bench lincheck`. Porcupine (Go) on this kind of machine: about 0.4 s for the
//! etcd logs, 0.2 s for c50-ok, 2 s for c10-ok unpartitioned.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use syncsim::reports::lin::formats::{RegisterOps, parse_etcd, parse_kv_edn};
use syncsim::reports::lin::model::{CasRegister, KvStore};
use syncsim::reports::lin::{Budget, Verdict, check};
use syncsim::reports::lin::{PerKey, Whole};

const DATA: &str = "tests/data/porcupine";

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(DATA).join(file)).unwrap()
}

fn etcd_logs() -> Vec<RegisterOps> {
    (0..=102).filter(|&i| i != 95).map(|i| parse_etcd(&read(&format!("jepsen/etcd_{i:03}.log"))).unwrap()).collect()
}

fn lincheck(c: &mut Criterion) {
    let mut group = c.benchmark_group("lincheck");
    group.sample_size(10);
    let logs = etcd_logs();
    group.bench_function("etcd: all 102 logs", |b| {
        b.iter(|| {
            let ok = logs
                .iter()
                .filter(|ops| check(&PerKey(CasRegister), ops, Budget::default()).verdict == Verdict::Linearizable)
                .count();
            assert_eq!(ok, 23, "Porcupine's 23 linearizable logs");
        })
    });
    for (file, partitioned, expected) in [
        ("kv/c50-ok.txt", true, Verdict::Linearizable),
        ("kv/c10-ok.txt", false, Verdict::Linearizable),
        ("kv/c50-bad.txt", true, Verdict::NotLinearizable),
    ] {
        let ops = parse_kv_edn(&read(file)).unwrap();
        let name = format!("{file} {}", if partitioned { "per key" } else { "unpartitioned" });
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = if partitioned {
                    check(&PerKey(KvStore), &ops, Budget::default())
                } else {
                    check(&Whole(KvStore), &ops, Budget::default())
                };
                assert_eq!(r.verdict, expected);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lincheck);
criterion_main!(benches);
