//! `syncsim compare`: scenarios and variants side by side over many seeds.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use syncsim_reports::EXIT_BAD_INPUT;

use crate::cli::parse_seeds;
use crate::output;
use crate::scenario::Scenario;

pub fn compare(files: &[PathBuf], seeds: &str, out: Option<PathBuf>) -> i32 {
    let seeds = match parse_seeds(seeds) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --seeds: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut scenarios = Vec::new();
    for f in files {
        match Scenario::load(f) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let entries = crate::compare::entries(&scenarios);
    let names: Vec<&str> = scenarios.iter().map(|s| s.name()).collect();
    let title = names.join(" vs ");
    let dir = out.unwrap_or_else(|| output::default_dir(&format!("compare-{}", names.join("-")), seeds.start));
    println!("seeds: {}..{}", seeds.start, seeds.end);
    println!("comparing: {}", entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "));
    let _ = std::io::stdout().flush();
    let started = Instant::now();
    let (summary, charts) = match crate::compare::many_seeds(&entries, seeds.clone()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let md = crate::compare::many_seeds_markdown(&summary, &title);
    let html = crate::compare::many_seeds_html(&summary, &title, &charts);
    if let Err(e) = output::write_many_seeds(&dir, &summary, &md, &html, &charts) {
        eprintln!("error: {e:#}");
        return EXIT_BAD_INPUT;
    }
    println!(
        "\nran {} runs in {:.2}s of wall time; page: {}\n",
        entries.len() * seeds.count(),
        started.elapsed().as_secs_f64(),
        dir.join("index.html").display()
    );
    print!("{md}");
    summary.exit_code
}
