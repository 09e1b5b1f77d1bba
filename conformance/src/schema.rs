//! `conformance schema`: the JSON Schema (draft 7) of the target profile.
//!
//! Generated from the loader's own types ([`crate::profile::Profile`] and
//! the tables under it, `#[derive(JsonSchema)]` beside their
//! `#[derive(Deserialize)]`), so it cannot drift from what the loader
//! reads: every key with its type, its default and its meaning (the doc
//! comment of its field), and `additionalProperties: false` wherever the
//! loader refuses unknown keys. Editors that read a `#:schema` line at the
//! top of a TOML file (taplo, Even Better TOML) complete and check a
//! profile with it; `conformance init` writes that line
//! ([`SCHEMA_DIRECTIVE`]). The loader's own checks that span keys (a
//! minimum above a maximum, a token source required) stay the loader's:
//! a profile the schema accepts may still be refused, naming the key.

use schemars::generate::SchemaSettings;

use crate::profile::Profile;

/// The file name `init` points the `#:schema` line at, beside the profile.
pub const SCHEMA_FILE: &str = "profile.schema.json";

/// The first line of a profile `init` writes: taplo's directive, a path
/// relative to the profile.
pub const SCHEMA_DIRECTIVE: &str = "#:schema ./profile.schema.json";

/// The profile's JSON Schema.
pub fn profile_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<Profile>();
    schema.insert("title".into(), "conformance target profile".into());
    schema.insert(
        "description".into(),
        "Target profile of the conformance suite for POST /change_user_password \
         (docs/profile.md): where the target is, what it enforces for the test accounts, \
         how to get tokens, which accounts to use."
            .into(),
    );
    schema.to_value()
}

/// The schema as `conformance schema` prints it: pretty JSON, one final
/// newline.
pub fn render() -> String {
    let mut text =
        serde_json::to_string_pretty(&profile_schema()).expect("a JSON value always serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::DEFAULT_TIMEOUT_SECS;
    use crate::retry::RetryPolicy;

    /// The schema of the `[http]` table.
    fn http(schema: &serde_json::Value) -> &serde_json::Value {
        &schema["definitions"]["Http"]["properties"]
    }

    #[test]
    fn defaults_in_the_schema_are_the_loaders() {
        let s = profile_schema();
        let tokens = &s["definitions"]["Tokens"]["properties"];
        let loaded = crate::profile::Tokens::default();
        assert_eq!(tokens["ttl_secs"]["default"], loaded.ttl_secs);
        assert_eq!(tokens["algorithm"]["default"], loaded.algorithm);
        assert_eq!(tokens["typ"]["default"], loaded.typ);
        assert_eq!(tokens["scope_format"]["default"], "array");
        let h = http(&s);
        assert_eq!(h["timeout_secs"]["default"], DEFAULT_TIMEOUT_SECS);
        assert_eq!(
            h["connect_timeout_secs"]["default"],
            crate::client::DEFAULT_CONNECT_TIMEOUT.as_secs()
        );
        let retry = RetryPolicy::default();
        assert_eq!(h["max_retries"]["default"], retry.max_retries);
        assert_eq!(
            h["max_retry_wait_secs"]["default"],
            retry.max_wait.as_secs()
        );
        assert_eq!(
            s["definitions"]["Policy"]["properties"]["require_digit"]["default"],
            false
        );
    }

    #[test]
    fn keys_carry_their_meaning_and_unknown_keys_are_refused() {
        let s = profile_schema();
        assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], serde_json::json!(["base_url", "accounts"]));
        let d = s["definitions"]["Tokens"]["properties"]["ttl_secs"]["description"]
            .as_str()
            .unwrap();
        assert!(d.contains("Lifetime of minted tokens"), "{d}");
        assert!(
            s["properties"]["base_url"]["description"]
                .as_str()
                .unwrap()
                .contains("change_user_password")
        );
        assert!(render().ends_with("}\n"));
    }
}
