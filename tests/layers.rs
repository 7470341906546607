//! The library's layers (README: Layout) hold: imports run one way with no cycle between
//! modules, nothing below `cmd/` uses it, the bottom of `bins/lib` reaches up to nothing, and
//! the README's drawing of the layers is true of the code.
//!
//! Reads every source file under `bins/lib` but its test code (the body of each `#[cfg(test)]
//! mod NAME { ... }` and the file each `#[cfg(test)] mod NAME;` declares), finds what each
//! module refers to (`crate::a::b`, `super::x`, `self::x`, a `use` group, a child module by its
//! bare name) outside comments and strings, and fails naming the offending references. A
//! re-export counts where it is written: `pub use child::X` in a parent refers to the child,
//! and a use of `parent::X` refers to the parent, so a child that uses anything of its parent
//! while the parent re-exports the child is a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The bottom of `bins/lib`, each with the modules below it: Claude Code's files, the one
/// place that runs tmux, and the error type. They may refer to one another and to nothing
/// above them. Under them is only the `orch-store` crate, which the compiler keeps from
/// reaching up.
const BOTTOM: [&str; 4] = ["claude", "error", "shell", "tmux"];

/// Every `.rs` file under `dir` but test modules, with its module path (`cmd::tell`,
/// `harness`, `` for lib.rs) and its code as [`code_only`] leaves it.
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
    // A file that `#[cfg(test)] mod NAME;` declares is test code, and so is all below it.
    let tests: Vec<String> = found
        .iter()
        .flat_map(|(module, code)| {
            test_files(code)
                .into_iter()
                .map(move |name| match module.as_str() {
                    "" => name,
                    _ => format!("{module}::{name}"),
                })
        })
        .collect();
    found.retain(|module, _| {
        !tests
            .iter()
            .any(|t| module == t || module.starts_with(&format!("{t}::")))
    });
    found
}

/// `source` as the compiler sees it outside tests: without comments, with each string and char
/// literal blanked (`""`, `' '`), and with the body of each `#[cfg(test)] mod NAME { ... }`
/// cut out (tests may reach anywhere). Code after a test module is kept.
fn code_only(source: &str) -> String {
    strip_test_bodies(&blank_literals(source))
}

