//! The library's layers (README: Layout) hold: imports run one way, cli -> cmd -> domain ->
//! storage and tmux, with no cycle between modules. Reads the sources under `bins/lib`, finds
//! what each module refers to (`crate::a::b`, `super::x`, a `use` group, a child module by its
//! bare name) outside comments and strings, and fails naming the offending references.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules at the bottom: they may refer to one another and to nothing above them.
const STORAGE: [&str; 6] = [
    "error",
    "tmux",
    "claude",
    "claude::settings",
    "claude::trust",
    "shell",
];

/// Every `.rs` file under `dir`, with its module path (`cmd::tell`, `harness`, `` for lib.rs).
fn modules(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel: PathBuf = path.strip_prefix(dir).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            let source = std::fs::read_to_string(&path).unwrap();
            found.insert(parts.join("::"), code_only(&source));
        }
    }
    found
}

/// `source` without comments, string literals and `#[cfg(test)]` modules' bodies kept as is
/// (tests may reach anywhere; they are cut off at `#[cfg(test)]`).
fn code_only(source: &str) -> String {
    let source = source.split("#[cfg(test)]").next().unwrap_or(source);
    let mut out = String::with_capacity(source.len());
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == 'r'
            && matches!(next, Some('"') | Some('#'))
            && !is_ident(chars.get(i.wrapping_sub(1)))
        {
            // A raw string: r"...", r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                j += 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
                continue;
            }
        }
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
            continue;
        }
        if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime.
            let close = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = close {
                out.push_str("' '");
                i = end + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn is_ident(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// The paths `code` refers to from module `module`, made absolute (`a::b::Item`).
fn references(module: &str, code: &str, children: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let text: String = chars.iter().collect();
    let mut starts = Vec::new();
    for prefix in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = text[from..].find(prefix) {
            let at = from + at;
            if !is_ident(text[..at].chars().last().as_ref()) && !text[..at].ends_with("::") {
                starts.push(at);
            }
            from = at + prefix.len();
        }
    }
    for child in children {
        let needle = format!("{child}::");
        let mut from = 0;
        while let Some(at) = text[from..].find(&needle) {
            let at = from + at;
            let before = text[..at].chars().last();
            if !is_ident(before.as_ref()) && !text[..at].ends_with("::") {
                starts.push(at);
            }
            from = at + needle.len();
        }
    }
    for start in starts {
        let paths = expand(&text[start..]);
        let single = paths.len() == 1;
        for path in paths {
            // `super::audit(...)` calls the function `audit` of the parent, whatever a child
            // module of that name holds: the last segment of a called path is no module.
            let after = text[start..]
                .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
            let path = match path.rsplit_once("::") {
                Some((head, _)) if single && after.starts_with('(') => head.to_string(),
                _ => path,
            };
            found.push(absolute(module, &path, children));
        }
    }
    found
}

/// The paths a reference starting at `text` names: `crate::a::b` gives one, `crate::{a, b::c}`
/// gives each.
fn expand(text: &str) -> Vec<String> {
    let mut path = String::new();
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path.push(c);
        } else if c == '{' && path.ends_with("::") {
            let inner = &text[i + 1..];
            let mut depth = 0;
            let mut end = inner.len();
            for (k, ch) in inner.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = k;
                        break;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            let mut items = Vec::new();
            let mut depth = 0;
            let mut item = String::new();
            for ch in inner[..end].chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(ch);
            }
            items.push(item);
            return items
                .iter()
                .map(|it| it.trim())
                .filter(|it| !it.is_empty() && *it != "self")
                .flat_map(|it| {
                    let it = it.split(" as ").next().unwrap_or(it).trim();
                    expand(&format!("{path}{it} "))
                })
                .collect();
        } else {
            break;
        }
    }
    vec![path.trim_end_matches(':').to_string()]
}

/// `path` as seen from `module`, made absolute (without `crate::`).
fn absolute(module: &str, path: &str, children: &BTreeSet<String>) -> String {
    if let Some(rest) = path.strip_prefix("crate::") {
        return rest.to_string();
    }
    let mut base: Vec<&str> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").collect()
    };
    let mut rest = path;
    let mut climbed = false;
    while let Some(r) = rest.strip_prefix("super::") {
        base.pop();
        rest = r;
        climbed = true;
    }
    let names_child = children
        .iter()
        .any(|c| rest == c || rest.starts_with(&format!("{c}::")));
    if !climbed && !names_child {
        return rest.to_string();
    }
    let mut parts = base;
    parts.extend(rest.split("::"));
    parts.join("::")
}

