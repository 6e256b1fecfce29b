//! The emulated user: what the login form accepts and the claims the IdP's userinfo
//! endpoint would return for it.

use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Cognito's limit on usernames.
const MAX_USERNAME_CHARS: usize = 128;
/// The longest email address we accept (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// Namespace for the `sub` UUIDs, so the same username gets the same `sub` in every run
/// (apps that store per-user data keep working across restarts of the emulator).
const SUB_NAMESPACE: Uuid = Uuid::from_u128(0x6c6f_6361_6c2d_4175_7468_2d73_7562_0001);

/// A logged-in user of the emulated user pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    username: String,
    email: Option<String>,
}

/// Why the login form was refused; the message is shown on the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// No username typed.
    #[error("Enter a username.")]
    EmptyUsername,
    /// Username too long or with characters Cognito does not allow.
    #[error("Usernames are 1 to 128 characters, without spaces or control characters.")]
    BadUsername,
    /// Email that is not `local@domain`.
    #[error("The email address must look like name@example.com (or leave it empty).")]
    BadEmail,
}

impl Identity {
    /// Checks the form input the way a user pool would: usernames as Cognito allows them
    /// (1–128 characters, no whitespace or control characters), an optional email.
    pub fn new(username: &str, email: Option<&str>) -> Result<Self, IdentityError> {
        let username = username.trim();
        if username.is_empty() {
            return Err(IdentityError::EmptyUsername);
        }
        if username.chars().count() > MAX_USERNAME_CHARS
            || username
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(IdentityError::BadUsername);
        }
        let email = match email.map(str::trim) {
            None | Some("") => None,
            Some(e) => {
                let valid = e.chars().count() <= MAX_EMAIL_CHARS
                    && !e.chars().any(|c| c.is_whitespace() || c.is_control())
                    && matches!(e.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@'));
                if !valid {
                    return Err(IdentityError::BadEmail);
                }
                Some(e.to_string())
            }
        };
        Ok(Self {
            username: username.to_string(),
            email,
        })
    }

    /// The username as typed (trimmed).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The user's `sub`: a UUID that is stable per username, like Cognito's.
    pub fn sub(&self) -> String {
        Uuid::new_v5(&SUB_NAMESPACE, self.username.as_bytes()).to_string()
    }

    /// The claims the ALB puts in the token payload: what Cognito's userinfo endpoint
    /// returns (`sub`, `username`, `email`, `email_verified` as the *string* `"true"`),
    /// plus `exp` and `iss` as the ALB adds them.
    pub fn claims(&self, issuer: &str, exp: i64) -> Value {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(self.sub()));
        if let Some(email) = &self.email {
            // Cognito's userinfo sends booleans as strings; apps must cope, so we do the same.
            claims.insert("email_verified".into(), json!("true"));
            claims.insert("email".into(), json!(email));
        }
        claims.insert("username".into(), json!(self.username));
        claims.insert("exp".into(), json!(exp));
        claims.insert("iss".into(), json!(issuer));
        Value::Object(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_username_always_gets_the_same_sub() {
        let a = Identity::new("alice", None).unwrap();
        let b = Identity::new(" alice ", Some("alice@example.com")).unwrap();
        let c = Identity::new("bob", None).unwrap();
        assert_eq!(a.sub(), b.sub());
        assert_ne!(a.sub(), c.sub());
        assert!(Uuid::parse_str(&a.sub()).is_ok());
    }

    #[test]
    fn claims_look_like_cognito_userinfo() {
        let id = Identity::new("alice", Some("alice@example.com")).unwrap();
        let claims = id.claims("http://127.0.0.1:3000/_alb", 1_700_000_000);
        assert_eq!(claims["username"], "alice");
        assert_eq!(claims["email"], "alice@example.com");
        assert_eq!(
            claims["email_verified"], "true",
            "a string, as Cognito sends it"
        );
        assert_eq!(claims["exp"], 1_700_000_000);
        assert_eq!(claims["iss"], "http://127.0.0.1:3000/_alb");
        assert_eq!(claims["sub"], id.sub());
    }

    #[test]
    fn without_email_there_are_no_email_claims() {
        let claims = Identity::new("alice", Some("")).unwrap().claims("i", 1);
        assert!(claims.get("email").is_none());
        assert!(claims.get("email_verified").is_none());
    }

    #[test]
    fn bad_form_input_is_refused() {
        assert_eq!(Identity::new("  ", None), Err(IdentityError::EmptyUsername));
        assert_eq!(Identity::new("a b", None), Err(IdentityError::BadUsername));
        assert_eq!(
            Identity::new("a\u{7}", None),
            Err(IdentityError::BadUsername)
        );
        assert_eq!(
            Identity::new(&"x".repeat(129), None),
            Err(IdentityError::BadUsername)
        );
        assert!(Identity::new(&"x".repeat(128), None).is_ok());
        for bad in ["alice", "@example.com", "a@b", "a@b@c.d", "a b@c.d"] {
            assert_eq!(
                Identity::new("alice", Some(bad)),
                Err(IdentityError::BadEmail),
                "{bad}"
            );
        }
    }
}
