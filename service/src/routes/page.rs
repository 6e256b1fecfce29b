//! `GET /`: who is signed in, as HTML. Everything from the token is escaped.

use std::time::{Duration, UNIX_EPOCH};

use axum::response::Html;

use crate::auth::Identity;
use crate::auth::now_unix;

const TEMPLATE: &str = include_str!("../../templates/page.html");

/// The page for the signed-in user.
pub async fn page(identity: Identity) -> Html<String> {
    let claims = serde_json::to_string_pretty(&identity.claims).unwrap_or_default();
    let expires = u64::try_from(identity.exp)
        .ok()
        .and_then(|exp| UNIX_EPOCH.checked_add(Duration::from_secs(exp)))
        .map(httpdate::fmt_http_date)
        .unwrap_or_else(|| identity.exp.to_string());
    let seconds_left = (identity.exp - now_unix()).max(0);
    Html(
        TEMPLATE
            .replace("{{name}}", &escape(identity.display_name()))
            .replace("{{sub}}", &escape(&identity.sub))
            .replace("{{expires}}", &escape(&expires))
            .replace("{{seconds_left}}", &seconds_left.to_string())
            .replace("{{claims}}", &escape(&claims)),
    )
}

/// HTML-escapes text for element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
    }
}
