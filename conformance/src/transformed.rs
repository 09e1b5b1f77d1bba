//! What a target may have stored instead of the password it was sent: the
//! usual transformations of a new password P, most likely first, each
//! named for the report ("the target stored P trimmed").
//!
//! After a 200 to P, P must work and the password before must not (S1).
//! When neither works, the run tries these, within the lockout budget, to
//! name what the target stored and to get the account back
//! (`session::steps::recheck_last_change`); the state file keeps the ones
//! not yet ruled out. This module only computes them: it sends nothing
//! and imports nothing of the crate.
//!
//! The order is a guess at how often each happens in practice: trimming
//! (form handlers, `CHAR` columns padding and cutting trailing blanks),
//! case folding (a "case-insensitive" login done at storage time), Unicode
//! normalisation (NFC, NFKC, NFD), whitespace removed, and cuts (bcrypt
//! hashes the first 72 bytes only; the old DES `crypt` the first 8
//! characters). A transformation that leaves P as it is, or gives what an
//! earlier one gave, is left out: it would be the same request.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// One transformation: its name (after "the target stored P") and what it
/// does to a password.
#[derive(Debug, Clone, Copy)]
pub struct Transformation {
    /// As the report says it: "the target stored P {name}".
    pub name: &'static str,
    apply: fn(&str) -> String,
}

impl Transformation {
    /// `password` transformed.
    pub fn apply(&self, password: &str) -> String {
        (self.apply)(password)
    }
}

/// The first 72 bytes (cut back to a character boundary), as bcrypt.
fn first_72_bytes(s: &str) -> String {
    let mut end = s.len().min(72);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Every transformation, most likely first.
pub const ALL: &[Transformation] = &[
    Transformation {
        name: "trimmed",
        apply: |s| s.trim().to_string(),
    },
    Transformation {
        name: "with trailing whitespace cut",
        apply: |s| s.trim_end().to_string(),
    },
    Transformation {
        name: "with leading whitespace cut",
        apply: |s| s.trim_start().to_string(),
    },
    Transformation {
        name: "in lower case",
        apply: str::to_lowercase,
    },
    Transformation {
        name: "in upper case",
        apply: str::to_uppercase,
    },
    Transformation {
        name: "trimmed and in lower case",
        apply: |s| s.trim().to_lowercase(),
    },
    Transformation {
        name: "in NFC",
        apply: |s| s.nfc().collect(),
    },
    Transformation {
        name: "in NFKC",
        apply: |s| s.nfkc().collect(),
    },
    Transformation {
        name: "in NFD",
        apply: |s| s.nfd().collect(),
    },
    Transformation {
        name: "without whitespace",
        apply: |s| s.chars().filter(|c| !c.is_whitespace()).collect(),
    },
    Transformation {
        name: "cut to its first 72 bytes (bcrypt)",
        apply: first_72_bytes,
    },
    Transformation {
        name: "cut to its first 8 characters",
        apply: |s| s.chars().take(8).collect(),
    },
];

/// A password the target may have stored: `transformation` (a name of
/// [`ALL`], or [`UNCHANGED`]) of the password sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Which transformation gave it.
    pub transformation: String,
    /// The password (a secret: never printed, labelled in records).
    pub password: String,
}

/// The candidate "the 200 did not take": the password before it.
pub const UNCHANGED: &str = "unchanged (the 200 did not take)";

/// What the target may have after a 200 to `sent` from `before`, in the
/// order to try them: the transformation named `first` (the one this
/// target was already seen to apply), then `before` (the 200 did not
/// take), then every other transformation of [`ALL`]; each password once,
/// none equal to `sent`, and none empty.
pub fn candidates(sent: &str, before: &str, first: Option<&str>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |name: &str, password: String| {
        if password != sent && !password.is_empty() && !out.iter().any(|c| c.password == password) {
            out.push(Candidate {
                transformation: name.to_string(),
                password,
            });
        }
    };
    if let Some(t) = first.and_then(|f| ALL.iter().find(|t| t.name == f)) {
        push(t.name, t.apply(sent));
    }
    push(UNCHANGED, before.to_string());
    for t in ALL {
        push(t.name, t.apply(sent));
    }
    out
}

