//! The properties' connection to the target: synchronous (proptest calls
//! the test closures synchronously, so each request is `block_on` on the
//! run's tokio runtime), bounded in request count (the rate is the
//! client's: `--rate` / `[http] rate` paces every request), and following
//! the effect of each answer on the run's account [`Ledger`] (handed over
//! by the runner and back), which records each change in the state file
//! before it is sent, as the catalogue's steps do. A SIGINT/SIGTERM stops
//! it before the next request ([`DriveError::Interrupted`]); a change
//! without a usable answer stays pending (the runner resolves it).

use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Method};
use serde_json::Value;

use crate::budget::NextWrongAttempt;
use crate::exchange::{self, ENDPOINT_PATH, Endpoint, Request, Response};
use crate::profile::Profile;
use crate::renewal::Renewal;
use crate::revocation::{self, Refusal};
use crate::session::ledger::{Effect, Ledger};
use crate::tokens::TokenFactory;

pub(crate) use crate::session::is_error;

/// The "case" of a 200 the properties got (the ledger's last change).
pub(crate) const PROPERTIES: &str = "the generated properties";
use crate::vocabulary::TokenKind;

/// Why a request was not sent or got no answer.
#[derive(Debug, Clone)]
pub enum DriveError {
    /// The request budget of the run is spent.
    Budget(u64),
    /// No answer (connection, timeout).
    Transport(String),
    /// A token could not be made.
    Token(String),
    /// The account's state is unknown.
    Poisoned(String),
    /// SIGINT or SIGTERM asked the run to stop.
    Interrupted(i32),
}

impl std::fmt::Display for DriveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriveError::Budget(n) => write!(f, "the request budget ({n}) is spent"),
            DriveError::Transport(e) => write!(f, "no answer: {e}"),
            DriveError::Token(e) => write!(f, "no token: {e}"),
            DriveError::Poisoned(e) => write!(f, "the account is no longer tracked: {e}"),
            DriveError::Interrupted(s) => {
                write!(f, "interrupted by {}", crate::interrupt::name(*s))
            }
        }
    }
}

/// A request that went out: its outcome, and why a token could not be
/// taken again after a wait in the client.
type Sent = (Result<Response, DriveError>, Option<String>);

/// Which token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepToken {
    /// The account's usual valid token.
    Standard,
    /// A newly minted valid token.
    Renewed,
    /// An expired token (S10).
    Expired,
    /// A valid token without `openid` (S11).
    NoOpenid,
    /// A valid token of `[accounts.missing]` (S6).
    Missing,
}

/// Bounds of a run.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// At most this many requests in the whole property run.
    pub max_requests: u64,
    /// Timeout of one exchange.
    pub timeout: Duration,
}

/// The connection to the target.
pub struct Driver {
    handle: tokio::runtime::Handle,
    endpoint: Endpoint,
    /// The target profile.
    pub profile: Profile,
    tokens: TokenFactory,
    bounds: Bounds,
    /// Requests sent so far.
    pub requests: u64,
    /// The history window was primed (once per run).
    pub primed: bool,
    /// The run's account ledger, handed over by the runner (and back):
    /// the active account the properties change, the other accounts'
    /// entries, the lockout budget, the state file.
    pub ledger: Ledger,
    /// Tokens minted so far, by kind, with when.
    variants: Vec<(StepToken, (String, Instant))>,
    /// A static token of the profile that stopped serving the properties,
    /// refused after the run's change of its account (open point 10): its
    /// subject and profile key ([`Driver::token_refused`]).
    refused_static: Option<(String, String)>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("endpoint", &self.endpoint)
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

fn header(name: HeaderName, value: &str) -> Option<(HeaderName, HeaderValue)> {
    HeaderValue::from_str(value).ok().map(|v| (name, v))
}

/// A short description of a response for failure reports (bodies of
/// error answers hold no secrets).
pub fn describe(r: &Response) -> String {
    let mut s = r.status.to_string();
    if let Some(c) = r.header("www-authenticate") {
        s.push_str(&format!(" WWW-Authenticate: {c}"));
    }
    if !r.body.is_empty() {
        let body = String::from_utf8_lossy(&r.body[..r.body.len().min(200)]);
        s.push_str(&format!(" {}", crate::terminal::line(&body)));
    }
    s
}

impl Driver {
    /// A driver for `profile`'s target; `handle` is the runtime requests
    /// are sent on (the caller must not be inside it).
    /// The driver takes the run's ledger over ([`Ledger::lend`]) once it
    /// can be made; `ledger` keeps it when it cannot.
    pub fn new(
        handle: tokio::runtime::Handle,
        profile: &Profile,
        ledger: &mut Ledger,
        bounds: Bounds,
    ) -> Result<Driver, String> {
        let endpoint = profile.endpoint()?;
        let tokens = TokenFactory::new(profile).map_err(|e| e.to_string())?;
        let ledger = ledger.lend();
        Ok(Driver {
            handle,
            endpoint,
            profile: profile.clone(),
            tokens,
            bounds,
            requests: 0,
            primed: false,
            ledger,
            variants: Vec::new(),
            refused_static: None,
        })
    }

