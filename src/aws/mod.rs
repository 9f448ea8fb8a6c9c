//! What every SDK client shares: the settings read from the `AWS_*` environment
//! ([`settings`]), and the HTTPS client, shared configuration and timeouts ([`client`]).

pub mod client;
pub mod settings;
