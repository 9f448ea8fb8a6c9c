//! The shape of the code, checked: in every crate of the workspace (`src/`, `simulator/src`,
//! `testkit/src`, `bench/src`) modules import each other one way only, between files and
//! between folders (a folder counts as one module); the domain imports nothing from the rest
//! of the crate; no port's adapter imports another; configuration imports no stage. Each
//! failure names the offending pair or loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A crate's modules (`domain::phone`, `triggers`) and, for each, the modules it imports.
type Imports = BTreeMap<String, BTreeSet<String>>;

/// Reads every `.rs` file under `root` (a crate's `src/`), outside its `#[cfg(test)]` parts.
fn imports_of(root: &Path) -> Imports {
    let mut files = Vec::new();
    collect(root, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .map(|file| (module_of(root, file), file.clone()))
        .collect();
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, file)| {
            let text = std::fs::read_to_string(file).expect("source file");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let targets = referenced_paths(module, code)
                .into_iter()
                .filter_map(|path| resolve(&names, &path))
                .filter(|target| target != module)
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() && path.file_name().is_some_and(|name| name != "bin") {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// `src/domain/phone.rs` → `domain::phone`; `src/domain/mod.rs` → `domain`; `lib.rs` → ``.
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file
        .strip_prefix(root)
        .expect("under root")
        .with_extension("");
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p != "mod" && p != "lib" && p != "main")
        .collect();
    parts.join("::")
}

/// Every `crate::a::b` and `super::a` path in `code`, made absolute (`a::b`).
fn referenced_paths(module: &str, code: &str) -> Vec<String> {
    let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", ""), ("super::", parent)] {
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest: String = code[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let rest = rest.trim_end_matches(':');
            paths.push(if base.is_empty() {
                rest.to_owned()
            } else {
                format!("{base}::{rest}")
            });
        }
    }
    paths
}

/// The longest module that `path` names or lies in.
fn resolve(modules: &BTreeSet<String>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

/// A loop of imports, if there is one.
fn find_loop(imports: &Imports) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        imports: &Imports,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in imports.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, imports, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    imports
        .keys()
        .find_map(|node| visit(node, imports, &mut Vec::new(), &mut done))
}

fn crate_root(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The crates of the workspace, each by its library's source folder (binaries under `bin/` are
/// crates of their own with one file each).
const CRATES: [&str; 4] = ["src", "simulator/src", "testkit/src", "bench/src"];

/// The imports between folders: each module counted as its top-level folder (or root file).
fn folder_imports(imports: &Imports) -> Imports {
    let top = |module: &str| module.split("::").next().unwrap_or_default().to_owned();
    let mut folders = Imports::new();
    for (module, targets) in imports {
        let from = top(module);
        let entry = folders.entry(from.clone()).or_default();
        entry.extend(targets.iter().map(|t| top(t)).filter(|t| *t != from));
    }
    folders
}

/// The pairs `a → b` of `imports` where `forbidden(a, b)` holds.
fn offending(imports: &Imports, forbidden: impl Fn(&str, &str) -> bool) -> Vec<String> {
    imports
        .iter()
        .flat_map(|(from, targets)| targets.iter().map(move |to| (from, to)))
        .filter(|(from, to)| forbidden(from, to))
        .map(|(from, to)| format!("{from} → {to}"))
        .collect()
}

#[test]
fn no_crate_of_the_workspace_has_an_import_loop_between_files_or_folders() {
    for root in CRATES {
        let imports = imports_of(&crate_root(root));
        assert!(imports.len() > 3, "{root}: too few modules read");
        assert_eq!(
            find_loop(&imports),
            None,
            "{root}: an import loop between files"
        );
        let folders = folder_imports(&imports);
        assert_eq!(
            find_loop(&folders),
            None,
            "{root}: an import loop between folders"
        );
    }
}

/// The ports, each a folder with its trait and its SDK adapter.
const PORTS: [&str; 4] = ["connect", "queue", "store", "bus"];

#[test]
fn no_port_imports_another_port() {
    let folders = folder_imports(&imports_of(&crate_root("src")));
    let found = offending(&folders, |from, to| {
        PORTS.contains(&from) && PORTS.contains(&to)
    });
    assert!(found.is_empty(), "adapters importing each other: {found:?}");
}

#[test]
fn configuration_imports_nothing_but_the_domain_and_its_rules() {
    let folders = folder_imports(&imports_of(&crate_root("src")));
    let found = offending(&folders, |from, to| {
        from == "config" && !["domain", "policy"].contains(&to)
    });
    assert!(
        found.is_empty(),
        "configuration importing a stage: {found:?}"
    );
}

#[test]
fn the_domain_imports_nothing_outside_itself() {
    let imports = imports_of(&crate_root("src"));
    let found = offending(&imports, |from, to| {
        let inside = |m: &str| m == "domain" || m.starts_with("domain::");
        inside(from) && !inside(to)
    });
    assert!(found.is_empty(), "the domain importing the rest: {found:?}");
}

/// The most lines a function of the crates' code may take (its tests aside): a screen.
const MAX_FUNCTION_LINES: usize = 80;

/// Each function of `code` (outside its `#[cfg(test)]` part) longer than `most` lines, as
/// `name (lines)`. A function ends at the first line that closes it at its own indentation.
fn long_functions(code: &str, most: usize) -> Vec<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let declaration = [
            "fn ",
            "pub fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) fn ",
        ]
        .iter()
        .find_map(|prefix| trimmed.strip_prefix(prefix));
        let Some(rest) = declaration else { continue };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let closing = lines[start + 1..].iter().position(|l| {
            l.strip_prefix(indent)
                .is_some_and(|l| matches!(l.trim_end(), "}" | "})" | "};"))
        });
        if let Some(end) = closing.filter(|end| end + 2 > most) {
            found.push(format!("{name} ({} lines)", end + 2));
        }
    }
    found
}

