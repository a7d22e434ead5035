//! The HTML reports in a real browser: headless Chromium loads a passing run's `index.html`
//! (the quickstart), a failing Raft run's, the comparison page and the sweep page without
//! errors, every chart is there and drawn, and the charts say what they should.
//!
//! The browser is installed by `scripts/install-browser.sh`, which `.ci/run` runs before the
//! tests (never a test itself: `cargo test` installs nothing). Without a browser these tests
//! are skipped with a message on stderr, unless `SYNCSIM_REQUIRE_BROWSER` is set, as `.ci/run`
//! sets it: then a missing browser fails them.
//!
//! `SYNCSIM_SCREENSHOTS=1 cargo test --test browser` also refreshes the screenshot in docs/.

use std::path::{Path, PathBuf};
use std::process::Command;

const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| BROWSERS.iter().map(move |b| dir.join(b)))
        .find(|candidate| candidate.is_file())
}

/// The browser; `None`, said on stderr, when there is none and none is required.
fn browser() -> Option<PathBuf> {
    let found = find_browser();
    if found.is_none() {
        let hint = "install one with scripts/install-browser.sh";
        assert!(
            std::env::var_os("SYNCSIM_REQUIRE_BROWSER").is_none(),
            "no browser ({}) on the PATH and SYNCSIM_REQUIRE_BROWSER is set: {hint}",
            BROWSERS.join(", ")
        );
        eprintln!("SKIPPED: no headless browser ({}) on the PATH; {hint}", BROWSERS.join(", "));
    }
    found
}

