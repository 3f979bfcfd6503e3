//! The client of a discovery server, for `aigridc discovery ...` and for binding.
//!
//! URLs: `http://host:port` (or `grpc://`) in the clear, `https://host:port` (or `grpc+tls://`)
//! over TLS, trusting the web PKI roots or the CA given in [`ClientOptions::ca_pem`]. Cards a
//! server sends are validated like any other, so a wrong server cannot feed a build a bad card.

use std::time::Duration;

use aigrid_discovery::{Card, Stage};
use tokio_stream::{Stream, StreamExt};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::proto;
use crate::proto::discovery_client::DiscoveryClient;
use crate::proto::watch_event::Kind;

/// The largest answer the client accepts.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// How to reach a server.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// The bearer token sent with writes.
    pub token: Option<String>,
    /// A PEM CA certificate to trust for `https://` servers, in place of the web PKI roots.
    pub ca_pem: Option<Vec<u8>>,
    /// How long a request may take (default 30 s); connecting takes at most 5 s.
    pub timeout: Option<Duration>,
}

/// Why a request to discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not one of a discovery server.
    #[error("`{url}` is not a discovery URL: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached.
    #[error("cannot reach discovery at {url}: {reason}")]
    Unreachable {
        /// The server's URL.
        url: String,
        /// The transport's explanation.
        reason: String,
    },
    /// The server answered with an error.
    #[error("discovery at {url} refused the request ({code}): {message}")]
    Refused {
        /// The server's URL.
        url: String,
        /// The gRPC status code, in words.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server sent something that is not a valid answer.
    #[error("discovery at {url} sent a bad answer: {reason}")]
    BadAnswer {
        /// The server's URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What a query found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    /// The matching cards, by id.
    pub cards: Vec<Card>,
    /// How many matched; more than `cards.len()` when the server's limit cut the answer.
    pub total: u64,
    /// How many live cards the server holds.
    pub offered: u64,
    /// The funnel, when asked for.
    pub stages: Vec<Stage>,
}

/// A change seen by a watch.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A matching card, registered or replaced (first, every matching card).
    Registered(Box<Card>),
    /// A card was deregistered, or no longer matches.
    Removed(String),
    /// A card's lease expired.
    Expired(String),
}

/// A connection to a discovery server.
#[derive(Clone)]
pub struct Client {
    inner: DiscoveryClient<Channel>,
    token: Option<MetadataValue<Ascii>>,
    url: String,
}

