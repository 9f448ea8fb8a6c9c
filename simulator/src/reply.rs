//! The answer to one request before it becomes a hyper response: an HTTP reply, or a drop.
//!
//! A leaf module: the pipeline (`handler`) and the error wire form (`errors`) both build replies,
//! and neither needs the other to do it.

/// An HTTP answer, before it becomes a hyper response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpReply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: String,
}

/// What to do with the connection.
#[derive(Debug)]
pub(crate) enum Reply {
    Respond(HttpReply),
    /// Close the connection without writing anything.
    Drop,
}