/// Loads `page` headless; returns the document as the browser parsed it, and its log.
fn load(browser: &Path, page: &Path, screenshot: Option<&Path>) -> (String, String) {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut cmd = Command::new(browser);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr"]);
    cmd.args(["--window-size=1200,3400", "--virtual-time-budget=2000"]);
    match screenshot {
        Some(png) => cmd.arg(format!("--screenshot={}", png.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd.arg(&url).output().expect("the browser runs");
    assert!(out.status.success(), "the browser failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// What a page is checked for.
struct Expect<'a> {
    /// Its name, for messages and folders.
    name: &'a str,
    /// The command's exit code.
    exit: i32,
    /// The page's title.
    title: &'a str,
    /// How many charts it draws.
    figures: usize,
}

/// A loaded page: the document as the browser parsed it, the folder it is in, its screenshot.
struct Loaded {
    dom: String,
    dir: PathBuf,
    png: PathBuf,
}

impl Loaded {
    /// The figure drawn from `file` (`leader.svg`), as the browser parsed it.
    fn figure(&self, file: &str) -> &str {
        let start = self.dom.find(&format!("<figure id=\"{file}\"")).unwrap_or_else(|| panic!("no figure {file}"));
        let rest = &self.dom[start..];
        &rest[..rest.find("</figure>").unwrap()]
    }

    /// Asserts that the figure from `file` shows each of `labels` as a text of its own.
    fn shows(&self, file: &str, labels: &[&str]) {
        let texts: Vec<&str> = self
            .figure(file)
            .split("<text")
            .skip(1)
            .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim()))
            .collect();
        for l in labels {
            assert!(texts.contains(l), "{file} does not show `{l}`; it shows {texts:?}");
        }
    }
}

/// Runs `syncsim args... --out DIR`, loads `DIR/index.html`, and checks the page: its title,
/// no errors, one drawn chart per `charts/*.svg`; returns it with its screenshot.
fn check_page(browser: &Path, args: &[&str], e: &Expect<'_>) -> Loaded {
    let (name, title, figures) = (e.name, e.title, e.figures);
    let dir = std::env::temp_dir().join(format!("syncsim-browser-{name}-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).arg("--out").arg(&dir).output().unwrap();
    assert_eq!(run.status.code(), Some(e.exit), "{}", String::from_utf8_lossy(&run.stdout));
    let page = dir.join("index.html");
    let (dom, log) = load(browser, &page, None);
    // No script on the page, so nothing may log to the console; nothing may fail to load.
    for bad in ["CONSOLE", "ERR_"] {
        assert!(!log.contains(bad), "{name}: the browser reported `{bad}`:\n{log}");
    }
    assert!(dom.contains(&format!("<title>{title}</title>")), "{}", &dom[..dom.len().min(400)]);
    let charts = std::fs::read_dir(dir.join("charts")).unwrap().count();
    let shown: Vec<&str> = dom.split("<figure").skip(1).collect();
    assert_eq!(shown.len(), charts, "{name}: one figure per chart file");
    assert_eq!(shown.len(), figures, "{name}: every chart");
    for f in shown {
        let svg =
            f.split_once("<svg").map(|(_, s)| s).unwrap_or_else(|| panic!("a figure without its chart: {f:.200}"));
        let marks = svg.matches("<polyline").count() + svg.matches("<circle").count() + svg.matches("<rect").count();
        assert!(marks > 3, "{name}: an empty chart: {svg:.300}");
    }
    let png = dir.join("shot.png");
    load(browser, &page, Some(&png));
    let size = std::fs::metadata(&png).unwrap().len();
    assert!(size > 50_000, "{name}: the screenshot is nearly blank ({size} bytes)");
    Loaded { dom, dir, png }
}

/// With `SYNCSIM_SCREENSHOTS` set, copies the page's screenshot into docs/ as `file`.
fn keep_screenshot(page: &Loaded, file: &str) {
    if std::env::var_os("SYNCSIM_SCREENSHOTS").is_some() {
        std::fs::copy(&page.png, Path::new("docs").join(file)).unwrap();
    }
}

#[test]
fn the_quickstart_report_loads_in_a_browser_with_every_chart_drawn() {
    // Latency CDF, latency over time, latency and throughput by outcome, divergence, session
    // violations (seed 1 has one: a push-pull reply that carried a client's later write first),
    // the traffic heat map, network.
    let Some(browser) = browser() else { return };
    let expect = Expect { name: "quickstart", exit: 0, title: "quickstart: PASS", figures: 9 };
    let page = check_page(&browser, &["run", "scenarios/quickstart.yaml"], &expect);
    page.shows("latency-cdf.svg", &["Latency CDF per operation", "get", "put", "latency (ms)"]);
    page.shows("latency-by-outcome.svg", &["ok", "failed", "crash n3 10.0–15.0s", "settle 30.0–35.0s"]);
    page.shows("traffic.svg", &["Messages sent between nodes", "n0", "n4", "from", "to"]);
    page.shows("t-visibility.svg", &["reads that saw it (%)", "reads"]);
    assert!(page.dom.contains("<h3>Per message kind</h3>") && page.dom.contains(">Digest</td>"));
    assert!(!page.dom.contains("<h2>The failure</h2>"), "a passing run has no failure section");
    keep_screenshot(&page, "report-quickstart.png");
}

/// `raft-leader-partition.yaml` with the planted `read-without-quorum` bug, written to a
/// temporary file named after `name`.
fn buggy_raft(name: &str) -> PathBuf {
    let text = std::fs::read_to_string("scenarios/raft-leader-partition.yaml").unwrap();
    let text = text.replacen("  kind: raft\n", "  kind: raft\n  bug: read-without-quorum\n", 1);
    let file = std::env::temp_dir().join(format!("syncsim-browser-{name}-{}.yaml", std::process::id()));
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_failing_raft_run_opens_with_its_failure_drawn() {
    // Raft with a planted bug (a deposed leader serving reads alone) fails seed 0's
    // linearizability check; the page must open with it.
    let Some(browser) = browser() else { return };
    let file = buggy_raft("raft-bug");
    let args = ["run", file.to_str().unwrap(), "--seed", "0"];
    // The two outcome charts, latency CDF and over time, leader, the violation, the messages
    // before it, traffic, network.
    let expect = Expect { name: "raft-failure", exit: 1, title: "raft-leader-partition: SAFETY VIOLATION", figures: 9 };
    let page = check_page(&browser, &args, &expect);
    // Failures first: the failed check is the first row, and the drawings come before the
    // operations table.
    let checks = &page.dom[page.dom.find("<h2>Checks</h2>").unwrap()..];
    let first_row = &checks[checks.find("<tbody>").unwrap()..];
    let first_row = &first_row[..first_row.find("</tr>").unwrap()];
    assert!(first_row.contains("linearizable") && first_row.contains("FAILED") && first_row.contains("cannot place"));
    let at = |what: &str| page.dom.find(what).unwrap_or_else(|| panic!("no {what}"));
    assert!(at("<h2>The failure</h2>") < at("<figure id=\"linearizability.svg\""));
    assert!(at("<figure id=\"spacetime.svg\"") < at("<h2>Operations</h2>"));
    let stuck = page.figure("linearizability.svg");
    assert_eq!(stuck.matches("CANNOT PLACE").count(), 1, "one operation is marked impossible");
    page.shows("spacetime.svg", &["Append", "n0", "n4"]);
    page.shows("leader.svg", &["Leader per node over time", "no leader", "term 1", "term 2"]);
    page.shows("throughput-by-outcome.svg", &["ok", "failed", "partition 10.0–20.0s"]);
    keep_screenshot(&page, "report-failure.png");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn the_comparison_page_loads_in_a_browser_with_every_chart_drawn() {
    // Latency, availability, messages, bytes per operation and per write, convergence bars;
    // latency CDF; divergence.
    let args = ["compare", "scenarios/compare-sync.yaml", "--seeds", "20"];
    let Some(browser) = browser() else { return };
    let expect = Expect { name: "compare", exit: 0, title: "compare-sync: PASS", figures: 9 };
    let page = check_page(&browser, &args, &expect);
    // Bars are named under them where there is one group, and carry their value.
    page.shows("messages.svg", &["raft", "gossip", "crdt-delta"]);
    page.shows("latency.svg", &["p50", "p99", "p99.9", "raft", "gossip", "crdt-delta"]);
    // Each variant's column links to its run page, which loads too.
    let run = page.dir.join("runs/raft/index.html");
    assert!(page.dom.contains("href=\"runs/raft/index.html\""));
    let (dom, log) = load(&browser, &run, None);
    assert!(!log.contains("ERR_") && dom.contains("<h1>compare-sync"), "the representative run's page");
    keep_screenshot(&page, "report-compare.png");
}

#[test]
fn the_sweep_page_shows_each_seed_and_the_spread_of_each_metric() {
    // Raft with the planted deposed-leader read bug fails some seeds of 0..40.
    let Some(browser) = browser() else { return };
    let file = buggy_raft("sweep");
    let args = ["sweep", file.to_str().unwrap(), "--seeds", "0..40"];
    // p99 latency, availability, convergence, visibility, messages and bytes per operation.
    let expect =
        Expect { name: "sweep", exit: 1, title: "sweep of raft-leader-partition: SAFETY VIOLATION", figures: 6 };
    let page = check_page(&browser, &args, &expect);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(page.dir.join("sweep.json")).unwrap()).unwrap();
    let failing: Vec<u64> = json["failing"].as_array().unwrap().iter().map(|f| f["seed"].as_u64().unwrap()).collect();
    assert!(!failing.is_empty() && failing.len() < 40, "{failing:?}");
    // One cell per seed, red for each failing one, linking to its row with the reproducer.
    assert_eq!(page.dom.matches("class=\"seed ").count(), 40 + 4, "40 seeds and the four-colour key");
    assert_eq!(page.dom.matches("class=\"seed safety\"").count(), failing.len() + 1);
    for seed in &failing {
        assert!(page.dom.contains(&format!("href=\"#seed-{seed}\"")));
        assert!(page.dom.contains(&format!("--seed {seed}</code>")), "seed {seed}'s reproducer");
    }
    page.shows("latency-all-p99.svg", &["p99 latency (ms) across seeds", "40 of 40 seeds", "cumulative percent"]);
    keep_screenshot(&page, "report-sweep.png");
    let _ = std::fs::remove_file(&file);
}
