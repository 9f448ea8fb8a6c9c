//! ClientToken derivation (contract §3): the same delivery, redelivered, yields the same token,
//! so Connect returns the contact it already started instead of messaging the customer twice.

use sha2::{Digest, Sha256};

use crate::domain::ClientToken;

/// Where a delivery's identity comes from. Each source has its own namespace, so tokens from
/// different sources never collide.
#[derive(Clone, Copy, Debug)]
pub enum DeliveryIdentity<'a> {
    /// An SQS record: stable across redeliveries of the same message.
    Sqs {
        queue_arn: &'a str,
        message_id: &'a str,
    },
    /// An EventBridge event: stable across the rule's retries.
    EventBridge { event_id: &'a str },
    /// A direct invocation: Lambda keeps the request id across its async retries.
    Invoke { request_id: &'a str },
    /// An HTTP request with an `Idempotency-Key` header; `item` is the batch item's identifier.
    Http {
        idempotency_key: &'a str,
        item: Option<&'a str>,
    },
    /// A contact flow's "Invoke AWS Lambda function" block: the contact and the block's
    /// parameters (canonical JSON), the same for every retry of the block on that contact.
    Flow {
        contact_id: &'a str,
        parameters: &'a str,
    },
}

impl DeliveryIdentity<'_> {
    /// A fixed-length token: the SHA-256 of the namespaced identity, in hex (64 characters).
    pub fn client_token(self) -> ClientToken {
        let source = match self {
            Self::Sqs {
                queue_arn,
                message_id,
            } => format!("sqs:{queue_arn}:{message_id}"),
            Self::EventBridge { event_id } => format!("events:{event_id}"),
            Self::Invoke { request_id } => format!("invoke:{request_id}"),
            Self::Http {
                idempotency_key,
                item: None,
            } => format!("http:{idempotency_key}"),
            Self::Http {
                idempotency_key,
                item: Some(item),
            } => {
                format!(
                    "http-batch:{}:{idempotency_key}:{item}",
                    idempotency_key.len()
                )
            }
            // A contact id holds no `:`, so the source splits one way only.
            Self::Flow {
                contact_id,
                parameters,
            } => format!("flow:{contact_id}:{parameters}"),
        };
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha256::digest(source.as_bytes());
        let mut hex = String::with_capacity(2 * digest.len());
        for byte in digest {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        ClientToken::parse(&hex).expect("a 64-character hex digest is a valid token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_the_lowercase_hex_sha256_of_the_namespaced_identity() {
        // Pinned: a message redelivered after a deployment must get the token it got before.
        let token = DeliveryIdentity::Sqs {
            queue_arn: "arn:q",
            message_id: "m-1",
        }
        .client_token();
        assert_eq!(
            token.as_str(),
            "874ccaad2cd40f866a36db50b87f1f8b5bb7931322a451a3f92e41a6cb0bad64"
        );
    }

    #[test]
    fn a_flow_token_is_the_hash_of_the_contact_and_the_canonical_parameters() {
        let token = DeliveryIdentity::Flow {
            contact_id: "c-1",
            parameters: r#"{"message":"Hi"}"#,
        }
        .client_token();
        let digest = Sha256::digest(br#"flow:c-1:{"message":"Hi"}"#);
        let expected: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(token.as_str(), expected);
    }

    #[test]
    fn the_same_delivery_always_gets_the_same_token() {
        let a = DeliveryIdentity::Sqs {
            queue_arn: "arn:q",
            message_id: "m-1",
        }
        .client_token();
        let b = DeliveryIdentity::Sqs {
            queue_arn: "arn:q",
            message_id: "m-1",
        }
        .client_token();
        assert_eq!(a, b);
        assert_eq!(a.as_str().len(), 64);
    }

    #[test]
    fn different_deliveries_and_sources_get_different_tokens() {
        let tokens = [
            DeliveryIdentity::Sqs {
                queue_arn: "arn:q",
                message_id: "m-1",
            },
            DeliveryIdentity::Sqs {
                queue_arn: "arn:q",
                message_id: "m-2",
            },
            DeliveryIdentity::Sqs {
                queue_arn: "arn:other",
                message_id: "m-1",
            },
            DeliveryIdentity::EventBridge { event_id: "m-1" },
            DeliveryIdentity::Invoke { request_id: "m-1" },
            DeliveryIdentity::Http {
                idempotency_key: "m-1",
                item: None,
            },
            DeliveryIdentity::Http {
                idempotency_key: "m-1",
                item: Some("0"),
            },
            DeliveryIdentity::Http {
                idempotency_key: "m-1",
                item: Some("1"),
            },
            DeliveryIdentity::Http {
                idempotency_key: "m-1:0",
                item: Some(""),
            },
            DeliveryIdentity::Flow {
                contact_id: "m-1",
                parameters: "{}",
            },
            DeliveryIdentity::Flow {
                contact_id: "m-2",
                parameters: "{}",
            },
            DeliveryIdentity::Flow {
                contact_id: "m-1",
                parameters: r#"{"message":"Hi"}"#,
            },
        ]
        .map(|identity| identity.client_token());
        for (i, a) in tokens.iter().enumerate() {
            for b in &tokens[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
