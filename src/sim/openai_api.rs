//! `POST /v1/chat/completions`, shaped like OpenAI's: the stage comes from
//! `response_format.json_schema.name`, the answer is the JSON text of `choices[0].message.content`,
//! with `usage` (incl. `prompt_tokens_details.cached_tokens`) and `x-ratelimit-*` headers.

use super::http::{Resp, delay, json_response, next_id, put, put_retry_after, read_json};
use super::state::{Question, RateHeaders, SimState, SimUsage, Verdict, text_hash};
use crate::llm::headers::format_go_duration;
use crate::llm::tokens::{estimate_prompt, estimate_text};
use crate::pipeline::stage::{Prompt, StageName};
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};

fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
    headers: HeaderMap,
) -> Resp {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        headers,
    )
}

fn question(headers: &HeaderMap, body: &Value) -> Result<(Question, String), String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("missing model")?
        .to_string();
    let schema = body
        .pointer("/response_format/json_schema")
        .ok_or("llm-sim needs response_format.json_schema (structured outputs)")?;
    let name = schema
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let stage = StageName::parse(name).ok_or_else(|| format!("unknown schema name {name:?}"))?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("missing messages")?;
    let of_role = |roles: &[&str]| {
        messages
            .iter()
            .filter(|m| {
                m.get("role")
                    .and_then(Value::as_str)
                    .is_some_and(|r| roles.contains(&r))
            })
            .map(|m| content_text(m.get("content").unwrap_or(&Value::Null)))
            .collect::<Vec<_>>()
    };
    let system = of_role(&["system", "developer"]).join("\n");
    let user = of_role(&["user"]).pop().ok_or("no user message")?;
    let input = Prompt::extract_input(&user)
        .ok_or("no fenced JSON input in the user message")?
        .to_string();
    let prompt = Prompt {
        stage,
        system,
        user,
        schema: schema.get("schema").cloned().unwrap_or(Value::Null),
    };
    let api_key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("api-key").and_then(|v| v.to_str().ok()))
        .map(str::to_string);
    Ok((
        Question {
            stage,
            input,
            prompt_tokens: estimate_prompt(&prompt),
            system_tokens: estimate_text(&prompt.system),
            system_hash: text_hash(&prompt.system),
            api_key,
            request_id: headers
                .get("x-client-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        },
        model,
    ))
}

fn rate_headers(rh: &RateHeaders) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some((limit, remaining, reset)) = rh.requests {
        put(&mut h, "x-ratelimit-limit-requests", limit.to_string());
        put(
            &mut h,
            "x-ratelimit-remaining-requests",
            remaining.to_string(),
        );
        put(
            &mut h,
            "x-ratelimit-reset-requests",
            format_go_duration(reset),
        );
    }
    if let Some((limit, remaining, reset)) = rh.tokens {
        put(&mut h, "x-ratelimit-limit-tokens", limit.to_string());
        put(
            &mut h,
            "x-ratelimit-remaining-tokens",
            remaining.to_string(),
        );
        put(
            &mut h,
            "x-ratelimit-reset-tokens",
            format_go_duration(reset),
        );
    }
    put_retry_after(&mut h, rh);
    put(&mut h, "x-request-id", format!("req_sim_{}", next_id()));
    h
}

fn completion(model: &str, content: String, usage: SimUsage) -> Value {
    json!({
        "id": format!("chatcmpl-sim-{}", next_id()),
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": format!("{}/{model}", super::FINGERPRINT),
        "system_fingerprint": super::FINGERPRINT,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": usage.prompt,
            "completion_tokens": usage.completion,
            "total_tokens": usage.prompt + usage.completion,
            "prompt_tokens_details": {"cached_tokens": usage.cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
    })
}

/// Serves one chat completion.
pub(crate) async fn handle(req: Request<Incoming>, state: &SimState) -> Resp {
    let parsed = read_json(req)
        .await
        .and_then(|(h, body)| question(&h, &body));
    let (q, model) = match parsed {
        Ok(x) => x,
        Err(msg) => {
            state.bad_request();
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                &msg,
                HeaderMap::new(),
            );
        }
    };
    let (verdict, rh, latency) = state.decide(&q);
    let headers = rate_headers(&rh);
    match verdict {
        Verdict::BadRequest(msg) => error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            &msg,
            headers,
        ),
        Verdict::Unauthorized(sent) => error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            &format!("Incorrect API key provided: {sent}. (llm-sim)"),
            headers,
        ),
        Verdict::OverLimit => error(
            StatusCode::TOO_MANY_REQUESTS,
            "requests",
            Some("rate_limit_exceeded"),
            "Rate limit reached (llm-sim: requests or tokens per minute exceeded). Please try again later.",
            headers,
        ),
        Verdict::Injected429 => error(
            StatusCode::TOO_MANY_REQUESTS,
            "requests",
            Some("rate_limit_exceeded"),
            "Rate limit reached (llm-sim injected fault).",
            headers,
        ),
        Verdict::ServerError => {
            delay(state, latency).await;
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                None,
                "The server had an error while processing your request. (llm-sim injected fault)",
                headers,
            )
        }
        Verdict::Hang => {
            delay(state, state.config.hang).await;
            error(
                StatusCode::GATEWAY_TIMEOUT,
                "server_error",
                None,
                "llm-sim: held until timeout",
                headers,
            )
        }
        Verdict::Malformed(usage) => {
            delay(state, latency).await;
            json_response(
                StatusCode::OK,
                &completion(&model, "{\"answer\": [unterminated".into(), usage),
                headers,
            )
        }
        Verdict::Answer(answer, usage) => {
            delay(state, latency).await;
            json_response(
                StatusCode::OK,
                &completion(&model, answer.to_string(), usage),
                headers,
            )
        }
    }
}
