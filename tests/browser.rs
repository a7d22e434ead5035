//! The HTML report in a real browser: headless Chromium loads the quickstart's `index.html`
//! and the comparison page without errors, and every chart is there and drawn.
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

/// Runs `syncsim args... --out DIR`, loads `DIR/index.html`, and checks the page: its title,
/// no errors, one drawn chart per `charts/*.svg` (`figures` of them); returns the screenshot.
fn check_page(browser: &Path, args: &[&str], name: &str, title: &str, figures: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("syncsim-browser-{name}-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).arg("--out").arg(&dir).output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stdout));
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
    png
}

#[test]
fn the_quickstart_report_loads_in_a_browser_with_every_chart_drawn() {
    // Latency CDF, latency over time, latency and throughput by outcome, divergence, session
    // violations (seed 1 has one: a push-pull reply that carried a client's later write first),
    // network.
    let Some(browser) = browser() else { return };
    let png = check_page(&browser, &["run", "scenarios/quickstart.yaml"], "quickstart", "quickstart: PASS", 7);
    if std::env::var_os("SYNCSIM_SCREENSHOTS").is_some() {
        std::fs::copy(&png, "docs/report-quickstart.png").unwrap();
    }
}

#[test]
fn the_comparison_page_loads_in_a_browser_with_every_chart_drawn() {
    // Latency, availability, messages, bytes per operation and per write, convergence bars;
    // latency CDF; divergence.
    let args = ["compare", "scenarios/compare-sync.yaml", "--seeds", "20"];
    let Some(browser) = browser() else { return };
    let png = check_page(&browser, &args, "compare", "compare-sync: PASS", 8);
    if std::env::var_os("SYNCSIM_SCREENSHOTS").is_some() {
        std::fs::copy(&png, "docs/report-compare.png").unwrap();
    }
}
