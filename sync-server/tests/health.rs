use std::sync::Arc;

use axum::{
    body::{to_bytes, Body},
    http::{Request, StatusCode},
};
use ptw_sync_server::storage::sqlite::SqliteStorage;
use ptw_sync_server::{router, AppState, Config, Health};
use tower::ServiceExt;

fn state() -> AppState {
    let key = ed25519_zebra::SigningKey::from_bytes(&[3; 32]);
    AppState::new(Arc::new(SqliteStorage::open_in_memory().expect("database")), key).expect("state")
}

#[tokio::test]
async fn health_answers_ok() {
    let response = router(state()).oneshot(Request::get("/health").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
    let health: Health = serde_json::from_slice(&body).unwrap();
    assert_eq!(health.status, "ok");
}

#[tokio::test]
async fn serves_on_a_loopback_port() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(ptw_sync_server::serve::serve(listener, state(), None));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-ptw-server-time: "),
        "every answer carries the server's clock: {answer}"
    );
    assert!(answer.ends_with(r#"{"status":"ok","compaction_backlog":0}"#), "{answer}");
    server.abort();
}

#[test]
fn config_parses() {
    let config: Config = toml::from_str("bind = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/x\"").unwrap();
    assert_eq!(config.bind.unwrap().port(), 9000);
}
