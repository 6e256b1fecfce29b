//! Upgrades (WebSocket and the like) pass through once logged in: the app gets the
//! upgrade request with the identity headers, answers 101, and bytes flow both ways.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::helpers::spawn_emulator;

/// An upstream that accepts one `Upgrade: websocket` request, reports its head, answers 101
/// and then echoes every byte.
async fn spawn_echo_protocol_upstream() -> (std::net::SocketAddr, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (head_tx, head_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            head.push_str(&line);
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let _ = head_tx.send(head);
        let mut stream = stream.into_inner();
        stream
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            )
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => stream.write_all(&buf[..n]).await.unwrap(),
            }
        }
    });
    (addr, head_rx)
}

#[tokio::test]
async fn an_upgrade_is_passed_through_with_the_identity_headers() {
    let (upstream, head) = spawn_echo_protocol_upstream().await;
    let emulator = spawn_emulator(upstream, |_| {}).await;
    let login = emulator.log_in("/socket", "alice", "").await;

    let mut client = TcpStream::connect(emulator.addr).await.unwrap();
    let request = format!(
        "GET /socket HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Amzn-Oidc-Data: forged\r\n\r\n",
        emulator.addr,
        login.cookie_header()
    );
    client.write_all(request.as_bytes()).await.unwrap();

    let mut reader = BufReader::new(client);
    let mut status = String::new();
    reader.read_line(&mut status).await.unwrap();
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    let mut line = String::new();
    while line != "\r\n" {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
    }
    let head = head.await.unwrap().to_ascii_lowercase();
    assert!(head.contains("\r\nupgrade: websocket\r\n"), "{head}");
    assert!(head.contains("\r\nx-amzn-oidc-data: "), "{head}");
    assert!(!head.contains("forged"), "{head}");

    let mut client = reader.into_inner();
    client.write_all(b"ping over the tunnel").await.unwrap();
    let mut echoed = [0u8; 20];
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.read_exact(&mut echoed),
    )
    .await
    .expect("the tunnel carries bytes")
    .unwrap();
    assert_eq!(&echoed, b"ping over the tunnel");
}

#[tokio::test]
async fn an_upgrade_without_a_session_is_redirected_like_any_request() {
    let (upstream, _head) = spawn_echo_protocol_upstream().await;
    let emulator = spawn_emulator(upstream, |_| {}).await;

    let answer = emulator
        .raw(&format!(
            "GET /socket HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\r\n",
            emulator.addr
        ))
        .await;

    assert!(answer.starts_with("HTTP/1.1 302"), "{answer:.200}");
}
