//! The S3 object store for Restate snapshots: SeaweedFS's all-in-one `weed mini` on the native
//! runtime, plus the checks that it serves our bucket and honours conditional PUT
//! (`If-None-Match: *` and `If-Match`), which Restate's snapshot repository relies on.

use super::credentials::{Credentials, write_private};
use super::spec::{ClusterSpec, WEED_GRPC_OFFSET};
use rusty_s3::{Bucket, S3Action, UrlStyle};
use std::path::PathBuf;
use std::time::Duration;

/// Errors talking to the object store.
#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    /// Endpoint URL or bucket name invalid.
    #[error("object store endpoint {endpoint}: {reason}")]
    Endpoint {
        /// The endpoint.
        endpoint: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The HTTP request failed.
    #[error("object store at {endpoint} did not answer: {source}")]
    Http {
        /// The endpoint.
        endpoint: String,
        /// Why.
        source: reqwest::Error,
    },
    /// A request got an unexpected status.
    #[error("object store at {endpoint}: {what} returned HTTP {status}, expected {expected}")]
    Status {
        /// The endpoint.
        endpoint: String,
        /// Which probe.
        what: &'static str,
        /// Status received.
        status: u16,
        /// Status wanted.
        expected: &'static str,
    },
    /// Writing the S3 identity file failed.
    #[error("writing object store config {path}: {source}")]
    Config {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// How to reach an S3 endpoint.
#[derive(Clone)]
pub struct S3Target {
    /// Endpoint URL, e.g. `http://127.0.0.1:9000`.
    pub endpoint: String,
    /// Bucket name.
    pub bucket: String,
    /// Region for signing.
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
}

impl std::fmt::Debug for S3Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Target")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3Target {
    /// The target of a cluster's own object store.
    pub fn of_cluster(spec: &ClusterSpec, creds: &Credentials) -> Self {
        Self {
            endpoint: spec.s3_endpoint(),
            bucket: spec.object_store.bucket.clone(),
            region: spec.object_store.region.clone(),
            access_key: creds.s3_access_key.clone(),
            secret_key: creds.s3_secret_key.clone(),
        }
    }

    /// The cluster's object store as the Restate nodes reach it (differs from
    /// [`Self::of_cluster`] only in the docker runtime, where nodes use the network host name).
    pub fn for_nodes(spec: &ClusterSpec, creds: &Credentials) -> Self {
        Self {
            endpoint: spec.s3_endpoint_for_nodes(),
            ..Self::of_cluster(spec, creds)
        }
    }

    fn bucket(&self) -> Result<Bucket, ObjectStoreError> {
        let url =
            self.endpoint
                .parse()
                .map_err(|e: url::ParseError| ObjectStoreError::Endpoint {
                    endpoint: self.endpoint.clone(),
                    reason: e.to_string(),
                })?;
        Bucket::new(
            url,
            UrlStyle::Path,
            self.bucket.clone(),
            self.region.clone(),
        )
        .map_err(|e| ObjectStoreError::Endpoint {
            endpoint: self.endpoint.clone(),
            reason: e.to_string(),
        })
    }

    fn creds(&self) -> rusty_s3::Credentials {
        rusty_s3::Credentials::new(self.access_key.clone(), self.secret_key.clone())
    }

    fn http_err(&self) -> impl Fn(reqwest::Error) -> ObjectStoreError + '_ {
        move |source| ObjectStoreError::Http {
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    /// Whether the bucket exists and our credentials can read it.
    pub async fn bucket_ready(&self, http: &reqwest::Client) -> Result<(), ObjectStoreError> {
        let bucket = self.bucket()?;
        let creds = self.creds();
        let url = bucket
            .head_bucket(Some(&creds))
            .sign(Duration::from_secs(60));
        let status = http
            .head(url)
            .send()
            .await
            .map_err(self.http_err())?
            .status()
            .as_u16();
        if status == 200 {
            Ok(())
        } else {
            Err(ObjectStoreError::Status {
                endpoint: self.endpoint.clone(),
                what: "HEAD bucket",
                status,
                expected: "200",
            })
        }
    }

    /// Creates the bucket unless it exists already (MinIO starts without buckets).
    pub async fn ensure_bucket(&self, http: &reqwest::Client) -> Result<(), ObjectStoreError> {
        let status = match self.bucket_ready(http).await {
            Ok(()) => return Ok(()),
            Err(ObjectStoreError::Status { status, .. }) => status,
            Err(e) => return Err(e),
        };
        if status != 404 {
            return Err(ObjectStoreError::Status {
                endpoint: self.endpoint.clone(),
                what: "HEAD bucket",
                status,
                expected: "200 or 404",
            });
        }
        let bucket = self.bucket()?;
        let creds = self.creds();
        let action = bucket.create_bucket(&creds);
        let url = action.sign(Duration::from_secs(60));
        let status = http
            .put(url)
            .body(action.body())
            .send()
            .await
            .map_err(self.http_err())?
            .status()
            .as_u16();
        // 409: created meanwhile by someone else, which is just as good.
        if status == 200 || status == 409 {
            Ok(())
        } else {
            Err(ObjectStoreError::Status {
                endpoint: self.endpoint.clone(),
                what: "create bucket",
                status,
                expected: "200",
            })
        }
    }

    /// Proves conditional PUT works: a create-only PUT succeeds once and then gets 412, and a PUT
    /// with a wrong `If-Match` gets 412. Leaves no object behind.
    pub async fn verify_conditional_put(
        &self,
        http: &reqwest::Client,
    ) -> Result<(), ObjectStoreError> {
        let bucket = self.bucket()?;
        let creds = self.creds();
        let key = format!(
            "{}/.conditional-put-probe-{}",
            "restate-classify",
            super::credentials::random_token(12)
        );
        let put = |cond: (&'static str, &'static str)| {
            let url = bucket
                .put_object(Some(&creds), &key)
                .sign(Duration::from_secs(60));
            http.put(url).header(cond.0, cond.1).body("probe").send()
        };
        let expect = |what: &'static str, got: u16, want: u16| {
            if got == want {
                Ok(())
            } else {
                Err(ObjectStoreError::Status {
                    endpoint: self.endpoint.clone(),
                    what,
                    status: got,
                    expected: if want == 200 {
                        "200"
                    } else {
                        "412 (precondition failed)"
                    },
                })
            }
        };
        let first = put(("If-None-Match", "*"))
            .await
            .map_err(self.http_err())?
            .status()
            .as_u16();
        expect("create-only PUT (If-None-Match: *)", first, 200)?;
        let second = put(("If-None-Match", "*"))
            .await
            .map_err(self.http_err())?
            .status()
            .as_u16();
        let mismatch = put(("If-Match", "\"0000000000000000\""))
            .await
            .map_err(self.http_err())?
            .status()
            .as_u16();
        let url = bucket
            .delete_object(Some(&creds), &key)
            .sign(Duration::from_secs(60));
        let _ = http.delete(url).send().await;
        expect("repeated create-only PUT (If-None-Match: *)", second, 412)?;
        expect("PUT with a stale If-Match", mismatch, 412)?;
        Ok(())
    }
}

/// Command line and files for `weed mini` serving the cluster's object store.
#[derive(Debug, Clone)]
pub struct WeedLaunch {
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// The S3 identity file to write (mode 0600) before starting.
    pub identity_file: PathBuf,
    /// Its JSON content.
    pub identity_json: String,
    /// Data directory.
    pub data_dir: PathBuf,
}

/// Builds the `weed mini` invocation: every port explicit and on 127.0.0.1, telemetry and the
/// extras we do not use (WebDAV, admin UI, Iceberg, Lance) off, our bucket created at start.
pub fn weed_launch(spec: &ClusterSpec, creds: &Credentials) -> WeedLaunch {
    let o = &spec.object_store;
    let dirs = spec.dirs();
    let data_dir = std::path::absolute(dirs.object_store()).unwrap_or_else(|_| dirs.object_store());
    let identity_file = std::path::absolute(dirs.config().join("s3-identities.json"))
        .unwrap_or_else(|_| dirs.config().join("s3-identities.json"));
    let identity_json = serde_json::json!({
        "identities": [{
            "name": "restate-classify",
            "credentials": [{"accessKey": creds.s3_access_key, "secretKey": creds.s3_secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]
        }]
    })
    .to_string();
    let grpc = |p: u16| (u32::from(p) + WEED_GRPC_OFFSET).to_string();
    let host = &spec.bind_host;
    let args = vec![
        "mini".into(),
        format!("-dir={}", data_dir.display()),
        format!("-ip={host}"),
        format!("-ip.bind={host}"),
        format!("-s3.port={}", o.s3_port),
        format!("-s3.port.grpc={}", grpc(o.s3_port)),
        format!("-master.port={}", o.master_port),
        format!("-master.port.grpc={}", grpc(o.master_port)),
        format!("-volume.port={}", o.volume_port),
        format!("-volume.port.grpc={}", grpc(o.volume_port)),
        format!("-filer.port={}", o.filer_port),
        format!("-filer.port.grpc={}", grpc(o.filer_port)),
        format!("-admin.port={}", o.admin_port),
        format!("-admin.port.grpc={}", grpc(o.admin_port)),
        format!("-s3.config={}", identity_file.display()),
        format!("-bucket={}", o.bucket),
        "-webdav=false".into(),
        "-admin.ui=false".into(),
        "-s3.port.iceberg=0".into(),
        "-s3.port.lance=0".into(),
        "-master.telemetry=false".into(),
        "-master.volumeSizeLimitMB=256".into(),
    ];
    WeedLaunch {
        args,
        identity_file,
        identity_json,
        data_dir,
    }
}

impl WeedLaunch {
    /// Writes the identity file (0600) and creates the data dir.
    pub fn prepare(&self) -> Result<(), ObjectStoreError> {
        let err = |path: &std::path::Path| {
            let path = path.display().to_string();
            move |source| ObjectStoreError::Config { path, source }
        };
        std::fs::create_dir_all(&self.data_dir).map_err(err(&self.data_dir))?;
        write_private(&self.identity_file, self.identity_json.as_bytes())
            .map_err(err(&self.identity_file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::SpecOptions;

    #[test]
    fn weed_binds_loopback_with_explicit_ports_and_no_telemetry() {
        let spec = ClusterSpec::new(&SpecOptions {
            port_offset: 7,
            ..SpecOptions::default()
        })
        .unwrap();
        let l = weed_launch(&spec, &Credentials::generate());
        let has = |a: &str| l.args.iter().any(|x| x == a);
        assert!(has("-ip.bind=127.0.0.1"));
        assert!(has("-s3.port=9007") && has("-s3.port.grpc=19007"));
        assert!(has("-admin.port=23653") && has("-admin.port.grpc=33653"));
        assert!(has("-master.telemetry=false") && has("-bucket=restate"));
        // Every SeaweedFS port of the spec appears on the command line.
        for (p, what) in spec.object_store_ports() {
            assert!(
                l.args.iter().any(|a| a.ends_with(&format!("={p}"))),
                "{what} port {p} missing"
            );
        }
    }

    #[test]
    fn identity_file_carries_generated_keys_not_defaults() {
        let spec = ClusterSpec::new(&SpecOptions::default()).unwrap();
        let creds = Credentials::generate();
        let l = weed_launch(&spec, &creds);
        assert!(l.identity_json.contains(&creds.s3_secret_key));
        assert!(!l.identity_json.contains("minioadmin"));
        // The secret is in the file, never on the command line.
        assert!(l.args.iter().all(|a| !a.contains(&creds.s3_secret_key)));
    }
}
