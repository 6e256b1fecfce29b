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
        check_claims(&self.settings, &header.iss, token.claims(), alb_token::unix_now())
    }
}

/// The claims policy on a payload whose signature verified: `exp` present, not past
/// (with leeway) and not further ahead than the ALB issues; `iss` as in the header;
/// a non-empty `sub`.
pub(crate) fn check_claims(
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
