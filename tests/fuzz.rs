//! Scenario fuzzing: a few thousand mutants of the shipped scenario files, read and run as a
//! user would. Whatever the input, syncsim never panics; reading either accepts a file or
//! refuses it with a located error; the command line exits 0–3 only; a run stays within the
//! bound its cost estimate gave (handler calls and operations); and nothing is written outside
//! `--out`.
//!
//! The mutants come from a fixed seed, so a failure reproduces; `SYNCSIM_FUZZ_SEED=<n>` and
//! `SYNCSIM_FUZZ_CASES=<n>` explore further (a long hunt belongs outside CI).

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde_yaml::Value;
use syncsim::scenario::ScenarioFile;

/// Values a mutation puts in place of a scalar: edges of every unit and type a scenario uses.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "3",
    "1000000000",
    "18446744073709551615",
    "1e308",
    ".nan",
    "-.inf",
    "''",
    "'1ns'",
    "'0s'",
    "'100000h'",
    "'5ms..1ms'",
    "'1ms..5ms'",
    "'1000000/s'",
    "'0.001/s'",
    "'150%'",
    "'-3%'",
    "'0.5%'",
    "n0",
    "n99",
    "leader",
    "rest",
    "[]",
    "{}",
    "null",
    "true",
    "'x'",
    "'ü∆'",
    "[[n0], [n1, n2]]",
    "{ lognormal: { median: 1ms, p99: 0s } }",
    "{ constant: 0s }",
    "{ poisson: 100000/s }",
    "{ crash: n1 }",
];

/// Keys a mutation may add where they do not belong, or misspell.
const KEYS: &[&str] = &["zzz", "nodes", "duration", "lasts", "at", "kind", "seed", "engine", "every", "variants"];

