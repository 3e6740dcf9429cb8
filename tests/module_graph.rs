//! The import graph of each crate's top-level modules has no cycle (issue #21): a module that
//! names `crate::other` (in a `use`, a grouped `use crate::{a, b}` or a path in code) depends
//! on `other`. Comments, doc comments and `#[cfg(test)]` modules do not count. A cycle fails
//! here, naming the modules in it and the files that make each edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → (module it imports → files of the importer that do).
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments and without anything from the first `#[cfg(test)]` on (our
/// test modules sit at the end of their files).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate names a `crate::` path starts with: one, or each word of a `{…}` group.
fn imported_after(rest: &str) -> Vec<String> {
    let ident = |s: &str| {
        s.chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect::<String>()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)];
    };
    // The first word of each item at the group's top level (`{model::{A, b}, io}`: model, io).
    let (mut items, mut depth, mut start) = (Vec::new(), 0usize, true);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                items.push(ident(&group[i..]));
                start = false;
            }
            _ => {}
        }
    }
    items.retain(|w| !w.is_empty());
    items
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let top = |p: &Path| {
        let rel = p.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        first.trim_end_matches(".rs").to_owned()
    };
    let modules: BTreeSet<String> = files.iter().map(|p| top(p)).collect();
    let mut g = Graph::new();
    for file in &files {
        let from = top(file);
        if from == "lib" || from == "main" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for rest in code.split("crate::").skip(1) {
            for to in imported_after(rest) {
                if to != from && modules.contains(&to) {
                    g.entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_default()
                        .insert(file.strip_prefix(src).unwrap().display().to_string());
                }
            }
        }
    }
    g
}

/// The modules on some cycle, or none: those a path of imports leads back to.
fn modules_on_cycles(g: &Graph) -> BTreeSet<String> {
    let reaches_itself = |start: &String| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![start]);
        while let Some(m) = todo.pop() {
            for to in g.get(m).into_iter().flat_map(|edges| edges.keys()) {
                if to == start {
                    return true;
                }
                if seen.insert(to) {
                    todo.push(to);
                }
            }
        }
        false
    };
    g.keys().filter(|m| reaches_itself(m)).cloned().collect()
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut report = Vec::new();
    for src in ["src", "circuits/src", "verifier-gen/src"] {
        let g = graph(&root.join(src));
        let cyclic = modules_on_cycles(&g);
        for from in &cyclic {
            for (to, files) in &g[from] {
                if cyclic.contains(to) {
                    report.push(format!("{src}: {from} -> {to} ({files:?})"));
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "import cycles (a module on a cycle, what it imports on it, and where):\n{}",
        report.join("\n")
    );
}

#[test]
fn the_cycle_check_sees_grouped_imports_and_ignores_comments_and_tests() {
    let code = code_of(
        "use crate::{model::{X, io_spec}, fixed_point, Fr};\n// crate::prover\n/// [`crate::srs`]\nfn f() { crate::io::read(); }\n#[cfg(test)]\nmod tests { use crate::layout; }",
    );
    let found: Vec<String> = code
        .split("crate::")
        .skip(1)
        .flat_map(imported_after)
        .collect();
    assert_eq!(found, ["model", "fixed_point", "io"]);
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        g.entry(a.into())
            .or_default()
            .entry(b.into())
            .or_default()
            .insert(format!("{a}.rs"));
    }
    assert_eq!(
        modules_on_cycles(&g),
        ["a", "b", "c"].map(String::from).into()
    );
}

/// `verifier-gen` takes verifying keys and SRS parameters as data: it builds on `circuits`
/// only in its tests (issue #21), so the verifier generator never depends on the compiler.
#[test]
fn verifier_gen_uses_circuits_only_in_its_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("verifier-gen/Cargo.toml")).unwrap();
    let mut section = "";
    let mut found = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if line.starts_with("snarkml-circuits") {
            found.push(section);
        }
    }
    assert_eq!(found, ["[dev-dependencies]"], "verifier-gen/Cargo.toml");
}

/// The libraries touch no disk (issue #21): `circuits` and `verifier-gen` parse and render
/// bytes, and the root package's `stored` module reads and writes the files. A library file
/// (outside its tests, and outside verifier-gen's test-only `testing` module) that names the
/// file system fails here with the file and the line.
#[test]
fn the_libraries_read_and_write_no_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("circuits/src"), &mut files);
    rust_files(&root.join("verifier-gen/src"), &mut files);
    files.retain(|f| !f.ends_with("verifier-gen/src/testing.rs"));
    let disk = ["fs::", "File::", "OpenOptions", "tempfile", "_for_path("];
    // A name that starts there: `std::fs::read`, not `halo2_proofs::` or `CalibrationFile::`.
    let names = |line: &str, word: &str| {
        line.match_indices(word).any(|(i, _)| {
            !line[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    let mut found = Vec::new();
    for file in &files {
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for (n, line) in code.lines().enumerate() {
            if disk.iter().any(|d| names(line, d)) {
                let at = file.strip_prefix(root).unwrap().display();
                found.push(format!("{at}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "disk access in a library:\n{}",
        found.join("\n")
    );
    assert!(
        files.len() > 40,
        "the scan found the sources ({} files)",
        files.len()
    );
}
