//! What a trigger hands each request to: the intake, the sender and the invocation's budget,
//! bound together for one invocation. A trigger keeps only its envelope and its answer.

use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::connect::ContactStarter;
use crate::domain::{OutboundChat, ValidationError};
use crate::intake::Intake;
use crate::intake::token::DeliveryIdentity;
use crate::invocation::Invocation;
use crate::outcome::{NotSent, Outcome};
use crate::send::Sender;
use crate::send::deferral::Route;
use crate::send::ledger::{Book, Followed, Recorder};
use crate::send::protect::{Protection, Screened};
use crate::store::ledger::ContactChange;

/// One invocation's way through: admit, then send, each request to exactly one outcome.
pub struct Pipeline<'a, C> {
    intake: &'a Intake,
    sender: &'a Sender<C>,
    invocation: &'a Invocation,
    /// The protection decisions made for a whole batch.
    screened: Screened,
    /// The ledger entries looked up for the batch, and its changes until the end of it.
    book: Book,
}

impl<'a, C: ContactStarter> Pipeline<'a, C> {
    pub fn new(intake: &'a Intake, sender: &'a Sender<C>, invocation: &'a Invocation) -> Self {
        Self {
            intake,
            sender,
            invocation,
            screened: Screened::default(),
            book: Book::default(),
        }
    }

    /// The ledger, when configured: the status routes read it.
    pub fn ledger(&self) -> Option<&Recorder> {
        self.sender.recorder()
    }

    /// Writes the ledger's changes of the batch and publishes them (see [`Recorder::settle`]):
    /// the labels of the requests to deliver again because a change of theirs was not
    /// recorded or not published. Nothing without a ledger.
    pub async fn settle(&self) -> Vec<String> {
        match self.sender.recorder() {
            Some(recorder) => {
                let cutoff = self.sender.cutoff(self.invocation);
                recorder.settle(&self.book, self.invocation, cutoff).await
            }
            None => Vec::new(),
        }
    }

    /// Moves a contact forward by one of Connect's contact events, counted in the
    /// invocation's tally. `None` without a ledger.
    pub async fn follow_contact(
        &self,
        contact_id: &str,
        change: &ContactChange,
    ) -> Option<Followed> {
        let recorder = self.sender.recorder()?;
        let cutoff = self.sender.cutoff(self.invocation);
        Some(recorder.follow_contact(contact_id, change, cutoff).await)
    }

    /// The last moment the invocation's own calls may run (see [`Sender::cutoff`]).
    pub fn cutoff(&self) -> tokio::time::Instant {
        self.sender.cutoff(self.invocation)
    }

    /// The invocation's tally and budget, for the triggers that count beside the outcomes.
    pub fn invocation(&self) -> &Invocation {
        self.invocation
    }

    /// Recipient protection, when configured: the HTTP routes of the do-not-contact list.
    pub fn protection(&self) -> Option<&Protection> {
        self.sender.protection()
    }

    /// Decides recipient protection and looks the ledger up for every admitted request of a
    /// batch at once (nothing when both are off): one read and one write for the caps, so
    /// that each send finds its decision and its entry ready. Each request comes with the id
    /// it is sent under.
    pub async fn screen(&self, requests: &[(&str, &OutboundChat)]) {
        self.sender
            .screen(self.invocation, requests, &self.screened, &self.book)
            .await;
    }

    /// The last moment a call to the recipient state may end: the invocation's deadline less
    /// the time its answer needs.
    pub fn state_cutoff(&self) -> tokio::time::Instant {
        self.sender.cutoff(self.invocation)
    }

    /// Runs `runs` (one per record, each giving its index and id when the record is to come
    /// back) with no more under way than the invocation may have in flight, and gives the ids
    /// to come back in the records' order.
    pub async fn failed_in_order<F>(&self, runs: impl Iterator<Item = F>) -> Vec<String>
    where
        F: Future<Output = Option<(usize, String)>>,
    {
        let mut failed: Vec<(usize, String)> = stream::iter(runs)
            .buffer_unordered(self.max_in_flight())
            .filter_map(std::future::ready)
            .collect()
            .await;
        failed.sort_unstable_by_key(|(index, _)| *index);
        failed.into_iter().map(|(_, id)| id).collect()
    }

    /// Most requests worth having under way at once.
    pub fn max_in_flight(&self) -> usize {
        self.sender.max_in_flight()
    }

    /// Whether requests outside a send window may need handing to the request queue: only then
    /// is a copy of each request worth keeping.
    pub fn keeps_requests(&self) -> bool {
        self.sender.has_window()
    }

    /// Whether the invocation's cutoff has passed: whatever failed now was cut by the deadline
    /// (or would have been), not refused.
    pub fn past_cutoff(&self) -> bool {
        tokio::time::Instant::now() >= self.sender.cutoff(self.invocation)
    }

    /// Admits a request given as JSON text.
    pub fn admit_json(
        &self,
        text: &str,
        delivery: Option<DeliveryIdentity<'_>>,
    ) -> Result<OutboundChat, ValidationError> {
        self.intake.admit_json(text, delivery)
    }

    /// Admits a request given as a JSON value.
    pub fn admit_value(
        &self,
        value: Value,
        delivery: Option<DeliveryIdentity<'_>>,
    ) -> Result<OutboundChat, ValidationError> {
        self.intake.admit_value(value, delivery)
    }

    /// Takes an admitted (or refused) request to its outcome; `request_id` names it in logs
    /// (its request span), `route` is where it waits if it is outside its send window.
    pub async fn send(
        &self,
        request_id: &str,
        request: Result<OutboundChat, ValidationError>,
        route: Route<'_>,
    ) -> Outcome {
        self.sender
            .process(
                self.invocation,
                request_id,
                request,
                route,
                &self.screened,
                &self.book,
            )
            .await
    }

    /// Reports a request not sent because of an earlier one of its FIFO group (`reason`).
    pub async fn skip(
        &self,
        request_id: &str,
        chat: Option<&OutboundChat>,
        reason: NotSent,
    ) -> Outcome {
        self.sender
            .skip(
                self.invocation,
                request_id,
                chat,
                reason,
                &self.screened,
                &self.book,
            )
            .await
    }
}