/// The module of `modules` that `path` lies in: its longest module prefix, if any.
fn module_of<'m>(path: &str, modules: &'m BTreeMap<String, String>) -> Option<&'m str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|prefix| modules.get_key_value(&prefix).map(|(k, _)| k.as_str()))
}

/// Each module's references to other modules, with the paths that make them.
fn graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("bins/lib");
    let modules = modules(&root);
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, code) in &modules {
        let prefix = if module.is_empty() {
            String::new()
        } else {
            format!("{module}::")
        };
        let children: BTreeSet<String> = modules
            .keys()
            .filter_map(|m| {
                m.strip_prefix(&prefix)
                    .filter(|_| !module.is_empty() || !m.is_empty())
            })
            .filter(|rest| !rest.is_empty() && !rest.contains("::"))
            .map(str::to_string)
            .collect();
        for path in references(module, code, &children) {
            if let Some(target) = module_of(&path, &modules) {
                if target != module && !target.is_empty() {
                    edges
                        .entry(module.clone())
                        .or_default()
                        .entry(target.to_string())
                        .or_default()
                        .insert(path);
                }
            }
        }
    }
    edges
}

/// The cycles among `edges`: each strongly connected set of two or more modules.
fn cycles(edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges
        .keys()
        .chain(edges.values().flat_map(|t| t.keys()))
        .collect();
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(m) = stack.pop() {
            for next in edges.get(&m).into_iter().flat_map(|t| t.keys()) {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut found = Vec::new();
    for node in &nodes {
        if done.contains(*node) || !reachable[node].contains(*node) {
            continue;
        }
        let set: Vec<String> = nodes
            .iter()
            .filter(|other| reachable[node].contains(**other) && reachable[*other].contains(*node))
            .map(|s| s.to_string())
            .collect();
        done.extend(set.iter().cloned());
        found.push(set);
    }
    found
}

#[test]
fn no_module_outside_cli_and_cmd_refers_to_cmd() {
    let edges = graph();
    let bad: Vec<String> = edges
        .iter()
        .filter(|(from, _)| *from != "cli" && *from != "cmd" && !from.starts_with("cmd::"))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|(target, _)| *target == "cmd" || target.starts_with("cmd::"))
                .map(move |(_, paths)| format!("{from} -> {paths:?}"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "below cmd/, nothing may use it:\n{}",
        bad.join("\n")
    );
}

#[test]
fn storage_refers_only_to_storage() {
    let edges = graph();
    let bad: Vec<String> = edges
        .iter()
        .filter(|(from, _)| STORAGE.contains(&from.as_str()))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|(target, _)| !STORAGE.contains(&target.as_str()))
                .map(move |(target, paths)| format!("{from} -> {target}: {paths:?}"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "storage modules reach up:\n{}",
        bad.join("\n")
    );
}

#[test]
fn modules_import_one_way_without_cycles() {
    let edges = graph();
    let found = cycles(&edges);
    let explain: Vec<String> = found
        .iter()
        .map(|set| {
            let inner: Vec<String> = set
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|(to, _)| set.contains(to))
                        .map(move |(to, paths)| format!("  {from} -> {to}: {paths:?}"))
                })
                .collect();
            format!("{}:\n{}", set.join(", "), inner.join("\n"))
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", explain.join("\n"));
}

#[test]
fn the_reader_sees_references_the_way_rustc_does() {
    let code = code_only(
        "use crate::{events, state::{Meta, State}};\n// crate::cmd in a comment\n\
         let s = \"crate::cmd in a string\";\nsuper::Ctx; child::f();\n",
    );
    let children: BTreeSet<String> = ["child".to_string()].into();
    let mut got = references("cmd::tell", &code, &children);
    got.sort();
    assert_eq!(
        got,
        [
            "cmd::Ctx",
            "cmd::tell::child",
            "events",
            "state::Meta",
            "state::State"
        ]
    );
}
