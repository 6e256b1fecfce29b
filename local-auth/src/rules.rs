//! Routes by host and path, as the environment listener's rules: each `--route` is one
//! service's rule pair (`HOST[/PATH]=UPSTREAM[,login=cognito|none][,client-id=ID]`), and
//! the checks that make a bad one fail before anything listens.

use std::fmt;

use url::Url;

use crate::config::{SettingsError, is_plain_host_name};

/// What a route's rule does before forwarding, as `login:` in deploy.yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Login {
    /// `authenticate-cognito` then forward: login first, identity headers to the app.
    Cognito,
    /// Forward only: no login, no session, no identity headers (client-sent ones are
    /// removed all the same).
    None,
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Login::Cognito => "cognito",
            Login::None => "none",
        })
    }
}

/// One service's listener rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The host name the `Host` header must carry (lower case, without port).
    pub host: String,
    /// A path prefix (`/docs` matches `/docs` and `/docs/…`); `None`: the whole host.
    pub path: Option<String>,
    /// The app to forward to, `http://HOST:PORT`.
    pub upstream: Url,
    /// Whether the rule logs users in first.
    pub login: Login,
    /// This route's user pool client id (the token's `client`); generated when `None`.
    /// Each service has its own client, as each service stack makes one.
    pub client_id: Option<String>,
}

impl Route {
    /// A whole-host route behind login with a generated client id.
    pub fn new(host: &str, upstream: Url) -> Self {
        Self {
            host: host.to_ascii_lowercase(),
            path: None,
            upstream,
            login: Login::Cognito,
            client_id: None,
        }
    }

    /// Parses `HOST[/PATH]=UPSTREAM[,login=cognito|none][,client-id=ID]`.
    pub fn parse(raw: &str) -> Result<Self, SettingsError> {
        let bad = |reason: &str| SettingsError::Route {
            route: raw.to_string(),
            reason: reason.to_string(),
        };
        let (target, rest) = raw.split_once('=').ok_or_else(|| {
            bad("write HOST[/PATH]=UPSTREAM[,login=cognito|none][,client-id=ID], e.g. app.localhost=http://127.0.0.1:8081")
        })?;
        let (host, path) = match target.find('/') {
            Some(i) => (&target[..i], Some(target[i..].to_string())),
            None => (target, None),
        };
        let mut parts = rest.split(',');
        let upstream = parts.next().unwrap_or_default();
        let upstream =
            crate::Settings::parse_upstream(upstream).map_err(|e| bad(&e.to_string()))?;
        let mut route = Route {
            host: host.to_ascii_lowercase(),
            path,
            upstream,
            login: Login::Cognito,
            client_id: None,
        };
        let (mut saw_login, mut saw_client) = (false, false);
        for option in parts {
            match option.split_once('=') {
                Some(("login", value)) if !saw_login => {
                    saw_login = true;
                    route.login = match value {
                        "cognito" => Login::Cognito,
                        "none" => Login::None,
                        other => {
                            return Err(bad(&format!(
                                "login={other} is not a login: use login=cognito (the default) or login=none"
                            )));
                        }
                    };
                }
                Some(("client-id", value)) if !saw_client => {
                    saw_client = true;
                    route.client_id = Some(value.to_string());
                }
                Some(("login" | "client-id", _)) => {
                    return Err(bad(&format!("`{option}` is given twice")));
                }
                _ => {
                    return Err(bad(&format!(
                        "unknown option `{option}`: after the upstream URL only login=cognito|none and client-id=ID may follow, separated by commas"
                    )));
                }
            }
        }
        route.check().map_err(|reason| bad(&reason))?;
        Ok(route)
    }

