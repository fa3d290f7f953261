//! A trivial service that proves an invocation travels ingress → partition leader → invoker →
//! this endpoint and back. `cluster start` and `status` use it for readiness.

use restate_sdk::prelude::*;

/// The `readiness` service.
pub struct Readiness;

/// Name of the probe service.
pub const SERVICE: &str = "readiness";
/// Name of its handler.
pub const HANDLER: &str = "ping";

#[restate_sdk::service(name = "readiness", ingress_private = false)]
impl Readiness {
    /// Echoes the nonce it is given.
    #[handler(name = "ping")]
    async fn ping(&self, _ctx: Context<'_>, nonce: String) -> HandlerResult<String> {
        Ok(nonce)
    }
}
