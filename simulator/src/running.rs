//! Starting a simulator and the handle a test holds: endpoint, records, scripts, shutdown.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::{RateLimit, SimulatorConfig};
use crate::contacts::StartedContact;
use crate::faults::{ScriptedReply, TokenBucket};
use crate::handler::Shared;
use crate::journal::{JournalEntry, Summary};
use crate::server;

/// Entry point: starts a simulator on the caller's tokio runtime.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start(config: SimulatorConfig) -> io::Result<RunningSimulator> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts on `addr` (port 0 picks a free port). Fails with `InvalidInput` for a config
    /// that cannot mean anything (a probability outside 0..=1, a negative rate).
    pub async fn start_on(
        addr: SocketAddr,
        config: SimulatorConfig,
    ) -> io::Result<RunningSimulator> {
        config
            .check()
            .map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why))?;
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (shutdown, signal) = watch::channel(());
        let task = tokio::spawn(server::serve(listener, Arc::clone(&shared), signal));
        Ok(RunningSimulator {
            local_addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

/// A running simulator. Dropping it stops the server and closes its connections.
#[derive(Debug)]
pub struct RunningSimulator {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<watch::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSimulator {
    /// `http://HOST:PORT`, for the SDK's `endpoint_url` or `AWS_ENDPOINT_URL_CONNECT`. An
    /// unspecified bind address (0.0.0.0) is given as loopback, which is reachable.
    pub fn endpoint_url(&self) -> String {
        let mut addr = self.local_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}")
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every finished request, in arrival order (a request still being delayed is not in it yet).
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.state().journal.entries()
    }

    /// Every contact created, in creation order, including those answered with a 500 or a drop.
    pub fn contacts(&self) -> Vec<StartedContact> {
        self.shared.state().contacts.all()
    }

    pub fn summary(&self) -> Summary {
        let state = self.shared.state();
        Summary::of(&state.journal.entries(), state.contacts.len())
    }

    /// Queues replies for the next valid, authenticated requests, in order, after any already
    /// queued. Throttled requests do not consume them.
    pub fn script(&self, replies: Vec<ScriptedReply>) {
        self.shared.state().script.extend(replies);
    }

    /// Changes the API rate limit from now on, as a quota change in the account does (`None`
    /// lifts it). Tokens earned at the old rate are kept, up to the new burst.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let now = tokio::time::Instant::now();
        let mut state = self.shared.state();
        state.bucket = match (state.bucket.take(), limit) {
            (Some(mut bucket), Some(limit)) => {
                bucket.set_limit(limit, now);
                Some(bucket)
            }
            (None, Some(limit)) => Some(TokenBucket::new(limit, now)),
            (_, None) => None,
        };
    }

    /// Forgets every client token seen so far, standing for Connect's 7-day token memory
    /// running out: the same token then starts a second contact.
    pub fn forget_tokens(&self) {
        self.shared.state().contacts.forget_tokens();
    }

    /// Ends every active chat, freeing room under `max_active_chats`.
    pub fn end_all_chats(&self) {
        self.shared.state().contacts.end_all();
    }

    /// Journal entries as they are written, for live logging (the CLI uses it). A receiver that
    /// falls more than 1024 entries behind loses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<JournalEntry> {
        self.shared.subscribe()
    }

    /// The contact events of the contacts started from now on, in Amazon Connect's EventBridge
    /// shape: `INITIATED` and `CONNECTED_TO_SYSTEM` at once, then (with
    /// [`SimulatorConfig::end_chats_after`]) a customer's reply if
    /// [`SimulatorConfig::customer_replies`], and `DISCONNECTED`. Only contacts started while
    /// someone subscribes are told. A receiver that falls more than 1024 events behind loses
    /// the oldest.
    pub fn contact_events(&self) -> broadcast::Receiver<serde_json::Value> {
        self.shared.contact_events.subscribe()
    }

    /// Stops accepting, closes open connections, and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        self.shutdown.take();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        // Dropping the sender wakes every `changed()`: the accept loop and each connection end.
        self.shutdown.take();
    }
}
