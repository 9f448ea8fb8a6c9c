//! One module per trigger: read its envelope, hand each request to the [`Pipeline`], and build
//! the answer that trigger expects. No trigger imports another; what they share lives in the
//! intake and the outcome table.
//!
//! [`Pipeline`]: crate::send::pipeline::Pipeline

pub mod contact_events;
pub mod flow;
pub mod http;
pub mod invoke;
pub mod recognise;
pub mod sqs;

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::time::Instant;

    use crate::config::Config;
    use crate::connect::{ContactId, ContactStarter, StartError};
    use crate::domain::OutboundChat;
    use crate::intake::Intake;
    use crate::invocation::Invocation;
    use crate::send::Sender;
    use crate::send::pipeline::Pipeline;

    /// A Connect port that starts every contact and counts the calls.
    pub(crate) struct CountingConnect(Arc<AtomicUsize>);

    impl ContactStarter for CountingConnect {
        fn start_contact<'a>(
            &'a self,
            _: &'a OutboundChat,
        ) -> futures::future::BoxFuture<'a, Result<ContactId, StartError>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(ContactId::new(format!("contact-{n}"))) })
        }
    }

    /// The sample configuration's intake and a sender over [`CountingConnect`].
    pub(crate) struct Fixture {
        intake: Intake,
        sender: Sender<CountingConnect>,
        pub calls: Arc<AtomicUsize>,
    }

    impl Fixture {
        pub(crate) fn new() -> Self {
            let config = Config::from_lookup(|name| {
                connect_simulator::sample::FUNCTION_VARIABLES
                    .iter()
                    .find(|(variable, _)| *variable == name)
                    .map(|(_, value)| value.to_string())
            })
            .expect("test configuration");
            let calls = Arc::new(AtomicUsize::new(0));
            Self {
                intake: Intake::new(config.defaults.clone()),
                sender: Sender::new(CountingConnect(Arc::clone(&calls)), &config),
                calls,
            }
        }

        pub(crate) fn invocation(&self, trigger: &'static str, deadline: Instant) -> Invocation {
            self.sender.invocation(trigger, deadline)
        }

        pub(crate) fn pipeline<'a>(
            &'a self,
            invocation: &'a Invocation,
        ) -> Pipeline<'a, CountingConnect> {
            Pipeline::new(&self.intake, &self.sender, invocation)
        }
    }
}
