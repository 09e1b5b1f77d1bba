//! Tokens revoked by the run's own change (open point 10: the document
//! leaves open whether a change revokes other tokens). When a request
//! carrying an account's standard token handed out before the run last
//! changed that account's password is refused with 401 `invalid_token`,
//! this module decides what follows: the token is taken again (minted
//! anew, or `token_command` run again with the account's new password)
//! and the request is sent once more; a static token of the profile
//! cannot be, so the answer determines nothing. That is learned once
//! ([`TokenFactory::refuse_static`]): a later request carrying the same
//! static token is not sent ([`before_send`]), and determines nothing for
//! the same reason. A refusal before any change by the run is never taken
//! for a revocation (the token is then judged as it is: a misconfigured
//! token fails the cases that use it).
//!
//! It owns that decision and the edit of the request's headers; the
//! resend, its record and its judgement are the callers' (a case's step,
//! the properties' driver). Tokens broken on purpose (expired, other keys,
//! issuers or audiences, altered signatures) are never
//! [`TokenFactory::stale`] and are never replaced here; a valid token
//! with another scope is (a revoking target refuses the account's tokens
//! whatever their scope).

use http::HeaderValue;

use crate::challenge;
use crate::tokens::{Stale, TokenFactory};
use crate::wire::{Request, Response};

/// The profile keys that let the suite take a token again.
pub const TOKEN_SOURCES: &str = "tokens.private_key or tokens.token_command";

/// What follows a refusal.
#[derive(Debug)]
pub enum Refusal {
    /// Not a refusal of a token the run's change may have revoked: the
    /// answer is judged as it is.
    Judge,
    /// The stale tokens were taken again in the request: send it once
    /// more.
    Resend {
        /// (old, new) for every token replaced.
        renewed: Vec<(String, String)>,
        /// Whose tokens they were.
        subjects: Vec<String>,
    },
    /// A static token of the profile: whether the target revokes tokens
    /// on a change or the change broke the account is not determined.
    Static {
        /// Whose token it is.
        subject: String,
        /// The profile key that gives it.
        key: String,
    },
    /// Taking a token again failed (a token command refusing): why.
    Failed(String),
}

impl Refusal {
    /// Why a refusal of a static token determines nothing, naming the
    /// profile keys that would decide it.
    pub fn static_reason(subject: &str, key: &str) -> String {
        format!(
            "not determined: the target refused {key} (401 invalid_token) after this run \
             changed the password of {subject}: it may revoke tokens issued before a password \
             change (open point 10), or the change broke the account; a static token cannot \
             be taken again to tell which: {}",
            Refusal::remedy(key)
        )
    }

    /// Why the run ends with exit 2 (a configuration limit of the
    /// profile, not a failure of the target), and what to do.
    pub fn exit_reason(subject: &str, key: &str) -> String {
        format!(
            "{key} was refused after this run changed the password of {subject} (open point \
             10); a static token cannot be taken again: {}",
            Refusal::remedy(key)
        )
    }

    /// The note of a request not sent because its static token was
    /// already refused after the run's change ([`before_send`]).
    pub fn not_sent(purpose: &str, subject: &str, key: &str) -> String {
        format!(
            "not sent ({purpose}): {key} was already refused (401 invalid_token) after this run \
             changed the password of {subject} (open point 10); sent again it would only be \
             refused again"
        )
    }

    /// What lets the suite take the token of `key` again.
    pub fn remedy(key: &str) -> String {
        if key == "tokens.no_openid_token" {
            // Minted with scope `profile` when it is left out.
            format!("leave {key} out and set tokens.private_key in the profile")
        } else {
            format!("set {TOKEN_SOURCES} in the profile")
        }
    }
}

/// Whether `response` refuses the request's token: 401 with a Bearer
/// challenge whose `error` is `invalid_token`.
pub fn refuses_token(response: &Response) -> bool {
    response.status == 401
        && challenge::parse(&response.header_values("www-authenticate")).is_ok_and(|all| {
            all.iter()
                .any(|c| c.is_bearer() && c.param("error") == Some("invalid_token"))
        })
}

