//! TLS between the processes of a cluster. One directory holds what a process needs, as
//! CockroachDB's `--certs-dir` does: `ca.crt`, the certificate that the cluster's servers'
//! certificates chain to, and for a coordinator or worker its own `node.crt` and `node.key`.
//! Every server of the cluster then speaks only TLS, and every client checks the server's
//! certificate against `ca.crt`.

use std::path::Path;
use std::sync::Arc;

use ballista_core::config::BallistaConfig;
use ballista_core::utils::{GrpcClientConfig, create_grpc_client_endpoint};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use crate::ClusterError;

/// A PEM file's bytes.
type Pem = Arc<[u8]>;

/// The TLS material of a process of a cluster.
#[derive(Clone)]
pub struct Tls {
    /// `ca.crt`.
    ca: Pem,
    /// `node.crt` and `node.key`: a server's own certificate and key.
    node: Option<(Pem, Pem)>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("node", &self.node.is_some()).finish_non_exhaustive()
    }
}

impl Tls {
    /// The material in `dir`: `ca.crt`, and `node.crt` with `node.key` if there.
    pub fn from_dir(dir: &Path) -> Result<Tls, ClusterError> {
        let read = |name: &str| -> Result<Option<Pem>, ClusterError> {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) if bytes.windows(11).any(|w| w == b"-----BEGIN ") => {
                    Ok(Some(bytes.into()))
                }
                Ok(_) => Err(ClusterError::Tls(format!("`{}` is not PEM", path.display()))),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(ClusterError::Tls(format!("`{}`: {error}", path.display()))),
            }
        };
        let ca = read("ca.crt")?
            .ok_or_else(|| ClusterError::Tls(format!("`{}` has no ca.crt", dir.display())))?;
        let node = match (read("node.crt")?, read("node.key")?) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(ClusterError::Tls(format!(
                    "`{}` has one of node.crt and node.key but not the other",
                    dir.display()
                )));
            }
        };
        Ok(Tls { ca, node })
    }

    /// What a server of the cluster serves with: its own certificate and key.
    pub(crate) fn server(&self) -> Result<ServerTlsConfig, ClusterError> {
        let Some((cert, key)) = &self.node else {
            return Err(ClusterError::Tls(
                "a coordinator or worker needs its own certificate: node.crt and node.key \
                 beside ca.crt"
                    .into(),
            ));
        };
        Ok(ServerTlsConfig::new().identity(Identity::from_pem(cert.as_ref(), key.as_ref())))
    }

    /// What a client of the cluster trusts: certificates that chain to `ca.crt`.
    pub(crate) fn client(&self) -> ClientTlsConfig {
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(self.ca.as_ref()))
    }

    /// `endpoint` over TLS. Ballista opens some channels as `http://` (to the scheduler, to a
    /// worker's task service); tonic speaks TLS only to `https://`, so those are made again
    /// with that scheme and Ballista's default settings, which are theirs.
    pub(crate) fn secure(&self, endpoint: Endpoint) -> Result<Endpoint, tonic::transport::Error> {
        let endpoint = match endpoint.uri().scheme_str() {
            Some("http") => {
                let uri = endpoint.uri();
                let authority = uri.authority().map_or("", |a| a.as_str());
                let https = format!("https://{authority}{}", uri.path());
                let defaults = GrpcClientConfig::from(&BallistaConfig::default());
                create_grpc_client_endpoint(https, Some(&defaults))?
            }
            _ => endpoint,
        };
        endpoint.tls_config(self.client())
    }
}

#[cfg(test)]
mod tests {
    use super::Tls;

    #[test]
    fn a_tls_directory_needs_a_pem_ca_and_both_or_neither_of_its_node_files() {
        let dir = std::env::temp_dir().join(format!("aigrid-tls-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let error = |dir| Tls::from_dir(dir).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error(&dir).contains("has no ca.crt"));
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
        };
        write("ca.crt", "not pem");
        assert!(error(&dir).contains("is not PEM"));
        write("ca.crt", pem);
        let client_only = Tls::from_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(client_only.server().is_err());
        write("node.crt", pem);
        assert!(error(&dir).contains("one of node.crt and node.key"));
        write("node.key", pem);
        assert!(Tls::from_dir(&dir).is_ok_and(|tls| tls.server().is_ok()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
