//! The ALB public keys, fetched per `kid` and kept for a while.
//!
//! - A fetched key is served from memory (an `RwLock` read) until `key_ttl`.
//! - Concurrent requests for a kid not yet known share one fetch: each kid has a slot
//!   with an async mutex; the first request fetches while holding it, the others wait
//!   and then find the key (or the failure) it left.
//! - A failure is remembered: a kid the endpoint does not have (4xx) for
//!   `unknown_kid_ttl`, an outage (timeout, 5xx, 429, not a key) only for the short
//!   `outage_backoff`, so a recovered endpoint is used again at once.
//! - Every wait (for another request's fetch, for a free fetch slot, for the endpoint)
//!   fits inside one `key_fetch_timeout`; past it the answer is 503.
//! - At most `MAX_CONCURRENT_FETCHES` fetches run and at most `MAX_WAITING_FETCHES`
//!   wait for one; beyond that a request for an unknown kid is answered 503 at once.
//!   A flood of random kids thus costs a bounded amount of work and ends as soon as the
//!   flood does: a genuine new kid after it is not stuck behind a backlog.
//! - Both maps are hard-capped (`MAX_KEYS`, `MAX_SLOTS`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use alb_token::PublicKey;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;
use tokio::time::timeout_at;

use crate::configuration::AuthSettings;

const MAX_CONCURRENT_FETCHES: usize = 4;
const MAX_WAITING_FETCHES: usize = 16;
/// The ALB has a handful of live kids per region; 64 leaves room for several ALBs and
/// rotations.
const MAX_KEYS: usize = 64;
/// Kids being fetched or remembered as failed.
const MAX_SLOTS: usize = 4096;
/// A PEM P-256 key is ~180 bytes; anything much larger is not a key.
const MAX_KEY_BYTES: usize = 8 * 1024;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Why no key could be had for a kid.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The endpoint answered 4xx (not 429): there is no such key, so the token is not genuine.
    #[error("the key endpoint has no key for this kid (HTTP {0})")]
    UnknownKid(u16),
    /// The endpoint could not be reached, timed out, answered 5xx or 429, or sent a non-key;
    /// or too many fetches are under way.
    #[error("the key endpoint is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Default)]
struct Slot {
    failure: Option<(Instant, KeyError)>,
}

struct Cached {
    key: Arc<PublicKey>,
    until: Instant,
}

/// How long things are kept and waited for.
#[derive(Debug, Clone, Copy)]
struct Policy {
    timeout: Duration,
    unknown_kid_ttl: Duration,
    outage_backoff: Duration,
    key_ttl: Duration,
}

/// Public keys by kid, with the fetching policy above.
pub(crate) struct KeyCache {
    base_url: String,
    client: HttpsClient,
    policy: Policy,
    ready: RwLock<HashMap<String, Cached>>,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    fetch_permits: Semaphore,
    waiting: AtomicUsize,
}

