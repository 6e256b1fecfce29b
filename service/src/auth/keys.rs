//! The ALB public keys, fetched once per `kid` and kept.
//!
//! - A key that was fetched is served from memory, lock-free for readers in practice
//!   (an `RwLock` read).
//! - Concurrent requests for a `kid` not yet known share one fetch: each kid has a
//!   slot with an async mutex; the first request fetches while holding it, the others
//!   wait and then find the key (or the failure) it left.
//! - A failed fetch is remembered for `key_failure_ttl`, so a flood of tokens with the
//!   same bogus kid, or an outage, costs the endpoint one request per kid per TTL.
//! - At most `MAX_CONCURRENT_FETCHES` fetches run at once, so a flood of *distinct*
//!   bogus kids cannot open unbounded connections either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use alb_token::PublicKey;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;

const MAX_CONCURRENT_FETCHES: usize = 4;
/// A PEM P-256 key is ~180 bytes; anything much larger is not a key.
const MAX_KEY_BYTES: usize = 8 * 1024;
/// Bound on remembered failures; expired ones are dropped when it is reached.
const MAX_FAILED_KIDS: usize = 10_000;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Why no key could be had for a kid.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The endpoint answered 4xx: there is no such key, so the token is not genuine.
    #[error("the key endpoint has no key for this kid (HTTP {0})")]
    UnknownKid(u16),
    /// The endpoint could not be reached, timed out, answered 5xx or sent a non-key.
    #[error("the key endpoint is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Default)]
struct Slot {
    failure: Option<(Instant, KeyError)>,
}

/// Public keys by kid, with the fetching policy above.
pub struct KeyCache {
    base_url: String,
    client: HttpsClient,
    timeout: Duration,
    failure_ttl: Duration,
    ready: RwLock<HashMap<String, Arc<PublicKey>>>,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    fetch_permits: Semaphore,
}

impl KeyCache {
    /// A cache fetching from `{base_url}/{kid}`.
    pub fn new(base_url: &str, timeout: Duration, failure_ttl: Duration) -> Self {
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
            base_url: base_url.trim_end_matches('/').to_owned(),
            client,
            timeout,
            failure_ttl,
            ready: RwLock::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            fetch_permits: Semaphore::new(MAX_CONCURRENT_FETCHES),
        }
    }

    /// The key for `kid` (a UUID, checked by the token parser before we get here).
    pub async fn get(&self, kid: &str) -> Result<Arc<PublicKey>, KeyError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if slots.len() >= MAX_FAILED_KIDS {
                let now = Instant::now();
                slots.retain(|_, slot| !is_expired(slot, now));
            }
            slots.entry(kid.to_owned()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        // Whoever held the slot before us may have fetched it already.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if let Some((until, error)) = &slot.failure
            && *until > Instant::now()
        {
            return Err(error.clone());
        }
        match self.fetch(kid).await {
            Ok(key) => {
                let key = Arc::new(key);
                self.ready
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(kid.to_owned(), key.clone());
                slot.failure = None;
                drop(slot);
                self.slots
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(kid);
                Ok(key)
            }
            Err(error) => {
                tracing::warn!(kid, %error, "fetching ALB public key failed");
                slot.failure = Some((Instant::now() + self.failure_ttl, error.clone()));
                Err(error)
            }
        }
    }

    fn cached(&self, kid: &str) -> Option<Arc<PublicKey>> {
        self.ready
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    async fn fetch(&self, kid: &str) -> Result<PublicKey, KeyError> {
        let _permit = self
            .fetch_permits
            .acquire()
            .await
            .map_err(|_| KeyError::Unavailable("key cache is shutting down".into()))?;
        let url = format!("{}/{kid}", self.base_url);
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| KeyError::Unavailable(format!("{url} is not a valid URL")))?;
        let fetch = async {
            let response = self
                .client
                .get(uri)
                .await
                .map_err(|e| KeyError::Unavailable(format!("GET {url}: {e}")))?;
            let status = response.status();
            if status.is_client_error() {
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
        };
        tokio::time::timeout(self.timeout, fetch)
            .await
            .unwrap_or_else(|_| {
                Err(KeyError::Unavailable(format!(
                    "GET {url}: no answer within {:?}",
                    self.timeout
                )))
            })
    }
}

/// A slot nobody is using whose failure (if any) is over: safe to forget.
fn is_expired(slot: &tokio::sync::Mutex<Slot>, now: Instant) -> bool {
    match slot.try_lock() {
        Ok(slot) => slot.failure.as_ref().is_none_or(|(until, _)| *until <= now),
        Err(_) => false,
    }
}
