//! The layers of `cfn` (see `mod.rs`), enforced: these tests read every source file of
//! this directory and check that each uses, through `super::` and `crate::cfn::` paths,
//! only the modules its entry in [`LAYERS`] allows, and that every allowed module sits
//! earlier in the table and in the same or a lower layer. A new file, a new dependency
//! or one on a layer above fails here, with the file and the path named.

use std::collections::BTreeSet;
use std::path::Path;

/// The four layers, bottom first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// The poll schedule, throttling, deadlines: uses nothing in `cfn`.
    Polling,
    /// One AWS conversation each: stacks, events, operations, ECS, change sets.
    Reading,
    /// Why an operation failed, in the user's words.
    Explaining,
    /// Following an operation while it runs; settling and deleting a stack.
    Following,
}

use Layer::{Explaining, Following, Polling, Reading};

/// Every module of `cfn` (a file and its child files), bottom first, with its layer and
/// the modules it may use. `mod.rs`, `fixtures.rs`, test files and this file are not
/// layers.
const LAYERS: &[(&str, Layer, &[&str])] = &[
    ("wait", Polling, &[]),
    ("describe", Reading, &["wait"]),
    ("events", Reading, &["wait"]),
    ("operations", Reading, &["wait", "events"]),
    ("ecs", Reading, &["wait", "events"]),
    ("review", Reading, &["wait"]),
    ("change_set", Reading, &["wait"]),
    ("explain", Explaining, &["events", "operations"]),
    (
        "follow",
        Following,
        &["wait", "describe", "events", "operations", "ecs"],
    ),
    (
        "stack",
        Following,
        &[
            "wait",
            "describe",
            "events",
            "explain",
            "follow",
            "change_set",
        ],
    ),
];

/// Names re-exported from a layer above, only so that the commands' `use` lines keep
/// working while issue 18's branches merge: (module, from, names). The module itself
/// must not use them. Remove an entry with its `pub(crate) use` line once no caller
/// imports the old path.
const COMPAT: &[(&str, &str, &[&str])] = &[
    ("wait", "follow", &["Settled", "follow"]),
    ("events", "explain", &["root_cause"]),
    ("events", "follow", &["EventFollower"]),
    ("operations", "explain", &["root_cause_of"]),
];

/// Longest production file, in lines.
const MAX_LINES: usize = 600;

fn entry(module: &str) -> Option<(usize, Layer, &'static [&'static str])> {
    LAYERS
        .iter()
        .position(|(name, _, _)| *name == module)
        .map(|i| (i, LAYERS[i].1, LAYERS[i].2))
}

/// The module path of a file under `cfn/` (`stack/recovery.rs` → `stack::recovery`),
/// or `None` for files that are not part of a layer.
fn module_path(rel: &str) -> Option<Vec<String>> {
    let file = rel.rsplit('/').next().unwrap_or(rel);
    if rel == "mod.rs"
        || rel == "fixtures.rs"
        || rel == "layering.rs"
        || file == "tests.rs"
        || file.starts_with("tests_")
    {
        return None;
    }
    Some(
        rel.trim_end_matches(".rs")
            .split('/')
            .map(str::to_owned)
            .collect(),
    )
}

/// The production part of a source: up to its first `#[cfg(test)]`, without comments.
fn production_code(source: &str) -> String {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The `cfn` modules a file's production code names through `super::` or
/// `crate::cfn::` paths (its own module left out), and the problems found: a compat
/// name used by the module itself.
fn dependencies(rel: &str, source: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut deps = BTreeSet::new();
    let mut problems = Vec::new();
    let Some(path) = module_path(rel) else {
        return (deps, problems);
    };
    let own = path[0].clone();
    let mut code = production_code(source);

    // Compat re-exports: skipped as dependencies, and their names must not be used.
    let mut compat_names = Vec::new();
    for (module, from, names) in COMPAT.iter().filter(|(m, _, _)| *m == own) {
        let prefix = format!("pub(crate) use super::{from}::");
        let Some(start) = code.find(&prefix) else {
            continue;
        };
        let end = start + code[start..].find(';').unwrap_or(0) + 1;
        code.replace_range(start..end, "");
        compat_names.extend(names.iter().map(|n| (*module, *n)));
    }
    for (module, name) in compat_names {
        let used = code.match_indices(name).any(|(i, _)| {
            let before = code[..i].chars().next_back();
            let after = code[i + name.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            !word(before) && !word(after)
        });
        if used {
            problems.push(format!(
                "{rel}: `{name}` is re-exported for compatibility only, but {module} uses it"
            ));
        }
    }

    for (i, _) in code.match_indices("crate::cfn::") {
        deps.insert(ident(&code[i + "crate::cfn::".len()..]).to_owned());
    }
    let mut rest = code.as_str();
    while let Some(i) = rest.find("super::") {
        let preceded = rest[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        let mut tail = &rest[i..];
        let mut ups = 0;
        while let Some(t) = tail.strip_prefix("super::") {
            ups += 1;
            tail = t;
        }
        rest = tail;
        if preceded {
            continue;
        }
        let base = path.len().saturating_sub(ups);
        if base > 0 {
            // Inside its own module (a child file naming its parent).
            continue;
        }
        if let Some(group) = tail.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                deps.insert(ident(item).to_owned());
            }
        } else {
            let name = ident(tail);
            deps.insert(if name.is_empty() {
                tail.chars().next().map(String::from).unwrap_or_default()
            } else {
                name.to_owned()
            });
        }
    }
    deps.remove(&own);
    (deps, problems)
}

/// What is wrong with one file's dependencies (empty when it keeps to its layer).
fn check(rel: &str, source: &str) -> Vec<String> {
    let Some(path) = module_path(rel) else {
        return Vec::new();
    };
    let Some((_, layer, allowed)) = entry(&path[0]) else {
        return vec![format!(
            "{rel}: module `{}` is not in the layer table (cfn/layering.rs LAYERS): add it \
             with its layer and the modules it may use",
            path[0]
        )];
    };
    let (deps, mut problems) = dependencies(rel, source);
    for dep in deps {
        if !allowed.contains(&dep.as_str()) {
            let what = match entry(&dep) {
                Some((_, other, _)) if other > layer => {
                    format!("a module of the {other:?} layer, above {layer:?}")
                }
                Some(_) => "not one it may use".to_owned(),
                None => "not a layer of cfn".to_owned(),
            };
            problems.push(format!("{rel}: uses `{dep}`, {what}"));
        }
    }
    problems
}

/// Every `.rs` file under `dir`, as (path relative to `root` with `/`, text).
fn sources(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("cfn directory readable")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((
                rel,
                std::fs::read_to_string(&path).expect("source readable"),
            ));
        }
    }
}

