//! A TLS front for the Connect simulator: a certificate authority and a `127.0.0.1` server
//! certificate generated with rcgen, a trust bundle for `SSL_CERT_FILE` (the system bundle plus
//! that authority, so the child loads a trust store of realistic size), and a tokio-rustls
//! listener that terminates TLS and relays each connection to the plain simulator. It records
//! when each connection was accepted and when its handshake finished.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The system bundle appended to the generated authority, when the machine has one.
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// One TLS connection's timeline, server side.
#[derive(Debug, Clone, Copy)]
pub struct Handshake {
    /// TCP accept.
    pub accepted: Instant,
    /// Handshake finished (`None`: it failed).
    pub done: Option<Instant>,
}

/// The generated authority and server certificate.
pub struct Certificates {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl Certificates {
    /// A fresh authority and a server certificate for `127.0.0.1` and `localhost` signed by it.
    pub fn generate() -> Result<Self, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "outbound-chat bench authority");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate()?;
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        leaf.distinguished_name
            .push(DnType::CommonName, "connect simulator");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf.signed_by(&key, &issuer)?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
            key: key.serialize_der(),
        })
    }

    /// Writes `dir/trust-bundle.pem`: the first system bundle found, then the authority.
    /// Returns its path and how many certificates it holds.
    pub fn write_bundle(&self, dir: &Path) -> std::io::Result<(PathBuf, usize)> {
        let mut bundle = SYSTEM_BUNDLES
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        if !bundle.is_empty() && !bundle.ends_with('\n') {
            bundle.push('\n');
        }
        bundle.push_str(&self.ca_pem);
        let count = bundle.matches("-----BEGIN CERTIFICATE-----").count();
        let path = dir.join("trust-bundle.pem");
        std::fs::write(&path, bundle)?;
        Ok((path, count))
    }
}

/// A running TLS front; dropping it stops accepting.
pub struct TlsFront {
    addr: SocketAddr,
    handshakes: Arc<Mutex<Vec<Handshake>>>,
    task: JoinHandle<()>,
}

impl TlsFront {
    /// Listens on 127.0.0.1 (free port) and relays to `upstream`.
    pub async fn start(certificates: &Certificates, upstream: SocketAddr) -> std::io::Result<Self> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certificates.key.clone()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(certificates.chain.clone(), key)
            .map_err(std::io::Error::other)?;
        // The simulator speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&handshakes);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let accepted = Instant::now();
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let index = {
                        let mut list = record.lock().expect("handshakes lock");
                        list.push(Handshake {
                            accepted,
                            done: None,
                        });
                        list.len() - 1
                    };
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    record.lock().expect("handshakes lock")[index].done = Some(Instant::now());
                    let Ok(mut plain) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = plain.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Self {
            addr,
            handshakes,
            task,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn endpoint_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Every connection so far, in accept order.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.handshakes.lock().expect("handshakes lock").clone()
    }

    /// Forgets the connections so far (between runs of different processes).
    pub fn clear(&self) {
        self.handshakes.lock().expect("handshakes lock").clear();
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
