//! The cluster's shared token. With one, every gRPC and Flight call between the processes of a
//! cluster carries it and every server checks it: the coordinator (scheduler and journal), each
//! worker's task service (through the hook that `third_party/ballista-executor` adds) and each
//! worker's Flight service. Only `/healthz` and `/readyz` answer without it.
//!
//! A call carries the token as `authorization: Bearer TOKEN`, or, on the channels that Ballista
//! opens itself, in its user agent (`aigrid-token/TOKEN`): Ballista lets a caller shape those
//! channels only through tonic's `Endpoint`, whose one header is the user agent.

use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use ballista_core::extension::EndpointOverrideFn;
use ballista_executor::executor_process::GrpcServerInterceptor;
use futures::future::{Either, Ready, ready};
use subtle::ConstantTimeEq as _;

use crate::{ClusterError, Security};

/// The user-agent product that carries the token.
const USER_AGENT_PRODUCT: &str = "aigrid-token/";

/// The fewest characters a token has.
const SHORTEST: usize = 16;

/// How long a peer may stay silent (no connection, no answer to a keep-alive ping).
const PEER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Paths that answer without the token: the probes of an orchestrator.
const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// A cluster's shared secret: every process of the cluster is given the same one.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// `secret` as a token: one word of visible ASCII, at least 16 characters long.
    pub fn new(secret: &str) -> Result<Token, ClusterError> {
        if secret.len() < SHORTEST || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ClusterError::Address(format!(
                "a cluster token is one word of {SHORTEST} or more visible ASCII characters \
                 (make one with `openssl rand -hex 32`)"
            )));
        }
        Ok(Token(secret.into()))
    }

    /// Whether `headers` carry this token, as a bearer token or in the user agent.
    pub(crate) fn admits(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let agent = headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).and_then(
            |agent| agent.split_ascii_whitespace().find_map(|p| p.strip_prefix(USER_AGENT_PRODUCT)),
        );
        [bearer, agent].into_iter().flatten().any(|given| self.is(given))
    }

    /// Whether `given` is this token, compared in constant time.
    fn is(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.0.as_bytes()))
    }

    /// The `authorization` header value that carries this token.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

/// Adds the token, if any, to each call of one of aigrid's own gRPC clients.
#[derive(Clone)]
pub(crate) struct Bearer(Option<tonic::metadata::AsciiMetadataValue>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(..)")
    }
}

