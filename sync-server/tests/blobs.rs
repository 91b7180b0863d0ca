//! Blobs (photos and handwritten signature images) by SHA-256 against a real server process on
//! loopback: ask which are missing, upload only those, fetch them back; wrong hashes, unknown
//! blobs, bad input and missing tokens are refused and store nothing.

mod common;

use common::{error_of, Server, TestDevice};
use ptw_core::sync::{blob_hash, BlobsMissingRequest, BlobsMissingResponse, MAX_BLOB_BYTES, MAX_BLOB_QUERY};
use reqwest::blocking::{Client, Response};
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;

fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    (dir, server)
}

fn missing(server: &Server, token: Option<&str>, hashes: &[String]) -> Response {
    let mut req = Client::new()
        .post(format!("{}/api/blobs/missing", server.base))
        .json(&BlobsMissingRequest { hashes: hashes.to_vec() });
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().expect("missing request")
}

fn missing_ok(server: &Server, device: &TestDevice, hashes: &[String]) -> Vec<String> {
    let response = missing(server, Some(&device.token), hashes);
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<BlobsMissingResponse>().expect("missing answer").missing
}

fn put(server: &Server, token: Option<&str>, hash: &str, mime: Option<&str>, bytes: &[u8]) -> Response {
    let mut req = Client::new().put(format!("{}/api/blobs/{hash}", server.base)).body(bytes.to_vec());
    if let Some(mime) = mime {
        req = req.header(CONTENT_TYPE, mime);
    }
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().expect("put request")
}

fn get(server: &Server, token: Option<&str>, hash: &str) -> Response {
    let mut req = Client::new().get(format!("{}/api/blobs/{hash}", server.base));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().expect("get request")
}

/// A made-up JPEG-ish photo of `len` bytes, different for each `seed`.
fn photo(seed: u8, len: usize) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0, seed];
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

#[test]
fn a_missing_blob_once_uploaded_is_no_longer_missing_and_comes_back_byte_for_byte_to_another_tablet() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let other = server.enrolled_device(2);
    let (gas_photo, signature) = (photo(1, 200_000), b"\x89PNG\r\n\x1a\nstroke data".to_vec());
    let (p, s) = (blob_hash(&gas_photo), blob_hash(&signature));

    assert_eq!(missing_ok(&server, &tablet, &[s.clone(), p.clone(), s.clone()]), [s.clone(), p.clone()]);
    assert_eq!(put(&server, Some(&tablet.token), &p, Some("image/jpeg"), &gas_photo).status(), StatusCode::NO_CONTENT);
    assert_eq!(
        missing_ok(&server, &tablet, &[s.clone(), p.clone()]),
        std::slice::from_ref(&s),
        "only the signature is missing"
    );
    assert_eq!(put(&server, Some(&tablet.token), &s, Some("image/png"), &signature).status(), StatusCode::NO_CONTENT);
    assert!(missing_ok(&server, &tablet, &[s.clone(), p.clone()]).is_empty());
    // Uploading a blob the server holds is harmless (a device that lost the answer retries).
    assert_eq!(put(&server, Some(&tablet.token), &p, Some("image/jpeg"), &gas_photo).status(), StatusCode::NO_CONTENT);

    let response = get(&server, Some(&other.token), &p);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("image/jpeg"));
    assert_eq!(response.bytes().expect("body").to_vec(), gas_photo);
    let response = get(&server, Some(&other.token), &s);
    assert_eq!(response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("image/png"));
    assert_eq!(response.bytes().expect("body").to_vec(), signature);
}

#[test]
fn a_blob_uploaded_without_a_content_type_is_kept_as_octet_stream() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let bytes = photo(2, 10);
    let hash = blob_hash(&bytes);
    assert_eq!(put(&server, Some(&tablet.token), &hash, None, &bytes).status(), StatusCode::NO_CONTENT);
    let response = get(&server, Some(&tablet.token), &hash);
    assert_eq!(response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("application/octet-stream"));
    assert_eq!(response.bytes().expect("body").to_vec(), bytes);
}

#[test]
fn an_upload_whose_bytes_hash_to_another_hash_is_refused_and_nothing_is_stored() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (claimed, sent) = (photo(1, 1000), photo(2, 1000));
    let (claimed_hash, sent_hash) = (blob_hash(&claimed), blob_hash(&sent));

    let (status, error) = error_of(put(&server, Some(&tablet.token), &claimed_hash, Some("image/jpeg"), &sent));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains(&format!("the bytes hash to {sent_hash}, not to {claimed_hash}")), "{error}");
    assert!(error.contains("nothing was stored"), "{error}");

    assert_eq!(
        missing_ok(&server, &tablet, &[claimed_hash.clone(), sent_hash.clone()]),
        [claimed_hash.clone(), sent_hash]
    );
    assert_eq!(get(&server, Some(&tablet.token), &claimed_hash).status(), StatusCode::NOT_FOUND);
}

#[test]
fn an_unknown_blob_is_a_404_whose_error_body_names_it() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let hash = blob_hash(b"never uploaded");
    let (status, error) = error_of(get(&server, Some(&tablet.token), &hash));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error.contains(&hash) && error.contains("has not synced it yet"), "{error}");
}

