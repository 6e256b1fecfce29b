//! The JOSE header of an ALB token.

use serde::{Deserialize, Serialize};

/// The JOSE header the ALB puts in `x-amzn-oidc-data`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AlbHeader {
    /// Signature algorithm; the ALB always uses `ES256`.
    pub alg: String,
    /// Key id: a UUID naming the PEM at the regional key endpoint.
    pub kid: String,
    /// ARN of the load balancer that signed the token.
    pub signer: String,
    /// Issuer of the identity provider (for Cognito, the user pool URL).
    pub iss: String,
    /// OAuth client id the load balancer logged the user in with.
    pub client: String,
    /// Expiry of the token, seconds since the Unix epoch.
    pub exp: i64,
    /// Token type (`JWT`), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}
