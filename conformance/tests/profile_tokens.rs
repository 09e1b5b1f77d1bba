//! Static tokens of the profile stand in for minting: a vendor without a
//! signing key still covers S10 (expired) and S11 (without openid). Run
//! against the in-process reference server with tokens minted up front
//! and the profile's signing key removed.

use conformance::cases;
use conformance::embedded::{Embedded, Hashing};
use conformance::runner;
use conformance::tokens::TokenFactory;
use conformance::verdict::Verdict;
use conformance::vocabulary::TokenKind;

#[tokio::test]
async fn static_tokens_cover_expired_and_without_openid() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let mut profile = server.profile.clone();
    let active = profile.accounts.active().clone();
    let mut factory = TokenFactory::new(&profile).unwrap();
    let valid = factory.standard(&active).await.unwrap();
    let expired = factory.variant(&active, TokenKind::Expired).await.unwrap();
    let no_openid = factory
        .variant(
            &active,
            TokenKind::Scope(&["profile"], profile.tokens.scope_format),
        )
        .await
        .unwrap();
    profile.tokens.private_key = None;
    profile.tokens.untrusted_private_key = None;
    profile.accounts.active_mut().token = Some(valid);
    let ids = [
        "auth.invalid-token.expired",
        "auth.insufficient-scope.profile-token",
        "auth.insufficient-scope.no-scope-claim",
    ];
    let cases: Vec<_> = ids.iter().map(|id| cases::find(id).unwrap()).collect();
    let options = crate::support::strict_options(&server);
    // Without the static tokens: skipped, naming the keys.
    let outcome = runner::run(&profile, &cases, &options).await.unwrap();
    for r in &outcome.cases {
        assert_eq!(r.verdict, Verdict::Skip, "{}", r.id);
    }
    assert!(
        outcome.cases[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("tokens.expired_token")
    );
    assert!(
        outcome.cases[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("tokens.no_openid_token")
    );
    // With them: both run and pass; the case that needs minting still skips.
    profile.tokens.expired_token = Some(expired);
    profile.tokens.no_openid_token = Some(no_openid);
    let outcome = runner::run(&profile, &cases, &options).await.unwrap();
    let verdicts: Vec<_> = outcome.cases.iter().map(|r| r.verdict).collect();
    assert_eq!(verdicts, [Verdict::Pass, Verdict::Pass, Verdict::Skip]);
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    server.stop().await;
}
