//! The HTTP exchange: a trait, so a sender can be driven by anything that answers, and the real
//! one over reqwest (blocking: the server's outbox sends from its own thread).

use crate::{HttpRequest, HttpResponse, Method};
use std::time::Duration;

/// Why no answer came.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransportError {
    /// Nothing reached the service (no connection): safe to send again.
    #[error("could not connect: {0}")]
    NotSent(String),
    /// The request may have reached it and the answer did not come back.
    #[error("no answer: {0}")]
    NoAnswer(String),
}

pub trait Transport {
    fn exchange(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// HTTP over reqwest, with a timeout per exchange.
pub struct HttpTransport {
    client: reqwest::blocking::Client,
}

impl HttpTransport {
    pub fn new(timeout: Duration) -> Result<HttpTransport, TransportError> {
        // reqwest's TLS takes the process's rustls provider; ring, unless one is installed
        // already (then this changes nothing).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| TransportError::NotSent(e.to_string()))?;
        Ok(HttpTransport { client })
    }
}

impl Transport for HttpTransport {
    fn exchange(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = match request.method {
            Method::Get => self.client.get(&request.url),
            Method::Post => self.client.post(&request.url).body(request.body.clone()),
        };
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().map_err(|e| {
            if e.is_connect() || e.is_builder() {
                TransportError::NotSent(e.to_string())
            } else {
                TransportError::NoAnswer(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(|e| TransportError::NoAnswer(e.to_string()))?.to_vec();
        Ok(HttpResponse { status, body })
    }
}
