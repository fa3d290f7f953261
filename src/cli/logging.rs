//! Logging for the binary: levels by `-q`/`-v`, and restate-sdk's suspension warnings kept
//! out of a user's terminal.

use tracing_subscriber::EnvFilter;

/// Sets up logging to stderr: `-q` errors only, the default warnings plus our info, `-v` and
/// `-vv` more; `RUST_LOG` overrides the levels.
pub fn init(verbose: u8, quiet: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, fmt};
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,restate_classify=info",
        (false, 1) => "info,restate_classify=debug",
        (false, _) => "debug,restate_classify=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let output = fmt::layer()
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a pipe or a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .compact()
        .with_filter(HideSuspensions { shown: verbose > 0 });
    tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .init();
}

/// Restate suspending an invocation that waits (protocol code 599) is how durable execution
/// parks a slow handler, not a failure, but restate-sdk 0.13 logs each one twice at WARN
/// ("Handler failure: … Suspended invocation"): 66 lines for 50 indicators against a slow local
/// model. They are shown from `-v` on.
pub(crate) struct HideSuspensions {
    shown: bool,
}

impl<S: tracing::Subscriber> tracing_subscriber::layer::Filter<S> for HideSuspensions {
    fn enabled(
        &self,
        _: &tracing::Metadata<'_>,
        _: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        true
    }

    fn event_enabled(
        &self,
        event: &tracing::Event<'_>,
        _: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        if self.shown || !event.metadata().target().starts_with("restate_sdk") {
            return true;
        }
        let mut suspension = Suspension(false);
        event.record(&mut suspension);
        !suspension.0
    }
}

/// Whether an event's message reports a suspension.
pub(crate) struct Suspension(bool);

impl tracing::field::Visit for Suspension {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}").contains("Suspended invocation") {
            self.0 = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(shown: bool) -> String {
        let buf = Buffer::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_filter(HideSuspensions { shown }),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                target: "restate_sdk::endpoint",
                "Handler failure: Error(VM(Error {{ code: 599, message: \"Suspended invocation\" }}))"
            );
            tracing::warn!(target: "restate_sdk::endpoint", "Handler failure: journal mismatch");
            tracing::warn!(target: "restate_classify::app", "Suspended invocation of ours");
        });
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn suspensions_are_hidden_unless_verbose_and_other_warnings_stay() {
        let quiet = logged(false);
        assert!(!quiet.contains("code: 599"), "{quiet}");
        assert!(quiet.contains("journal mismatch"), "{quiet}");
        assert!(quiet.contains("Suspended invocation of ours"), "{quiet}");
        let verbose = logged(true);
        assert!(verbose.contains("code: 599"), "{verbose}");
    }
}
