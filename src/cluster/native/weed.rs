//! SeaweedFS's all-in-one `weed mini` serving the cluster's object store natively: every port
//! explicit and on 127.0.0.1, our bucket created at start.

use crate::cluster::credentials::{Credentials, write_private};
use crate::cluster::spec::{ClusterSpec, WEED_GRPC_OFFSET};
use std::path::PathBuf;

/// Command line and files for `weed mini` serving the cluster's object store.
#[derive(Debug, Clone)]
pub(crate) struct WeedLaunch {
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
pub(crate) fn weed_launch(spec: &ClusterSpec, creds: &Credentials) -> WeedLaunch {
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
    pub(crate) fn prepare(&self) -> Result<(), crate::cluster::ClusterError> {
        use crate::cluster::ClusterError;
        std::fs::create_dir_all(&self.data_dir)
            .map_err(ClusterError::io("creating", &self.data_dir))?;
        write_private(&self.identity_file, self.identity_json.as_bytes())
            .map_err(ClusterError::io("writing", &self.identity_file))
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
