//! What may be sent now, decided without any I/O: the recipient's keyed hash, the
//! do-not-contact list's scopes, and the frequency caps a request must fit in.

mod caps;
mod recipient;
mod suppression;

pub use caps::{CapCounter, CapPolicy, CapRules, CapScope};
pub use recipient::{RecipientId, RecipientKey, holder_of};
pub use suppression::{ListScope, Listing, SuppressReason};
