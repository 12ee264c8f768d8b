//! The layering rule of docs/architecture.md, checked on the source text: dependencies
//! point one way, `api → service → {policy, scim, store} → domain`. A `use` (or a path in
//! code) that points back up fails this test with the file and line.

use std::path::{Path, PathBuf};

/// (folder under src/, what its code must not name, why)
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "scim",
        &["actix", "diesel", "crate::store", "crate::service", "crate::api", "crate::policy"],
        "the SCIM engine is a protocol library: no HTTP, SQL, store or use cases",
    ),
    ("api", &["crate::store", "diesel"], "handlers reach the database only through services"),
    (
        "policy",
        &["actix", "diesel", "serde_json", "crate::store", "crate::service", "crate::api", "crate::scim"],
        "policy is pure: facts in, decision out",
    ),
    (
        "domain",
        &[
            "actix",
            "diesel",
            "serde_json",
            "crate::store",
            "crate::service",
            "crate::api",
            "crate::scim",
            "crate::policy",
        ],
        "the domain depends on nothing of ours",
    ),
    (
        "store",
        &["actix", "crate::service", "crate::api", "crate::scim", "crate::policy"],
        "the store knows tables, not use cases, rules or HTTP",
    ),
    ("service", &["actix", "crate::api"], "use cases know nothing of HTTP"),
    (
        "error.rs",
        &["actix", "diesel", "crate::store", "crate::service", "crate::api"],
        "the shared error types know no layer below them (the store boundary is in service)",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a line: comments (`//`, `//!`, `///`) are prose and may name anything.
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// `use crate::{a, b::c};` names `crate::a` and `crate::b`: grouped imports, one
/// statement per line after joining the lines of a multi-line `use`.
fn grouped_names(statement: &str) -> Vec<String> {
    let Some(start) = statement.find("crate::{") else {
        return vec![];
    };
    let inner = &statement[start + "crate::{".len()..];
    let mut depth = 0;
    let mut names = vec![];
    let mut current = String::new();
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => names.push(std::mem::take(&mut current)),
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    names.push(current);
    names.into_iter().map(|n| format!("crate::{}", n.trim().split("::").next().unwrap_or("").trim())).collect()
}

fn violations(folder: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder);
    let mut files = vec![];
    if root.is_file() {
        files.push(root.clone());
    } else {
        rust_files(&root, &mut files);
    }
    assert!(!files.is_empty(), "no Rust files under {}", root.display());
    let mut found = vec![];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let code = code(line);
            if code.trim_start().starts_with("use ") || code.trim_start().starts_with("pub use ") {
                let mut statement = code.to_owned();
                for more in lines.iter().skip(n + 1) {
                    if statement.contains(';') {
                        break;
                    }
                    statement.push_str(self::code(more));
                }
                for name in grouped_names(&statement) {
                    if forbidden.contains(&name.as_str()) {
                        found.push(format!("{}:{}: names `{name}` in a group: {}", file.display(), n + 1, line.trim()));
                    }
                }
            }
            for word in forbidden {
                let hit = code.match_indices(word).any(|(i, _)| {
                    // A whole path segment: `actix_web` and `diesel::` count, `my_actix` does not.
                    let before = code[..i].chars().next_back();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if hit {
                    found.push(format!("{}:{}: names `{word}`: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn dependencies_point_one_way() {
    let mut all = vec![];
    for (folder, forbidden, why) in RULES {
        let v = violations(folder, forbidden);
        if !v.is_empty() {
            all.push(format!("src/{folder}/ ({why}):\n  {}", v.join("\n  ")));
        }
    }
    assert!(all.is_empty(), "layering broken:\n{}", all.join("\n"));
}

#[test]
fn grouped_imports_are_read_name_by_name() {
    assert_eq!(grouped_names("use crate::{store::Db, domain};"), ["crate::store", "crate::domain"]);
    assert_eq!(grouped_names("use crate::{a::{b, c}, store};"), ["crate::a", "crate::store"]);
    assert!(grouped_names("use crate::store::Db;").is_empty());
}

#[test]
fn the_check_sees_a_forbidden_import() {
    // The checker itself: a rule that the tree is known to break must report it.
    let v = violations("api", &["actix_web"]);
    assert!(!v.is_empty(), "the api folder uses actix_web, and the checker must see it");
}
