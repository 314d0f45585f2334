//! The shape of the house, checked: which layer of the library may use which (STYLE.md, "The
//! shape of the house"). Reads every `src/**/*.rs` file except `src/bin/`, and fails listing
//! `file:line: import` for each forbidden dependency.
//!
//! A file's layer is its top module: `src/encode/json.rs` is `encode`, `src/verdict.rs` is
//! `verdict`, `src/parse/addr.rs` is `parse`. A dependency is any path to a crate module,
//! wherever it is written (a `use` line or inline, `crate::probe::fs::read_path(..)`):
//! `crate::X`, `$crate::X`, each item of `crate::{X, Y}`, and `super::` paths that climb out of
//! the layer (`super::super::X` in `src/encode/json.rs` is `crate::X`). A layer always may use
//! itself. Comments, string and character literals are not code; nor is a file's test block
//! (from a line `#[cfg(test)]` followed by `mod tests` to the end of the file), which may
//! import anything.
//!
//! `src/agent.rs` is kept small: [`AGENT_MAX_LINES`] counts every line before its
//! `#[cfg(test)]` line (docs, comments and blank lines included), or the whole file if it has
//! none.

use std::path::{Path, PathBuf};

use Set::{AllBut, These};

/// Who may not import what: (layers, the crate modules they must not import).
const RULES: &[(Set, Set)] = &[
    (
        These(&["encode"]),
        These(&["probe", "sink", "cli", "agent", "state", "fix"]),
    ),
    (
        These(&["verdict"]),
        These(&["probe", "encode", "sink", "cli", "agent"]),
    ),
    (
        These(&["record"]),
        These(&["probe", "encode", "sink", "cli", "agent", "verdict"]),
    ),
    (
        These(&["model"]),
        These(&["probe", "encode", "sink", "cli", "agent"]),
    ),
    (
        These(&["probe"]),
        These(&["sink", "encode", "cli", "agent", "verdict", "model"]),
    ),
    (
        These(&["sink"]),
        These(&["probe", "cli", "agent", "verdict"]),
    ),
    (These(&["parse"]), AllBut(&["num"])),
    (These(&["num"]), AllBut(&[])),
    // The configuration is read by the agent alone: probes, verdict, model, encoders and sinks
    // take plain values, never `Config`.
    (AllBut(&["agent", "cli"]), These(&["cli"])),
];

/// Macros exported at the crate root (`crate::words!`), and the module that defines each: a
/// use of the macro is a use of that module.
const MACROS: &[(&str, &str)] = &[("words", "num"), ("arch", "model")];

/// The module a path's first name stands for.
fn module_of(name: String) -> String {
    match MACROS.iter().find(|(mac, _)| *mac == name) {
        Some((_, module)) => module.to_string(),
        None => name,
    }
}

/// Most lines of `src/agent.rs` before its test block: it wires the layers, nothing else.
const AGENT_MAX_LINES: usize = 200;

/// A set of module names: those listed, or every one but those listed.
#[derive(Debug, Clone, Copy)]
enum Set {
    These(&'static [&'static str]),
    AllBut(&'static [&'static str]),
}

impl Set {
    fn contains(self, name: &str) -> bool {
        match self {
            These(names) => names.contains(&name),
            AllBut(names) => !names.contains(&name),
        }
    }
}

/// One path to a crate module, found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dep {
    line: usize,
    /// The top module it reaches (`*` for a glob of the crate root).
    module: String,
    /// The path as written, e.g. `crate::probe::fs::read_path`.
    path: String,
}

/// A file's layer (its top module) and its module depth below the crate root
/// (`lib.rs` 0, `verdict.rs` and `encode/mod.rs` 1, `encode/json.rs` 2).
fn layer_of(rel: &Path) -> (String, usize) {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let stem = |s: &str| s.strip_suffix(".rs").unwrap_or(s).to_string();
    let last = parts.last().map(|s| stem(s)).unwrap_or_default();
    let depth = match last.as_str() {
        "lib" if parts.len() == 1 => 0,
        "mod" => parts.len() - 1,
        _ => parts.len(),
    };
    let layer = if parts.len() == 1 {
        last
    } else {
        parts[0].clone()
    };
    (layer, depth)
}