/// The token of a well-formed bearer header: the request's only
/// `Authorization` header, `Bearer` in any case, one or more spaces, one
/// token. Requests that place a token otherwise (several, in the query or
/// the body, after another scheme) test that placement: never followed.
fn bearer_token(request: &Request) -> Option<(usize, String)> {
    let mut auth = request
        .headers
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| *name == http::header::AUTHORIZATION);
    let (index, (_, value)) = auth.next()?;
    if auth.next().is_some() {
        return None;
    }
    let (scheme, rest) = value.to_str().ok()?.split_once(' ')?;
    let token = rest.trim_start_matches(' ');
    let one = !token.is_empty() && !token.contains([' ', ',', '\t']);
    (scheme.eq_ignore_ascii_case("bearer") && one).then(|| (index, token.to_string()))
}

/// Before `request` goes out: when its well-formed bearer token is a
/// static token the target already refused after the run's change
/// ([`after_answer`] learned it), the request is not to be sent; the
/// refusal as learned ([`Refusal::Static`]). `None`: send it.
pub fn before_send(tokens: &TokenFactory, request: &Request) -> Option<Refusal> {
    let (_, token) = bearer_token(request)?;
    match tokens.refused_static(&token)? {
        Stale::Static { subject, key } => Some(Refusal::Static { subject, key }),
        Stale::Renewable { .. } => None,
    }
}

