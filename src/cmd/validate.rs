//! `syncsim validate`: scenario files checked without running them.

use std::path::PathBuf;

use syncsim_reports::Exit;

use super::{Error, Outcome};
use crate::scenario::Scenario;

/// Runs `syncsim validate`: every file is read, and every bad one is named.
pub fn validate(files: &[PathBuf]) -> Outcome {
    let mut problems = Vec::new();
    for file in files {
        match Scenario::load(file) {
            Ok(s) => println!("ok: {} ({}, {} nodes)", file.display(), s.name(), s.node_names.len()),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() { Ok(Exit::Pass) } else { Err(Error::all(problems)) }
}
