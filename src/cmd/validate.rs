//! `syncsim validate`: scenario files checked without running them.

use std::path::PathBuf;

use syncsim_reports::Exit;

use super::{Error, Outcome};
use crate::scenario::ScenarioFile;

/// Runs `syncsim validate`: every file is read, and every bad one is named.
pub fn validate(files: &[PathBuf]) -> Outcome {
    let mut problems = Vec::new();
    for file in files {
        match ScenarioFile::load(file) {
            Ok(f) => {
                let variants = f.variant_names();
                let of =
                    if variants.is_empty() { String::new() } else { format!(", variants {}", variants.join(", ")) };
                println!("ok: {} ({}, {} nodes{of})", file.display(), f.name(), f.runs()[0].node_names.len());
                for run in f.runs() {
                    let which = run.variant.as_ref().map(|v| format!(" ({v})")).unwrap_or_default();
                    println!("  estimate{which}: {}", run.cost().summary());
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() { Ok(Exit::Pass) } else { Err(Error::all(problems)) }
}
