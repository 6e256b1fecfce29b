//! The checks, in order: everything that needs no network first, then the key, then
//! the signature, then the claims.

use serde_json::Value;

use super::rejection::AuthFailure;
use super::{Identity, KeyCache};
use crate::configuration::AuthSettings;

/// Verifies `x-amzn-oidc-data` tokens against the configured policy.
pub struct Verifier {
    settings: AuthSettings,
    keys: KeyCache,
}

impl Verifier {
    /// A verifier fetching keys from `settings.public_keys_url`.
    pub fn new(settings: AuthSettings) -> Self {
        let keys = KeyCache::new(&settings);
        Self { settings, keys }
    }

    /// The identity in `token`, or why there is none.
    pub(crate) async fn verify(&self, token: &str) -> Result<Identity, AuthFailure> {
        self.verify_at(token, alb_token::unix_now()).await
    }

    /// [`verify`](Self::verify) with the clock reading `now` (tests pin it).
    async fn verify_at(&self, token: &str, now: i64) -> Result<Identity, AuthFailure> {
        let token = alb_token::parse(token)?;
        let header = &token.header;
        if !self.settings.alb_arns.contains(&header.signer) {
            return Err(AuthFailure::Signer);
        }
        if !self.settings.client_id.admits(&header.client) {
            return Err(AuthFailure::Client);
        }
        if !self.settings.issuer.admits(&header.iss) {
            return Err(AuthFailure::Issuer("is not OIDC_ISSUER"));
        }

        let key = self.keys.get(&header.kid).await?;
        token.verify_signature(&key)?;
        check_claims(&self.settings, &header.iss, token.claims(), now)
    }
}

/// The claims policy on a payload whose signature verified: `exp` present, not past
/// (with leeway) and not further ahead than the ALB issues; `iss` as in the header;
/// a non-empty `sub`.
fn check_claims(
    settings: &AuthSettings,
    header_iss: &str,
    payload: &[u8],
    now: i64,
) -> Result<Identity, AuthFailure> {
    let claims = match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(claims)) => claims,
        _ => return Err(AuthFailure::Claims("are not a JSON object")),
    };
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(AuthFailure::Expiry("has no numeric exp"))?;
    let leeway = i64::try_from(settings.exp_leeway.as_secs()).unwrap_or(i64::MAX);
    let lifetime = i64::try_from(settings.max_token_lifetime.as_secs()).unwrap_or(i64::MAX);
    if exp.saturating_add(leeway) <= now {
        return Err(AuthFailure::Expiry("has expired"));
    }
    if exp > now.saturating_add(lifetime) {
        return Err(AuthFailure::Expiry(
            "expires further ahead than an ALB token can",
        ));
    }
    if claims.get("iss").and_then(Value::as_str) != Some(header_iss) {
        return Err(AuthFailure::Issuer(
            "in the payload differs from the header",
        ));
    }
    let sub = match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => sub.to_owned(),
        _ => return Err(AuthFailure::Claims("have no sub")),
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Identity {
        sub,
        username: text("username"),
        email: text("email"),
        exp,
        claims,
    })
}

/// The whole path (parse, header checks, key, signature, claims) over arbitrary input:
/// it never panics, and it accepts exactly the tokens the policy describes.
#[cfg(test)]
mod properties {
    use std::sync::Arc;
    use std::time::Duration;

    use alb_token::{AlbHeader, SigningKey};
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::Verifier;
    use crate::configuration::{AuthSettings, Expected};

    const KID: &str = "0b0b2b5e-1c4f-4d7a-9f3e-5a6b7c8d9e0f";
    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/1";
    const ISS: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X";
    const NOW: i64 = 1_800_000_000;

    struct Fixture {
        verifier: Verifier,
        key: SigningKey,
        runtime: tokio::runtime::Runtime,
    }

