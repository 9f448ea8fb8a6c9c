//! A sample Connect instance for local runs, tests and benchmarks, kept in one place.
//!
//! The ids and source numbers the function is configured with when it talks to the simulator
//! (which accepts any well-formed ids).

/// The sample instance's id.
pub const INSTANCE_ID: &str = "8f4a2c1e-0000-4000-8000-000000000001";

/// The sample contact flow's id.
pub const CONTACT_FLOW_ID: &str = "5b1e9d3a-0000-4000-8000-000000000002";

/// The sample SMS source number.
pub const SMS_SOURCE_ARN: &str =
    "arn:aws:connect:us-east-1:123456789012:phone-number/0b6b3f0e-1e2d-4b7a-9f3c-5a6b7c8d9e0f";

/// The sample WhatsApp source number.
pub const WHATSAPP_SOURCE_ARN: &str =
    "arn:aws:connect:us-east-1:123456789012:phone-number/7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";

/// The function's variables for the sample instance: every default set.
pub const FUNCTION_VARIABLES: [(&str, &str); 4] = [
    ("CONNECT_INSTANCE_ID", INSTANCE_ID),
    ("CONNECT_CONTACT_FLOW_ID", CONTACT_FLOW_ID),
    ("SMS_SOURCE_PHONE_NUMBER_ARN", SMS_SOURCE_ARN),
    ("WHATSAPP_SOURCE_PHONE_NUMBER_ARN", WHATSAPP_SOURCE_ARN),
];