    /// The token factory, to learn from or teach the static tokens the
    /// target refused after the run's change
    /// ([`TokenFactory::learn_refused_from`]).
    pub fn tokens_mut(&mut self) -> &mut TokenFactory {
        &mut self.tokens
    }

    /// A static token of the profile refused after the run's change
    /// (`subject`'s, given by `key`): why it determines nothing, and the
    /// run's exit 2 noted.
    fn static_refused(&mut self, subject: &str, key: &str) -> String {
        self.refused_static
            .get_or_insert_with(|| (subject.to_string(), key.to_string()));
        Refusal::static_reason(subject, key)
    }

    /// Why a static token of the profile stopped serving the properties
    /// (refused after the run's change, open point 10): the run's exit 2
    /// (the runner's `token_refused`).
    pub fn token_refused(&self) -> Option<String> {
        let (subject, key) = self.refused_static.as_ref()?;
        Some(Refusal::exit_reason(subject, key))
    }

    /// The same, as the reason a property is not determined.
    pub fn not_determined(&self) -> Option<String> {
        let (subject, key) = self.refused_static.as_ref()?;
        Some(Refusal::static_reason(subject, key))
    }

    /// Requests left in the budget.
    pub fn budget_left(&self) -> u64 {
        self.bounds.max_requests.saturating_sub(self.requests)
    }

    /// Sends one request (bounded in count; paced by the client). Its
    /// tokens are taken again ([`Renewal`]) after every wait (the lockout
    /// window of [`Driver::make_room`], the pacing slot, a `Retry-After`)
    /// and just before it goes out, when they would expire on the way; a
    /// token that cannot be (a static one expiring) is a
    /// [`DriveError::Token`]: before the send, nothing is sent.
    pub fn send(&mut self, request: &Request) -> Result<Response, DriveError> {
        let (outcome, token_error) = self.send_renewing(request)?;
        let response = outcome?;
        if let Some(why) = token_error {
            if response.status == 200 {
                self.ledger.active.poisoned = Some(
                    "a request sent with a token that could not be taken again got 200; the \
                     password is unknown"
                        .into(),
                );
            }
            return Err(DriveError::Token(why));
        }
        Ok(response)
    }

    /// The send of [`Driver::send`]: `Err` when nothing was sent; else the
    /// outcome and why a token could not be taken again after a wait in
    /// the client (the request then went out as it was). A refusal of a
    /// token the run's own change may have revoked (open point 10) is
    /// followed ([`revocation::after_answer`]): the token taken again and
    /// the request sent once more; a static token's refusal judges nothing
    /// (its answer is followed, and why is the second member), and once
    /// learned, a request with that token is not sent (a
    /// [`DriveError::Token`]).
    fn send_renewing(&mut self, request: &Request) -> Result<Sent, DriveError> {
        let mut request = request.clone();
        if let Some(Refusal::Static { subject, key }) =
            revocation::before_send(&self.tokens, &request)
        {
            // Already refused after the run's change: not sent again.
            let why = self.static_refused(&subject, &key);
            return Err(DriveError::Token(format!(
                "{why} ({})",
                Refusal::not_sent("a request of the properties", &subject, &key)
            )));
        }
        let (outcome, token_error) = self.send_once(&mut request)?;
        let response = match &outcome {
            Ok(r) if token_error.is_none() => r,
            _ => return Ok((outcome, token_error)),
        };
        let refusal = self.handle.block_on(revocation::after_answer(
            &mut self.tokens,
            &mut request,
            response,
        ));
        match refusal {
            Refusal::Judge => Ok((outcome, None)),
            Refusal::Resend { renewed, .. } => {
                self.keep_renewed(renewed);
                // A 401 is the token's refusal: the target processed
                // nothing of the request, so a change was not applied; the
                // resend is the same change, still recorded as pending in
                // the state file (its answer is not followed yet).
                self.send_once(&mut request)
            }
            Refusal::Static { subject, key } => {
                Ok((outcome, Some(self.static_refused(&subject, &key))))
            }
            Refusal::Failed(why) => Ok((outcome, Some(why))),
        }
    }

