//! The checks, in order: everything that needs no network first, then the key, then
//! the signature, then the claims.

use std::time::{SystemTime, UNIX_EPOCH};

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
        let keys = KeyCache::new(
            &settings.public_keys_url,
            settings.key_fetch_timeout,
            settings.key_failure_ttl,
        );
        Self { settings, keys }
    }

    /// The identity in `token`, or why there is none.
    pub(crate) async fn verify(&self, token: &str) -> Result<Identity, AuthFailure> {
        let token = alb_token::parse(token)?;
        let header = &token.header;
        if !self.settings.alb_arns.contains(&header.signer) {
            return Err(AuthFailure::Signer);
        }
        if self
            .settings
            .client_id
            .as_ref()
            .is_some_and(|c| *c != header.client)
        {
            return Err(AuthFailure::Client);
        }
        if self
            .settings
            .issuer
            .as_ref()
            .is_some_and(|i| *i != header.iss)
        {
            return Err(AuthFailure::Issuer("is not OIDC_ISSUER"));
        }

        let key = self.keys.get(&header.kid).await?;
        token.verify_signature(&key)?;

        let claims = match serde_json::from_slice::<Value>(token.claims()) {
            Ok(Value::Object(claims)) => claims,
            _ => return Err(AuthFailure::Claims("are not a JSON object")),
        };
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(AuthFailure::Expiry("has no numeric exp"))?;
        let leeway = self.settings.exp_leeway.as_secs() as i64;
        if exp.saturating_add(leeway) <= now_unix() {
            return Err(AuthFailure::Expiry("has expired"));
        }
        if claims.get("iss").and_then(Value::as_str) != Some(header.iss.as_str()) {
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
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