impl Bearer {
    /// Calls that carry `token`.
    pub(crate) fn new(token: Option<&Token>) -> Bearer {
        // A token is visible ASCII, so it always makes a header value; marked sensitive, it
        // stays out of HTTP/2's header compression tables.
        Bearer(token.and_then(|token| {
            let mut value: tonic::metadata::AsciiMetadataValue = token.bearer().parse().ok()?;
            value.set_sensitive(true);
            Some(value)
        }))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Whether a server listening on `ip` may serve with `token`: without one, a server that other
/// hosts can reach would run anyone's tasks, and that must be asked for (`open`).
pub fn check_exposure(ip: IpAddr, token: Option<&Token>, open: bool) -> Result<(), ClusterError> {
    if token.is_none() && !ip.is_loopback() && !open {
        return Err(ClusterError::Address(format!(
            "{ip} can be reached from other hosts: give the cluster a token (--token-file FILE or \
             AIGRID_CLUSTER_TOKEN), or serve without one with --no-auth"
        )));
    }
    Ok(())
}

/// What a refused call is told.
const REFUSED: &str = "this cluster needs its token, and the call carried none or another one: \
                       give every process the same --token-file (or AIGRID_CLUSTER_TOKEN)";

/// Shapes a channel of Ballista's for the cluster: over TLS if it has TLS, its calls carrying
/// the token if it has one, and a peer that stops answering noticed (Ballista's Flight client
/// to a worker sets no timeouts: a fetch from a worker cut off would wait forever).
pub(crate) fn shape(security: &Security) -> EndpointOverrideFn {
    let Security { token, tls } = security.clone();
    Arc::new(move |endpoint| {
        let endpoint = match &tls {
            Some(tls) => tls.secure(endpoint)?,
            None => endpoint,
        };
        let endpoint = endpoint
            .connect_timeout(PEER_TIMEOUT)
            .http2_keep_alive_interval(PEER_TIMEOUT / 2)
            .keep_alive_timeout(PEER_TIMEOUT)
            .keep_alive_while_idle(true);
        match &token {
            Some(token) => Ok(endpoint.user_agent(format!("{USER_AGENT_PRODUCT}{}", token.0))?),
            None => Ok(endpoint),
        }
    })
}

/// The interceptor of a worker's task service: calls without `token` are refused.
pub(crate) fn interceptor(token: Option<Token>) -> Option<GrpcServerInterceptor> {
    let token = token?;
    Some(Arc::new(move |request: tonic::Request<()>| {
        match token.admits(request.metadata().as_ref()) {
            true => Ok(request),
            false => Err(tonic::Status::unauthenticated(REFUSED)),
        }
    }))
}

/// A tower layer that refuses requests without the token: gRPC calls with status
/// `UNAUTHENTICATED`, other HTTP requests with 401. With no token it lets everything through.
#[derive(Clone, Debug)]
pub(crate) struct RequireToken(pub Option<Token>);

impl<S> tower::Layer<S> for RequireToken {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded { inner, token: self.0.clone() }
    }
}

/// A service behind [`RequireToken`].
#[derive(Clone, Debug)]
pub(crate) struct Guarded<S> {
    inner: S,
    token: Option<Token>,
}

impl<S, B, R> tower::Service<Request<B>> for Guarded<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response<R>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let admitted = match &self.token {
            None => true,
            Some(token) => {
                OPEN_PATHS.contains(&request.uri().path()) || token.admits(request.headers())
            }
        };
        if admitted {
            return Either::Left(self.inner.call(request));
        }
        let grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|kind| kind.as_bytes().starts_with(b"application/grpc"));
        Either::Right(ready(Ok(refusal(grpc))))
    }
}

/// The answer to a request without the token.
fn refusal<R: Default>(grpc: bool) -> Response<R> {
    let mut response = Response::new(R::default());
    let headers = response.headers_mut();
    if grpc {
        // A trailers-only gRPC answer: HTTP 200 with the status in the headers.
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from(tonic::Code::Unauthenticated as i32));
        if let Ok(message) = HeaderValue::from_str(REFUSED) {
            headers.insert("grpc-message", message);
        }
    } else {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn a_token_is_admitted_as_bearer_or_in_the_user_agent_and_nothing_else() {
        let token = Token::new("0123456789abcdef0123").unwrap_or_else(|e| panic!("{e}"));
        let yes = [
            headers(&[(header::AUTHORIZATION, "Bearer 0123456789abcdef0123")]),
            headers(&[(header::USER_AGENT, "aigrid-token/0123456789abcdef0123 tonic/0.14.9")]),
        ];
        let no = [
            headers(&[]),
            headers(&[(header::AUTHORIZATION, "Bearer 0123456789abcdef012")]),
            headers(&[(header::AUTHORIZATION, "0123456789abcdef0123")]),
            headers(&[(header::USER_AGENT, "tonic/0.14.9 0123456789abcdef0123")]),
            headers(&[(header::USER_AGENT, "aigrid-token/0123456789abcdef01234")]),
        ];
        assert!(yes.iter().all(|h| token.admits(h)));
        assert!(!no.iter().any(|h| token.admits(h)));
    }

    #[test]
    fn only_loopback_addresses_serve_without_a_token_unless_asked() {
        let token = Token::new("0123456789abcdef0123").ok();
        let (loopback, any) = (IpAddr::from([127, 0, 0, 1]), IpAddr::from([0, 0, 0, 0]));
        assert!(check_exposure(loopback, None, false).is_ok());
        assert!(check_exposure(any, token.as_ref(), false).is_ok());
        assert!(check_exposure(any, None, true).is_ok());
        let refused = check_exposure(any, None, false).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|e| e.contains("--no-auth")));
    }

    #[test]
    fn short_or_spaced_tokens_are_refused() {
        for bad in ["", "short", "0123456789 abcdef0123", "0123456789abcdéf0123"] {
            assert!(Token::new(bad).is_err(), "{bad}");
        }
    }
}