struct Gen(ChaCha8Rng);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }

    /// A value from [`VALUES`].
    fn value(&mut self) -> Value {
        serde_yaml::from_str(VALUES[self.below(VALUES.len())]).expect("each value is YAML")
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// One step from a YAML node to a child.
#[derive(Clone)]
enum Step {
    Key(Value),
    Index(usize),
}

/// The path to every node of the tree, in pre-order.
fn paths(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                prefix.push(Step::Key(k.clone()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Sequence(s) => {
            for (i, child) in s.iter().enumerate() {
                prefix.push(Step::Index(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// The node at `path`.
fn at<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    match path.split_first() {
        None => v,
        Some((Step::Key(k), rest)) => at(v.get_mut(k).expect("a path of this tree"), rest),
        Some((Step::Index(i), rest)) => at(v.get_mut(*i).expect("a path of this tree"), rest),
    }
}

/// One random change to a scenario's tree.
fn mutate_tree(g: &mut Gen, root: &mut Value) {
    let mut all = Vec::new();
    paths(root, &mut Vec::new(), &mut all);
    let path = all[g.below(all.len())].clone();
    let node = at(root, &path);
    match g.below(6) {
        0 | 1 => *node = g.value(),
        2 => match node {
            Value::Mapping(m) if !m.is_empty() => {
                let k = m.keys().nth(g.below(m.len())).cloned().unwrap();
                m.remove(&k);
            }
            Value::Sequence(s) if !s.is_empty() => {
                s.remove(g.below(s.len()));
            }
            _ => *node = Value::Null,
        },
        3 => match node {
            Value::Mapping(m) => {
                let value: Value = g.value();
                m.insert(Value::String(KEYS[g.below(KEYS.len())].to_string()), value);
            }
            Value::Sequence(s) if !s.is_empty() => {
                let copy = s[g.below(s.len())].clone();
                for _ in 0..1 + g.below(3) {
                    s.push(copy.clone());
                }
            }
            _ => *node = g.value(),
        },
        4 => {
            // Scale a number up or down by orders of magnitude, or a duration's digits.
            if let Value::Number(n) = node {
                let x = n.as_f64().unwrap_or(1.0);
                *node = Value::Number(serde_yaml::Number::from(x * [1e-6, 1e3, 1e6, -1.0][g.below(4)]));
            } else if let Value::String(s) = node {
                let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
                let rest = &s[digits.len()..];
                *node = Value::String(format!("{}{rest}", ["0", "1", "999999999", "100000"][g.below(4)]));
            }
        }
        _ => *node = Value::Mapping(serde_yaml::Mapping::new()),
    }
}

/// One random change to a scenario's text: a deleted line, a truncation, or a stray character.
fn mutate_text(g: &mut Gen, text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    match g.below(3) {
        0 if !lines.is_empty() => {
            let cut = g.below(lines.len());
            lines.iter().enumerate().filter(|&(i, _)| i != cut).map(|(_, l)| *l).collect::<Vec<_>>().join("\n")
        }
        1 => text.chars().take(g.below(text.chars().count() + 1)).collect(),
        _ => {
            let at = g.below(text.chars().count() + 1);
            let stray = *g.pick(&['\t', ':', '{', '"', '-', '\u{0}', '€', '#']);
            text.chars().take(at).chain([stray]).chain(text.chars().skip(at)).collect()
        }
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

/// Writes `text` as `name` in `work` and runs it from there with `--out out`.
fn run_in(work: &Path, name: &str, text: &str) -> std::process::Output {
    std::fs::write(work.join(name), text).unwrap();
    Command::new(env!("CARGO_BIN_EXE_syncsim")).current_dir(work).args(["run", name, "--out", "out"]).output().unwrap()
}

/// The most runs the test makes, and the most handler calls a run it makes may be estimated
/// to need: enough to cover every family and fault kind, few enough for CI.
const RUNS: usize = 150;
const RUN_CALLS: f64 = 400_000.0;
/// How many refused files are also given to the command line, to check their exit code.
const REFUSED_ON_CLI: usize = 120;

#[test]
fn mutated_scenarios_never_panic_exit_only_0_to_3_and_runs_stay_within_their_estimate() {
    let seed = env_number("SYNCSIM_FUZZ_SEED", 17);
    let cases = env_number("SYNCSIM_FUZZ_CASES", 3000) as usize;
    eprintln!("fuzz seed {seed}, {cases} cases (SYNCSIM_FUZZ_SEED, SYNCSIM_FUZZ_CASES)");
    let mut g = Gen(ChaCha8Rng::seed_from_u64(seed));
    let mut sources: Vec<(String, String)> = std::fs::read_dir("scenarios")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        // The election experiment runs thousands of trials, which the run estimate does not cover.
        .filter(|p| !p.ends_with("raft-election.yaml"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    sources.sort();

    let work = std::env::temp_dir().join(format!("syncsim-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let (mut accepted, mut refused, mut ran, mut refused_on_cli) = (0, 0, 0, 0);
    let mut exit_codes = std::collections::BTreeMap::<i32, usize>::new();
    for case in 0..cases {
        // The shipped files themselves first: their runs must keep within their estimates too.
        let (origin, text) = if case < sources.len() { sources[case].clone() } else { g.pick(&sources).clone() };
        let mutant = if case < sources.len() {
            text.clone()
        } else if g.below(5) == 0 {
            mutate_text(&mut g, &text)
        } else {
            let mut tree: Value = serde_yaml::from_str(&text).unwrap();
            for _ in 0..1 + g.below(3) {
                mutate_tree(&mut g, &mut tree);
            }
            serde_yaml::to_string(&tree).unwrap()
        };
        let name = format!("case-{case}.yaml");
        let read = catch_unwind(AssertUnwindSafe(|| ScenarioFile::parse(&mutant, &name)));
        let read = read.unwrap_or_else(|_| panic!("reading panicked on case {case} (from {origin}):\n{mutant}"));
        let file = match read {
            Ok(file) => {
                accepted += 1;
                file
            }
            Err(e) => {
                refused += 1;
                assert!(e.to_string().starts_with(&name), "the error names the file: {e}");
                if refused_on_cli < REFUSED_ON_CLI && g.below(8) == 0 {
                    refused_on_cli += 1;
                    let out = run_in(&work, &name, &mutant);
                    assert_eq!(out.status.code(), Some(3), "case {case}: {}", String::from_utf8_lossy(&out.stderr));
                    assert!(!work.join("out").exists(), "case {case}: a refused run wrote output");
                    std::fs::remove_file(work.join(&name)).unwrap();
                }
                continue;
            }
        };
        let ScenarioFile::One(scenario) = &file else { continue };
        if ran >= RUNS || scenario.raw.experiment.is_some() {
            continue;
        }
        let Ok(drawn) = scenario.for_seed(scenario.raw.seed) else { continue };
        let cost = drawn.cost();
        if cost.calls > RUN_CALLS {
            continue;
        }
        ran += 1;
        let out = run_in(&work, &name, &mutant);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code().unwrap_or(-1);
        *exit_codes.entry(code).or_default() += 1;
        if code == 1 {
            // A safety failure on a mutant is a lead to follow (a protocol bug the mutation
            // exposed, or a checker crying wolf), not a test failure: say where it came from.
            let first = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.contains("FAIL"))
                .take(3)
                .collect::<Vec<_>>()
                .join(" / ");
            eprintln!("case {case} (from {origin}) failed a safety check: {first}\n{mutant}");
        }
        assert!((0..=3).contains(&code), "case {case} (from {origin}) exited {code}:\n{stderr}\n{mutant}");
        assert!(!stderr.contains("panicked"), "case {case} panicked:\n{stderr}\n{mutant}");
        let written = files_under(&work);
        assert!(
            written.iter().all(|f| f.starts_with("out") || f == Path::new(&name)),
            "case {case} wrote outside --out: {written:?}"
        );
        if code != 3 {
            let report: serde_json::Value =
                serde_json::from_slice(&std::fs::read(work.join("out/report.json")).unwrap()).unwrap();
            let events = report["run"]["events"].as_u64().unwrap() as f64;
            let operations = report["operations"]["all"]["attempted"].as_u64().unwrap_or(0) as f64;
            assert!(events <= cost.calls, "case {case}: {events} events, estimated at most {}\n{mutant}", cost.calls);
            assert!(
                operations <= cost.operations,
                "case {case}: {operations} operations, estimated at most {}\n{mutant}",
                cost.operations
            );
        }
        std::fs::remove_dir_all(work.join("out")).ok();
        std::fs::remove_file(work.join(&name)).unwrap();
    }
    eprintln!(
        "{cases} mutants: {accepted} accepted, {refused} refused ({refused_on_cli} of them on the command line: exit 3); \
         {ran} run, exit codes {exit_codes:?}"
    );
    // The mix must stay informative: a generator that only ever breaks files tests little.
    assert!(accepted >= cases / 10 && refused >= cases / 10, "{accepted} accepted, {refused} refused");
    assert!(ran >= RUNS / 2, "only {ran} runs were cheap enough to make");
    let _ = std::fs::remove_dir_all(&work);
}
