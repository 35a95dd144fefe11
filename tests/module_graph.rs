//! The module graph of every crate is a tree: no two sibling modules import each other, directly
//! or through others. Read from the sources: `crate::` and `super::` paths, grouped `use`s
//! included, test modules left out. Each edge between two modules counts for their ancestors that
//! are siblings, so `a::x` using `b::y` is an edge `a -> b`.

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

type ModulePath = Vec<String>;

static COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)//.*$").unwrap());
static PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b((?:super::)+|crate::)((?:\w+::)*\w+)").unwrap());
static GROUPED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bcrate::\{([^;]*)\}").unwrap());

/// Every module of the crate rooted at `src`, by path, with its file.
fn modules(src: &Path) -> BTreeMap<ModulePath, PathBuf> {
    let mut found = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: ModulePath = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            found.insert(module, path);
        }
    }
    found
}

/// The modules that `module`'s source names, resolved to the longest known module path.
fn references(
    module: &ModulePath,
    source: &str,
    known: &BTreeMap<ModulePath, PathBuf>,
) -> BTreeSet<ModulePath> {
    let source = COMMENT.replace_all(source, "");
    let source = source
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default();
    let mut named: Vec<ModulePath> = Vec::new();
    for found in PATH.captures_iter(source) {
        let prefix = &found[1];
        let rest = found[2].split("::").map(str::to_owned);
        let mut full: ModulePath = if prefix == "crate::" {
            Vec::new()
        } else {
            let ups = prefix.matches("super::").count();
            module[..module.len().saturating_sub(ups)].to_vec()
        };
        full.extend(rest);
        named.push(full);
    }
    for group in GROUPED.captures_iter(source) {
        for item in group[1].split(',') {
            let parts: ModulePath = item
                .trim()
                .split("::")
                .map(|p| p.trim_matches(|c: char| !c.is_alphanumeric() && c != '_'))
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            named.push(parts);
        }
    }
    named
        .into_iter()
        .filter_map(|full| {
            (1..=full.len())
                .rev()
                .map(|n| full[..n].to_vec())
                .find(|prefix| known.contains_key(prefix))
        })
        .collect()
}

/// The sibling edges of a crate: `a -> b` when something under `a` names something under `b`.
fn sibling_edges(src: &Path) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let known = modules(src);
    let mut edges: BTreeMap<ModulePath, BTreeSet<ModulePath>> = BTreeMap::new();
    for (module, file) in &known {
        if module.last().is_some_and(|name| name.ends_with("tests")) {
            continue;
        }
        let source = std::fs::read_to_string(file).unwrap();
        for target in references(module, &source, &known) {
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common >= module.len() || common >= target.len() {
                continue; // an ancestor or a descendant
            }
            let from = module[..=common].to_vec();
            edges
                .entry(from)
                .or_default()
                .insert(target[..=common].to_vec());
        }
    }
    edges
}

/// A cycle through `start`, if there is one.
fn cycle_from(
    start: &ModulePath,
    edges: &BTreeMap<ModulePath, BTreeSet<ModulePath>>,
) -> Option<Vec<ModulePath>> {
    let mut pending = vec![vec![start.clone()]];
    let mut seen = BTreeSet::new();
    while let Some(trail) = pending.pop() {
        let last = trail.last()?;
        for next in edges.get(last).into_iter().flatten() {
            if next == start {
                return Some(trail);
            }
            if seen.insert(next.clone()) {
                let mut longer = trail.clone();
                longer.push(next.clone());
                pending.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_two_modules_import_each_other_in_any_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cycles = Vec::new();
    for src in [
        "src",
        "config/src",
        "actors/src",
        "protocol/src",
        "audit-chain/src",
        "allocator/src",
    ] {
        let edges = sibling_edges(&root.join(src));
        for module in edges.keys() {
            if let Some(cycle) = cycle_from(module, &edges) {
                let names: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
                cycles.push(format!("{src}: {}", names.join(" -> ")));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_graph_reader_sees_imports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let edges = sibling_edges(&root.join("actors/src"));
    let messages = vec!["messages".to_owned()];
    let domain = vec!["domain".to_owned()];
    assert!(edges[&messages].contains(&domain), "{edges:?}");
}
