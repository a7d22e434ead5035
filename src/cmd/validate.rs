//! `syncsim validate`: scenario files checked without running them.

use std::path::PathBuf;

use syncsim_reports::EXIT_BAD_INPUT;

use crate::scenario::Scenario;

pub fn validate(files: &[PathBuf]) -> i32 {
    let mut code = 0;
    for file in files {
        match Scenario::load(file) {
            Ok(s) => println!("ok: {} ({}, {} nodes)", file.display(), s.name(), s.node_names.len()),
            Err(e) => {
                eprintln!("error: {e}");
                code = EXIT_BAD_INPUT;
            }
        }
    }
    code
}
