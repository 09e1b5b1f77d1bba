//! The request body: JSON bytes → [`ChangeRequest`], or the
//! `invalid_request` description that says why not.
//!
//! Decisions: the body must be one JSON object with string members
//! `old_password` and `new_password`; other members are ignored; a member
//! name that appears twice in any object (compared after unescaping) makes
//! the body malformed, instead of the last one silently winning (RFC 8259
//! §4 leaves duplicates to the receiver; RFC 7493 I-JSON forbids them).

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::change_password::ChangeRequest;
use crate::rejection::Rejection;
use crate::secret::Password;

/// Parses `{"old_password": "...", "new_password": "..."}`; other members are ignored.
pub fn parse_body(bytes: &[u8]) -> Result<ChangeRequest, Rejection> {
    let not_json = Rejection::InvalidBody("request body is not valid JSON");
    match serde_json::from_slice::<NoDuplicates>(bytes) {
        Ok(NoDuplicates(true)) => {}
        Ok(NoDuplicates(false)) => {
            return Err(Rejection::InvalidBody(
                "request body has a duplicate member",
            ));
        }
        Err(_) => return Err(not_json),
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|_| not_json)?;
    let Value::Object(mut map) = value else {
        return Err(Rejection::InvalidBody("request body must be a JSON object"));
    };
    let mut member = |name, missing, not_string| match map.remove(name) {
        None => Err(Rejection::InvalidBody(missing)),
        Some(Value::String(s)) => Ok(Password::new(s)),
        Some(_) => Err(Rejection::InvalidBody(not_string)),
    };
    let old_password = member(
        "old_password",
        "old_password is required",
        "old_password must be a string",
    )?;
    let new_password = member(
        "new_password",
        "new_password is required",
        "new_password must be a string",
    )?;
    Ok(ChangeRequest {
        old_password,
        new_password,
    })
}

/// Any JSON value; `false` when some object in it repeats a member name.
/// Keeps nothing but the names of the object being read.
struct NoDuplicates(bool);

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut names = HashSet::new();
        let mut unique = true;
        while let Some(name) = map.next_key::<String>()? {
            unique &= names.insert(name);
            unique &= map.next_value::<NoDuplicates>()?.0;
        }
        Ok(NoDuplicates(unique))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        let mut unique = true;
        while let Some(item) = seq.next_element::<NoDuplicates>()? {
            unique &= item.0;
        }
        Ok(NoDuplicates(unique))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_unit<E: de::Error>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let ok = parse_body(br#"{"old_password":"a","new_password":"b","extra":1}"#).unwrap();
        assert_eq!(ok.old_password.expose(), "a");
        assert_eq!(ok.new_password.expose(), "b");
        let cases: &[(&[u8], &str)] = &[
            (b"", "request body is not valid JSON"),
            (b"{", "request body is not valid JSON"),
            (b"\xff\xfe", "request body is not valid JSON"),
            (b"[]", "request body must be a JSON object"),
            (b"\"x\"", "request body must be a JSON object"),
            (br#"{"new_password":"b"}"#, "old_password is required"),
            (br#"{"old_password":"a"}"#, "new_password is required"),
            (
                br#"{"old_password":null,"new_password":"b"}"#,
                "old_password must be a string",
            ),
            (
                br#"{"old_password":"a","new_password":7}"#,
                "new_password must be a string",
            ),
        ];
        for (body, why) in cases {
            assert_eq!(parse_body(body).unwrap_err(), Rejection::InvalidBody(why));
        }
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse_body(deep.as_bytes()).unwrap_err(),
            Rejection::InvalidBody("request body is not valid JSON")
        );
    }

    #[test]
    fn duplicate_members_anywhere_are_malformed() {
        let dup = Rejection::InvalidBody("request body has a duplicate member");
        for body in [
            r#"{"old_password":"a","new_password":"b","new_password":"c"}"#,
            r#"{"old_password":"a","old_password":"a","new_password":"b"}"#,
            r#"{"old_password":"a","o\u006cd_password":"x","new_password":"b"}"#,
            r#"{"old_password":"a","new_password":"b","x":1,"x":2}"#,
            r#"{"old_password":"a","new_password":"b","x":[{"y":1,"y":1}]}"#,
        ] {
            assert_eq!(parse_body(body.as_bytes()).unwrap_err(), dup, "{body}");
        }
        let nested_alike = r#"{"old_password":"a","new_password":"b","x":{"old_password":1},"y":[{"z":1},{"z":2}]}"#;
        assert!(parse_body(nested_alike.as_bytes()).is_ok());
    }
}
