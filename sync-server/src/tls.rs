//! TLS for the plant network without a certificate authority: `ptw-sync-server tls init` makes a
//! self-signed certificate, its SHA-256 fingerprint travels in every enrolment QR code, and the
//! tablets pin it. rustls with the ring provider, TLS 1.2 and 1.3.

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `tls init` puts the certificate and key in the data directory.
pub const CERT_FILE: &str = "tls-cert.pem";
pub const KEY_FILE: &str = "tls-key.pem";

/// The certificate and key files to serve with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The configured files, or those `tls init` made in `data_dir` when both exist.
    pub fn find(cert: Option<&Path>, key: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Option<TlsFiles>> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert: cert.into(), key: key.into() })),
            (Some(_), None) | (None, Some(_)) => {
                anyhow::bail!("tls_cert and tls_key go together: give both or neither")
            }
            (None, None) => Ok(data_dir
                .map(|d| TlsFiles { cert: d.join(CERT_FILE), key: d.join(KEY_FILE) })
                .filter(|f| f.cert.is_file() && f.key.is_file())),
        }
    }

    /// The acceptor that serves with these files.
    pub fn acceptor(&self) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
        let certs = read_certs(&self.cert)?;
        let key_pem = std::fs::read(&self.key).with_context(|| format!("reading {}", self.key.display()))?;
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&key_pem)
            .with_context(|| format!("{} holds no private key", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("the TLS certificate and key do not go together")?;
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }

    /// Hex SHA-256 of the certificate (DER): what tablets pin.
    pub fn fingerprint(&self) -> anyhow::Result<String> {
        let certs = read_certs(&self.cert)?;
        let first = certs.first().with_context(|| format!("{} holds no certificate", self.cert.display()))?;
        Ok(hex::encode(Sha256::digest(first.as_ref())))
    }
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
    Ok(certs)
}

/// Make a self-signed certificate for `names` (host names and IP addresses the tablets use) in
/// `dir`; refuses to overwrite one (tablets have pinned it). Returns the files.
pub fn init(dir: &Path, names: &[String]) -> anyhow::Result<TlsFiles> {
    let files = TlsFiles { cert: dir.join(CERT_FILE), key: dir.join(KEY_FILE) };
    anyhow::ensure!(
        !files.cert.exists() && !files.key.exists(),
        "{} already holds a TLS certificate; tablets have pinned it. Move it away first to make a new one (and \
         enrol every tablet again)",
        dir.display()
    );
    let mut all: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    all.extend(names.iter().cloned());
    all.dedup();
    let cert = rcgen::generate_simple_self_signed(all).context("making the certificate")?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(&files.cert, cert.cert.pem())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(&files.key)?.write_all(cert.signing_key.serialize_pem().as_bytes())?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_certificate_serves_has_a_stable_fingerprint_and_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("dir");
        let files = init(dir.path(), &["ptw.plant".into()]).expect("init");
        let fp = files.fingerprint().expect("fingerprint");
        assert_eq!(fp.len(), 64);
        assert_eq!(files.fingerprint().expect("again"), fp);
        files.acceptor().expect("it serves");
        assert!(init(dir.path(), &[]).is_err(), "never overwritten");
        assert_eq!(TlsFiles::find(None, None, Some(dir.path())).expect("find"), Some(files));
        assert!(TlsFiles::find(Some(Path::new("a")), None, None).is_err());
    }
}