impl Client {
    /// Connects to the server at `url`.
    pub async fn connect(url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let bad = |reason: String| ClientError::BadUrl { url: url.to_owned(), reason };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("grpc+tls://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("grpc://") {
            (false, rest)
        } else {
            return Err(bad(
                "it starts with `http://`, `https://`, `grpc://` or `grpc+tls://`".into()
            ));
        };
        let address = rest.trim_end_matches('/');
        if address.is_empty() || address.contains('/') {
            return Err(bad("it is a scheme, a host and a port: `http://127.0.0.1:7600`".into()));
        }
        let scheme = if tls { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{address}"))
            .map_err(|error| bad(chain(&error)))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(options.timeout.unwrap_or(Duration::from_secs(30)));
        if tls {
            let mut config = ClientTlsConfig::new();
            config = match &options.ca_pem {
                Some(pem) => config.ca_certificate(Certificate::from_pem(pem)),
                None => config.with_webpki_roots(),
            };
            endpoint = endpoint.tls_config(config).map_err(|error| bad(chain(&error)))?;
        }
        let channel = endpoint.connect().await.map_err(|error| ClientError::Unreachable {
            url: url.to_owned(),
            reason: chain(&error),
        })?;
        let token = match options.token {
            Some(token) => Some(
                format!("Bearer {}", token.trim())
                    .parse()
                    .map_err(|_| bad("the token holds characters a header cannot".into()))?,
            ),
            None => None,
        };
        let inner = DiscoveryClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Client { inner, token, url: url.to_owned() })
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn write<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            request.metadata_mut().insert("authorization", token.clone());
        }
        request
    }

    fn refused(&self, status: tonic::Status) -> ClientError {
        if matches!(status.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded) {
            return ClientError::Unreachable {
                url: self.url.clone(),
                reason: status.message().to_owned(),
            };
        }
        ClientError::Refused {
            url: self.url.clone(),
            code: format!("{:?}", status.code()),
            message: status.message().to_owned(),
        }
    }

    fn card(&self, json: &str) -> Result<Card, ClientError> {
        Card::from_json(json).map_err(|error| ClientError::BadAnswer {
            url: self.url.clone(),
            reason: format!("a card does not validate: {error}"),
        })
    }

    /// Registers cards (replacing those with the same ids), with a lease or for good.
    pub async fn register(
        &mut self,
        cards: &[Card],
        lease: Option<Duration>,
    ) -> Result<Vec<String>, ClientError> {
        let request = self.write(proto::RegisterRequest {
            cards: cards.iter().map(Card::to_json).collect(),
            lease_ms: lease.map_or(0, |l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)),
        });
        let response = self.inner.register(request).await.map_err(|s| self.refused(s))?;
        Ok(response.into_inner().ids)
    }

    /// Renews leases; returns the ids the server does not know (any more).
    pub async fn heartbeat(&mut self, ids: &[String]) -> Result<Vec<String>, ClientError> {
        let request = self.write(proto::HeartbeatRequest { ids: ids.to_vec() });
        let response = self.inner.heartbeat(request).await.map_err(|s| self.refused(s))?;
        Ok(response.into_inner().unknown)
    }

    /// Removes cards; returns how many were registered.
    pub async fn deregister(&mut self, ids: &[String]) -> Result<u64, ClientError> {
        let request = self.write(proto::DeregisterRequest { ids: ids.to_vec() });
        let response = self.inner.deregister(request).await.map_err(|s| self.refused(s))?;
        Ok(response.into_inner().removed)
    }

    /// The live cards satisfying `predicate` (every card when empty), with the funnel when
    /// `explain`; at most `limit` (0: the server's limit).
    pub async fn query(
        &mut self,
        predicate: &str,
        explain: bool,
        limit: u32,
    ) -> Result<Answer, ClientError> {
        let request = proto::QueryRequest { predicate: predicate.to_owned(), explain, limit };
        let response = self.inner.query(request).await.map_err(|s| self.refused(s))?.into_inner();
        let cards = response.cards.iter().map(|json| self.card(json)).collect::<Result<_, _>>()?;
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let stages = response
            .stages
            .into_iter()
            .map(|stage| Stage {
                clause: stage.clause,
                before: count(stage.before),
                dropped: count(stage.dropped),
                why: stage.why,
            })
            .collect();
        Ok(Answer { cards, total: response.total, offered: response.offered, stages })
    }

    /// The matching cards, then every change to them, until the server ends the watch.
    pub async fn watch(
        &mut self,
        predicate: &str,
    ) -> Result<impl Stream<Item = Result<Change, ClientError>> + use<>, ClientError> {
        let request = proto::WatchRequest { predicate: predicate.to_owned() };
        let stream = self.inner.watch(request).await.map_err(|s| self.refused(s))?.into_inner();
        let client = self.clone();
        Ok(stream.map(move |event| {
            let event = event.map_err(|s| client.refused(s))?;
            match Kind::try_from(event.kind) {
                Ok(Kind::Registered) => Ok(Change::Registered(Box::new(client.card(&event.card)?))),
                Ok(Kind::Removed) => Ok(Change::Removed(event.id)),
                Ok(Kind::Expired) => Ok(Change::Expired(event.id)),
                Ok(Kind::Unspecified) | Err(_) => Err(ClientError::BadAnswer {
                    url: client.url.clone(),
                    reason: format!("an event of unknown kind {}", event.kind),
                }),
            }
        }))
    }
}

/// An error and its sources, joined: transport errors say little at the top.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
