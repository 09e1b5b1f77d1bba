//! The `snapshots/` folder matches the catalogue: one snapshot per case ID,
//! and none for IDs that no longer exist.

use std::collections::BTreeSet;

use conformance::cases::CATALOGUE;

use crate::support;

#[test]
fn one_snapshot_per_case_and_no_strays() {
    let ids: BTreeSet<String> = CATALOGUE.iter().map(|c| c.id.to_string()).collect();
    let files: BTreeSet<String> = std::fs::read_dir(support::snapshot_dir())
        .expect("snapshots/ exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|name| name.strip_suffix(".snap").map(str::to_string))
        .collect();
    let missing: Vec<_> = ids.difference(&files).collect();
    let stray: Vec<_> = files.difference(&ids).collect();
    assert!(
        missing.is_empty(),
        "cases without a snapshot (add an rstest case in tests/cases.rs, then \
         INSTA_UPDATE=always cargo test -p conformance): {missing:?}"
    );
    assert!(
        stray.is_empty(),
        "snapshots of no case (remove them): {stray:?}"
    );
}

#[test]
fn every_case_has_an_rstest_case() {
    let source = include_str!("cases.rs");
    for case in CATALOGUE.iter() {
        let name = case.id.replace(['.', '-'], "_");
        let attribute = format!("#[case::{name}(");
        let at = source
            .find(&attribute)
            .unwrap_or_else(|| panic!("tests/cases.rs has no #[case::{name}(\"{}\")]", case.id));
        let argument = source[at + attribute.len()..].trim_start();
        assert!(
            argument.starts_with(&format!("\"{}\"", case.id)),
            "#[case::{name}] does not run \"{}\"",
            case.id
        );
    }
}
