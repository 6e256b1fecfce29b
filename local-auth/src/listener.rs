//! The listener's rules at run time: which route a request is for, by its `Host` name and
//! path, in the load balancer's order (a path rule on a host before that host's
//! whole-host rule; the deployer gives path rules the lower priorities). No match is the
//! environment listener's default action: a fixed 404.

use url::Url;

use crate::environment::RouteInfo;
use crate::proxy::Upstream;
use crate::rules::{Login, prefix_covers};

/// One rule, ready to serve.
pub(crate) struct ActiveRoute {
    /// The host name it matches; `None`: every host (the `--upstream` form).
    pub(crate) host: Option<String>,
    /// Its path prefix, if any.
    pub(crate) path: Option<String>,
    /// Login first or not.
    pub(crate) login: Login,
    /// The app client its tokens and sessions are for (login routes).
    pub(crate) client_id: String,
    /// The sign-out URLs registered for that client; empty: any loopback URL.
    pub(crate) logout_urls: Vec<Url>,
    /// Where it forwards.
    pub(crate) upstream: Upstream,
    /// What was printed about it.
    pub(crate) info: RouteInfo,
}

impl ActiveRoute {
    fn covers(&self, host: &str, path: &str) -> bool {
        let host_ok = self
            .host
            .as_deref()
            .is_none_or(|h| h.eq_ignore_ascii_case(host));
        host_ok && prefix_covers(self.path.as_deref(), path)
    }
}

/// Every rule, in evaluation order.
pub(crate) struct Listener {
    routes: Vec<ActiveRoute>,
}

impl Listener {
    /// The rules in the order the load balancer evaluates them: path rules, then
    /// whole-host rules, then the catch-all (each group in the order given).
    pub(crate) fn new(mut routes: Vec<ActiveRoute>) -> Self {
        routes.sort_by_key(|r| match (&r.host, &r.path) {
            (Some(_), Some(_)) => 0,
            (Some(_), None) => 1,
            (None, _) => 2,
        });
        Self { routes }
    }

    /// Whether rules are by host (`--route`), so the login page lives on the emulator's
    /// own origin and a login returns through the host's `/oauth2/idpresponse`.
    pub(crate) fn by_host(&self) -> bool {
        self.routes.iter().any(|r| r.host.is_some())
    }

    /// The rule for a request to `host` (name without port) and `path`, if any.
    pub(crate) fn find(&self, host: &str, path: &str) -> Option<&ActiveRoute> {
        self.routes.iter().find(|r| r.covers(host, path))
    }

    /// The login rules (one user pool, one client each).
    pub(crate) fn login_routes(&self) -> impl Iterator<Item = &ActiveRoute> {
        self.routes.iter().filter(|r| r.login == Login::Cognito)
    }

    /// Whether `host` has a login rule of its own (not the catch-all): its
    /// `/oauth2/idpresponse` is then the emulator's.
    pub(crate) fn has_login_host(&self, host: &str) -> bool {
        self.login_routes().any(|r| {
            r.host
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(host))
        })
    }

    /// What was printed about every rule, in order.
    pub(crate) fn infos(&self) -> Vec<RouteInfo> {
        self.routes.iter().map(|r| r.info.clone()).collect()
    }

    /// The rules, for a message listing them.
    pub(crate) fn listing(&self) -> String {
        self.routes
            .iter()
            .map(|r| {
                format!(
                    "{}{} (login: {})",
                    r.host.as_deref().unwrap_or("*"),
                    r.path.as_deref().unwrap_or(""),
                    r.login
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
