//! The profile's JSON Schema (`conformance schema`) checked with a real
//! JSON Schema validator (the `jsonschema` crate, draft 7): every profile
//! in `fixtures/` and `init`'s output validate, files the loader refuses
//! do not, and every key the loader reads (found in the loader's source by
//! the docs test's serde reader, [`crate::docs::serde_items`]) is in the
//! schema, in a table that refuses unknown keys. TOML becomes JSON through
//! the `toml` crate, as an editor's TOML-to-JSON view would.

use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::init::{Discovered, KeyInfo, template};
use conformance::profile::Profile;
use conformance::schema::SCHEMA_DIRECTIVE;
use serde_json::Value;

use crate::docs::serde_items::{ProfileKeys, profile_keys};

/// `conformance schema`, as the binary prints it.
fn schema() -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("schema")
        .output()
        .expect("the conformance binary runs");
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    serde_json::from_slice(&o.stdout).expect("`conformance schema` prints JSON")
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft7::new(schema).expect("the schema is a valid draft-7 schema")
}

/// The validator's complaints about a TOML text (empty: it validates).
fn complaints(v: &jsonschema::Validator, toml_text: &str) -> Vec<String> {
    let instance: Value = toml::from_str(toml_text).expect("TOML");
    v.iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

#[test]
fn the_schema_accepts_exactly_the_fixtures_the_loader_loads() {
    let v = validator(&schema());
    let mut profiles = 0;
    let mut others = 0;
    let mut entries: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    entries.sort();
    for file in entries {
        let text = std::fs::read_to_string(&file).unwrap();
        let loaded = Profile::load(&file);
        let found = complaints(&v, &text);
        match loaded {
            Ok(_) => {
                profiles += 1;
                assert!(found.is_empty(), "{}: {found:#?}", file.display());
            }
            Err(e) => {
                others += 1;
                assert!(
                    !found.is_empty(),
                    "{}: the loader refuses it ({e}) but the schema accepts it",
                    file.display()
                );
            }
        }
    }
    // reference.toml and reference-wrong-history.toml; server.toml,
    // users.toml and the Schemathesis files are not profiles.
    assert!(
        profiles >= 2 && others >= 2,
        "{profiles} profiles, {others} others"
    );
}

/// Uncomments the first `# {key} = …` line and gives it `value`.
fn fill(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("# {key} = ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no placeholder for {key}"));
    text.replacen(line, &format!("{key} = {value}"), 1)
}