    fn fixture() -> &'static Fixture {
        static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        FIXTURE.get_or_init(|| {
            let key = SigningKey::generate();
            let settings = AuthSettings {
                alb_arns: vec![ARN.into()],
                // Nothing listens here: every kid but the preloaded one is an outage.
                public_keys_url: "http://127.0.0.1:9".into(),
                client_id: Expected::Exactly("client".into()),
                issuer: Expected::Exactly(ISS.into()),
                exp_leeway: Duration::from_secs(60),
                max_token_lifetime: Duration::from_secs(300),
                key_fetch_timeout: Duration::from_millis(200),
                unknown_kid_ttl: Duration::from_secs(10),
                outage_backoff: Duration::from_secs(10),
                key_ttl: Duration::from_secs(3600),
            };
            let verifier = Verifier::new(settings);
            let public = alb_token::PublicKey::from_pem(&key.public_key_pem()).unwrap();
            verifier.keys.preload(KID, Arc::new(public));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            Fixture {
                verifier,
                key,
                runtime,
            }
        })
    }

    fn verify(token: &str) -> Result<super::Identity, super::AuthFailure> {
        let f = fixture();
        f.runtime.block_on(f.verifier.verify_at(token, NOW))
    }

    /// A claim value: absent, a number near the interesting range or anywhere, or text.
    fn claim(near: i64) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            (-400i64..700).prop_map(move |d| Some(json!(near.saturating_add(d)))),
            any::<i64>().prop_map(|n| Some(json!(n))),
            ".{0,12}".prop_map(|s| Some(json!(s))),
        ]
    }

    fn sign(exp_header: i64, claims: &Map<String, Value>) -> String {
        let header = AlbHeader {
            alg: "ES256".into(),
            kid: KID.into(),
            signer: ARN.into(),
            iss: ISS.into(),
            client: "client".into(),
            exp: exp_header,
            typ: Some("JWT".into()),
        };
        alb_token::sign(&header, &Value::Object(claims.clone()), &fixture().key)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_are_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let text = String::from_utf8_lossy(&bytes);
            prop_assert!(verify(&text).is_err());
        }

        #[test]
        fn dotted_base64_noise_is_refused(parts in proptest::collection::vec("[A-Za-z0-9_=-]{0,80}", 0..5)) {
            prop_assert!(verify(&parts.join(".")).is_err());
        }

        #[test]
        fn signed_claims_are_accepted_exactly_when_the_policy_holds(
            exp in claim(NOW),
            iss in prop_oneof![Just(Some(json!(ISS))), claim(0)],
            sub in prop_oneof![Just(Some(json!("user-1"))), claim(0)],
            username in claim(0),
            header_exp in any::<i64>(),
        ) {
            let mut claims = Map::new();
            for (name, value) in [("exp", &exp), ("iss", &iss), ("sub", &sub), ("username", &username)] {
                if let Some(value) = value {
                    claims.insert(name.into(), value.clone());
                }
            }
            let token = sign(header_exp, &claims);
            let exp_ok = exp
                .as_ref()
                .and_then(Value::as_i64)
                .is_some_and(|e| e.saturating_add(60) > NOW && e <= NOW + 300);
            let iss_ok = iss.as_ref().and_then(Value::as_str) == Some(ISS);
            let sub_ok = sub.as_ref().and_then(Value::as_str).is_some_and(|s| !s.is_empty());
            let result = verify(&token);
            prop_assert_eq!(result.is_ok(), exp_ok && iss_ok && sub_ok, "{:?} for {:?}", result, claims);
        }

        #[test]
        fn any_changed_byte_of_a_good_token_is_refused(at in any::<prop::sample::Index>(), to in any::<u8>()) {
            let claims = json!({"sub": "user-1", "exp": NOW + 100, "iss": ISS});
            let Value::Object(claims) = claims else { unreachable!() };
            let token = sign(NOW + 100, &claims);
            prop_assert!(verify(&token).is_ok());
            let mut bytes = token.into_bytes();
            let i = at.index(bytes.len());
            prop_assume!(bytes[i] != to);
            bytes[i] = to;
            let changed = String::from_utf8_lossy(&bytes);
            prop_assert!(verify(&changed).is_err());
        }
    }
}
