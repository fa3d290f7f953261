//! The embedded Restate handler server: the six stage services, the `classification` workflow and
//! a `readiness` probe, served over HTTP/2 on 127.0.0.1.

pub mod app;
pub mod bench;
pub mod readiness;
pub mod server;
pub mod stage_handler;
pub mod stages;
pub mod workflow;

use restate_sdk::prelude::Endpoint;
use std::sync::Arc;

/// Shared state the handlers are built with.
#[derive(Debug, Clone, Default)]
pub struct Handlers {
    /// Completions of the benchmark ceiling workflow.
    pub ceiling: Arc<bench::CompletionLog>,
    /// Database and providers; without it the classification handlers answer with a retryable
    /// error (the endpoint still declares them, so every registration has the same schema).
    pub app: Option<app::App>,
}

/// Errors building the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The request-identity public key is malformed.
    #[error("request identity key is invalid: {0}")]
    IdentityKey(String),
}

/// Builds the endpoint with every service. With `identity_public_key`, only requests signed by
/// the cluster's private key are accepted (others get 401).
pub fn endpoint(
    identity_public_key: Option<&str>,
    handlers: &Handlers,
) -> Result<Endpoint, EndpointError> {
    let mut builder = Endpoint::builder()
        .bind(readiness::Readiness)
        .bind(bench::NoopStage)
        .bind(bench::CeilingWorkflow {
            completions: handlers.ceiling.clone(),
        })
        .bind(stages::NormalizationService {
            app: handlers.app.clone(),
        })
        .bind(stages::TimeInferenceService {
            app: handlers.app.clone(),
        })
        .bind(stages::FamilyAssignmentService {
            app: handlers.app.clone(),
        })
        .bind(stages::TypeClassificationService {
            app: handlers.app.clone(),
        })
        .bind(stages::BooleanReviewService {
            app: handlers.app.clone(),
        })
        .bind(stages::FinalReviewService {
            app: handlers.app.clone(),
        })
        .bind(workflow::ClassificationWorkflow {
            app: handlers.app.clone(),
        });
    if let Some(key) = identity_public_key {
        builder = builder
            .identity_key(key)
            .map_err(|e| EndpointError::IdentityKey(e.to_string()))?;
    }
    Ok(builder.build())
}
