//! The command line as a newcomer meets it: `run` on the quickstart prints the seed first and a
//! summary last, writes report.json and history.jsonl, and exits 0; two runs write
//! byte-identical reports; `list` shows every protocol parameter with its default.

use std::process::Command;

fn syncsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).output().expect("the binary runs")
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("syncsim-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn run_quickstart_writes_a_complete_report() {
    let dir = temp("quickstart");
    let out = syncsim(&["run", "scenarios/quickstart.yaml", "--out", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().next(), Some("seed: 1"), "the seed is printed first");
    assert!(stdout.contains("interval: 100ms"), "every resolved parameter is printed");
    assert!(stdout.contains("outcome: PASS"));
    assert!(stdout.contains("reproduce: syncsim run scenarios/quickstart.yaml --seed 1"));

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["seed"], 1);
    assert_eq!(report["outcome"], "pass");
    assert_eq!(report["trace_hash"].as_str().map(str::len), Some(16));
    for op in ["put", "get", "all"] {
        for p in ["p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"] {
            assert!(report["latency"][op][p].as_u64().unwrap() > 0, "latency.{op}.{p}");
        }
    }
    assert!(report["visibility"]["all_p50_ns"].as_u64().unwrap() > 0);
    assert_eq!(report["convergence"]["converged"], true);
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    let attempted = report["operations"]["all"]["attempted"].as_u64().unwrap();
    assert_eq!(history.lines().count() as u64, attempted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_runs_of_one_seed_write_byte_identical_reports() {
    let (a, b) = (temp("det-a"), temp("det-b"));
    for dir in [&a, &b] {
        let out = syncsim(&[
            "run",
            "scenarios/partition-heal.yaml",
            "--seed",
            "11",
            "--out",
            dir.to_str().unwrap(),
            "--trace",
        ]);
        assert_eq!(out.status.code(), Some(0));
    }
    for file in ["report.json", "history.jsonl", "trace.jsonl"] {
        assert_eq!(std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap(), "{file} differs");
    }
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn a_failed_liveness_expectation_exits_2_and_a_lost_write_exits_1() {
    let dir = temp("verdicts");
    std::fs::create_dir_all(&dir).unwrap();
    // n0 acknowledges a write, then crashes for good before gossiping it: the write is lost.
    let lost = dir.join("lost.yaml");
    std::fs::write(
        &lost,
        "name: lost\nduration: 2s\nsettle: { duration: 1s, restart_crashed: false }\nnodes: 3\n\
         protocol: { kind: gossip, interval: 1s, phase: aligned }\n\
         workload: { script: [ { at: 100ms, node: n0, put: { key: 1, value: 1 } } ] }\n\
         faults: [ { at: 200ms, crash: n0 } ]\nexpect: { writes.lost: 0, converged: true }\n",
    )
    .unwrap();
    let out = syncsim(&["run", lost.to_str().unwrap(), "--out", dir.join("o1").to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("SAFETY VIOLATION") && stdout.contains("1 acknowledged writes LOST"), "{stdout}");

    let slow = dir.join("slow.yaml");
    std::fs::write(
        &slow,
        "name: slow\nduration: 2s\nnodes: 3\nprotocol: { kind: gossip }\n\
         network: { latency: { constant: 300ms } }\n\
         workload: { clients: 1, arrival: { poisson: 10/s }, ops: { put: 100% } }\n\
         expect: { visibility.p50: \"< 100ms\" }\n",
    )
    .unwrap();
    let out = syncsim(&["run", slow.to_str().unwrap(), "--out", dir.join("o2").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_shows_every_protocol_parameter_with_its_default() {
    let out = syncsim(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "gossip",
        "flood",
        "interval",
        "default 100ms",
        "fanout",
        "rumor.k",
        "lognormal",
        "partition:",
        "writes.lost",
        "sample_every",
        "swarm",
        "heal: all | core",
        "jump: 500ms",
    ] {
        assert!(text.contains(needle), "`syncsim list` lacks `{needle}`:\n{text}");
    }
}

/// `syncsim list` shows, for every protocol, exactly the parameters its configuration has, with
/// the defaults the code really uses (read back from the serialized default configuration).
#[test]
fn list_documents_every_parameter_with_its_true_default() {
    let registry = syncsim::Registry::builtin();
    fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    flatten(&name, v, out);
                }
            }
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    for family in registry.describe() {
        let kind = family.kind;
        let config = registry.default_config(kind).unwrap();
        let mut actual = Vec::new();
        flatten("", &serde_json::to_value(&config).unwrap(), &mut actual);
        actual.retain(|(k, _)| k != "kind");
        actual.sort();
        let mut documented: Vec<(String, String)> =
            family.params.into_iter().map(|(name, default, _)| (name.to_string(), default)).collect();
        documented.sort();
        // Test builds carry planted bugs: `list` names the `bug` parameter, which a
        // configuration serializes only when one is planted.
        let bug = documented.iter().position(|(name, _)| name == "bug");
        if let Some(i) = bug {
            assert_eq!(documented.remove(i).1, "none", "{kind}: no bug by default");
        }
        assert!(!actual.iter().any(|(name, _)| name == "bug"), "{kind}: an unplanted bug is not serialized");
        assert_eq!(documented, actual, "`syncsim list` for {kind} disagrees with the code's defaults");
    }
}

/// One list of exit codes for every command: `--help` and `syncsim list` print each of them
/// with its meaning, from the same source.
#[test]
fn help_and_list_show_every_exit_code() {
    use syncsim::reports::Exit;
    let help = String::from_utf8(syncsim(&["--help"]).stdout).unwrap();
    let list = String::from_utf8(syncsim(&["list"]).stdout).unwrap();
    for exit in Exit::ALL {
        let line = format!("  {}  {}", exit.code(), exit.meaning());
        assert!(help.contains(&line), "--help lacks `{line}`:\n{help}");
        assert!(list.contains(&line), "list lacks `{line}`");
    }
    assert_eq!(Exit::ALL.map(Exit::code), [0, 1, 2, 3, 4, 5]);
    assert_eq!(syncsim(&["no-such-command"]).status.code(), Some(Exit::BadInput.code()));
}

/// `syncsim list` names every metric of the table the parser reads (`expect::METRICS`), each
/// with its meaning and under its class's heading (safety, exit 1; liveness, exit 2), and
/// every exit code with its meaning.
#[test]
fn list_names_every_metric_with_its_class_and_every_exit_code() {
    use syncsim::reports::Exit;
    use syncsim::reports::expect::{Class, METRICS};
    let list = String::from_utf8(syncsim(&["list"]).stdout).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    let heading = |class: Class, exit: Exit| {
        let h = format!("  {} metrics (a failed one exits {}):", class.name(), exit.code());
        lines.iter().position(|l| *l == h).unwrap_or_else(|| panic!("list lacks `{h}`:\n{list}"))
    };
    let (safety, liveness) = (heading(Class::Safety, Exit::Safety), heading(Class::Liveness, Exit::Liveness));
    let end = lines.iter().position(|l| l.starts_with("EXIT CODES")).expect("an exit code section");
    assert!(safety < liveness && liveness < end);
    for m in METRICS {
        let at = lines
            .iter()
            .position(|l| l.split_whitespace().next() == Some(m.pattern))
            .unwrap_or_else(|| panic!("list lacks the metric `{}`:\n{list}", m.pattern));
        let section = if m.class == Class::Safety { safety..liveness } else { liveness..end };
        assert!(section.contains(&at), "`{}` is listed outside its {} section", m.pattern, m.class.name());
        let described = lines[at..=at + 1].join(" ");
        assert!(described.contains(m.meaning), "`{}` lacks its meaning `{}`", m.pattern, m.meaning);
        assert!(described.contains(m.kind.unit()), "`{}` lacks its kind", m.pattern);
    }
    for exit in Exit::ALL {
        let line = format!("  {}  {}", exit.code(), exit.meaning());
        assert!(lines[end..].contains(&line.as_str()), "list lacks `{line}` under EXIT CODES");
    }
}

/// Errors are said in one place, one `error:` line per problem: `validate` reads every file and
/// names each bad one (with its line and column), still printing the good ones, and exits 3.
#[test]
fn validate_names_every_bad_file_once_and_exits_3() {
    let out = syncsim(&[
        "validate",
        "scenarios/quickstart.yaml",
        "tests/bad/absurd-node-count.yaml",
        "tests/bad/bad-heal.yaml",
    ]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("ok: scenarios/quickstart.yaml"), "{stdout}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 2, "one line per bad file:\n{stderr}");
    assert!(errors[0].starts_with("error: tests/bad/absurd-node-count.yaml:4:8: "), "{stderr}");
    assert!(errors[1].starts_with("error: tests/bad/bad-heal.yaml:"), "{stderr}");
}

/// Two files with the same `name:` are told apart by file name in the comparison, and the
/// comparison's folder is `syncsim-out/compare-<names>`, as `--help` says.
#[test]
fn compare_labels_same_named_files_apart_and_writes_where_documented() {
    let dir = temp("compare-same-name");
    std::fs::create_dir_all(dir.join("other")).unwrap();
    let quickstart = std::fs::read_to_string("scenarios/quickstart.yaml").unwrap();
    std::fs::write(dir.join("a.yaml"), &quickstart).unwrap();
    std::fs::write(dir.join("other/b.yaml"), &quickstart).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_syncsim"))
        .args(["compare", "a.yaml", "other/b.yaml", "--seeds", "2"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let folder = dir.join("syncsim-out/compare-a.yaml-b.yaml");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("comparison.json")).unwrap()).unwrap();
    let names: Vec<&str> = json["entries"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.yaml", "b.yaml"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `validate` accepts every shipped scenario, those with `variants:` included.
#[test]
fn validate_accepts_every_shipped_scenario() {
    let mut files: Vec<String> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = syncsim(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok: ")).count(), files.len(), "{stdout}");
    assert!(
        stdout.contains("compare-sync.yaml (compare-sync, 5 nodes, variants raft, gossip, crdt-delta)"),
        "{stdout}"
    );
}

#[test]
fn every_fault_drawn_at_random_is_listed_as_applied_with_its_nodes() {
    let dir = temp("faults");
    let out = syncsim(&["run", "scenarios/gossip-crash-churn.yaml", "--seed", "3", "--out", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let faults: Vec<&str> = report["faults"].as_array().unwrap().iter().map(|f| f["fault"].as_str().unwrap()).collect();
    // The scenario scripts no fault: everything listed was drawn from the seed.
    assert!(faults.iter().any(|f| f.starts_with("crash n")), "random crashes name their node: {faults:?}");
    assert!(faults.iter().any(|f| f.starts_with("restart n")), "{faults:?}");
    assert!(faults.iter().any(|f| f.starts_with("loss burst")), "{faults:?}");
    assert!(stdout.contains(&format!("faults: {} applied", faults.len())), "{stdout}");
    assert!(stdout.contains(&format!("  {}", faults[0])), "the summary lists them: {stdout}");
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(page.contains("<h2>Faults</h2>") && summary.contains("## Faults"));
    for f in &faults {
        assert!(page.contains(&format!("<td class=\"t\">{f}</td>")), "the page lists `{f}`");
        assert!(summary.contains(&format!("| {f} |")), "summary.md lists `{f}`");
    }
}

#[test]
fn the_run_page_links_every_file_written_beside_it() {
    let dir = temp("links");
    let out = syncsim(&["run", "scenarios/quickstart.yaml", "--trace", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let links: Vec<&str> = page.split("href=\"").skip(1).filter_map(|h| h.split_once('"').map(|x| x.0)).collect();
    assert_eq!(links, ["report.json", "summary.md", "history.jsonl", "trace.jsonl", "trace.json"]);
    for link in links {
        assert!(dir.join(link).is_file(), "`{link}` is linked but not written");
    }
}