#[test]
fn no_function_of_the_function_the_simulator_or_the_testkit_is_longer_than_a_screen() {
    for root in ["src", "simulator/src", "testkit/src"] {
        let mut files = Vec::new();
        collect(&crate_root(root), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).expect("source file");
            let long = long_functions(&text, MAX_FUNCTION_LINES);
            assert!(long.is_empty(), "{}: {long:?}", file.display());
        }
    }
}

#[test]
fn the_length_check_measures_a_function_from_its_line_to_its_closing_brace() {
    let body = |n: usize| "    let x = 1;\n".repeat(n);
    let short = format!("fn short() {{\n{}}}\n", body(78));
    let long = format!("pub async fn long() {{\n{}}}\n", body(79));
    assert!(long_functions(&short, 80).is_empty());
    assert_eq!(long_functions(&long, 80), ["long (81 lines)"]);
    let in_tests = format!("#[cfg(test)]\nmod tests {{\n{long}}}\n");
    assert!(long_functions(&in_tests, 80).is_empty());
}

#[test]
fn the_loop_finder_finds_a_loop_and_the_resolver_finds_modules() {
    let modules: BTreeSet<String> = ["a", "a::b", "c"].map(String::from).into();
    assert_eq!(resolve(&modules, "a::b::Thing"), Some("a::b".into()));
    assert_eq!(resolve(&modules, "a::Other"), Some("a".into()));
    assert_eq!(resolve(&modules, "x::y"), None);
    let mut imports = Imports::new();
    imports.insert("a".into(), ["c".to_string()].into());
    imports.insert("c".into(), BTreeSet::new());
    assert_eq!(find_loop(&imports), None);
    imports.insert("c".into(), ["a".to_string()].into());
    assert!(find_loop(&imports).is_some());
    let files: Imports = [
        ("send::a".to_string(), ["telemetry::b".to_string()].into()),
        ("telemetry::c".to_string(), ["send::d".to_string()].into()),
    ]
    .into();
    assert_eq!(find_loop(&files), None);
    assert!(find_loop(&folder_imports(&files)).is_some());
    assert_eq!(
        offending(&folder_imports(&files), |from, _| from == "send"),
        ["send → telemetry"]
    );
    assert_eq!(
        referenced_paths(
            "domain::phone",
            "use super::arn::parse_arn; use crate::wire::X;"
        ),
        ["wire::X", "domain::arn::parse_arn"]
    );
}
