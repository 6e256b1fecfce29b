//! Stopping: when the shutdown future completes, the emulator stops listening and
//! `run_until` returns, even with a browser-style keep-alive connection still open.

use std::time::Duration;

use axum::http::StatusCode;
use local_auth::{Emulator, Settings};
use tokio::sync::oneshot;

use crate::helpers::spawn_echo_upstream;

#[tokio::test]
async fn run_until_returns_promptly_after_the_signal_and_the_port_closes() {
    let upstream = spawn_echo_upstream().await;
    let settings = Settings::new(
        "127.0.0.1:0".parse().unwrap(),
        Settings::parse_upstream(&format!("http://{}", upstream.addr)).unwrap(),
    );
    let emulator = Emulator::bind(settings).await.unwrap();
    let addr = emulator.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(emulator.run_until(async move {
        let _ = stopped.await;
    }));

    // A pooled client keeps its connection open after this request, as browsers do.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<axum::body::Body>();
    let response = client
        .get(format!("http://{addr}/").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);

    stop.send(()).unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(6), running).await;

    assert!(
        matches!(finished, Ok(Ok(Ok(())))),
        "run_until did not return cleanly: {finished:?}"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening on {addr}"
    );
}