/// After `response` to `request`: when it refuses a token the run's change
/// may have revoked (the request's well-formed bearer token), takes it
/// again in the request; a static one is learned refused.
pub async fn after_answer(
    tokens: &mut TokenFactory,
    request: &mut Request,
    response: &Response,
) -> Refusal {
    if !refuses_token(response) {
        return Refusal::Judge;
    }
    let Some((index, token)) = bearer_token(request) else {
        return Refusal::Judge;
    };
    let subject = match tokens.stale(&token) {
        None => return Refusal::Judge,
        Some(Stale::Static { subject, key }) => {
            // Learned once: never sent again.
            tokens.refuse_static(&token);
            return Refusal::Static { subject, key };
        }
        Some(Stale::Renewable { subject }) => subject,
    };
    let new = match tokens.take_again(&token).await {
        Ok(Some(new)) => new,
        // The source gave the same token: nothing to resend.
        Ok(None) => return Refusal::Judge,
        Err(e) => return Refusal::Failed(e.to_string()),
    };
    let value = &mut request.headers[index].1;
    let edited = value.to_str().unwrap_or_default().replace(&token, &new);
    let Ok(mut edited) = HeaderValue::from_str(&edited) else {
        return Refusal::Judge;
    };
    // A token: never shown by a Debug of the request.
    edited.set_sensitive(true);
    *value = edited;
    Refusal::Resend {
        renewed: vec![(token, new)],
        subjects: vec![subject],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::vocabulary::TokenKind;

    fn profile(extra: &str, active_token: Option<&str>) -> Profile {
        let token = active_token.map_or(String::new(), |t| format!("token = \"{t}\"\n"));
        let text = format!(
            "base_url = \"http://127.0.0.1:1\"\n\
             [tokens]\nprivate_key = \"keys/dev-rs256.pem\"\nissuer = \"i\"\naudience = \"a\"\n\
             {extra}\
             [accounts.active]\nsubject = \"alice\"\npassword = \"p\"\n{token}"
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        Profile::parse(&text, &dir).unwrap()
    }

    fn bearer(token: &str) -> Request {
        Request {
            method: http::Method::POST,
            path: "/change_user_password".into(),
            headers: vec![(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            )],
            body: Vec::new(),
        }
    }

    fn invalid_token() -> Response {
        Response::for_tests(
            401,
            &[(
                "www-authenticate",
                "Bearer error=\"invalid_token\", error_description=\"Error decoding JWT\"",
            )],
            "",
        )
    }

    #[tokio::test]
    async fn a_token_handed_out_before_the_runs_change_is_taken_again() {
        let p = profile("", None);
        let mut f = TokenFactory::new(&p).unwrap();
        let old = f.standard(p.accounts.active()).await.unwrap();
        // Refused before any change: judged as it is.
        let mut request = bearer(&old);
        let r = after_answer(&mut f, &mut request, &invalid_token()).await;
        assert!(matches!(r, Refusal::Judge), "{r:?}");
        // The same password again is no change.
        f.set_password("alice", "p");
        assert_eq!(f.stale(&old), None);
        f.set_password("alice", "p2");
        assert_eq!(
            f.stale(&old),
            Some(Stale::Renewable {
                subject: "alice".into()
            })
        );
        // Another refusal than invalid_token is judged as it is.
        let forbidden = Response::for_tests(
            403,
            &[("www-authenticate", "Bearer error=\"insufficient_scope\"")],
            "",
        );
        assert!(matches!(
            after_answer(&mut f, &mut request, &forbidden).await,
            Refusal::Judge
        ));
        let r = after_answer(&mut f, &mut request, &invalid_token()).await;
        let Refusal::Resend { renewed, subjects } = r else {
            panic!("{r:?}")
        };
        assert_eq!(subjects, vec!["alice".to_string()]);
        let new = &renewed[0].1;
        assert_ne!(*new, old);
        let sent = request.headers[0].1.to_str().unwrap();
        assert_eq!(sent, format!("Bearer {new}"));
        assert!(request.headers[0].1.is_sensitive());
        // The new one is not stale, and is what the account gets from now on.
        assert_eq!(f.stale(new), None);
        assert_eq!(f.standard(p.accounts.active()).await.unwrap(), *new);
    }

    #[tokio::test]
    async fn a_token_command_is_run_again_with_the_new_password() {
        let text = "base_url = \"http://127.0.0.1:1\"\n\
                    [tokens]\ntoken_command = 'echo \"tok-$CONFORMANCE_PASSWORD\"'\n\
                    [accounts.active]\nsubject = \"alice\"\npassword = \"p1\"\n";
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let p = Profile::parse(text, &dir).unwrap();
        let mut f = TokenFactory::new(&p).unwrap();
        let old = f.standard(p.accounts.active()).await.unwrap();
        assert_eq!(old, "tok-p1");
        f.set_password("alice", "p2");
        let mut request = bearer(&old);
        let r = after_answer(&mut f, &mut request, &invalid_token()).await;
        let Refusal::Resend { renewed, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(renewed, vec![("tok-p1".to_string(), "tok-p2".to_string())]);
        assert_eq!(request.headers[0].1.to_str().unwrap(), "Bearer tok-p2");
    }

    #[tokio::test]
    async fn a_token_placed_otherwise_than_one_bearer_header_is_not_followed() {
        let p = profile("", None);
        let mut f = TokenFactory::new(&p).unwrap();
        let old = f.standard(p.accounts.active()).await.unwrap();
        f.set_password("alice", "p2");
        for value in [
            format!("Bearer {old} {old}"),
            format!("Bearer {old},{old}"),
            format!("Basic {old}"),
            format!("Bearer{old}"),
        ] {
            let mut request = bearer(&old);
            request.headers[0].1 = HeaderValue::from_str(&value).unwrap();
            let r = after_answer(&mut f, &mut request, &invalid_token()).await;
            assert!(matches!(r, Refusal::Judge), "{value}: {r:?}");
        }
        // Two Authorization headers.
        let mut request = bearer(&old);
        request.headers.push(request.headers[0].clone());
        let r = after_answer(&mut f, &mut request, &invalid_token()).await;
        assert!(matches!(r, Refusal::Judge), "{r:?}");
        // `bearer` in lower case with two spaces is one bearer token.
        let mut request = bearer(&old);
        request.headers[0].1 = HeaderValue::from_str(&format!("bearer  {old}")).unwrap();
        let r = after_answer(&mut f, &mut request, &invalid_token()).await;
        assert!(matches!(r, Refusal::Resend { .. }), "{r:?}");
        assert!(
            request.headers[0]
                .1
                .to_str()
                .unwrap()
                .starts_with("bearer  ")
        );
    }

    #[tokio::test]
    async fn tokens_made_on_purpose_are_never_taken_again() {
        let p = profile("", None);
        let mut f = TokenFactory::new(&p).unwrap();
        let a = p.accounts.active().clone();
        let _ = f.standard(&a).await.unwrap();
        let mut made = Vec::new();
        for kind in [
            TokenKind::Expired,
            TokenKind::BadSignature,
            TokenKind::AlgNone,
            TokenKind::WrongIssuer,
            TokenKind::WrongAudience,
            TokenKind::UnknownKid,
            TokenKind::NotYetValid,
            TokenKind::NoScope,
        ] {
            made.push(f.variant(&a, kind).await.unwrap());
        }
        f.set_password("alice", "p2");
        for token in made {
            assert_eq!(f.stale(&token), None);
            let mut request = bearer(&token);
            assert!(matches!(
                after_answer(&mut f, &mut request, &invalid_token()).await,
                Refusal::Judge
            ));
            assert_eq!(
                request.headers[0].1.to_str().unwrap(),
                format!("Bearer {token}")
            );
        }
    }

    #[tokio::test]
    async fn a_valid_token_with_another_scope_is_taken_again_with_that_scope() {
        let p = profile("", None);
        let mut f = TokenFactory::new(&p).unwrap();
        let a = p.accounts.active().clone();
        let old = f
            .variant(&a, TokenKind::DeclaredScope(&["profile"]))
            .await
            .unwrap();
        f.set_password("alice", "p2");
        let mut request = bearer(&old);
        let r = after_answer(&mut f, &mut request, &invalid_token()).await;
        let Refusal::Resend { renewed, .. } = r else {
            panic!("{r:?}")
        };
        let claims = |t: &str| -> serde_json::Value {
            use base64::Engine;
            let part = t.split('.').nth(1).unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(part)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_ne!(renewed[0].1, old);
        assert_eq!(
            claims(&renewed[0].1)["scope"],
            serde_json::json!(["profile"])
        );
    }

    #[tokio::test]
    async fn a_static_token_is_not_determined_naming_the_keys() {
        let p = profile("", Some("static-alice-token"));
        let mut f = TokenFactory::new(&p).unwrap();
        let mut request = bearer("static-alice-token");
        assert!(matches!(
            after_answer(&mut f, &mut request, &invalid_token()).await,
            Refusal::Judge
        ));
        f.set_password("alice", "p2");
        let r = after_answer(&mut f, &mut request, &invalid_token()).await;
        let Refusal::Static { subject, key } = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            (subject.as_str(), key.as_str()),
            ("alice", "accounts.active.token")
        );
        let why = Refusal::static_reason(&subject, &key);
        assert!(
            why.contains("tokens.private_key or tokens.token_command")
                && why.contains("open point 10"),
            "{why}"
        );
    }

    #[tokio::test]
    async fn a_static_token_refused_after_the_change_is_learned_once() {
        let p = profile(
            "no_openid_token = \"static-profile-token\"\n",
            Some("static-alice-token"),
        );
        let mut f = TokenFactory::new(&p).unwrap();
        let request = bearer("static-alice-token");
        let other = bearer("static-profile-token");
        let a = p.accounts.active().clone();
        let minted = f.variant(&a, TokenKind::DeclaredScope(&["openid"])).await;
        let minted = bearer(&minted.unwrap());
        // Refused before any change by the run: a misconfigured token,
        // judged as it is and never learned.
        let mut sent = request.clone();
        let r = after_answer(&mut f, &mut sent, &invalid_token()).await;
        assert!(matches!(r, Refusal::Judge), "{r:?}");
        assert!(before_send(&f, &request).is_none());
        // Changed, but not yet refused: still sent.
        f.set_password("alice", "p2");
        assert!(before_send(&f, &request).is_none());
        let mut sent = request.clone();
        let r = after_answer(&mut f, &mut sent, &invalid_token()).await;
        assert!(matches!(r, Refusal::Static { .. }), "{r:?}");
        // Learned: not sent again, with the same subject and key.
        let Some(Refusal::Static { subject, key }) = before_send(&f, &request) else {
            panic!("not learned")
        };
        assert_eq!(
            (subject.as_str(), key.as_str()),
            ("alice", "accounts.active.token")
        );
        // In lower case with two spaces, it is the same token.
        let mut lower = request.clone();
        lower.headers[0].1 = HeaderValue::from_static("bearer  static-alice-token");
        assert!(before_send(&f, &lower).is_some());
        // Other tokens of the same subject are still sent.
        assert!(before_send(&f, &other).is_none());
        assert!(before_send(&f, &minted).is_none());
        // Another factory (the properties') learns it from this one.
        let mut g = TokenFactory::new(&p).unwrap();
        assert!(before_send(&g, &request).is_none());
        g.learn_refused_from(&f);
        assert!(before_send(&g, &request).is_some());
        let note = Refusal::not_sent("a step", &subject, &key);
        assert!(
            note.starts_with("not sent (a step): accounts.active.token"),
            "{note}"
        );
    }
}
