//! The documentation holds together: every relative link in every Markdown
//! file of the repository resolves (to a file or folder, and a `#anchor` to
//! a heading of the Markdown file it names, by GitHub's slug rules), and
//! every key the profile loader reads is in the profile reference
//! (`docs/profile.md`). A link that leaves the repository (`../x`) is an
//! error: it would break in any other checkout. Links with a scheme
//! (`https:`) are not checked.
//!
//! The profile's keys are read from the code, not from a list kept by
//! hand: every `struct` and `enum` in `conformance/src` that derives
//! `Deserialize` is parsed (field names, `#[serde(rename, rename_all,
//! alias, skip, flatten)]`), and the keys are those reachable from the
//! struct named `Profile`, following field types by name. A key added to
//! the loader and not documented fails this test. A key counts as
//! documented when it appears in inline code in the section whose heading
//! names its table in code (`` `[tokens]` ``, or `` `[accounts.*]` `` for
//! `accounts` and each `accounts.<name>`); top-level keys anywhere in the
//! page. Values of unit enums (`counting = "window"`) are checked the same
//! way.

mod markdown;
// Also read by the schema test (every loader key is in the schema).
pub mod serde_items;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use markdown::*;
use serde_items::*;

/// The repository's root (the workspace).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

#[test]
fn every_relative_link_in_every_markdown_file_resolves() {
    let root = repo_root();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    let readme = root.join("README.md");
    assert!(files.contains(&readme), "README.md found");
    assert!(
        files.iter().any(|f| f.starts_with(root.join("docs"))),
        "docs/ found"
    );
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in lines_outside_fences(&text) {
            for dest in link_destinations(&without_code_spans(&line)) {
                checked += 1;
                if let Some(problem) = check_link(&root, rel, &dest) {
                    broken.push(format!("{}:{n}: {problem}", rel.display()));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser blind?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_checker_sees_links_and_headings_as_github_does() {
    assert_eq!(
        slug("`[policy]`: what the target enforces"),
        "policy-what-the-target-enforces"
    );
    assert_eq!(slug("2. Run"), "2-run");
    assert_eq!(slug("`conformance restore`"), "conformance-restore");
    assert_eq!(
        slug("The [vendor guide](x.md) – quick"),
        "the-vendor-guide--quick"
    );
    assert_eq!(slug("Issue 9: the S11 path"), "issue-9-the-s11-path");
    let doc = "# A\n\n## A\n\n```\n# not a heading\n```\nSetext\n---\n";
    let found = anchors(doc);
    assert!(found.contains("a") && found.contains("a-1") && found.contains("setext"));
    assert!(!found.contains("not-a-heading"));
    assert_eq!(
        link_destinations(&without_code_spans(
            "see [`x`](a.md#b) and `[no](c.md)` and [y](<d e.md> \"t\")"
        )),
        vec!["a.md#b".to_string(), "d e.md".to_string()]
    );
    assert_eq!(
        link_destinations("[id]: ../x.md"),
        vec!["../x.md".to_string()]
    );
    assert_eq!(
        link_destinations("[a](b.md): c]: d"),
        vec!["b.md".to_string()]
    );
    let root = repo_root();
    let readme = Path::new("README.md");
    assert!(check_link(&root, readme, "docs/profile.md#accounts").is_none());
    assert!(check_link(&root, readme, "docs/profile.md#no-such-heading").is_some());
    assert!(check_link(&root, readme, "docs/no-such-page.md").is_some());
    assert!(check_link(&root, readme, "../outside.md").is_some());
    assert!(check_link(&root, readme, "https://example.com/x").is_none());
}

/// The section of the profile reference that documents `table`: the one
/// whose heading names it in code (`` `[tokens]` ``), or names all its
/// sub-tables (`` `[accounts.*]` `` for `accounts`), or names it and its
/// siblings (`` `[accounts.*]` `` for `accounts.active`); the whole page
/// for the top level.
fn section_of<'a>(
    sections: &'a [(String, String)],
    doc: &'a str,
    table: &[String],
) -> Option<&'a str> {
    if table.is_empty() {
        return Some(doc);
    }
    let exact = format!("`[{}]`", table.join("."));
    let children = format!("`[{}.*]`", table.join("."));
    let mut siblings = table.to_vec();
    *siblings.last_mut().unwrap() = "*".into();
    let siblings = format!("`[{}]`", siblings.join("."));
    [exact, children, siblings]
        .iter()
        .find_map(|name| sections.iter().find(|(h, _)| h.contains(name.as_str())))
        .map(|(_, s)| s.as_str())
}

/// The profile keys the reference does not document, as messages.
fn undocumented(keys: &ProfileKeys, doc: &str) -> Vec<String> {
    let secs = sections(doc);
    let mut missing = Vec::new();
    for (table, names) in &keys.tables {
        let path = |k: &str| {
            let mut p = table.clone();
            p.push(k.to_string());
            p.join(".")
        };
        let Some(section) = section_of(&secs, doc, table) else {
            missing.push(format!(
                "table [{}]: no heading names `[{}]`",
                table.join("."),
                table.join(".")
            ));
            continue;
        };
        let words = code_words(section);
        for name in names {
            if !words.contains(name) {
                missing.push(format!(
                    "key `{}`: not in its section as `{name}`",
                    path(name)
                ));
            }
            if let Some(values) = keys.values.get(&(table.clone(), name.clone())) {
                for v in values {
                    if !words.contains(v) {
                        missing.push(format!(
                            "value `{v}` of `{}`: not in its section",
                            path(name)
                        ));
                    }
                }
            }
        }
    }
    missing
}

#[test]
fn every_profile_key_the_loader_reads_is_in_the_profile_reference() {
    let keys = profile_keys();
    // The parser found the loader's shape, not nothing.
    let count: usize = keys.tables.values().map(BTreeSet::len).sum();
    assert!(
        count >= 40,
        "only {count} profile keys found: {:?}",
        keys.tables
    );
    for table in [
        &["tokens"][..],
        &["accounts"],
        &["accounts", "active"],
        &["http"],
    ] {
        let table: Vec<String> = table.iter().map(|s| s.to_string()).collect();
        assert!(keys.tables.contains_key(&table), "no table {table:?} found");
    }
    let doc = std::fs::read_to_string(repo_root().join("docs/profile.md")).unwrap();
    let missing = undocumented(&keys, &doc);
    assert!(
        missing.is_empty(),
        "docs/profile.md does not document what the profile loader reads:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_key_check_fails_for_an_undocumented_key() {
    let mut keys = profile_keys();
    let doc = std::fs::read_to_string(repo_root().join("docs/profile.md")).unwrap();
    keys.tables
        .get_mut(&vec!["tokens".to_string()])
        .unwrap()
        .insert("no_such_key_documented".into());
    let missing = undocumented(&keys, &doc);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains("tokens.no_such_key_documented"));
}

#[test]
fn the_serde_reader_understands_renames_flatten_and_enums() {
    let src = r#"
        /// doc with `struct Fake` and "quotes"
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub(crate) struct Root<'a> {
            #[serde(rename = "base")] pub url: Option<&'a str>,
            max_wait_secs: u64,
            #[serde(skip)] dir: PathBuf,
            #[serde(flatten)] extra: Extra,
            mode: Option<Mode>,
            map: BTreeMap<String, Extra>, // a comment with a ' quote
        }
        #[derive(Deserialize)]
        struct Extra { #[serde(alias = "old")] new_name: String }
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Mode { FastPath, #[serde(rename = "slow")] Slow }
        #[derive(Debug)]
        struct NotSerde { x: u8 }
    "#;
    let mut items = BTreeMap::new();
    deserialize_items(Path::new("x.rs"), src, &mut items);
    assert_eq!(items.keys().collect::<Vec<_>>(), ["Extra", "Mode", "Root"]);
    let mut keys = ProfileKeys::default();
    collect_keys(&items, "Root", Vec::new(), Path::new("x.rs"), &mut keys);
    let top: Vec<_> = keys.tables[&Vec::<String>::new()].iter().cloned().collect();
    assert_eq!(
        top,
        ["base", "map", "max-wait-secs", "mode", "new_name", "old"]
    );
    assert!(
        keys.tables
            .contains_key(&vec!["map".to_string(), "*".to_string()])
    );
    assert_eq!(
        keys.values[&(Vec::new(), "mode".to_string())],
        ["fast_path", "slow"]
    );
}
