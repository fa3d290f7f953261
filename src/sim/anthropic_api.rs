//! `POST /v1/messages`, shaped like Anthropic's Messages API: the stage comes from the forced
//! `tool_choice` name, the answer is the `tool_use` block's `input`, usage reports prompt-cache
//! reads and writes, and `anthropic-ratelimit-*` headers carry RFC 3339 reset times.

use super::http::{Resp, delay, json_response, next_id, put, put_retry_after, read_json};
use super::state::{Question, RateHeaders, SimState, SimUsage, Verdict, text_hash};
use crate::llm::tokens::{estimate_prompt, estimate_text};
use crate::pipeline::stage::{Prompt, StageName};
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};

fn blocks_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn error(status: StatusCode, kind: &str, message: &str, headers: HeaderMap) -> Resp {
    json_response(
        status,
        &json!({"type": "error", "error": {"type": kind, "message": message}}),
        headers,
    )
}

fn question(headers: &HeaderMap, body: &Value) -> Result<(Question, String, String), String> {
    if headers.get("anthropic-version").is_none() {
        return Err("anthropic-version header is required".into());
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("model: field required")?
        .to_string();
    let tool = body
        .pointer("/tool_choice/name")
        .and_then(Value::as_str)
        .ok_or("llm-sim needs tool_choice {type: tool, name}")?
        .to_string();
    let stage = StageName::parse(&tool).ok_or_else(|| format!("unknown tool {tool:?}"))?;
    let schema = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|t| {
            t.iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some(tool.as_str()))
        })
        .and_then(|t| t.get("input_schema"))
        .cloned()
        .ok_or("the forced tool is not in tools")?;
    let system = body.get("system").map(blocks_text).unwrap_or_default();
    let user = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .map(|m| blocks_text(m.get("content").unwrap_or(&Value::Null)))
        .ok_or("no user message")?;
    let input = Prompt::extract_input(&user)
        .ok_or("no fenced JSON input in the user message")?
        .to_string();
    let prompt = Prompt {
        stage,
        system,
        user,
        schema,
    };
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
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
        tool,
    ))
}

fn rate_headers(rh: &RateHeaders) -> HeaderMap {
    let mut h = HeaderMap::new();
    let at = |d: std::time::Duration| {
        (chrono::Utc::now() + chrono::Duration::milliseconds(d.as_millis() as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    if let Some((limit, remaining, reset)) = rh.requests {
        put(
            &mut h,
            "anthropic-ratelimit-requests-limit",
            limit.to_string(),
        );
        put(
            &mut h,
            "anthropic-ratelimit-requests-remaining",
            remaining.to_string(),
        );
        put(&mut h, "anthropic-ratelimit-requests-reset", at(reset));
    }
    if let Some((limit, remaining, reset)) = rh.tokens {
        put(
            &mut h,
            "anthropic-ratelimit-tokens-limit",
            limit.to_string(),
        );
        put(
            &mut h,
            "anthropic-ratelimit-tokens-remaining",
            remaining.to_string(),
        );
        put(&mut h, "anthropic-ratelimit-tokens-reset", at(reset));
    }
    put_retry_after(&mut h, rh);
    put(&mut h, "request-id", format!("req_sim_{}", next_id()));
    h
}

fn message(
    model: &str,
    content: Value,
    stop_reason: &str,
    usage: SimUsage,
    system_tokens: u64,
) -> Value {
    // First sight of a long system prompt writes the cache; later sights read it.
    let created = if usage.cached == 0 && system_tokens >= 1024 {
        system_tokens
    } else {
        0
    };
    json!({
        "id": format!("msg_sim_{}", next_id()),
        "type": "message",
        "role": "assistant",
        "model": format!("{}/{model}", super::FINGERPRINT),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": usage.prompt.saturating_sub(usage.cached + created),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": usage.cached,
            "output_tokens": usage.completion,
        },
    })
}

/// Serves one message.
pub(crate) async fn handle(req: Request<Incoming>, state: &SimState) -> Resp {
    let parsed = read_json(req)
        .await
        .and_then(|(h, body)| question(&h, &body));
    let (q, model, tool) = match parsed {
        Ok(x) => x,
        Err(msg) => {
            state.bad_request();
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
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
            &msg,
            headers,
        ),
        Verdict::Unauthorized(sent) => error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            &format!("invalid x-api-key: {sent} (llm-sim)"),
            headers,
        ),
        Verdict::OverLimit => error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "llm-sim: requests or tokens per minute exceeded",
            headers,
        ),
        Verdict::Injected429 => error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "llm-sim injected fault",
            headers,
        ),
        Verdict::ServerError => {
            delay(state, latency).await;
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                "llm-sim injected fault",
                headers,
            )
        }
        Verdict::Hang => {
            delay(state, state.config.hang).await;
            error(
                StatusCode::GATEWAY_TIMEOUT,
                "api_error",
                "llm-sim: held until timeout",
                headers,
            )
        }
        Verdict::Malformed(usage) => {
            delay(state, latency).await;
            let content = json!([{"type": "text", "text": "The answer is probably an index (llm-sim malformed fault)."}]);
            json_response(
                StatusCode::OK,
                &message(&model, content, "end_turn", usage, q.system_tokens),
                headers,
            )
        }
        Verdict::Answer(answer, usage) => {
            delay(state, latency).await;
            let content = json!([{"type": "tool_use", "id": format!("toolu_sim_{}", next_id()), "name": tool, "input": answer}]);
            json_response(
                StatusCode::OK,
                &message(&model, content, "tool_use", usage, q.system_tokens),
                headers,
            )
        }
    }
}