/// `source` without comments and with its string and char literals blanked, so that no brace,
/// quote or path inside them is read as code.
fn blank_literals(source: &str) -> String {
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
            // Block comments nest.
            let mut depth = 0;
            while i < chars.len() {
                match (chars[i], chars.get(i + 1)) {
                    ('/', Some('*')) => {
                        depth += 1;
                        i += 2;
                    }
                    ('*', Some('/')) => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => i += 1,
                }
            }
            out.push(' ');
            continue;
        }
        let raw_start = match (c, next) {
            ('r', Some('"' | '#')) => Some(i + 1),
            ('b', Some('r')) if matches!(chars.get(i + 2), Some('"' | '#')) => Some(i + 2),
            _ => None,
        };
        if let Some(mut j) = raw_start.filter(|_| !is_ident(i.checked_sub(1).map(|k| &chars[k]))) {
            // A raw string: r"...", r#"..."#, br"...".
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                j += 1;
                while j < chars.len() {
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
            // A char literal ('x', '\n', '\'', '\u{..}'), not a lifetime.
            let close = if next == Some('\\') {
                (i + 3..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
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

/// The `#[cfg(test)]` modules of `code` (literals blanked): each one's name and the byte at
/// which its `{` or `;` stands.
fn test_modules(code: &str) -> Vec<(String, usize)> {
    const ATTR: &str = "#[cfg(test)]";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find(ATTR) {
        let at = from + at;
        from = at + ATTR.len();
        let mut rest = code[from..].trim_start();
        // Further attributes (`#[allow(..)]`) and a visibility.
        while rest.starts_with("#[") {
            match rest.find(']') {
                Some(end) => rest = rest[end + 1..].trim_start(),
                None => break,
            }
        }
        if let Some(vis) = rest.strip_prefix("pub") {
            rest = vis.trim_start();
            if rest.starts_with('(') {
                rest = rest[rest.find(')').map_or(0, |e| e + 1)..].trim_start();
            }
        }
        let Some(after) = rest.strip_prefix("mod") else {
            continue;
        };
        if !after.starts_with(char::is_whitespace) {
            continue;
        }
        let after = after.trim_start();
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let opener = after[name.len()..].trim_start();
        if name.is_empty() || !opener.starts_with(['{', ';']) {
            continue;
        }
        found.push((name, code.len() - opener.len()));
    }
    found
}

/// `code` (literals blanked) with each `#[cfg(test)] mod NAME { ... }` body cut to `{}`, its
/// braces matched.
fn strip_test_bodies(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut kept = 0;
    for (_, open) in test_modules(code) {
        if open < kept || !code[open..].starts_with('{') {
            continue;
        }
        let mut depth = 0;
        let mut close = code.len();
        for (k, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push_str(&code[kept..open]);
        out.push_str("{}");
        kept = close;
    }
    out.push_str(&code[kept..]);
    out
}

/// The names of the test modules `code` declares as files: `#[cfg(test)] mod tests;`.
fn test_files(code: &str) -> Vec<String> {
    test_modules(code)
        .into_iter()
        .filter(|(_, open)| code[*open..].starts_with(';'))
        .map(|(name, _)| name)
        .collect()
}

fn is_ident(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// The paths `text` (code as [`code_only`] leaves it) refers to from module `module`, made
/// absolute (`a::b::Item`). `locals` are the bare names of modules it may use, each with the
/// module's path: its children, and the modules it imports (`use crate::coordination::inbox;`
/// then `inbox::push`).
fn references(module: &str, text: &str, locals: &BTreeMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    let mut starts = Vec::new();
    let local_prefixes = locals.keys().map(|name| format!("{name}::"));
    for prefix in ["crate::".to_string(), "self::".into(), "super::".into()]
        .into_iter()
        .chain(local_prefixes)
    {
        let mut from = 0;
        while let Some(at) = text[from..].find(&prefix) {
            let at = from + at;
            if !is_ident(text[..at].chars().last().as_ref()) && !text[..at].ends_with("::") {
                starts.push(at);
            }
            from = at + prefix.len();
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
            found.push(absolute(module, &path, locals));
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

/// `path` as seen from `module`, made absolute (without `crate::`): `crate::`, `self::` and
/// `super::` resolved, and a leading name of `locals` replaced by the path it stands for.
fn absolute(module: &str, path: &str, locals: &BTreeMap<String, String>) -> String {
    if let Some(rest) = path.strip_prefix("crate::") {
        return rest.to_string();
    }
    let mut base: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    let mut rest = path;
    let mut relative = false;
    // `self::x`, `super::x`, `super::super::x`; a glob (`use super::*`) leaves a bare `super`.
    loop {
        let (head, tail) = rest.split_once("::").unwrap_or((rest, ""));
        match head {
            "self" => {}
            "super" => {
                base.pop();
            }
            _ => break,
        }
        rest = tail;
        relative = true;
    }
    let (head, tail) = rest.split_once("::").unwrap_or((rest, ""));
    if let Some(local) = locals.get(head).filter(|_| !relative) {
        return [local.as_str(), tail]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("::");
    }
    if !relative {
        return rest.to_string();
    }
    let mut parts = base;
    parts.extend(rest.split("::").filter(|p| !p.is_empty()));
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
type Edges = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// The modules of the library, `bins/lib`.
fn library() -> BTreeMap<String, String> {
    modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("bins/lib"))
}

/// The references between `modules` (see [`references`]).
fn edges(modules: &BTreeMap<String, String>) -> Edges {
    let mut edges = Edges::new();
    for (module, code) in modules {
        let prefix = if module.is_empty() {
            String::new()
        } else {
            format!("{module}::")
        };
        let mut locals: BTreeMap<String, String> = modules
            .keys()
            .filter_map(|m| Some((m.strip_prefix(&prefix)?, m)))
            .filter(|(rest, _)| !rest.is_empty() && !rest.contains("::"))
            .map(|(rest, m)| (rest.to_string(), m.clone()))
            .collect();
        // A module imported by its path is then used by its bare name.
        let imported: Vec<String> = references(module, code, &locals)
            .into_iter()
            .filter(|path| modules.contains_key(path) && path != module)
            .collect();
        for path in imported {
            let name = path.rsplit("::").next().unwrap_or(&path).to_string();
            locals.entry(name).or_insert(path);
        }
        for path in references(module, code, &locals) {
            if let Some(target) = module_of(&path, modules) {
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
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
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

/// Whether a folder's `code` only declares its children (`pub mod a; mod b;`): such a folder
/// is drawn by its children and needs no place of its own.
fn only_declares_children(code: &str) -> bool {
    code.split(';').all(|statement| {
        let words: Vec<&str> = statement
            .split_whitespace()
            .filter(|w| !w.starts_with("#["))
            .collect();
        match words.as_slice() {
            [] | ["mod", _] => true,
            [visibility, "mod", _] => visibility.starts_with("pub"),
            _ => false,
        }
    })
}

/// The modules of `bins/lib` in `BOTTOM` refer to these outside it: `from -> to: paths`.
fn reaching_up(edges: &Edges) -> Vec<String> {
    let bottom = |m: &str| {
        BOTTOM
            .iter()
            .any(|b| m == *b || m.starts_with(&format!("{b}::")))
    };
    edges
        .iter()
        .filter(|(from, _)| bottom(from))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|(target, _)| !bottom(target))
                .map(move |(target, paths)| format!("{from} -> {target}: {paths:?}"))
        })
        .collect()
}

/// One name in the README's drawing: the module it stands for (`views::top`, a crate's as
/// `orch-store::clock`), and whether it stands for the modules below it too.
#[derive(Debug)]
struct Drawn {
    name: String,
    whole: bool,
}

/// The names one word of the drawing stands for: `tmux`, `harness/` (the folder and all below
/// it), `views/top`, `delivery/{mod,prompt}` (`mod` is the folder's own module alone, its
/// `mod.rs`).
fn drawn(word: &str) -> Vec<Drawn> {
    let (head, items): (&str, Vec<&str>) = match word.split_once("/{") {
        Some((head, rest)) => (head, rest.trim_end_matches('}').split(',').collect()),
        None => (word.trim_end_matches('/'), vec![""]),
    };
    let head = head.replace('/', "::");
    items
        .into_iter()
        .map(|item| match item.trim() {
            "" => Drawn {
                name: head.clone(),
                whole: true,
            },
            "mod" => Drawn {
                name: head.clone(),
                whole: false,
            },
            item => Drawn {
                name: format!("{head}::{}", item.replace('/', "::")),
                whole: true,
            },
        })
        .collect()
}

/// The drawing in `readme`: the first fenced block of its `## Layout` section.
fn drawing(readme: &str) -> String {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Layout\n"))
        .expect("README.md has a `## Layout` section");
    section
        .lines()
        .skip_while(|line| !line.starts_with("```"))
        .skip(1)
        .take_while(|line| !line.starts_with("```"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The rows of `drawing`, top to bottom, each with the names on it. A row is a line that starts
/// with a name; its names are separated by spaces or ` · `, and two spaces end them (what
/// follows describes the row). A line that starts with a space (a description, continued) or
/// with `─` (a rule) is no row.
fn rows(drawing: &str) -> Vec<Vec<Drawn>> {
    drawing
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with([' ', '─']))
        .map(|line| {
            let names = line.split("  ").next().unwrap_or(line);
            names
                .split_whitespace()
                .filter(|word| *word != "·")
                .flat_map(drawn)
                .collect()
        })
        .collect()
}

/// What makes `drawing` untrue of the library's `modules` and their `edges`, and of `crates`
/// (each crate's modules, for the rows that draw one): a module left out, a name that is no
/// module, a name drawn twice, and a reference to a module drawn on a higher row.
fn drawing_problems(
    drawing: &str,
    modules: &BTreeMap<String, String>,
    edges: &Edges,
    crates: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let rows = rows(drawing);
    let mut problems = Vec::new();
    let mut names: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    let mut drawn_crates = BTreeSet::new();
    for (row, drawn) in rows.iter().enumerate() {
        for Drawn { name, whole } in drawn {
            if names.insert(name, (row, *whole)).is_some() {
                problems.push(format!("`{name}` is drawn twice"));
            }
            let (head, rest) = name.split_once("::").unwrap_or((name, ""));
            let exists = match crates.get(head) {
                Some(crate_modules) => {
                    drawn_crates.insert(head);
                    rest.is_empty() || crate_modules.contains(rest)
                }
                None => modules.contains_key(name.as_str()),
            };
            if !exists {
                problems.push(format!("`{name}` (row {}) is no module", row + 1));
            }
        }
    }
    // The row of a module: that of the longest name that stands for it.
    let row_of = |module: &str| {
        names
            .iter()
            .filter(|(name, (_, whole))| {
                module == **name || (*whole && module.starts_with(&format!("{name}::")))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, (row, _))| *row)
    };
    for (module, code) in modules {
        let folder = modules
            .keys()
            .any(|m| m.starts_with(&format!("{module}::")))
            && only_declares_children(code);
        if !module.is_empty() && row_of(module).is_none() && !folder {
            problems.push(format!("`{module}` is not drawn"));
        }
    }
    for krate in drawn_crates {
        for module in &crates[krate] {
            if row_of(&format!("{krate}::{module}")).is_none() {
                problems.push(format!("`{krate}::{module}` is not drawn"));
            }
        }
    }
    for (from, to) in edges {
        for (target, paths) in to {
            if let (Some(low), Some(high)) = (row_of(from), row_of(target)) {
                if high < low {
                    problems.push(format!(
                        "`{from}` (row {}) refers to `{target}`, drawn above it (row {}): {paths:?}",
                        low + 1,
                        high + 1
                    ));
                }
            }
        }
    }
    problems
}

/// The layers the references make, top to bottom: each module one above the highest it refers
/// to, those that refer to none at 0. What to draw when the drawing is wrong.
fn layering(modules: &BTreeMap<String, String>, edges: &Edges) -> String {
    fn height(module: &str, edges: &Edges, seen: &mut BTreeMap<String, usize>) -> usize {
        if let Some(h) = seen.get(module) {
            return *h;
        }
        seen.insert(module.to_string(), 0); // a cycle ends here; its own test names it
        let h = edges
            .get(module)
            .into_iter()
            .flat_map(|to| to.keys())
            .map(|target| 1 + height(target, edges, seen))
            .max()
            .unwrap_or(0);
        seen.insert(module.to_string(), h);
        h
    }
    let mut seen = BTreeMap::new();
    let mut layers: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for module in modules.keys().filter(|m| !m.is_empty()) {
        let h = height(module, edges, &mut seen);
        layers.entry(h).or_default().push(module);
    }
    layers
        .iter()
        .rev()
        .map(|(h, modules)| format!("{h:>3}  {}\n", modules.join(" ")))
        .collect()
}

#[test]
fn no_module_outside_cli_and_cmd_refers_to_cmd() {
    let edges = edges(&library());
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
fn the_bottom_refers_to_nothing_above_it() {
    let modules = library();
    for bottom in BOTTOM {
        assert!(
            modules.contains_key(bottom),
            "`{bottom}` is gone from bins/lib"
        );
    }
    let bad = reaching_up(&edges(&modules));
    assert!(bad.is_empty(), "the bottom reaches up:\n{}", bad.join("\n"));
}

#[test]
fn a_bottom_module_that_reaches_up_is_named() {
    let edge = |from: &str, to: &str, path: &str| {
        (
            from.to_string(),
            BTreeMap::from([(to.to_string(), BTreeSet::from([path.to_string()]))]),
        )
    };
    let edges = Edges::from([
        edge("claude::trust", "claude::settings", "claude::settings"),
        edge("tmux", "fleet::worker", "fleet::worker::Worker"),
        edge("fleet::worker", "tmux", "tmux::Tmux"),
    ]);
    assert_eq!(
        reaching_up(&edges),
        ["tmux -> fleet::worker: {\"fleet::worker::Worker\"}"]
    );
}

#[test]
fn modules_import_one_way_without_cycles() {
    let edges = edges(&library());
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
    let locals = BTreeMap::from([("child".to_string(), "cmd::tell::child".to_string())]);
    let mut got = references("cmd::tell", &code, &locals);
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

#[test]
fn the_reader_reads_on_after_a_test_module() {
    let code = code_only(
        "use crate::before::A;\n\
         #[cfg(test)]\n\
         mod tests {\n\
             use crate::inside::B;\n\
             const BRACE: &str = \"}\";\n\
             const CLOSE: char = '}';\n\
             // }\n\
             fn f() { use crate::nested::C; }\n\
             use crate::still_inside::D;\n\
         }\n\
         use crate::after::E;\n\
         #[cfg(test)]\n\
         mod more;\n",
    );
    assert_eq!(
        references("m", &code, &BTreeMap::new()),
        ["before::A", "after::E"]
    );
    assert_eq!(test_files(&code), ["more"]);
}

#[test]
fn test_files_are_no_modules_of_the_library() {
    let modules = library();
    let tests: Vec<&String> = modules
        .keys()
        .filter(|m| m.rsplit("::").next() == Some("tests"))
        .collect();
    assert!(tests.is_empty(), "read as library code: {tests:?}");
    assert!(modules.contains_key("coordination::classify::policy"));
}

#[test]
fn the_readme_draws_the_layers_as_they_are() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let drawing = drawing(&readme);
    assert!(
        !rows(&drawing).is_empty(),
        "no drawing in README.md's `## Layout`"
    );
    let crates: BTreeMap<String, BTreeSet<String>> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .flatten()
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let modules = modules(&entry.path().join("src"));
            (
                name,
                modules.into_keys().filter(|m| !m.is_empty()).collect(),
            )
        })
        .collect();
    let modules = library();
    let edges = edges(&modules);
    let problems = drawing_problems(&drawing, &modules, &edges, &crates);
    assert!(
        problems.is_empty(),
        "README.md's drawing of the layers is wrong:\n{}\n\nthe layers the references make, \
         each module one above the highest it refers to:\n{}",
        problems.join("\n"),
        layering(&modules, &edges)
    );
}

#[test]
fn a_drawing_that_lies_is_caught() {
    let modules: BTreeMap<String, String> = [
        ("cli", "use crate::folder::a;"),
        ("folder", "pub mod a; #[cfg(test)] mod tests;"),
        ("folder::a", "use crate::cli;"),
        ("tmux", ""),
    ]
    .into_iter()
    .map(|(m, code)| (m.to_string(), code.to_string()))
    .collect();
    let edges = edges(&modules);
    let crates = BTreeMap::from([(
        "store".to_string(),
        BTreeSet::from(["clock".to_string(), "paths".to_string()]),
    )]);
    let true_drawing = "cli · folder/a  the two refer to each other\ntmux\n\
                        ────\nstore/{clock,paths}\n";
    assert_eq!(
        drawing_problems(true_drawing, &modules, &edges, &crates),
        Vec::<String>::new()
    );
    let lying = "cli    the command line\nfolder/{a}\n  a description, no row\ngone\n\
                 store/{clock,watch}\n";
    assert_eq!(
        drawing_problems(lying, &modules, &edges, &crates),
        [
            "`gone` (row 3) is no module",
            "`store::watch` (row 4) is no module",
            "`tmux` is not drawn",
            "`store::paths` is not drawn",
            "`folder::a` (row 2) refers to `cli`, drawn above it (row 1): {\"cli\"}",
        ]
    );
}

#[test]
fn the_drawing_is_read_from_the_layout_section() {
    let readme = "# x\n```\nno\n```\n## Layout\nThe layers:\n\n```text\ncli  top\n\
                  harness/ · outfit/{mod,bundle}\n```\n## Next\n";
    let rows: Vec<Vec<(String, bool)>> = rows(&drawing(readme))
        .into_iter()
        .map(|row| row.into_iter().map(|d| (d.name, d.whole)).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec![("cli".to_string(), true)],
            vec![
                ("harness".to_string(), true),
                ("outfit".to_string(), false),
                ("outfit::bundle".to_string(), true),
            ],
        ]
    );
}
