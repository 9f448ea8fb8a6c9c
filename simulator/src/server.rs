//! HTTP plumbing: the accept loop, one hyper HTTP/1.1 connection per client, and shutdown.
//!
//! A "drop" fault must look to the client like a connection that died: the service future fails,
//! and hyper then closes the socket without writing a response.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as IncomingBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::handler::{self, Incoming, Shared};
use crate::reply::Reply;

/// Bodies above this are refused; a real request is a few KiB at most.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The service "error" that makes hyper close the connection with no response.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `shutdown` fires (its sender sends or is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Per-connection errors (a reset before accept, out of descriptors) must not
                // stop the server; back off briefly so a persistent error does not spin.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { answer(&shared, req).await }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            // On shutdown the connection is dropped, closing the socket: the simulator is gone.
            tokio::select! {
                _ = connection => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

async fn answer(
    shared: &Shared,
    req: Request<IncomingBody>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(format!(
            "request body is larger than {MAX_BODY_BYTES} bytes"
        )),
        // The client went away mid-body: nobody to answer.
        Err(_) => return Err(DropConnection),
    };
    let incoming = Incoming {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        authorization: parts
            .headers
            .get(hyper::header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or_default().to_owned()),
        body,
    };
    match handler::handle(shared, incoming).await {
        Reply::Drop => Err(DropConnection),
        Reply::Respond(reply) => {
            let mut response = Response::new(Full::new(Bytes::from(reply.body)));
            *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
                .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            for (name, value) in reply.headers {
                if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            Ok(response)
        }
    }
}