    /// One send of [`Driver::send_renewing`] (`request` as it went out).
    fn send_once(&mut self, request: &mut Request) -> Result<Sent, DriveError> {
        if let Some(signal) = crate::interrupt::requested() {
            return Err(DriveError::Interrupted(signal));
        }
        if self.requests >= self.bounds.max_requests {
            return Err(DriveError::Budget(self.bounds.max_requests));
        }
        // A `token_command` logs in with the password the account has now.
        let subject = self.ledger.active.account.subject.clone();
        self.tokens
            .set_password(&subject, &self.ledger.active.current);
        let timeout = self.bounds.timeout;
        // After the waits before the send (the lockout window).
        let mut renewal = Renewal::new(&mut self.tokens, timeout);
        let taken = self.handle.block_on(renewal.take_again(request));
        let renewed = renewal.renewed;
        self.keep_renewed(renewed);
        taken.map_err(DriveError::Token)?;
        self.requests += 1;
        // Any request of the properties may carry the active account's
        // token (a change, a hostile input).
        self.ledger.active.change_sent = true;
        // A fresh connection per request: hostile requests make servers
        // close connections (hyper's own 400s, unread bodies), and a
        // kept-alive connection closed under a request is a transport error
        // that proves nothing about the endpoint.
        let options = exchange::SendOptions {
            timeout,
            fresh_connection: true,
        };
        // After the client's waits (pacing, Retry-After).
        let mut renewal = Renewal::new(&mut self.tokens, timeout);
        let outcome = self.handle.block_on(exchange::send_hooked_with(
            &self.endpoint,
            request,
            options,
            &mut renewal,
        ));
        let (renewed, token_error) = (renewal.renewed, renewal.error);
        self.keep_renewed(renewed);
        let outcome = outcome.map_err(|e| DriveError::Transport(e.to_string()));
        Ok((outcome, token_error))
    }

    /// Tokens taken again replace the ones they renew among the kept
    /// variants, so that the next request starts from the new one.
    fn keep_renewed(&mut self, renewed: Vec<(String, String)>) {
        for (old, new) in renewed {
            for (_, (token, at)) in self.variants.iter_mut() {
                if *token == old {
                    *token = new.clone();
                    *at = Instant::now();
                }
            }
        }
    }

    /// A token of the active account (or the missing one) of this kind.
    /// Variants are minted once and reused while they are fresh (half the
    /// profile's `ttl_secs`): minting RS256 in a debug build costs tens of
    /// milliseconds. Whatever its age, a token that would expire before
    /// its request arrives is taken again at the send ([`Driver::send`]).
    pub fn token(&mut self, kind: StepToken) -> Result<String, DriveError> {
        let fresh_for = Duration::from_secs(self.profile.tokens.ttl_secs / 2);
        if let Some((token, at)) = self
            .variants
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v)
            && at.elapsed() < fresh_for
        {
            return Ok(token.clone());
        }
        let token = self.mint(kind)?;
        self.variants.retain(|(k, _)| *k != kind);
        self.variants.push((kind, (token.clone(), Instant::now())));
        Ok(token)
    }

