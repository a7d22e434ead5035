//! The documentation stands on its own: every relative link in the repository's Markdown
//! (README, docs/, test data notes, the example crate) names a file or folder that exists inside
//! the repository, and no page sends a reader to a path outside it (such as a design document
//! next to a checkout).

use std::path::{Path, PathBuf};

/// Every Markdown file of the repository, outside build output.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                markdown_files(&path, out);
            }
        } else if path.extension().is_some_and(|x| x == "md") {
            out.push(path);
        }
    }
}

/// The targets of inline links `[text](target)`, without their `#anchor`.
fn link_targets(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
        .map(|t| t.split('#').next().unwrap_or("").trim().to_string())
        .collect()
}

#[test]
fn every_relative_link_in_the_docs_stays_inside_the_repository_and_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    assert!(files.len() >= 10, "found only {files:?}");
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if text.contains("../shared") || text.contains("DESIGN.md") {
            broken.push(format!("{}: points at a document outside the repository", file.display()));
        }
        for target in link_targets(&text) {
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = file.parent().unwrap().join(&target);
            match resolved.canonicalize() {
                Ok(p) if p.starts_with(&root) => {}
                Ok(p) => broken.push(format!("{}: `{target}` leads outside, to {}", file.display(), p.display())),
                Err(_) => broken.push(format!("{}: `{target}` does not exist", file.display())),
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
