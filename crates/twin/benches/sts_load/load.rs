//! The load generator: a fixed number of keep-alive HTTP/1.1 connections
//! (hyper's client), each sending pre-signed requests one after another until
//! the phase's request count is reached or its time is up. Every response is
//! checked; latencies are kept whole and sorted for the percentiles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use orgtwin_twin::sigv4::{self, SigningKey};
use orgtwin_twin::{Clock, SystemClock};
use tokio::net::TcpStream;

use crate::servers::cpu_time;

/// A signed request, ready to send as often as needed.
#[derive(Clone)]
pub struct Prepared {
    headers: HeaderMap,
    body: Bytes,
}

/// Signs `POST /` with a form body for `addr`, the way AWS's SDKs do.
pub fn prepare(addr: SocketAddr, body: String, key: &SigningKey<'_>) -> Prepared {
    let mut headers = vec![
        ("host".to_string(), addr.to_string()),
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
    ];
    sigv4::sign(
        "POST",
        "/",
        "",
        &mut headers,
        body.as_bytes(),
        key,
        SystemClock.now(),
    );
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(&value).expect("header value"),
        );
    }
    Prepared {
        headers: map,
        body: Bytes::from(body),
    }
}

/// Whether a response is the one expected: `Err` says what is wrong.
pub type Check = fn(u16, &[u8]) -> Result<(), String>;

/// One load phase against one server.
pub struct Phase {
    pub addr: SocketAddr,
    /// The server's process, whose CPU time is read before and after.
    pub server_pid: u32,
    /// Sent round-robin.
    pub requests: Arc<Vec<Prepared>>,
    pub connections: usize,
    pub max_requests: u64,
    pub time_limit: Duration,
    pub check: Check,
}

/// What a phase measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Responses that passed the check.
    pub ok: u64,
    /// Failed checks and transport errors.
    pub errors: u64,
    /// The first few error descriptions.
    pub first_errors: Vec<String>,
    /// Connections reopened because the server closed one.
    pub reconnects: u64,
    pub elapsed: Duration,
    /// CPU time the server and this process (the load generator) used.
    pub server_cpu: Duration,
    pub client_cpu: Duration,
    /// Latencies of the passing responses, sorted.
    latencies: Vec<Duration>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p`-th percentile (nearest rank) of the latencies.
    pub fn percentile(&self, p: usize) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (self.latencies.len() * p).div_ceil(100).max(1);
        self.latencies[rank - 1]
    }

    /// CPU microseconds per passing response: the server's, the client's.
    pub fn cpu_per_request(&self) -> (f64, f64) {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / (self.ok.max(1) as f64);
        (per(self.server_cpu), per(self.client_cpu))
    }

    pub fn is_valid(&self) -> bool {
        self.errors == 0 && self.ok > 0
    }
}

#[derive(Default)]
struct WorkerOutcome {
    ok: u64,
    errors: u64,
    first_errors: Vec<String>,
    reconnects: u64,
    latencies: Vec<Duration>,
}

impl WorkerOutcome {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_errors.len() < 3 {
            self.first_errors.push(what);
        }
    }
}

/// Runs `phase` on `runtime` and gathers the outcome.
pub fn run(runtime: &tokio::runtime::Runtime, phase: &Phase) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let cpu_before = (cpu_time(Some(phase.server_pid)), cpu_time(None));
    let started = Instant::now();
    let deadline = started + phase.time_limit;
    let outcomes = runtime.block_on(async {
        let workers: Vec<_> = (0..phase.connections)
            .map(|_| {
                let requests = Arc::clone(&phase.requests);
                let next = Arc::clone(&next);
                let (addr, max, check) = (phase.addr, phase.max_requests, phase.check);
                tokio::spawn(
                    async move { drive(addr, &requests, &next, max, deadline, check).await },
                )
            })
            .collect();
        let mut outcomes = Vec::with_capacity(workers.len());
        for worker in workers {
            outcomes.push(worker.await.expect("a load worker panicked"));
        }
        outcomes
    });
    let elapsed = started.elapsed();
    let mut outcome = Outcome {
        elapsed,
        server_cpu: cpu_time(Some(phase.server_pid)).saturating_sub(cpu_before.0),
        client_cpu: cpu_time(None).saturating_sub(cpu_before.1),
        ..Outcome::default()
    };
    for w in outcomes {
        outcome.ok += w.ok;
        outcome.errors += w.errors;
        outcome.reconnects += w.reconnects;
        outcome.latencies.extend(w.latencies);
        for e in w.first_errors {
            if outcome.first_errors.len() < 5 {
                outcome.first_errors.push(e);
            }
        }
    }
    outcome.latencies.sort_unstable();
    outcome
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn drive(
    addr: SocketAddr,
    requests: &[Prepared],
    next: &AtomicU64,
    max: u64,
    deadline: Instant,
    check: Check,
) -> WorkerOutcome {
    let mut out = WorkerOutcome::default();
    let mut sender: Option<Sender> = None;
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= max || Instant::now() >= deadline {
            return out;
        }
        // Closed by the server since the last response: reopen.
        if sender.as_mut().is_some_and(|s| s.is_closed()) {
            sender = None;
            out.reconnects += 1;
        }
        let mut s = match sender.take() {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => s,
                Err(e) => {
                    out.error(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let prepared = &requests[usize::try_from(n).unwrap_or(0) % requests.len()];
        let mut request = Request::new(Full::new(prepared.body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = "/".parse().expect("uri");
        *request.headers_mut() = prepared.headers.clone();
        let start = Instant::now();
        let answer = async {
            s.ready().await.map_err(|e| format!("ready: {e}"))?;
            let response = s
                .send_request(request)
                .await
                .map_err(|e| format!("send: {e}"))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        }
        .await;
        let latency = start.elapsed();
        match answer {
            Ok((status, body)) => {
                match check(status, &body) {
                    Ok(()) => {
                        out.ok += 1;
                        out.latencies.push(latency);
                    }
                    Err(e) => out.error(e),
                }
                sender = Some(s);
            }
            Err(e) => out.error(e),
        }
    }
}