#[test]
fn blob_requests_without_a_device_token_or_with_a_made_up_one_are_refused_as_unauthenticated() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let bytes = photo(3, 100);
    let hash = blob_hash(&bytes);
    for token in [None, Some("not-a-token")] {
        let (status, error) = error_of(missing(&server, token, std::slice::from_ref(&hash)));
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
        let (status, error) = error_of(put(&server, token, &hash, Some("image/jpeg"), &bytes));
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
        assert!(token.is_some() || error.contains("enrol"), "{error}");
        let (status, _) = error_of(get(&server, token, &hash));
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(missing_ok(&server, &tablet, std::slice::from_ref(&hash)), [hash], "nothing was stored");
}

#[test]
fn a_revoked_tablet_can_neither_upload_nor_fetch_blobs() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let bytes = photo(4, 100);
    let hash = blob_hash(&bytes);
    assert_eq!(put(&server, Some(&tablet.token), &hash, Some("image/jpeg"), &bytes).status(), StatusCode::NO_CONTENT);
    server.admin(&["device", "revoke", "--id", &tablet.id.to_string()]);
    let (status, error) = error_of(get(&server, Some(&tablet.token), &hash));
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error.contains("revoked by IT"), "{error}");
    let other = photo(5, 100);
    let (status, _) = error_of(put(&server, Some(&tablet.token), &blob_hash(&other), Some("image/jpeg"), &other));
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[test]
fn malformed_hashes_mime_types_and_oversized_questions_are_refused_naming_the_problem() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let good = blob_hash(b"good");
    let upper = good.to_uppercase();

    let (status, error) = error_of(missing(&server, Some(&tablet.token), &[good.clone(), upper.clone()]));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains(&upper) && error.contains("64 lower-case hex digits"), "{error}");

    let too_many = vec![good.clone(); MAX_BLOB_QUERY + 1];
    let (status, error) = error_of(missing(&server, Some(&tablet.token), &too_many));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains(&format!("at most {MAX_BLOB_QUERY}")), "{error}");
    assert_eq!(missing_ok(&server, &tablet, &vec![good.clone(); MAX_BLOB_QUERY]), std::slice::from_ref(&good));

    let (status, error) = error_of(put(&server, Some(&tablet.token), "not-a-hash", Some("image/jpeg"), b"good"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains("'not-a-hash' is not a blob hash"), "{error}");
    let (status, error) = error_of(get(&server, Some(&tablet.token), &upper));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains(&upper), "{error}");

    let (status, error) = error_of(put(&server, Some(&tablet.token), &good, Some("jpeg"), b"good"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains("not a MIME type"), "{error}");
    assert_eq!(missing_ok(&server, &tablet, std::slice::from_ref(&good)), [good], "nothing was stored");
}

/// The size limit, in process (a real socket may reset while a refused body is still being
/// sent, which would make the test flaky rather than wrong).
#[tokio::test]
async fn a_blob_over_the_size_limit_is_refused_with_413_and_told_to_retake_it() {
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use ptw_sync_server::secret::sha256_hex;
    use ptw_sync_server::storage::sqlite::SqliteStorage;
    use ptw_sync_server::storage::{NewEnrolCode, Storage};
    use std::sync::Arc;
    use tower::ServiceExt;

    let storage = Arc::new(SqliteStorage::open_in_memory().expect("database"));
    let state = ptw_sync_server::AppState::new(storage.clone(), ed25519_zebra::SigningKey::from_bytes(&[3; 32]))
        .expect("state");
    storage
        .add_enrol_code(&NewEnrolCode {
            code_hash: "c".into(),
            name: "T-01".into(),
            expires_ms: i64::MAX,
            replaces: None,
        })
        .expect("code");
    let code = storage.enrol_code("c").expect("code").expect("stored");
    let key = ptw_core::signature::public_key_hex(&TestDevice::new(1).key);
    state.registry.enrol(storage.as_ref(), "c", &code, &key, &sha256_hex("token-1"), 1).expect("enrol");
    let app = ptw_sync_server::router(state);

    let big = vec![7u8; MAX_BLOB_BYTES + 1];
    let hash = blob_hash(&big);
    let request = Request::put(format!("/api/blobs/{hash}"))
        .header("authorization", "Bearer token-1")
        .header("content-type", "image/jpeg")
        .header("content-length", big.len())
        .body(Body::from(big))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("answer");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = to_bytes(response.into_body(), 1 << 16).await.expect("body");
    let error: ptw_core::sync::ErrorBody = serde_json::from_slice(&body).expect("an ErrorBody");
    assert!(error.error.contains("16 MiB") && error.error.contains("lower resolution"), "{}", error.error);
    assert_eq!(storage.missing_blobs(std::slice::from_ref(&hash)).expect("missing"), [hash]);

    // Exactly at the limit is kept.
    let largest = vec![8u8; MAX_BLOB_BYTES];
    let hash = blob_hash(&largest);
    let request = Request::put(format!("/api/blobs/{hash}"))
        .header("authorization", "Bearer token-1")
        .header("content-type", "image/jpeg")
        .body(Body::from(largest.clone()))
        .expect("request");
    assert_eq!(app.oneshot(request).await.expect("answer").status(), StatusCode::NO_CONTENT);
    assert_eq!(storage.blob(&hash).expect("blob").map(|(_, b)| b.len()), Some(largest.len()));
}