    fn mint(&mut self, kind: StepToken) -> Result<String, DriveError> {
        let account = self.ledger.active.account.clone();
        let form = self.profile.tokens.scope_format;
        let tokens = &mut self.tokens;
        // A `token_command` logs in with the password the account has now.
        tokens.set_password(&account.subject, &self.ledger.active.current);
        let result = match kind {
            StepToken::Standard => self.handle.block_on(tokens.standard(&account)),
            StepToken::Renewed => self
                .handle
                .block_on(tokens.variant(&account, TokenKind::Scope(&["openid"], form))),
            StepToken::Expired => self
                .handle
                .block_on(tokens.variant(&account, TokenKind::Expired)),
            StepToken::NoOpenid => self
                .handle
                .block_on(tokens.variant(&account, TokenKind::Scope(&["profile"], form))),
            StepToken::Missing => match self.profile.accounts.missing.clone() {
                Some(missing) => self.handle.block_on(tokens.standard(&missing)),
                None => return Err(DriveError::Token("no [accounts.missing]".into())),
            },
        };
        result.map_err(|e| DriveError::Token(e.to_string()))
    }

    /// Whether tokens of `kind` can be made for this profile.
    pub fn can_make(&mut self, kind: StepToken) -> bool {
        self.token(kind).is_ok()
    }

    /// A POST of `{"old_password": old, "new_password": new}`.
    pub fn change_request(token: &str, old: &str, new: &str) -> Request {
        let mut headers: Vec<(HeaderName, HeaderValue)> =
            header(http::header::AUTHORIZATION, &format!("Bearer {token}"))
                .into_iter()
                .collect();
        headers.extend(header(http::header::CONTENT_TYPE, "application/json"));
        let body = format!(
            "{{\"old_password\":{},\"new_password\":{}}}",
            Value::String(old.to_string()),
            Value::String(new.to_string())
        );
        Request {
            method: Method::POST,
            path: ENDPOINT_PATH.to_string(),
            headers,
            body: body.into_bytes(),
        }
    }

    /// Sends a change of the active account with `token`, and follows its
    /// effect: a 200 sets the password, a `wrong_old_password` counts. The
    /// change is recorded in the ledger's state file before it is sent
    /// ([`Ledger::before_change`]), and not sent if it cannot be.
    pub fn change(&mut self, token: &str, old: &str, new: &str) -> Result<Response, DriveError> {
        if let Some(why) = &self.ledger.active.poisoned {
            return Err(DriveError::Poisoned(why.clone()));
        }
        let effect = Effect::Change {
            old: old.to_string(),
            new: new.to_string(),
        };
        if let Err(why) = self.ledger.before_change(&effect) {
            // Not recorded, so not sent.
            return Err(DriveError::Poisoned(why));
        }
        let (result, token_error) =
            match self.send_renewing(&Driver::change_request(token, old, new)) {
                Ok(sent) => sent,
                Err(e) => (Err(e), None),
            };
        let response = match result {
            Ok(r) if r.retry_budget_exhausted => {
                // A 429/503 past the retry bound: possibly applied (it
                // stays pending).
                let why = format!(
                    "a change got {} after the retry bound was spent: possibly applied; the \
                     state file keeps both candidates",
                    r.status
                );
                self.ledger.active.poisoned = Some(why.clone());
                return Err(DriveError::Poisoned(why));
            }
            Ok(r) => r,
            Err(e) => {
                if matches!(e, DriveError::Transport(_)) {
                    // It stays pending.
                    self.ledger.active.poisoned = Some(format!(
                        "a change got no answer ({e}); the state file keeps both"
                    ));
                } else {
                    // Not sent: nothing pending.
                    self.ledger.active.pending = None;
                    self.ledger.save();
                }
                return Err(e);
            }
        };
        self.ledger.active.pending = None;
        let tracked_old = old == self.ledger.active.current;
        self.observe(&response, Some((old, new)));
        if response.status != 200 {
            self.ledger.add_candidate(new);
        } else if tracked_old {
            self.ledger.active.candidates.clear();
        }
        self.ledger.save();
        if let Some(why) = token_error {
            // Its answer is followed, but it judges nothing.
            return Err(DriveError::Token(why));
        }
        Ok(response)
    }