/// `text` with comments and the insides of string and character literals blanked out, line
/// breaks kept (so line numbers still hold).
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        match c[i] {
            '/' if next == Some('/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        blank(&mut out, c[i]);
                        i += 1;
                    }
                }
            }
            '"' => {
                out.push('"');
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' {
                        blank(&mut out, c[i]);
                        i += 1;
                    }
                    if let Some(&ch) = c.get(i) {
                        blank(&mut out, ch);
                    }
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            // A raw string (`r"..."`, `r#"..."#`, `br"..."`), not a raw identifier (`r#type`).
            'r' if i == 0
                || !ident(c[i - 1])
                || (c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2]))) =>
            {
                let hashes = c[i + 1..].iter().take_while(|&&ch| ch == '#').count();
                if c.get(i + 1 + hashes) != Some(&'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                out.push('"');
                i += hashes + 2;
                let closes =
                    |j: usize| c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#'));
                while i < c.len() && !closes(i) {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                out.push('"');
                i += hashes + 1;
            }
            // A character literal ('a', '\n', '\'', '\u{..}'); else a lifetime or label.
            '\'' => {
                let end = if next == Some('\\') {
                    c[i + 3..]
                        .iter()
                        .position(|&ch| ch == '\'')
                        .map(|p| i + 3 + p)
                } else if c.get(i + 2) == Some(&'\'') {
                    Some(i + 2)
                } else {
                    None
                };
                out.push('\'');
                i += 1;
                if let Some(end) = end {
                    out.extend(std::iter::repeat_n(' ', end - i));
                    out.push('\'');
                    i = end + 1;
                }
            }
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

/// The index of the line that opens the file's test block (`#[cfg(test)]` followed by
/// `mod tests`), if it has one.
fn test_block_start(lines: &[&str]) -> Option<usize> {
    (0..lines.len()).find(|&i| {
        lines[i].trim() == "#[cfg(test)]"
            && lines[i + 1..]
                .iter()
                .map(|l| l.trim())
                .find(|l| !l.is_empty())
                .is_some_and(|l| l.starts_with("mod tests") || l.starts_with("pub mod tests"))
    })
}

/// The module name a path starts with (`*` for a glob).
fn first_name(path: &str) -> String {
    path.chars()
        .take_while(|&ch| ch.is_alphanumeric() || ch == '_' || ch == '*')
        .collect()
}

/// Every path to a crate module in the non-test code of a file `depth` modules below the root.
fn deps(text: &str, depth: usize) -> Vec<Dep> {
    let code = code_only(text);
    let lines: Vec<&str> = code.lines().collect();
    let end = test_block_start(&lines).unwrap_or(lines.len());
    let code = lines[..end].join("\n");
    let b = code.as_bytes();
    let line_of = |pos: usize| 1 + b[..pos].iter().filter(|&&x| x == b'\n').count();
    let ident = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let word_at = |pos: usize, word: &str| {
        code[pos..].starts_with(word)
            && (pos == 0 || !ident(b[pos - 1]))
            && b.get(pos + word.len()).is_none_or(|&x| !ident(x))
    };
    let path_end = |mut pos: usize| {
        while pos < b.len() && (ident(b[pos]) || b[pos] == b':') {
            pos += 1;
        }
        pos
    };
    let mut found = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        // The start of a crate-level path: `crate::`, `$crate::`, or enough `super::`s.
        let mut rest = None;
        if word_at(pos, "crate") && code[pos + 5..].starts_with("::") {
            rest = Some(pos + 7);
        } else if word_at(pos, "super") && !code[..pos].trim_end().ends_with("::") {
            let mut at = pos;
            let mut climbs = 0;
            while code[at..].starts_with("super::") {
                climbs += 1;
                at += 7;
            }
            if climbs >= depth && climbs > 0 {
                rest = Some(at);
            }
        }
        let Some(at) = rest else {
            pos += 1;
            continue;
        };
        let start = pos;
        let written = |from: usize, to: usize| {
            let head = &code[start..at];
            let tail: String = code[from..to]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!("{head}{}", tail.trim_end_matches(':'))
        };
        if b.get(at) == Some(&b'{') {
            // A group: each item's first name is a module (`self` is the root itself).
            let mut level = 0;
            let mut item = at + 1;
            let mut i = at;
            while i < b.len() {
                match b[i] {
                    b'{' => level += 1,
                    b'}' | b',' if level == 1 => {
                        let text = code[item..i].trim_start();
                        let from = i - code[item..i].trim_start().len();
                        let name = first_name(text);
                        if !name.is_empty() && name != "self" {
                            found.push(Dep {
                                line: line_of(from),
                                module: module_of(name),
                                path: written(from, i),
                            });
                        }
                        item = i + 1;
                        if b[i] == b'}' {
                            break;
                        }
                    }
                    b'}' => level -= 1,
                    _ => {}
                }
                i += 1;
            }
            pos = i + 1;
        } else {
            let end = path_end(at);
            let name = first_name(&code[at..]);
            if !name.is_empty() {
                let end = end.max(at + name.len());
                found.push(Dep {
                    line: line_of(start),
                    module: module_of(name),
                    path: written(at, end),
                });
            }
            pos = end.max(pos + 1);
        }
    }
    found
}

/// The forbidden dependencies of one file (`rel`: its path below `src/`), as
/// `src/REL:LINE: PATH (LAYER must not import MODULE)`.
fn violations(rel: &Path, text: &str) -> Vec<String> {
    let (layer, depth) = layer_of(rel);
    let mut out = Vec::new();
    for dep in deps(text, depth) {
        if dep.module == layer {
            continue;
        }
        if RULES
            .iter()
            .any(|(who, what)| who.contains(&layer) && what.contains(&dep.module))
        {
            out.push(format!(
                "src/{}:{}: {} ({layer} must not import {})",
                rel.display(),
                dep.line,
                dep.path,
                dep.module
            ));
        }
    }
    out
}

/// The library's source files, as paths below `src/`, sorted; `src/bin/` left out.
fn library_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            let rel = path.strip_prefix(src).expect("below src").to_path_buf();
            if path.is_dir() {
                if rel != Path::new("bin") {
                    walk(&path, src, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(rel);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&src, &src, &mut out);
    out.sort();
    out
}

fn read(rel: &Path) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn layers_import_only_what_they_may() {
    let files = library_files();
    assert!(
        files.len() > 20,
        "scanned only {} files under src/: is the walk broken?",
        files.len()
    );
    let all: Vec<String> = files
        .iter()
        .flat_map(|rel| violations(rel, &read(rel)))
        .collect();
    assert!(
        all.is_empty(),
        "{} forbidden dependencies in {} files:\n{}\n",
        all.len(),
        files.len(),
        all.join("\n")
    );
}

#[test]
fn agent_only_wires() {
    let text = read(Path::new("agent.rs"));
    let lines: Vec<&str> = text.lines().collect();
    let count = test_block_start(&lines).unwrap_or(lines.len());
    assert!(
        count <= AGENT_MAX_LINES,
        "src/agent.rs has {count} lines before its test block, at most {AGENT_MAX_LINES} allowed: \
         what is not wiring belongs in a layer"
    );
}

// The scanner itself: a check that finds nothing would pass for ever.

const PLANTED: &str = r#"//! An encoder that reaches into a probe. crate::probe in a doc: not code.
use crate::record::Record;
use crate::num::Out;
/// crate::cli::Config in a doc comment: not code.
fn encode(out: &mut Out) {
    let s = "crate::agent in a string: not code";
    let c = '"'; // crate::sink in a comment
    let p = crate::probe::fs::read_path(b"/etc");
    /* crate::state in a block comment */
}
use crate::{
    model::Model,
    sink::{self, write_all},
};
fn deep() { super::super::fix::plan(); super::sibling(); }

#[cfg(test)]
mod tests {
    use crate::probe::fs;
    use crate::cli::Config;
}
"#;

#[test]
fn scanner_finds_planted_imports() {
    let found = violations(Path::new("encode/fake.rs"), PLANTED);
    assert_eq!(
        found,
        [
            "src/encode/fake.rs:8: crate::probe::fs::read_path (encode must not import probe)",
            "src/encode/fake.rs:13: crate::sink::{self, write_all} (encode must not import sink)",
            "src/encode/fake.rs:15: super::super::fix::plan (encode must not import fix)",
        ]
    );
}

#[test]
fn scanner_sees_every_kind_of_path() {
    let modules = |text: &str, depth| {
        deps(text, depth)
            .into_iter()
            .map(|d| (d.line, d.module))
            .collect::<Vec<_>>()
    };
    let m = |line, name: &str| (line, name.to_string());
    assert_eq!(
        modules(PLANTED, 2),
        [
            m(2, "record"),
            m(3, "num"),
            m(8, "probe"),
            m(12, "model"),
            m(13, "sink"),
            m(15, "fix")
        ]
    );
    // At the top of a layer (`verdict.rs`, `encode/mod.rs`), one `super::` is the crate root.
    assert_eq!(modules("use super::probe::x;", 1), [m(1, "probe")]);
    assert_eq!(modules("use super::probe::x;", 2), []);
    assert_eq!(modules("impl $crate::num::Word for X {}", 1), [m(1, "num")]);
    assert_eq!(
        modules("let r#type = r#\"crate::cli\"#; crate::sink::x()", 1),
        [m(1, "sink")]
    );
    assert_eq!(
        modules("fn f<'a>(x: &'a u8) -> char { '\\'' } use crate::cli;", 1),
        [m(1, "cli")]
    );
    assert_eq!(modules("pub(crate) fn f() {} my_crate::probe::x();", 1), []);
}

#[test]
fn layers_and_test_blocks() {
    assert_eq!(layer_of(Path::new("encode/json.rs")), ("encode".into(), 2));
    assert_eq!(layer_of(Path::new("encode/mod.rs")), ("encode".into(), 1));
    assert_eq!(layer_of(Path::new("verdict.rs")), ("verdict".into(), 1));
    assert_eq!(layer_of(Path::new("parse/addr.rs")), ("parse".into(), 2));
    assert_eq!(layer_of(Path::new("lib.rs")), ("lib".into(), 0));
    // parse may use num and itself only; num nothing; every layer but agent and cli not cli.
    assert!(violations(
        Path::new("parse/x.rs"),
        "use crate::num::Out; use crate::parse::y;"
    )
    .is_empty());
    assert_eq!(
        violations(Path::new("parse/x.rs"), "use crate::record::Check;").len(),
        1
    );
    assert_eq!(
        violations(Path::new("num.rs"), "use crate::parse::addr;").len(),
        1
    );
    assert_eq!(
        violations(Path::new("fix.rs"), "use crate::cli::Config;").len(),
        1
    );
    assert!(violations(
        Path::new("agent.rs"),
        "use crate::cli::Config; use crate::probe::x;"
    )
    .is_empty());
    // A `#[cfg(test)]` not followed by `mod tests` does not end the checked code.
    let text = "#[cfg(test)]\nfn helper() {}\nuse crate::cli;\n";
    assert_eq!(violations(Path::new("sink/x.rs"), text).len(), 1);
}
