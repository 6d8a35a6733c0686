//! A test certificate authority: a CA, a broker certificate for 127.0.0.1 and
//! localhost, and a client certificate, written as PEM files into a folder (made with
//! `rcgen`, so that tests need no `openssl` program).

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// The PEM files of a test PKI.
pub struct TestPki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed nothing here: a client trusting only it must refuse the broker.
    pub other_ca: PathBuf,
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

fn authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("a CA key");
    let cert = params.self_signed(&key).expect("a CA certificate");
    (cert, key)
}

impl TestPki {
    /// Writes the files into `dir`.
    pub fn create(dir: &Path) -> Self {
        let (ca, ca_key) = authority("SheetSight test CA");
        let (other, _) = authority("Someone else's CA");
        let leaf = |names: Vec<String>, cn: &str| {
            let mut params = CertificateParams::new(names).expect("parameters");
            params.distinguished_name.push(DnType::CommonName, cn);
            let key = KeyPair::generate().expect("a key");
            let cert = params.signed_by(&key, &ca, &ca_key).expect("a signed certificate");
            (cert.pem(), key.serialize_pem())
        };
        let (server, server_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()], "broker");
        let (client, client_key) = leaf(vec!["edge".into()], "edge");
        Self {
            ca: write(dir, "ca.pem", &ca.pem()),
            server_cert: write(dir, "broker.pem", &server),
            server_key: write(dir, "broker.key", &server_key),
            client_cert: write(dir, "edge.pem", &client),
            client_key: write(dir, "edge.key", &client_key),
            other_ca: write(dir, "other-ca.pem", &other.pem()),
        }
    }

    /// Mosquitto settings for a TLS listener with this PKI's broker certificate;
    /// `require_client_cert`: clients must show a certificate the CA signed.
    pub fn mosquitto_settings(&self, require_client_cert: bool) -> String {
        format!(
            "allow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {require_client_cert}\n",
            self.ca.display(),
            self.server_cert.display(),
            self.server_key.display()
        )
    }
}
