//! The S3 object store for Restate snapshots as a client sees it: our bucket (created when
//! missing) and the check that it honours conditional PUT (`If-None-Match: *` and `If-Match`),
//! which Restate's snapshot repository relies on. SeaweedFS natively, MinIO (or its stand-in)
//! in containers.

use super::credentials::Credentials;
use super::spec::ClusterSpec;
use rusty_s3::{Bucket, S3Action, UrlStyle};
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
}

/// How to reach an S3 endpoint.
#[derive(Clone)]
pub(crate) struct S3Target {
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
    pub(crate) fn of_cluster(spec: &ClusterSpec, creds: &Credentials) -> Self {
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
    pub(crate) fn for_nodes(spec: &ClusterSpec, creds: &Credentials) -> Self {
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
    pub(crate) async fn bucket_ready(
        &self,
        http: &reqwest::Client,
    ) -> Result<(), ObjectStoreError> {
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
    pub(crate) async fn ensure_bucket(
        &self,
        http: &reqwest::Client,
    ) -> Result<(), ObjectStoreError> {
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
    pub(crate) async fn verify_conditional_put(
        &self,
        http: &reqwest::Client,
    ) -> Result<(), ObjectStoreError> {
        let bucket = self.bucket()?;
        let creds = self.creds();
        let key = format!(
            "{}/.conditional-put-probe-{}",
            "restate-classify",
            crate::host::random_token(12)
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