impl KeyCache {
    /// A cache fetching from `{settings.public_keys_url}/{kid}`.
    pub(crate) fn new(settings: &AuthSettings) -> Self {
        let timeout = settings.key_fetch_timeout;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(https);
        Self {
            base_url: settings.public_keys_url.trim_end_matches('/').to_owned(),
            client,
            policy: Policy {
                timeout,
                unknown_kid_ttl: settings.unknown_kid_ttl,
                outage_backoff: settings.outage_backoff,
                key_ttl: settings.key_ttl,
            },
            ready: RwLock::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            fetch_permits: Semaphore::new(MAX_CONCURRENT_FETCHES),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The key for `kid` (a UUID, checked by the token parser before we get here).
    pub(crate) async fn get(&self, kid: &str) -> Result<Arc<PublicKey>, KeyError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let deadline = tokio::time::Instant::now() + self.policy.timeout;
        let late = || {
            KeyError::Unavailable(format!(
                "no key for this kid within {:?}",
                self.policy.timeout
            ))
        };
        let slot = self.slot(kid)?;
        let mut slot = timeout_at(deadline, slot.lock())
            .await
            .map_err(|_| late())?;
        // Whoever held the slot before us may have fetched it already.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if let Some((until, error)) = &slot.failure
            && *until > Instant::now()
        {
            return Err(error.clone());
        }
        let _queued = Queued::enter(&self.waiting)?;
        let _permit = timeout_at(deadline, self.fetch_permits.acquire())
            .await
            .map_err(|_| late())?
            .map_err(|_| KeyError::Unavailable("key cache is shutting down".into()))?;
        drop(_queued);
        let fetched = timeout_at(deadline, self.fetch(kid))
            .await
            .unwrap_or_else(|_| Err(late()));
        match fetched {
            Ok(key) => {
                let key = Arc::new(key);
                self.remember(kid, key.clone());
                slot.failure = None;
                drop(slot);
                lock(&self.slots).remove(kid);
                Ok(key)
            }
            Err(error) => {
                tracing::warn!(kid, %error, "fetching ALB public key failed");
                let ttl = match error {
                    KeyError::UnknownKid(_) => self.policy.unknown_kid_ttl,
                    KeyError::Unavailable(_) => self.policy.outage_backoff,
                };
                slot.failure = Some((Instant::now() + ttl, error.clone()));
                Err(error)
            }
        }
    }

    /// Puts a key in the cache as if it had been fetched (tests without a key endpoint).
    #[cfg(test)]
    pub(crate) fn preload(&self, kid: &str, key: Arc<PublicKey>) {
        self.remember(kid, key);
    }

    fn cached(&self, kid: &str) -> Option<Arc<PublicKey>> {
        let ready = self.ready.read().unwrap_or_else(|e| e.into_inner());
        ready
            .get(kid)
            .filter(|c| c.until > Instant::now())
            .map(|c| c.key.clone())
    }

    fn remember(&self, kid: &str, key: Arc<PublicKey>) {
        let now = Instant::now();
        let mut ready = self.ready.write().unwrap_or_else(|e| e.into_inner());
        ready.retain(|_, c| c.until > now);
        if ready.len() >= MAX_KEYS
            && let Some(oldest) = ready
                .iter()
                .min_by_key(|(_, c)| c.until)
                .map(|(k, _)| k.clone())
        {
            ready.remove(&oldest);
        }
        let until = now + self.policy.key_ttl;
        ready.insert(kid.to_owned(), Cached { key, until });
    }

    /// The kid's slot; 503 when the map is full of kids still in use or remembered.
    fn slot(&self, kid: &str) -> Result<Arc<tokio::sync::Mutex<Slot>>, KeyError> {
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get(kid) {
            return Ok(slot.clone());
        }
        if slots.len() >= MAX_SLOTS {
            let now = Instant::now();
            slots.retain(|_, slot| !is_expired(slot, now));
        }
        if slots.len() >= MAX_SLOTS {
            // Full of live failures: forget them all (costing at most refetches, which the
            // permits bound) rather than let memory grow.
            slots.retain(|_, slot| slot.try_lock().is_err());
            if slots.len() >= MAX_SLOTS {
                return Err(KeyError::Unavailable(
                    "too many unknown kids at once".into(),
                ));
            }
        }
        Ok(slots.entry(kid.to_owned()).or_default().clone())
    }

    async fn fetch(&self, kid: &str) -> Result<PublicKey, KeyError> {
        let url = format!("{}/{kid}", self.base_url);
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| KeyError::Unavailable(format!("{url} is not a valid URL")))?;
        let response = self
            .client
            .get(uri)
            .await
            .map_err(|e| KeyError::Unavailable(format!("GET {url}: {e}")))?;
        let status = response.status();
        // 429 is the endpoint protecting itself: an outage, not an answer about the kid.
        if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
            return Err(KeyError::UnknownKid(status.as_u16()));
        }
        if !status.is_success() {
            return Err(KeyError::Unavailable(format!("GET {url}: HTTP {status}")));
        }
        let body = Limited::new(response.into_body(), MAX_KEY_BYTES)
            .collect()
            .await
            .map_err(|e| KeyError::Unavailable(format!("GET {url}: reading body: {e}")))?
            .to_bytes();
        let pem = std::str::from_utf8(&body)
            .map_err(|_| KeyError::Unavailable(format!("GET {url}: body is not text")))?;
        PublicKey::from_pem(pem).map_err(|e| KeyError::Unavailable(format!("GET {url}: {e}")))
    }
}

/// One request waiting for a fetch permit; refused when the queue is full.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(waiting: &'a AtomicUsize) -> Result<Self, KeyError> {
        if waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING_FETCHES {
            waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(KeyError::Unavailable("too many key fetches waiting".into()));
        }
        Ok(Self(waiting))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A slot nobody is using whose failure (if any) is over: safe to forget.
fn is_expired(slot: &tokio::sync::Mutex<Slot>, now: Instant) -> bool {
    match slot.try_lock() {
        Ok(slot) => slot.failure.as_ref().is_none_or(|(until, _)| *until <= now),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> KeyCache {
        let settings = crate::configuration::Settings::from_lookup(|name| {
            Some(
                match name {
                    "ALB_ARN" => "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/a/1",
                    "COGNITO_CLIENT_ID" | "OIDC_ISSUER" => "any",
                    "ALB_PUBLIC_KEYS_URL" => "http://127.0.0.1:9",
                    _ => return None,
                }
                .to_owned(),
            )
        })
        .unwrap();
        KeyCache::new(&settings.auth)
    }

    #[tokio::test]
    async fn the_maps_stay_within_their_caps() {
        let cache = cache();
        let far = Instant::now() + Duration::from_secs(3600);
        for n in 0..MAX_SLOTS + 10 {
            let slot = cache.slot(&format!("kid-{n}")).unwrap();
            slot.lock().await.failure = Some((far, KeyError::UnknownKid(404)));
            assert!(lock(&cache.slots).len() <= MAX_SLOTS);
        }
        let key =
            alb_token::PublicKey::from_pem(&alb_token::SigningKey::generate().public_key_pem())
                .unwrap();
        let key = Arc::new(key);
        for n in 0..MAX_KEYS + 10 {
            cache.remember(&format!("key-{n}"), key.clone());
        }
        assert_eq!(cache.ready.read().unwrap().len(), MAX_KEYS);
        assert!(
            cache.cached(&format!("key-{}", MAX_KEYS + 9)).is_some(),
            "the newest is kept"
        );
    }
}
