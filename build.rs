//! Embeds the demo's web assets (whatever exists at build time) into the binary, so
//! `dockchatd demo` works from any directory. A missing folder only means fewer assets.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(root: &Path, dir: &Path, prefix: &str, exts: &[&str], out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, prefix, exts, out);
        } else if exts.is_empty()
            || path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e))
        {
            if let Ok(rel) = path.strip_prefix(root) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.push((format!("{prefix}{rel}"), path.clone()));
            }
        }
    }
}

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let mut files = Vec::new();
    let sets: [(&str, &str, &[&str]); 4] = [
        ("demo/", "src/demo/assets", &[]),
        ("client/", "moodle-block/amd/src", &["js"]),
        ("templates/", "moodle-block/templates", &["mustache"]),
        ("lang/", "lang", &["php"]),
    ];
    for (prefix, dir, exts) in sets {
        let root = manifest.join(dir);
        collect(&root, &root, prefix, exts, &mut files);
    }
    let styles = manifest.join("moodle-block/styles.css");
    if styles.is_file() {
        files.push(("styles.css".into(), styles));
    }
    let mut code = String::from(
        "/// Embedded demo assets: (path, bytes).\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()))
        .join("demo_assets.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
    for watched in ["src/demo", "moodle-block", "lang"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
