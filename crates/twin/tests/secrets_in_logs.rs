//! Secrets never reach the logs: a twin serving real signed requests, with
//! every log line captured, never prints a secret key or a session token.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use orgtwin_policy::Timestamp;
use orgtwin_twin::sigv4::{SigningKey, sign};
use orgtwin_twin::start::{self, ModelSource};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One signed Query request over a plain socket; returns status and body.
fn post(addr: std::net::SocketAddr, body: &str, key: &SigningKey<'_>) -> (u16, String) {
    let host = addr.to_string();
    let mut headers = vec![
        ("host".to_string(), host.clone()),
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    #[allow(
        clippy::disallowed_methods,
        reason = "a client signs with its own clock"
    )]
    let now = Timestamp::from_unix_seconds(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    sign("POST", "/", "", &mut headers, body.as_bytes(), key, now);
    let mut request = format!(
        "POST / HTTP/1.1\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap() + open.len();
    let end = text[start..].find(close).unwrap() + start;
    &text[start..end]
}

#[test]
fn no_secret_or_token_is_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let twin = start::open(dir.path(), &ModelSource::Embedded, false, false).unwrap();
    let admin = start::admin_key(&twin.store, "999988887777")
        .unwrap()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn({
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        move || {
            let _guard = tracing::dispatcher::set_default(&dispatch);
            runtime.block_on(orgtwin_twin::server::serve(twin, listener, async {
                let _ = stopped.await;
            }))
        }
    });

    let key = SigningKey {
        access_key_id: &admin.access_key_id,
        secret: &admin.secret,
        session_token: None,
        region: "us-east-1",
        service: "sts",
    };
    let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A444455556666%3Arole%2Fplatform-admin&RoleSessionName=audit";
    let (status, response) = post(addr, body, &key);
    assert_eq!(status, 200, "{response}");
    let secret = between(&response, "<SecretAccessKey>", "</SecretAccessKey>").to_string();
    let token = between(&response, "<SessionToken>", "</SessionToken>").to_string();
    let session_key_id = between(&response, "<AccessKeyId>", "</AccessKeyId>").to_string();

    let session = SigningKey {
        access_key_id: &session_key_id,
        secret: &secret,
        session_token: Some(&token),
        ..key
    };
    let (status, response) = post(
        addr,
        "Action=GetCallerIdentity&Version=2011-06-15",
        &session,
    );
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("assumed-role/platform-admin/audit"));
    let wrong = SigningKey {
        secret: "wrong-secret-wrong-secret-wrong-secret-12",
        ..session
    };
    let (status, response) = post(addr, "Action=GetCallerIdentity&Version=2011-06-15", &wrong);
    assert_eq!(status, 403, "{response}");

    stop.send(()).unwrap();
    server.join().unwrap().unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("GetCallerIdentity"),
        "requests are logged: {logs}"
    );
    for secret_text in [admin.secret.as_str(), secret.as_str(), token.as_str()] {
        assert!(!logs.contains(secret_text), "a secret reached the logs");
    }
}
