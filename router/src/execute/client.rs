//! HTTP client for subgraph requests: one keep-alive pool shared by all subgraphs,
//! HTTP/2 where TLS negotiates it, a deadline on every request.

use crate::auth::Caller;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Largest subgraph response body accepted; a subgraph sending more is treated as broken.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Transport(String),
    #[error("response body could not be read: {0}")]
    Body(String),
}

/// A response: status and the whole body.
#[derive(Clone)]
pub struct FetchResponse {
    pub status: StatusCode,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct SubgraphClient {
    /// HTTP/1.1, or HTTP/2 when TLS negotiates it.
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// HTTP/2 with prior knowledge (h2c over plain HTTP, or over TLS).
    http2: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl SubgraphClient {
    pub fn new() -> Result<Self, FetchError> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        http.set_keepalive(Some(Duration::from_secs(60)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| FetchError::Transport(format!("TLS set-up failed: {e}")))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector.clone());
        let http2 = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_only(true)
            .build(connector);
        Ok(SubgraphClient {
            http: client,
            http2,
        })
    }

    /// POSTs a JSON body (with the caller's identity headers, if any) and returns the
    /// response, whatever its status.
    pub async fn post_json(
        &self,
        url: &Uri,
        body: Bytes,
        timeout: Duration,
        http2_only: bool,
        caller: Option<&Caller>,
        trace: Option<&crate::trace::TraceParent>,
    ) -> Result<FetchResponse, FetchError> {
        let http = if http2_only { &self.http2 } else { &self.http };
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(url.clone())
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .header(
                header::ACCEPT,
                HeaderValue::from_static("application/graphql-response+json, application/json"),
            );
        if let Some(caller) = caller {
            for (name, value) in caller.headers() {
                request = request.header(name, value);
            }
        }
        if let Some(trace) = trace {
            request = request.header(crate::trace::TRACEPARENT, trace.header_value());
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        self.exchange(http, request, timeout).await
    }

    /// GETs `url` (a JWKS, say) over HTTP/1.1 or negotiated HTTP/2.
    pub async fn get(&self, url: &Uri, timeout: Duration) -> Result<FetchResponse, FetchError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(url.clone())
            .header(header::ACCEPT, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::new()))
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        self.exchange(&self.http, request, timeout).await
    }

    async fn exchange(
        &self,
        http: &Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<FetchResponse, FetchError> {
        let exchange = async {
            let response = http
                .request(request)
                .await
                .map_err(|e| FetchError::Transport(describe_transport_error(&e)))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| FetchError::Body(e.to_string()))?
                .to_bytes();
            Ok(FetchResponse { status, body })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| FetchError::Timeout(timeout))?
    }
}

/// hyper's top-level message is generic ("client error (Connect)"); the cause says more.
fn describe_transport_error(error: &hyper_util::client::legacy::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
