//! The simulator's HTTP/1.1 server (hyper directly: four routes do not need a framework).

use super::state::{RateHeaders, SimState};
use super::{anthropic_api, openai_api};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Largest request body accepted.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// A response.
pub(crate) type Resp = Response<Full<Bytes>>;

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

/// A fresh id for responses (`chatcmpl-sim-N`, `msg_sim_N`).
pub(crate) fn next_id() -> u64 {
    REQUEST_IDS.fetch_add(1, Ordering::Relaxed)
}

/// Accepts connections until `cancel`.
pub(crate) async fn serve(listener: TcpListener, state: Arc<SimState>, cancel: CancellationToken) {
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "llm-sim accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(route(req, &state).await) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = cancel.cancelled() => {}
            }
        });
    }
}

async fn route(req: Request<Incoming>, state: &SimState) -> Resp {
    match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/") => text(
            StatusCode::OK,
            &super::banner(&state.config, "(this server)"),
        ),
        (Method::GET, "/stats") => {
            json_response(StatusCode::OK, &json!(state.snapshot()), HeaderMap::new())
        }
        (Method::GET, "/v1/models") => json_response(
            StatusCode::OK,
            &json!({
                "object": "list",
                "data": [{"id": super::FINGERPRINT, "object": "model", "created": 0, "owned_by": "llm-sim (simulator)"}],
            }),
            HeaderMap::new(),
        ),
        (Method::POST, "/v1/chat/completions" | "/chat/completions") => {
            openai_api::handle(req, state).await
        }
        (Method::POST, "/v1/messages") => anthropic_api::handle(req, state).await,
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": {"message": "llm-sim: no such endpoint", "type": "invalid_request_error"}}),
            HeaderMap::new(),
        ),
    }
}

/// Reads a JSON body with its headers.
pub(crate) async fn read_json(req: Request<Incoming>) -> Result<(HeaderMap, Value), String> {
    let (parts, body) = req.into_parts();
    let bytes = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("cannot read the body: {e}"))?
        .to_bytes();
    let value = serde_json::from_slice(&bytes).map_err(|e| format!("body is not JSON: {e}"))?;
    Ok((parts.headers, value))
}

/// Waits `d` unless the simulator stops.
pub(crate) async fn delay(state: &SimState, d: Duration) {
    if d.is_zero() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = state.cancel.cancelled() => {}
    }
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value, headers: HeaderMap) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn text(status: StatusCode, body: &str) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Inserts a header whose value is known to be valid ASCII.
pub(crate) fn put(h: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(name, v);
    }
}

/// `retry-after` (whole seconds, rounded up) and `retry-after-ms`.
pub(crate) fn put_retry_after(h: &mut HeaderMap, rh: &RateHeaders) {
    if let Some(d) = rh.retry_after {
        put(
            h,
            "retry-after",
            d.as_secs_f64().ceil().max(1.0).to_string(),
        );
        put(h, "retry-after-ms", d.as_millis().max(1).to_string());
    }
}
