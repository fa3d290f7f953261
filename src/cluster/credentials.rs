//! Credentials generated once per cluster and kept in the state dir with mode 0600.
//!
//! They never go to logs or command output: `Debug` is redacted and the status/JSON views print
//! URLs without passwords.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Errors reading or writing the credentials file.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file could not be read or written.
    #[error("credentials file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file exists but is not valid.
    #[error("credentials file {path} is corrupt ({source}); run `cluster clean` to start over")]
    Corrupt {
        /// The file.
        path: String,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// Secrets of one cluster.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// PostgreSQL password of the `classify` role.
    pub postgres_password: String,
    /// S3 access key id for the object store.
    pub s3_access_key: String,
    /// S3 secret key for the object store.
    pub s3_secret_key: String,
    /// Ed25519 private key (PKCS#8 PEM) the Restate nodes sign requests to our handlers with.
    pub request_identity_private_pem: String,
    /// The matching public key in Restate's `publickeyv1_<base58>` form, which the handler
    /// endpoint accepts; unsigned or differently signed requests get 401.
    pub request_identity_public_key: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials { <redacted> }")
    }
}

use crate::host::random_token;

impl Credentials {
    /// Fresh random credentials.
    pub fn generate() -> Self {
        let (request_identity_private_pem, request_identity_public_key) = identity_keypair();
        Self {
            postgres_password: random_token(32),
            s3_access_key: format!("RC{}", random_token(18).to_ascii_uppercase()),
            s3_secret_key: random_token(40),
            request_identity_private_pem,
            request_identity_public_key,
        }
    }

    /// Loads the credentials at `path`, or generates and saves new ones (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, CredentialsError> {
        match Self::load(path)? {
            Some(c) => Ok(c),
            None => {
                let c = Self::generate();
                c.save(path)?;
                Ok(c)
            }
        }
    }

    /// Saves these credentials at `path` (mode 0600) unless a file is there already.
    pub(crate) fn save_if_missing(&self, path: &Path) -> Result<(), CredentialsError> {
        if path.exists() {
            return Ok(());
        }
        self.save(path)
    }

    /// Loads the credentials at `path` if the file exists.
    pub fn load(path: &Path) -> Result<Option<Self>, CredentialsError> {
        let io = |source| CredentialsError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| {
                CredentialsError::Corrupt {
                    path: path.display().to_string(),
                    source,
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    fn save(&self, path: &Path) -> Result<(), CredentialsError> {
        let io = |source| CredentialsError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        write_private(path, &json).map_err(io)
    }
}

/// A fresh Ed25519 request-identity key pair: (PKCS#8 PEM private key, `publickeyv1_…` public key).
pub(crate) fn identity_keypair() -> (String, String) {
    keypair_from_seed(&rand::random())
}

/// The key pair of a 32-byte Ed25519 seed, the private key as a PKCS#8 v1 document (RFC 8410:
/// the seed only, which every PKCS#8 reader accepts) in PEM.
fn keypair_from_seed(seed: &[u8; 32]) -> (String, String) {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use base64::Engine;
    // Any 32 bytes are a valid Ed25519 seed, and a valid key always encodes: neither fails.
    let Ok(key) = Ed25519KeyPair::from_seed_unchecked(seed) else {
        return (String::new(), String::new());
    };
    let der = key
        .to_pkcs8v1()
        .map(|d| d.as_ref().to_vec())
        .unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    let public = format!(
        "publickeyv1_{}",
        bs58::encode(key.public_key().as_ref()).into_string()
    );
    (pem, public)
}

/// Writes `bytes` to `path` with mode 0600, creating parent directories.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/credentials.json");
        let a = Credentials::load_or_create(&path).unwrap();
        let b = Credentials::load_or_create(&path).unwrap();
        assert_eq!(a, b);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_ne!(
            a.postgres_password,
            Credentials::generate().postgres_password
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::generate();
        let shown = format!("{c:?}");
        assert!(!shown.contains(&c.postgres_password) && !shown.contains(&c.s3_secret_key));
    }

    #[test]
    fn identity_key_of_the_rfc_8032_test_seed() {
        use base64::Engine;
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let (pem, public) = keypair_from_seed(&seed.clone().try_into().unwrap());
        let public_key = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        assert_eq!(
            public,
            format!("publickeyv1_{}", bs58::encode(public_key).into_string())
        );
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.ends_with("\n-----END PRIVATE KEY-----\n"));
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert_eq!(
            der,
            [hex("302e020100300506032b657004220420"), seed].concat()
        );
    }

    #[test]
    fn identity_key_is_accepted_by_the_sdk() {
        let (pem, public) = identity_keypair();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        assert!(public.starts_with("publickeyv1_"));
        restate_sdk::prelude::Endpoint::builder()
            .identity_key(&public)
            .expect("SDK parses our public key");
    }

    #[test]
    fn corrupt_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(&path, b"{not json").unwrap();
        let err = Credentials::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("credentials.json") && err.contains("corrupt"),
            "{err}"
        );
    }
}