/// Every commented key (`# key = value`) and table (`# [table]`) of the
/// template uncommented; explanations (`#   …`, `# TODO: …`) stay.
fn uncomment_all(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("[accounts.")
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
            {
                rest.to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn discovered() -> Result<Discovered, String> {
    Ok(Discovered {
        discovery_url: "https://idp.example/.well-known/openid-configuration".into(),
        issuer: "https://idp.example".into(),
        jwks_uri: "https://idp.example/jwks".into(),
        algorithms_supported: vec!["ES256".into()],
        keys: Ok(vec![KeyInfo {
            kid: Some("k1".into()),
            kty: "EC".into(),
            alg: None,
            crv: Some("P-256".into()),
            usage: Some("sig".into()),
        }]),
    })
}

#[test]
fn inits_output_names_the_schema_and_validates_once_filled() {
    let v = validator(&schema());
    for found in [discovered(), Err("offline".to_string())] {
        let text = template("https://idp.example", None, &found);
        assert_eq!(text.lines().next(), Some(SCHEMA_DIRECTIVE), "{text}");
        // As written, the REQUIRED subject is missing: the schema says so
        // too (the editor's squiggle where the loader would stop).
        let found_now = complaints(&v, &text);
        assert!(
            found_now.iter().any(|c| c.contains("\"subject\"")),
            "{found_now:#?}"
        );
        let filled = fill(&text, "subject", "\"u\"");
        let filled = fill(&filled, "password", "\"p\"");
        let filled = fill(&filled, "token_command", "\"echo t\"");
        assert_eq!(complaints(&v, &filled), Vec::<String>::new(), "{filled}");
        // Every placeholder, uncommented as its example stands, is a key
        // of the schema with a value of its type.
        let all = uncomment_all(&text);
        assert!(all.contains("\nttl_secs = 300") && all.contains("\n[accounts.missing]"));
        assert_eq!(complaints(&v, &all), Vec::<String>::new(), "{all}");
    }
}

/// The schema of a table: `$ref`, `allOf` and `Option`'s `anyOf [T, null]`
/// followed to the object schema.
fn object<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    loop {
        if let Some(r) = node["$ref"].as_str() {
            let name = r.strip_prefix("#/definitions/").expect("a local $ref");
            node = &root["definitions"][name];
        } else if let Some(all) = node["allOf"].as_array() {
            node = &all[0];
        } else if let Some(any) = node["anyOf"].as_array() {
            node = any
                .iter()
                .find(|s| s["type"] != "null")
                .expect("a non-null branch");
        } else if node["if"]["type"] == "object" && node.get("then").is_some() {
            // One table or an array of them (`accounts.active`): the
            // table's schema (the array's items are the same).
            assert_eq!(node["else"]["items"], node["then"], "{node}");
            node = &node["then"];
        } else {
            return node;
        }
    }
}

/// The words a schema allows for a key (`oneOf` of `const`s, or `enum`).
fn words(root: &Value, node: &Value) -> Vec<String> {
    let node = object(root, node);
    let mut out: Vec<String> = node["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for branch in node["oneOf"].as_array().into_iter().flatten() {
        if let Some(c) = branch["const"].as_str() {
            out.push(c.to_string());
        }
        out.extend(
            branch["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string)),
        );
    }
    out
}

/// What the schema lacks of the keys the loader reads, as messages.
fn missing_from_schema(schema: &Value, keys: &ProfileKeys) -> Vec<String> {
    let mut missing = Vec::new();
    for (table, names) in &keys.tables {
        let mut node = object(schema, schema);
        for part in table {
            node = if part == "*" {
                object(schema, &node["additionalProperties"])
            } else {
                object(schema, &node["properties"][part])
            };
        }
        let shown = if table.is_empty() {
            "the top level".to_string()
        } else {
            format!("[{}]", table.join("."))
        };
        if node["additionalProperties"] != false {
            missing.push(format!("{shown}: unknown keys not refused"));
        }
        for name in names {
            let Some(key) = node["properties"].get(name) else {
                missing.push(format!("{shown}: no key `{name}`"));
                continue;
            };
            if key["description"].as_str().is_none_or(str::is_empty)
                && object(schema, key)["description"]
                    .as_str()
                    .is_none_or(str::is_empty)
            {
                missing.push(format!("{shown}: `{name}` has no description"));
            }
            if let Some(values) = keys.values.get(&(table.clone(), name.clone())) {
                let allowed = words(schema, key);
                for value in values {
                    if !allowed.contains(value) {
                        missing.push(format!("{shown}: `{name}` does not allow {value:?}"));
                    }
                }
            }
        }
    }
    missing
}

#[test]
fn every_key_the_loader_reads_is_in_the_schema() {
    let schema = schema();
    let keys = profile_keys();
    let count: usize = keys.tables.values().map(|k| k.len()).sum();
    assert!(count >= 40, "only {count} keys found");
    let missing = missing_from_schema(&schema, &keys);
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn the_key_check_fails_for_a_schema_that_lost_a_key_or_a_value() {
    let keys = profile_keys();
    let mut schema = schema();
    let tokens = schema["definitions"]["Tokens"].as_object_mut().unwrap();
    tokens["properties"]
        .as_object_mut()
        .unwrap()
        .remove("ttl_secs");
    tokens.remove("additionalProperties");
    schema["definitions"]["Counting"]["oneOf"]
        .as_array_mut()
        .unwrap()
        .pop();
    let missing = missing_from_schema(&schema, &keys);
    assert_eq!(
        missing,
        [
            "[lockout]: `counting` does not allow \"window\"",
            "[tokens]: unknown keys not refused",
            "[tokens]: no key `ttl_secs`",
        ],
    );
}

#[test]
fn the_validator_names_misspelt_keys_wrong_types_and_unknown_words() {
    let v = validator(&schema());
    let reference = std::fs::read_to_string(fixtures().join("reference.toml")).unwrap();
    assert_eq!(complaints(&v, &reference), Vec::<String>::new());
    for (from, to, expected) in [
        ("min_length = 8", "min_lenght = 8", "min_lenght"),
        ("ttl_secs = 300", "ttl_secs = \"300\"", "/tokens/ttl_secs"),
        ("ttl_secs = 300", "ttl_secs = -1", "/tokens/ttl_secs"),
        (
            "counting = \"consecutive\"",
            "counting = \"sliding\"",
            "/lockout/counting",
        ),
        ("[accounts.missing]", "[accounts.absent]", "absent"),
    ] {
        assert!(reference.contains(from), "{from}");
        let text = reference.replacen(from, to, 1);
        let found = complaints(&v, &text);
        assert!(
            found.iter().any(|c| c.contains(expected)),
            "{to}: {found:#?}"
        );
    }
}
