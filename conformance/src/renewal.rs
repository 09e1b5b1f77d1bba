//! A wait never spends a token: a request's token is taken again after
//! every wait (the lockout window, a `Retry-After`, the pacing slot) and
//! just before the request goes out, when it would expire before the
//! request can arrive (within the request timeout and [`CLOCK_SKEW`]).
//!
//! This module owns that decision and the edit of the request's headers;
//! how a token is made again is [`crate::tokens`]'s, the moment it runs is
//! the client's ([`crate::client::BeforeAttempt`]). A static token of the
//! profile cannot be made again: one that has expired, or would before the
//! request arrives, is a configuration error naming its profile key, never
//! a failure of the case that sends it. Tokens made expired or broken on
//! purpose are not the factory's valid ones and are left alone.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use http::HeaderValue;

use crate::client::BeforeAttempt;
use crate::tokens::{TokenFactory, jwt_expiry, static_expired_message, unix_now};
use crate::wire::Request;

/// Allowance for the target's clock running ahead of the harness's.
pub const CLOCK_SKEW: Duration = Duration::from_secs(2);

/// Takes a request's tokens again before it goes out.
pub struct Renewal<'a> {
    tokens: &'a mut TokenFactory,
    /// A token must be valid at least this much longer.
    margin: Duration,
    /// (old, new) for every token replaced, in order.
    pub renewed: Vec<(String, String)>,
    /// Why a token could not be made valid (a static token expiring, a
    /// token command failing): a configuration error.
    pub error: Option<String>,
}

impl<'a> Renewal<'a> {
    /// For requests that may take up to `timeout` to arrive.
    pub fn new(tokens: &'a mut TokenFactory, timeout: Duration) -> Renewal<'a> {
        Renewal {
            tokens,
            margin: timeout + CLOCK_SKEW,
            renewed: Vec::new(),
            error: None,
        }
    }

    /// Replaces, in every header of `request`, each token that expires
    /// within the margin by one taken again. A static token that does is
    /// an error (the request is left as it was).
    pub async fn take_again(&mut self, request: &mut Request) -> Result<(), String> {
        let now = unix_now();
        let until = now + self.margin.as_secs() as i64;
        for (_, value) in request.headers.iter_mut() {
            let Ok(text) = value.to_str() else { continue };
            let mut edited = text.to_string();
            for word in text.split([' ', ',', '\t']).filter(|w| !w.is_empty()) {
                let Some(exp) = jwt_expiry(word) else {
                    continue;
                };
                if exp > until {
                    continue;
                }
                if let Some(key) = self.tokens.static_key(word) {
                    return Err(static_expired_message(key, exp, now));
                }
                if !self.tokens.can_take_again(word) {
                    continue;
                }
                match self.tokens.take_again(word).await {
                    Ok(Some(new)) => {
                        edited = edited.replace(word, &new);
                        self.renewed.push((word.to_string(), new));
                    }
                    Ok(None) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            if edited != text
                && let Ok(mut new) = HeaderValue::from_str(&edited)
            {
                // A token: never shown by a Debug of the request.
                new.set_sensitive(true);
                *value = new;
            }
        }
        Ok(())
    }
}

impl BeforeAttempt for Renewal<'_> {
    fn before_attempt<'b>(
        &'b mut self,
        request: &'b mut Request,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'b>> {
        Box::pin(async move {
            // Once one token could not be made valid, the request goes out
            // as it is; the session reports the error, not the answer.
            if self.error.is_none()
                && let Err(e) = self.take_again(request).await
            {
                self.error = Some(e);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::vocabulary::TokenKind;

    fn profile(ttl: u64, extra: &str) -> Profile {
        let text = format!(
            "base_url = \"http://127.0.0.1:1\"\n\
             [tokens]\nprivate_key = \"keys/dev-rs256.pem\"\nissuer = \"i\"\naudience = \"a\"\n\
             ttl_secs = {ttl}\n{extra}\
             [accounts.active]\nsubject = \"alice\"\npassword = \"p\"\n"
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

    fn sent(request: &Request) -> &str {
        request.headers[0].1.to_str().unwrap()
    }

    /// A JWT-shaped token whose `exp` is `exp`.
    fn shaped(exp: i64) -> String {
        use base64::Engine;
        let e = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.c2ln",
            e(serde_json::json!({"alg": "RS256"})),
            e(serde_json::json!({"exp": exp}))
        )
    }

    #[tokio::test]
    async fn a_token_that_would_expire_on_the_way_is_taken_again() {
        let p = profile(5, "");
        let mut f = TokenFactory::new(&p).unwrap();
        let old = f.standard(p.accounts.active()).await.unwrap();
        let mut request = bearer(&old);
        let mut r = Renewal::new(&mut f, Duration::from_secs(10));
        r.take_again(&mut request).await.unwrap();
        assert_eq!(r.renewed.len(), 1);
        let new = r.renewed[0].1.clone();
        assert_ne!(new, old);
        assert_eq!(sent(&request), format!("Bearer {new}"));
        assert!(request.headers[0].1.is_sensitive());
        // Still taken with the factory's recipe: valid, same subject.
        assert!(jwt_expiry(&new).unwrap() >= jwt_expiry(&old).unwrap());
    }

    #[tokio::test]
    async fn a_token_that_outlasts_the_request_and_a_broken_one_are_left_alone() {
        let p = profile(300, "");
        let mut f = TokenFactory::new(&p).unwrap();
        let fresh = f.standard(p.accounts.active()).await.unwrap();
        let expired = f
            .variant(p.accounts.active(), TokenKind::Expired)
            .await
            .unwrap();
        for token in [fresh, expired] {
            let mut request = bearer(&token);
            let mut r = Renewal::new(&mut f, Duration::from_secs(10));
            r.take_again(&mut request).await.unwrap();
            assert!(r.renewed.is_empty());
            assert_eq!(sent(&request), format!("Bearer {token}"));
        }
    }

    #[tokio::test]
    async fn a_static_token_expired_or_expiring_is_a_configuration_error() {
        let now = unix_now();
        // Expired at load: the factory refuses the profile, naming the key.
        let p = profile(300, &format!("no_openid_token = \"{}\"\n", shaped(now - 5)));
        let e = TokenFactory::new(&p).unwrap_err().to_string();
        assert!(e.starts_with("tokens.no_openid_token expired"), "{e}");
        // Expiring before a request could arrive: the request is refused.
        let soon = shaped(now + 3);
        let p = profile(300, &format!("no_openid_token = \"{soon}\"\n"));
        let mut f = TokenFactory::new(&p).unwrap();
        let mut request = bearer(&soon);
        let mut r = Renewal::new(&mut f, Duration::from_secs(10));
        let e = r.take_again(&mut request).await.unwrap_err();
        assert!(
            e.starts_with("tokens.no_openid_token expires in") && e.contains("before a request"),
            "{e}"
        );
        // Through the hook: the error is kept, the request left as it was.
        r.before_attempt(&mut request).await;
        assert!(
            r.error
                .as_deref()
                .is_some_and(|e| e.contains("no_openid_token"))
        );
        assert_eq!(sent(&request), format!("Bearer {soon}"));
    }
}