fn cfn_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cfn");
    let mut out = Vec::new();
    sources(&root, &root, &mut out);
    out
}

#[test]
fn the_table_only_points_down() {
    for (i, (name, layer, allowed)) in LAYERS.iter().enumerate() {
        for dep in *allowed {
            let (j, other, _) = entry(dep).unwrap_or_else(|| panic!("{name}: unknown `{dep}`"));
            assert!(
                j < i && other <= *layer,
                "{name} ({layer:?}) may not use {dep} ({other:?}): a module may only use \
                 modules earlier in the table, in its own layer or below"
            );
        }
    }
    assert_eq!(
        entry("wait").map(|e| e.2.len()),
        Some(0),
        "polling uses nothing"
    );
    for (module, from, _) in COMPAT {
        let (i, _, _) = entry(module).expect("compat module in the table");
        let (j, _, _) = entry(from).expect("compat source in the table");
        assert!(
            j > i,
            "compat re-exports are for names that moved up: {module} ← {from}"
        );
    }
}

#[test]
fn every_cfn_file_keeps_to_its_layer() {
    let files = cfn_sources();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (rel, source) in &files {
        problems.extend(check(rel, source));
        if let Some(path) = module_path(rel) {
            seen.insert(path[0].clone());
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
    for (name, _, _) in LAYERS {
        assert!(
            seen.contains(*name),
            "the table names `{name}`, which has no file"
        );
    }
}

#[test]
fn a_dependency_on_a_layer_above_is_caught() {
    let wait = "use super::follow::follow;\nuse crate::error::Failure;\n";
    assert_eq!(
        check("wait.rs", wait),
        ["wait.rs: uses `follow`, a module of the Following layer, above Polling"]
    );
    let events = "fn f() { crate::cfn::stack::describe(); }\nuse super::{wait, explain};\n";
    assert_eq!(
        check("events.rs", events),
        [
            "events.rs: uses `explain`, a module of the Explaining layer, above Reading",
            "events.rs: uses `stack`, a module of the Following layer, above Reading",
        ]
    );
    // A child file: `super::` is its own module, `super::super::` is cfn.
    let recovery = "use super::super::follow::EventFollower;\nuse super::Plan;\n";
    assert_eq!(check("stack/recovery.rs", recovery), Vec::<String>::new());
    let recovery = "use super::super::follow::EventFollower;\n";
    assert_eq!(check("change_set/rows.rs", recovery).len(), 1);
    // Comments and test code do not count; a new module must be added to the table.
    let commented = "// use super::follow;\n#[cfg(test)]\nmod tests { use crate::cfn::stack; }\n";
    assert!(check("wait.rs", commented).is_empty());
    assert_eq!(check("newthing.rs", "").len(), 1);
    // A compat name the module uses itself is a real dependency in disguise.
    let sneaky = "pub(crate) use super::follow::{Settled, follow};\nfn f() { follow(); }\n";
    assert_eq!(check("wait.rs", sneaky).len(), 1);
}

#[test]
fn no_production_file_is_over_600_lines() {
    for (rel, source) in cfn_sources() {
        if module_path(&rel).is_none() {
            continue;
        }
        let lines = source.lines().count();
        assert!(
            lines <= MAX_LINES,
            "{rel} has {lines} lines; split it by concern"
        );
    }
}