    /// What is wrong with this route on its own, if anything.
    fn check(&self) -> Result<(), String> {
        if !is_plain_host_name(&self.host) {
            return Err(format!(
                "host `{}` must be a host name without port or scheme, e.g. app.localhost (the emulator matches the Host header's name; the port is the emulator's)",
                self.host
            ));
        }
        if let Some(path) = &self.path {
            let plain = path.len() > 1
                && !path.ends_with('/')
                && !path.contains("//")
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
            if !plain {
                return Err(format!(
                    "path `{path}` must be a prefix like /docs: no wildcard, query or trailing slash (it matches /docs and /docs/...)"
                ));
            }
            if path == "/_alb" || path.starts_with("/_alb/") || path == "/oauth2" {
                return Err(format!(
                    "path `{path}` is the emulator's own (its login pages and the load balancer's /oauth2/idpresponse)"
                ));
            }
        }
        if self.login == Login::None && self.client_id.is_some() {
            return Err(
                "client-id= needs login=cognito: a route without login has no user pool client"
                    .into(),
            );
        }
        if let Some(id) = &self.client_id {
            crate::config::check_identifier("client id", Some(id)).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// `host/path` or `host`, as written on the command line.
    pub fn target(&self) -> String {
        format!("{}{}", self.host, self.path.as_deref().unwrap_or(""))
    }
}

/// Checks every route on its own and together: no two rules for the same host and path,
/// and no nested prefixes on one host (`/docs` and `/docs/api`), which the deployer
/// refuses too because the load balancer's rule order could not keep them apart.
pub(crate) fn check_routes(routes: &[Route]) -> Result<(), SettingsError> {
    for (i, route) in routes.iter().enumerate() {
        let bad = |reason: String| SettingsError::Route {
            route: route.target(),
            reason,
        };
        route.check().map_err(bad)?;
        for earlier in &routes[..i] {
            if earlier.host != route.host {
                continue;
            }
            match (&earlier.path, &route.path) {
                (None, None) => {
                    return Err(bad(format!(
                        "host {} has two whole-host routes; give each service its own host or a path",
                        route.host
                    )));
                }
                (Some(a), Some(b)) if a == b => {
                    return Err(bad(format!("{} is routed twice", route.target())));
                }
                (Some(a), Some(b)) if nested(a, b) || nested(b, a) => {
                    return Err(bad(format!(
                        "path prefixes {a} and {b} on host {} are nested; the load balancer's rule order could not keep them apart (the deployer refuses them too)",
                        route.host
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Whether a request for `path` falls under the path prefix (`None`: the whole host).
pub(crate) fn prefix_covers(prefix: Option<&str>, path: &str) -> bool {
    match prefix {
        None => true,
        Some(prefix) => path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
    }
}

fn nested(outer: &str, inner: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Route {
        Route::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn the_short_form_is_a_whole_host_behind_login() {
        let r = parse("App.Localhost=http://127.0.0.1:8081");
        assert_eq!(r.host, "app.localhost");
        assert_eq!(r.path, None);
        assert_eq!(r.upstream.as_str(), "http://127.0.0.1:8081/");
        assert_eq!(r.login, Login::Cognito);
        assert_eq!(r.client_id, None);
    }

    #[test]
    fn path_login_and_client_id_are_read() {
        let r = parse("app.localhost/docs=http://127.0.0.1:8082,login=none");
        assert_eq!(r.path.as_deref(), Some("/docs"));
        assert_eq!(r.login, Login::None);
        let r = parse("app.localhost=http://127.0.0.1:8081,client-id=abc123,login=cognito");
        assert_eq!(r.client_id.as_deref(), Some("abc123"));
        assert_eq!(r.login, Login::Cognito);
    }

    #[test]
    fn bad_routes_say_what_to_write() {
        for (raw, says) in [
            ("app.localhost", "HOST[/PATH]=UPSTREAM"),
            ("app.localhost:3000=http://127.0.0.1:1", "without port"),
            ("app.localhost=https://127.0.0.1:1", "http://"),
            ("app.localhost=http://127.0.0.1:1,login=oidc", "login=oidc"),
            (
                "app.localhost=http://127.0.0.1:1,login=none,login=none",
                "twice",
            ),
            (
                "app.localhost=http://127.0.0.1:1,port=2",
                "unknown option `port=2`",
            ),
            (
                "app.localhost=http://127.0.0.1:1,login=none,client-id=x",
                "needs login=cognito",
            ),
            ("app.localhost/docs/=http://127.0.0.1:1", "trailing slash"),
            ("app.localhost/docs*=http://127.0.0.1:1", "wildcard"),
            ("app.localhost/_alb=http://127.0.0.1:1", "emulator's own"),
            ("=http://127.0.0.1:1", "host ``"),
            ("a.localhost=http://127.0.0.1:1,client-id=a b", "client id"),
        ] {
            let err = Route::parse(raw).unwrap_err().to_string();
            assert!(err.contains(says), "{raw}: {err}");
            assert!(err.starts_with(&format!("route `{raw}`")), "{err}");
        }
    }

    #[test]
    fn a_prefix_covers_itself_and_below_only() {
        let docs = Some("/docs");
        assert!(prefix_covers(docs, "/docs"));
        assert!(prefix_covers(docs, "/docs/a"));
        assert!(!prefix_covers(docs, "/docsx"));
        assert!(!prefix_covers(docs, "/"));
        assert!(prefix_covers(None, "/anything"));
    }

    #[test]
    fn duplicate_and_nested_routes_on_one_host_are_refused() {
        let r = |s: &str| parse(s);
        let ok = [
            r("a.localhost=http://127.0.0.1:1"),
            r("a.localhost/docs=http://127.0.0.1:2"),
            r("a.localhost/api2=http://127.0.0.1:2"),
            r("b.localhost=http://127.0.0.1:3,login=none"),
        ];
        assert!(check_routes(&ok).is_ok());
        for (pair, says) in [
            (
                [
                    "a.localhost=http://127.0.0.1:1",
                    "a.localhost=http://127.0.0.1:2",
                ],
                "two whole-host",
            ),
            (
                [
                    "a.localhost/d=http://127.0.0.1:1",
                    "a.localhost/d=http://127.0.0.1:2",
                ],
                "routed twice",
            ),
            (
                [
                    "a.localhost/d=http://127.0.0.1:1",
                    "a.localhost/d/e=http://127.0.0.1:2",
                ],
                "nested",
            ),
            (
                [
                    "a.localhost/d/e=http://127.0.0.1:1",
                    "a.localhost/d=http://127.0.0.1:2",
                ],
                "nested",
            ),
        ] {
            let routes: Vec<Route> = pair.iter().map(|s| r(s)).collect();
            let err = check_routes(&routes).unwrap_err().to_string();
            assert!(err.contains(says), "{pair:?}: {err}");
        }
        assert!(
            check_routes(&[
                r("a.localhost/d=http://127.0.0.1:1"),
                r("a.localhost/dd=http://127.0.0.1:2")
            ])
            .is_ok()
        );
    }
}
