//! Webhooks: a notification POSTed as JSON, signed with the webhook's secret so the receiver can
//! tell it came from this control plane and was not changed on the way:
//! `X-Trellis-Signature: sha256=<hex of HMAC-SHA256(secret, body)>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Failure;

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Trellis-Signature";
/// The header naming the notification, the same for each retry (receivers can drop repeats).
pub const DELIVERY_HEADER: &str = "X-Trellis-Notification";

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One attempt: POSTs `body` to `url`. A 2xx answer delivers it; a 4xx other than 408 and 429
/// will not change by trying again.
pub async fn send(
    client: reqwest::Client,
    url: String,
    secret: String,
    notification_id: String,
    body: Vec<u8>,
) -> Result<(), Failure> {
    let response = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature(&secret, &body))
        .header(DELIVERY_HEADER, notification_id)
        .body(body)
        .send()
        .await
        .map_err(|e| Failure::transient(format!("POST {url}: {e}")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    let message = format!("POST {url} answered {status}: {text}");
    let retryable = status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
    Err(if retryable {
        Failure::transient(message)
    } else {
        Failure::permanent(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
