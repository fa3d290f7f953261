//! The embedded Restate handlers: the six stage services, the `classification` workflow and a
//! `readiness` probe, thin wrappers over `pipeline` + `llm` + `db`.

pub(crate) mod app;
pub(crate) mod readiness;
pub(crate) mod stage_handler;
pub(crate) mod stages;
pub mod workflow;

use restate_sdk::endpoint::Builder as EndpointBuilder;
use restate_sdk::prelude::Endpoint;

/// Shared state the handlers are built with.
#[derive(Debug, Clone, Default)]
pub struct Handlers {
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
    endpoint_with(identity_public_key, handlers, |b| b)
}

/// [`endpoint`] with more services bound by `extra` (the benchmarks bind theirs).
pub(crate) fn endpoint_with(
    identity_public_key: Option<&str>,
    handlers: &Handlers,
    extra: impl FnOnce(EndpointBuilder) -> EndpointBuilder,
) -> Result<Endpoint, EndpointError> {
    let builder = Endpoint::builder()
        .bind(readiness::Readiness)
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
    let mut builder = extra(builder);
    if let Some(key) = identity_public_key {
        builder = builder
            .identity_key(key)
            .map_err(|e| EndpointError::IdentityKey(e.to_string()))?;
    }
    Ok(builder.build())
}
