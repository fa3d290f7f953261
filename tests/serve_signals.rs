//! `serve` runs until SIGTERM or SIGINT, then stops listening and exits 0 (a supervisor such as
//! systemd or Kubernetes sends SIGTERM; a terminal sends SIGINT).

mod support;

use nix::sys::signal::Signal;
use std::process::{Command, Stdio};
use std::time::Duration;

async fn serve_until(signal: Signal, db_url: &str) {
    let port = support::free_port();
    let mut child = Command::new(support::bin())
        .args(["serve", "--insecure-no-identity", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--database-url", db_url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    support::eventually("serve to listen", Duration::from_secs(30), || async {
        if restate_classify::host::port_is_free(port) {
            Err("not listening yet".to_string())
        } else {
            Ok(())
        }
    })
    .await;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal)
        .expect("signal serve");
    support::eventually("serve to exit", Duration::from_secs(30), || {
        let exited = child.try_wait().map_err(|e| e.to_string());
        async move {
            match exited? {
                Some(_) => Ok(()),
                None => Err("still running".to_string()),
            }
        }
    })
    .await;
    let out = child.wait_with_output().expect("serve exits");
    assert_eq!(
        out.status.code(),
        Some(0),
        "serve after {signal}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        restate_classify::host::port_is_free(port),
        "port {port} released after {signal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exits_cleanly_on_sigterm_and_sigint() {
    let pg = support::TestPostgres::start().await;
    serve_until(Signal::SIGTERM, &pg.url()).await;
    serve_until(Signal::SIGINT, &pg.url()).await;
}