    /// Records the string `new_password` of `body` (if strict JSON reads
    /// one) and every password of `also` (what a lenient decoder reads
    /// from a body strict JSON refuses, each of duplicate members) as
    /// candidates of the account in the state file before a request with
    /// the account's token that is not a well-formed change is sent.
    pub fn record_candidate_of(&mut self, body: &[u8], also: &[String]) {
        let strict = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
            v.get("new_password")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        for new in strict.into_iter().chain(also.iter().cloned()) {
            // A failed write is caught by `may_send_with_token`.
            let _ = self.ledger.before_change(&Effect::ActiveCandidate { new });
        }
    }

    /// Whether a request with the account's token may be sent: not once a
    /// write of the state file failed (the account is then poisoned with
    /// why), since what it sets could not be recorded.
    pub fn may_send_with_token(&self) -> Result<(), DriveError> {
        match &self.ledger.active.poisoned {
            Some(why) if why.starts_with("cannot write the state file") => {
                Err(DriveError::Poisoned(why.clone()))
            }
            _ => Ok(()),
        }
    }

    /// Follows the effect of any answer to a request with the account's
    /// token; `change` is the `(old, new)` of a well-formed change.
    pub fn observe(&mut self, response: &Response, change: Option<(&str, &str)>) {
        if response.status == 200 {
            if let Some((old, new)) = change {
                self.ledger.apply_change(new);
                self.ledger.active.last_change = Some((
                    "a change of the generated properties".into(),
                    PROPERTIES,
                    old.to_string(),
                    new.to_string(),
                ));
            } else {
                self.ledger.active.poisoned =
                    Some("a request that was not a change got 200; the password is unknown".into());
            }
        } else if is_error(response, "wrong_old_password") {
            self.ledger.note_failure();
            if change.is_some_and(|(old, _)| old == self.ledger.active.current) {
                self.ledger.active.poisoned = Some(
                    "the tracked password was refused (wrong_old_password); changes stopped to \
                     avoid a lockout"
                        .into(),
                );
            }
        }
    }

    /// Confirms the tracked password works without changing it: a change
    /// from it to itself must be `duplicate_password` (S3 comes after the
    /// old-password check).
    pub fn probe_current(&mut self) -> Result<Response, DriveError> {
        let token = self.token(StepToken::Standard)?;
        let current = self.ledger.active.current.clone();
        self.change(&token, &current, &current)
    }

    /// Whether `r`, the answer to a change from the tracked password to
    /// itself, shows that the tracked password works: `duplicate_password`,
    /// or `recurrent_password` when the profile's history counts the
    /// current password (a target may check its history first: open
    /// points 1 and 3).
    pub fn confirms_current(&self, r: &Response) -> bool {
        is_error(r, "duplicate_password")
            || (self.profile.policy.history_includes_current && is_error(r, "recurrent_password"))
    }

    /// Makes room for one more wrong old password in the run's lockout
    /// budget (as the catalogue's guard does): a successful change where
    /// the target counts in a row, a wait for the window where it counts
    /// within one; `false` when the rule leaves no room in this run.
    pub fn make_room(&mut self) -> Result<bool, DriveError> {
        match self.ledger.active.budget.next_wrong_attempt() {
            NextWrongAttempt::Now => Ok(true),
            NextWrongAttempt::AfterSuccess => self.reset_failures().map(|()| true),
            NextWrongAttempt::After(wait) => {
                std::thread::sleep(wait);
                Ok(self.ledger.active.budget.next_wrong_attempt() == NextWrongAttempt::Now)
            }
            NextWrongAttempt::Never => Ok(false),
        }
    }

    /// Where a success resets the target's count (counting in a row): a
    /// change to a fresh password when wrong old passwords were counted,
    /// so the next sequence starts with none. Otherwise nothing.
    pub fn reset_failures(&mut self) -> Result<(), DriveError> {
        if !self.ledger.active.budget.success_resets() || self.ledger.active.budget.count() == 0 {
            return Ok(());
        }
        let token = self.token(StepToken::Standard)?;
        let current = self.ledger.active.current.clone();
        let new = crate::password::fresh(&self.profile.policy);
        let r = self.change(&token, &current, &new)?;
        if r.status != 200 {
            return Err(DriveError::Poisoned(format!(
                "resetting the failure count: a change to a fresh password got {}",
                describe(&r)
            )));
        }
        Ok(())
    }
}
