//! A trivial service that proves an invocation travels ingress → partition leader → invoker →
//! this endpoint and back. `cluster start` and `status` use it for readiness.

use restate_sdk::prelude::*;

/// The `readiness` service ([`crate::restate::probe`]; the macro needs the names as literals,
/// a unit test checks they agree).
pub(crate) struct Readiness;

#[restate_sdk::service(name = "readiness", ingress_private = false)]
impl Readiness {
    /// Echoes the nonce it is given.
    #[handler(name = "ping")]
    async fn ping(&self, _ctx: Context<'_>, nonce: String) -> HandlerResult<String> {
        Ok(nonce)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_match_the_probe_contract() {
        use restate_sdk::service::Discoverable;
        let svc = serde_json::to_value(<super::Readiness as Discoverable>::discover()).unwrap();
        assert_eq!(svc["name"], crate::restate::probe::SERVICE, "{svc}");
        assert_eq!(
            svc["handlers"][0]["name"],
            crate::restate::probe::HANDLER,
            "{svc}"
        );
    }
}
