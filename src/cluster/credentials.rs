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
    use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
    let secret: [u8; 32] = rand::random();
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    // Encoding a valid 32-byte Ed25519 key as PKCS#8 cannot fail.
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map(|p| p.to_string())
        .unwrap_or_default();
    let public = format!(
        "publickeyv1_{}",
        bs58::encode(key.verifying_key().as_bytes()).into_string()
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