/// The names of `candidates`, joined for a report line.
pub fn names(candidates: &[Candidate]) -> String {
    if candidates.is_empty() {
        return "none".to_string();
    }
    candidates
        .iter()
        .map(|c| c.transformation.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Transformation {
        *ALL.iter()
            .find(|t| t.name == name)
            .expect("a transformation")
    }

    #[test]
    fn each_transformation_does_what_its_name_says() {
        let p = " Ab\u{e9}1 x9 ";
        assert_eq!(named("trimmed").apply(p), "Ab\u{e9}1 x9");
        assert_eq!(
            named("with trailing whitespace cut").apply(p),
            " Ab\u{e9}1 x9"
        );
        assert_eq!(
            named("with leading whitespace cut").apply(p),
            "Ab\u{e9}1 x9 "
        );
        assert_eq!(named("in lower case").apply(p), " ab\u{e9}1 x9 ");
        assert_eq!(named("in upper case").apply(p), " AB\u{c9}1 X9 ");
        assert_eq!(named("trimmed and in lower case").apply(p), "ab\u{e9}1 x9");
        assert_eq!(named("in NFD").apply(p), " Abe\u{301}1 x9 ");
        assert_eq!(named("in NFC").apply(" Abe\u{301}1 "), " Ab\u{e9}1 ");
        assert_eq!(named("in NFKC").apply("\u{ff21}b"), "Ab");
        assert_eq!(named("without whitespace").apply(p), "Ab\u{e9}1x9");
        assert_eq!(
            named("cut to its first 8 characters").apply(p),
            " Ab\u{e9}1 x9"
        );
        let long = format!("{}\u{e9}x", "a".repeat(71));
        // The 72nd byte is inside the two-byte é: cut before it.
        assert_eq!(
            named("cut to its first 72 bytes (bcrypt)").apply(&long),
            "a".repeat(71)
        );
    }

    #[test]
    fn candidates_leave_out_the_sent_password_and_repeats() {
        let sent = " Abc-1234xyZ9 ";
        let c = candidates(sent, "Old-Passw0rd", None);
        let names: Vec<&str> = c.iter().map(|c| c.transformation.as_str()).collect();
        // NFC, NFKC, NFD change nothing here; the 72-byte cut neither;
        // "without whitespace" gives what "trimmed" gave; "trimmed and in
        // lower case" differs from both of its parts.
        assert_eq!(
            names,
            [
                UNCHANGED,
                "trimmed",
                "with trailing whitespace cut",
                "with leading whitespace cut",
                "in lower case",
                "in upper case",
                "trimmed and in lower case",
                "cut to its first 8 characters",
            ]
        );
        assert!(c.iter().all(|c| c.password != sent));
        assert_eq!(c[0].password, "Old-Passw0rd");
        assert_eq!(c[1].password, "Abc-1234xyZ9");
        // Without surrounding spaces, the trims are the same request as
        // the password sent: left out, and "without whitespace" too.
        let c = candidates("Abc-1234xyZ9", "Old-Passw0rd", None);
        assert!(c.iter().all(|c| !c.transformation.contains("whitespace")));
        assert!(c.iter().all(|c| c.transformation != "trimmed"));
    }

    #[test]
    fn the_transformation_seen_before_goes_first_then_unchanged() {
        let c = candidates(" Abc-1234xyZ9 ", "Old", Some("in upper case"));
        assert_eq!(c[0].transformation, "in upper case");
        assert_eq!(c[0].password, " ABC-1234XYZ9 ");
        assert_eq!(c[1].transformation, UNCHANGED);
        assert_eq!(
            c.iter()
                .filter(|c| c.transformation == "in upper case")
                .count(),
            1
        );
        // An unknown name changes nothing.
        assert_eq!(
            candidates(" a ", "b", Some("rot13")),
            candidates(" a ", "b", None)
        );
    }

    #[test]
    fn names_are_joined_for_the_report() {
        let c = candidates(" Ab1 ", "x", None);
        assert!(names(&c).starts_with("unchanged (the 200 did not take), trimmed, "));
        assert_eq!(names(&[]), "none");
    }
}
