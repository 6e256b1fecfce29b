//! The identity headers the ALB adds to every authenticated request, signed with a key
//! made at start and served at `/_alb/keys/<kid>`.

use std::time::Duration;

use alb_token::{AlbHeader, SigningKey, unix_now};
use aws_lc_rs::hmac;
use serde_json::json;

use crate::identity::Identity;
use crate::random::{self, RandomError};

/// How far ahead the token's `exp` is, as the ALB's (about two minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(120);

/// The three headers for one request.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    /// `x-amzn-oidc-data`: the signed claims (ES256, padded base64url segments).
    pub data: String,
    /// `x-amzn-oidc-identity`: the user's `sub`.
    pub identity: String,
    /// `x-amzn-oidc-accesstoken`: a stand-in for Cognito's access token.
    pub access_token: String,
}

/// Signs identity tokens as one load balancer would, for each of its rules' app clients.
pub struct TokenMinter {
    key: SigningKey,
    kid: String,
    signer: String,
    issuer: String,
    access_token_key: hmac::Key,
}

impl TokenMinter {
    /// A minter with a fresh signing key and a random UUID `kid`.
    pub fn new(signer: String, issuer: String) -> Result<Self, RandomError> {
        Ok(Self {
            key: SigningKey::generate(),
            kid: uuid::Builder::from_random_bytes(random::bytes::<16>()?)
                .into_uuid()
                .hyphenated()
                .to_string(),
            signer,
            issuer,
            access_token_key: hmac::Key::new(hmac::HMAC_SHA256, &random::bytes::<32>()?),
        })
    }

    /// The key id in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as the regional key endpoint serves it.
    pub fn public_key_pem(&self) -> String {
        self.key.public_key_pem()
    }

    /// Fresh headers for `identity` behind a rule of app client `client`: a new token per
    /// request, so `exp` is always about two minutes ahead (signing costs tens of
    /// microseconds; nothing to cache).
    pub fn headers_for(&self, identity: &Identity, client: &str) -> IdentityHeaders {
        let now = unix_now();
        let exp = now + TOKEN_LIFETIME.as_secs() as i64;
        let header = AlbHeader {
            alg: "ES256".into(),
            kid: self.kid.clone(),
            signer: self.signer.clone(),
            iss: self.issuer.clone(),
            client: client.to_string(),
            exp,
            typ: Some("JWT".into()),
        };
        let data = alb_token::sign(&header, &identity.claims(&self.issuer, exp), &self.key);
        IdentityHeaders {
            data,
            identity: identity.sub(),
            access_token: self.access_token(identity, client, now),
        }
    }

    /// A JWT-shaped access token: on AWS this is Cognito's access token, which an app can
    /// only use to call Cognito. Ours is signed with a secret only this process knows, so
    /// it looks the part but proves nothing; apps must not trust or parse it.
    fn access_token(&self, identity: &Identity, client: &str, now: i64) -> String {
        let header = json!({ "alg": "HS256", "typ": "local-auth-access-token" });
        let claims = json!({
            "sub": identity.sub(),
            "username": identity.username(),
            "client_id": client,
            "iss": self.issuer,
            "token_use": "access",
            "scope": "openid",
            "iat": now,
            "exp": now + 3600,
        });
        let signed = format!(
            "{}.{}",
            alb_token::encode_segment_unpadded(header.to_string().as_bytes()),
            alb_token::encode_segment_unpadded(claims.to_string().as_bytes())
        );
        let tag = hmac::sign(&self.access_token_key, signed.as_bytes());
        format!(
            "{signed}.{}",
            alb_token::encode_segment_unpadded(tag.as_ref())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minter() -> TokenMinter {
        TokenMinter::new(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/local-auth/0123456789abcdef".into(),
            "http://127.0.0.1:3000/_alb".into(),
        )
        .unwrap()
    }

    #[test]
    fn tokens_verify_with_the_served_key_and_carry_the_alb_header() {
        let m = minter();
        let alice = Identity::new("alice", Some("alice@example.com")).unwrap();
        let h = m.headers_for(&alice, "client123");
        let token = alb_token::parse(&h.data).unwrap();
        let key = alb_token::PublicKey::from_pem(&m.public_key_pem()).unwrap();
        token.verify_signature(&key).unwrap();
        let header = &token.header;
        assert_eq!(header.kid, m.kid());
        assert_eq!(header.alg, "ES256");
        assert_eq!(header.client, "client123");
        assert!(header.signer.ends_with("/app/local-auth/0123456789abcdef"));
        let ahead = header.exp - unix_now();
        assert!((110..=121).contains(&ahead), "exp {ahead}s ahead");
        assert_eq!(h.identity, alice.sub());
        assert!(
            h.data.split('.').all(|seg| seg.len() % 4 == 0),
            "ALB segments are padded: {}",
            h.data
        );
    }

    #[test]
    fn the_kid_is_a_uuid_and_differs_per_run() {
        let (a, b) = (minter(), minter());
        let kid = uuid::Uuid::parse_str(a.kid()).unwrap();
        assert_eq!(
            kid.get_version(),
            Some(uuid::Version::Random),
            "a version-4 UUID like the ALB's"
        );
        assert_ne!(a.kid(), b.kid());
    }

    #[test]
    fn the_access_token_is_jwt_shaped_but_not_an_alb_token() {
        let m = minter();
        let t = m
            .headers_for(&Identity::new("alice", None).unwrap(), "client123")
            .access_token;
        assert_eq!(t.split('.').count(), 3);
        let key = alb_token::PublicKey::from_pem(&m.public_key_pem()).unwrap();
        let verified = alb_token::parse(&t).and_then(|tok| tok.verify_signature(&key));
        assert!(verified.is_err(), "must not pass as an identity token");
    }
}
