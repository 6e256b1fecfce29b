//! Where the registry sends us next, and whether our credentials may go along.
//!
//! Two kinds of "next": an upload session's `Location` (the distribution spec's POST →
//! PUT), and a 3xx redirect on a blob `GET`/`HEAD`, which registries use to hand blobs
//! to storage (ECR answers a blob GET with a 307 to a pre-signed S3 URL; the signature is
//! in the query, so the request needs no credentials of ours). The rules, for both:
//!
//! - credentials (`Authorization`) go only to the registry's own origin: the same
//!   scheme, host and port as the base URL (`Registry::send` checks every request);
//!   another host, another port or another scheme gets the request without them;
//! - an https registry never continues over plain http: such a `Location` is refused,
//!   whatever its host, rather than followed (nothing of ours belongs on plain http
//!   once the registry itself is https);
//! - only http and https, and at most [`MAX_REDIRECTS`] redirects in a row.

use http::header::LOCATION;
use http::{Method, Response, StatusCode};
use hyper::body::Incoming;
use url::Url;

use crate::error::Error;
use crate::retry::Attempt;
use crate::transport::{Limit, Registry, describe_request, empty};

/// Redirects followed in a row before giving up (a loop, or a misconfigured proxy).
/// Real registries use one (registry → storage).
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Whether `url` is on the registry's own origin (scheme, host and port, the port
/// filled in from the scheme when absent), the only place credentials are sent.
pub(crate) fn same_origin(base: &Url, url: &Url) -> bool {
    url.origin() == base.origin()
}

/// Resolves `location` against `from` (the request that answered with it) and checks
/// that it may be followed: http(s) only, and no step down from https to http.
/// `registry` names the registry in the error.
pub(crate) fn next_url(registry: &str, from: &Url, location: &str) -> Result<Url, Error> {
    let next = from.join(location).map_err(|e| Error::Protocol {
        registry: registry.to_owned(),
        problem: format!("bad Location `{location}`: {e}"),
    })?;
    let shown = shown(&next);
    match (from.scheme(), next.scheme()) {
        ("https", "https") | ("http", "http" | "https") => Ok(next),
        ("https", "http") => Err(Error::Protocol {
            registry: registry.to_owned(),
            problem: format!(
                "{} sent us on to plain http ({shown}); refused: an https registry's requests \
                 never continue unencrypted. If the registry is behind a proxy or load balancer, \
                 make it keep https in Location headers",
                self::shown(from)
            ),
        }),
        (_, other) => Err(Error::Protocol {
            registry: registry.to_owned(),
            problem: format!(
                "{} sent us on to `{other}:` ({shown}), which is not http or https",
                self::shown(from)
            ),
        }),
    }
}

impl Registry {
    /// Sends a body-less `GET` or `HEAD`, following the registry's redirects (at most
    /// [`MAX_REDIRECTS`]) under the rules above: each hop is its own request through
    /// `send`, which attaches credentials only on the registry's origin.
    pub(crate) async fn send_following(
        &self,
        method: Method,
        url: &Url,
        headers: &[(http::HeaderName, &str)],
        limit: Limit,
    ) -> Result<Response<Incoming>, Attempt> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let response = self
                .send(method.clone(), &current, headers, empty(), limit)
                .await?;
            if !is_redirect(response.status()) {
                return Ok(response);
            }
            let Some(location) = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Err(Attempt::from(Error::Protocol {
                    registry: self.host(),
                    problem: format!(
                        "{} answered {} without a Location header",
                        describe_request(&method, &current),
                        response.status()
                    ),
                }));
            };
            current = next_url(&self.host(), &current, location)?;
        }
        Err(Attempt::from(Error::Protocol {
            registry: self.host(),
            problem: format!(
                "{} was redirected more than {MAX_REDIRECTS} times (last to {})",
                describe_request(&method, url),
                shown(&current)
            ),
        }))
    }
}

/// The redirects the distribution spec allows on blob reads (and the older 301/302/303).
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A URL for messages: without its query, which for a pre-signed URL is a credential.
pub(crate) fn shown(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn credentials_stay_on_the_same_scheme_host_and_port() {
        let base = url("https://1.dkr.ecr.eu-west-1.amazonaws.com");
        assert!(same_origin(
            &base,
            &url("https://1.dkr.ecr.eu-west-1.amazonaws.com/v2/a")
        ));
        assert!(same_origin(
            &base,
            &url("https://1.dkr.ecr.eu-west-1.amazonaws.com:443/v2/a")
        ));
        for other in [
            "http://1.dkr.ecr.eu-west-1.amazonaws.com/v2/a",
            "https://1.dkr.ecr.eu-west-1.amazonaws.com:8443/v2/a",
            "https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/x?X-Amz-Signature=s",
        ] {
            assert!(!same_origin(&base, &url(other)), "{other}");
        }
        let local = url("http://127.0.0.1:5000");
        assert!(!same_origin(&local, &url("http://127.0.0.1:5001/v2/")));
        assert!(!same_origin(&local, &url("http://localhost:5000/v2/")));
    }

    #[test]
    fn https_never_steps_down_to_http_and_only_http_schemes_are_followed() {
        let from = url("https://reg.example/v2/app/blobs/uploads/");
        let err = next_url(
            "reg.example",
            &from,
            "http://reg.example/v2/app/blobs/uploads/u?_state=secret",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("plain http") && err.contains("http://reg.example/v2/app/blobs/uploads/u"),
            "{err}"
        );
        assert!(
            !err.contains("secret"),
            "the query must not be shown: {err}"
        );
        let err = next_url("reg.example", &from, "ftp://reg.example/x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`ftp:`"), "{err}");
        // Relative, same scheme, and http → https are fine.
        assert_eq!(
            next_url("reg.example", &from, "/v2/app/blobs/uploads/u?_state=1")
                .unwrap()
                .as_str(),
            "https://reg.example/v2/app/blobs/uploads/u?_state=1"
        );
        let plain = url("http://127.0.0.1:5000/v2/a");
        assert!(next_url("x", &plain, "https://bucket.example/k").is_ok());
        assert!(next_url("x", &plain, "http://127.0.0.1:6000/k").is_ok());
    }
}
