//! The daemon's layers (src/lib.rs's module map) import only downwards: reading every `crate::…`
//! path outside comments in each layer's files, no layer names one above it, so no import cycle can
//! form (`app` → `demo` → `app` was one). A new dependency that breaks the order fails here with the
//! file and the line.

use std::path::{Path, PathBuf};

/// Each layer, and the crate modules it may not name. Top to bottom: demo, app, ws, cluster,
/// services, (ops, store, outbox, protocol).
const RULES: &[(&str, &[&str])] = &[
    ("app.rs", &["demo"]),
    ("ws", &["demo", "app"]),
    ("cluster", &["demo", "app", "ws"]),
    ("services", &["demo", "app", "ws", "cluster"]),
    ("ops", &["demo", "app", "ws", "services", "cluster"]),
    (
        "store",
        &["demo", "app", "ws", "cluster", "services", "ops", "outbox"],
    ),
    (
        "outbox.rs",
        &["demo", "app", "ws", "cluster", "services", "ops", "store"],
    ),
    (
        "protocol.rs",
        &[
            "demo", "app", "ws", "cluster", "services", "ops", "store", "outbox",
        ],
    ),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("read src dir")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for e in entries {
            rust_files(&e, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The crate modules a line of code names (`crate::x` → `x`), ignoring `//` comments.
fn named_modules(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .map(|(at, m)| {
            code[at + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn layers_import_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (layer, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no files for layer {layer}");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            for (n, line) in text.lines().enumerate() {
                for m in named_modules(line) {
                    if forbidden.contains(&m.as_str()) {
                        broken.push(format!(
                            "{}:{}: {layer} names crate::{m}",
                            file.display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layer order:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_rule_reads_paths_not_comments() {
    assert_eq!(
        named_modules("use crate::ws::server; // crate::app"),
        vec!["ws"]
    );
    assert!(named_modules("//! see [`crate::demo`]").is_empty());
}
