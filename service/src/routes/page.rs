//! `GET /`: who is signed in, as HTML, from `templates/page.html`. askama escapes every
//! value and renders each once, so text from the token is never read as markup or as
//! another placeholder.

use std::time::{Duration, UNIX_EPOCH};

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::auth::Identity;

/// 10000-01-01T00:00:00Z: the first instant an HTTP date cannot show.
const YEAR_10000: u64 = 253_402_300_800;

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    name: &'a str,
    sub: &'a str,
    expires: String,
    seconds_left: i64,
    claims: String,
}

/// The page for the signed-in user.
pub(crate) async fn page(identity: Identity) -> Response {
    let page = Page {
        name: identity.display_name(),
        sub: &identity.sub,
        expires: format_expiry(identity.exp),
        seconds_left: identity.exp.saturating_sub(alb_token::unix_now()).max(0),
        claims: serde_json::to_string_pretty(&identity.claims).unwrap_or_default(),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `exp` as an HTTP date (UTC), or the raw number when it is not a date one can show
/// (before 1970 or from the year 10000 on, where `httpdate` would panic).
fn format_expiry(exp: i64) -> String {
    match u64::try_from(exp) {
        Ok(secs) if secs < YEAR_10000 => {
            httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
        }
        _ => exp.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::format_expiry;

    #[test]
    fn expiry_formats_without_panicking_at_the_edges() {
        assert_eq!(format_expiry(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_expiry(253_402_300_799),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(format_expiry(253_402_300_800), "253402300800");
        assert_eq!(format_expiry(i64::MAX), i64::MAX.to_string());
        assert_eq!(format_expiry(-1), "-1");
    }
}
