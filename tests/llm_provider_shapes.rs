//! Provider request and response shapes against hand-written fixtures modelled on the official
//! API documentation (see tests/fixtures/llm/README.md): the request our code sends must equal
//! the documented shape, and the documented response must be read correctly.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use restate_classify::llm::anthropic::{Anthropic, AnthropicSettings};
use restate_classify::llm::openai::{MaxTokensParam, OpenAi, OpenAiAuth, OpenAiSettings};
use restate_classify::llm::provider::{CompletionRequest, Provider, ProviderError, Usage};
use restate_classify::llm::secret::ApiKey;
use restate_classify::pipeline::stage::Prompt;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/llm/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

#[derive(Debug, Clone, Default)]
struct Captured {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

/// Serves `response` (status, headers, body) once per request and records what it received.
async fn replay(response: Value) -> (String, Arc<Mutex<Option<Captured>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(None));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (response, seen) = (response.clone(), seen2.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (response, seen) = (response.clone(), seen.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let bytes = body.collect().await.unwrap().to_bytes();
                        *seen.lock().unwrap() = Some(Captured {
                            method: parts.method.to_string(),
                            path: parts.uri.to_string(),
                            headers: parts
                                .headers
                                .iter()
                                .map(|(k, v)| {
                                    (k.to_string(), v.to_str().unwrap_or_default().to_string())
                                })
                                .collect(),
                            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                        });
                        let mut resp = hyper::Response::new(Full::new(Bytes::from(
                            response["body"].to_string(),
                        )));
                        *resp.status_mut() = hyper::StatusCode::from_u16(
                            response["status"].as_u64().unwrap() as u16,
                        )
                        .unwrap();
                        for (k, v) in response["headers"].as_object().unwrap() {
                            resp.headers_mut().insert(
                                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                                hyper::header::HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
                            );
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

fn assert_request_matches(seen: &Captured, expected: &Value) {
    assert_eq!(seen.method, expected["method"]);
    assert_eq!(seen.path, expected["path"]);
    for (name, value) in expected["headers"].as_object().unwrap() {
        let got = seen
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        assert_eq!(got, value.as_str(), "header {name}");
    }
    assert_eq!(
        seen.body, expected["body"],
        "request body differs from the documented shape"
    );
}

fn prompt(f: &Value) -> Prompt {
    serde_json::from_value(f["prompt"].clone()).unwrap()
}

fn openai(base: &str) -> OpenAi {
    OpenAi::new(
        OpenAiSettings {
            base_url: format!("{base}/v1"),
            api_key: ApiKey::new("sk-fixture-key"),
            auth: OpenAiAuth::Bearer,
            api_version: None,
            max_tokens_param: MaxTokensParam::MaxTokens,
            timeout: Duration::from_secs(10),
        },
        reqwest::Client::new(),
    )
}

fn anthropic(base: &str) -> Anthropic {
    Anthropic::new(
        AnthropicSettings {
            base_url: base.to_string(),
            api_key: ApiKey::new("sk-ant-fixture-key"),
            version: "2023-06-01".into(),
            timeout: Duration::from_secs(10),
        },
        reqwest::Client::new(),
    )
}

#[tokio::test]
async fn openai_chat_completion_with_structured_outputs() {
    let f = fixture("openai_chat_completion.json");
    let (base, seen) = replay(f["response"].clone()).await;
    let p = prompt(&f);
    let c = openai(&base)
        .complete(CompletionRequest {
            model: "gpt-4o-mini",
            prompt: &p,
            max_output_tokens: 1024,
            request_id: Some("rc-call-id-1"),
        })
        .await
        .unwrap();
    assert_request_matches(seen.lock().unwrap().as_ref().unwrap(), &f["request"]);
    // Our id of the call travels with it, so a provider-side record can be matched to ours.
    let headers = seen.lock().unwrap().as_ref().unwrap().headers.clone();
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-client-request-id" && v == "rc-call-id-1"),
        "{headers:?}"
    );
    assert_eq!(
        c.answer.unwrap(),
        serde_json::json!({"family": "composite-derived"})
    );
    assert_eq!(
        c.usage,
        Usage {
            input: 1117,
            output: 8,
            cached: 1024
        }
    );
    assert_eq!(c.limits.remaining_requests, Some(4999));
    assert_eq!(c.limits.reset_tokens, Some(Duration::from_millis(16)));
}

#[tokio::test]
async fn openai_429_is_rate_limited_with_retry_after() {
    let f = fixture("openai_rate_limited.json");
    let (base, _) = replay(f["response"].clone()).await;
    let p = prompt(&f);
    let err = openai(&base)
        .complete(CompletionRequest {
            model: "gpt-4o-mini",
            prompt: &p,
            max_output_tokens: 1024,
            request_id: None,
        })
        .await
        .unwrap_err();
    match err {
        ProviderError::RateLimited { limits, message } => {
            assert_eq!(limits.retry_after, Some(Duration::from_secs(2)));
            assert_eq!(limits.remaining_requests, Some(0));
            assert!(message.contains("Rate limit reached"));
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn max_completion_tokens_and_azure_key_header_when_configured() {
    let f = fixture("openai_chat_completion.json");
    let (base, seen) = replay(f["response"].clone()).await;
    let p = prompt(&f);
    let provider = OpenAi::new(
        OpenAiSettings {
            base_url: format!("{base}/openai/v1"),
            api_key: ApiKey::new("azure-key-123456"),
            auth: OpenAiAuth::ApiKey,
            api_version: Some("2024-10-21".into()),
            max_tokens_param: MaxTokensParam::MaxCompletionTokens,
            timeout: Duration::from_secs(10),
        },
        reqwest::Client::new(),
    );
    provider
        .complete(CompletionRequest {
            model: "dep",
            prompt: &p,
            max_output_tokens: 64,
            request_id: None,
        })
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone().unwrap();
    assert_eq!(
        seen.path,
        "/openai/v1/chat/completions?api-version=2024-10-21"
    );
    assert!(
        seen.headers
            .iter()
            .any(|(k, v)| k == "api-key" && v == "azure-key-123456")
    );
    assert!(!seen.headers.iter().any(|(k, _)| k == "authorization"));
    assert_eq!(seen.body["max_completion_tokens"], 64);
    assert!(seen.body.get("max_tokens").is_none());
}

#[tokio::test]
async fn anthropic_messages_with_cached_system_and_forced_tool() {
    let f = fixture("anthropic_messages.json");
    let (base, seen) = replay(f["response"].clone()).await;
    let p = prompt(&f);
    let c = anthropic(&base)
        .complete(CompletionRequest {
            model: "claude-3-5-haiku-latest",
            prompt: &p,
            max_output_tokens: 1024,
            request_id: None,
        })
        .await
        .unwrap();
    assert_request_matches(seen.lock().unwrap().as_ref().unwrap(), &f["request"]);
    assert_eq!(
        c.answer.unwrap(),
        serde_json::json!({"family": "composite-derived"})
    );
    // input = uncached + cache reads + cache writes; cached = cache reads.
    assert_eq!(
        c.usage,
        Usage {
            input: 45 + 1105,
            output: 41,
            cached: 1105
        }
    );
    assert_eq!(c.limits.remaining_requests, Some(3999));
    assert!(c.limits.reset_requests.is_some());
}

#[tokio::test]
async fn anthropic_overloaded_is_a_retryable_server_error() {
    let f = fixture("anthropic_overloaded.json");
    let (base, _) = replay(f["response"].clone()).await;
    let p = prompt(&f);
    let err = anthropic(&base)
        .complete(CompletionRequest {
            model: "claude-3-5-haiku-latest",
            prompt: &p,
            max_output_tokens: 1024,
            request_id: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Server { status: 529, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}
