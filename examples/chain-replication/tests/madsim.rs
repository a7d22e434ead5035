//! `chainsim madsim`: the chain, a family syncsim does not ship, on madsim through the async
//! host, from this crate's own binary. These tests exist only in a `--cfg madsim` build: run
//! them with `scripts/madsim.sh test` (CI does).
//!
//! Each seed passes its checks (linearizable, converged) and, run twice, each run its own
//! process, writes the same report byte for byte.
#![cfg(madsim)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// One `chainsim madsim` process: its exit code, its report and what it printed.
fn madsim(seed: u64, out: &Path) -> (i32, Vec<u8>, String) {
    let result = Command::new(env!("CARGO_BIN_EXE_chainsim"))
        .args(["madsim", "scenarios/chain-live.yaml", "--seed", &seed.to_string(), "--out"])
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("chainsim runs");
    let printed = format!("{}{}", String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    (result.status.code().unwrap_or(-1), std::fs::read(out.join("report.json")).unwrap_or_default(), printed)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chainsim-madsim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_chain_passes_on_madsim_and_repeats_exactly() {
    for seed in 0..5 {
        let (a, b) = (scratch(&format!("{seed}-a")), scratch(&format!("{seed}-b")));
        let (code, first, printed) = madsim(seed, &a);
        assert_eq!(code, 0, "seed {seed}:\n{printed}");
        let report: serde_json::Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(report["protocol"]["name"], "chain", "seed {seed}");
        assert_eq!(report["linearizability"]["verdict"], "linearizable", "seed {seed}");
        assert!(report["operations"]["all"]["attempted"].as_u64().unwrap() > 50, "seed {seed}: a real workload");
        let (code, second, printed) = madsim(seed, &b);
        assert_eq!(code, 0, "seed {seed}, second run:\n{printed}");
        assert!(first == second, "seed {seed}: two madsim runs of one seed wrote different reports");
        let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
    }
}
