//! Sending webhooks: one task per (event, receiver), retried with backoff, every attempt written to the store's
//! delivery log. Nothing here can block or fail a review: the broker hands events over a channel and never waits.

use std::sync::Arc;
use std::time::Duration;

use sluice_store::reviews::WebhookDelivery;
use sluice_store::Store;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::webhook::{self, Event, WebhookTarget, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Delivery settings shared by every job.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    pub store: Store,
    pub targets: Vec<WebhookTarget>,
    pub api_base: Option<String>,
    pub max_attempts: u32,
}

/// Runs until the sender side (the broker) is dropped.
pub(crate) async fn run(dispatcher: Arc<Dispatcher>, mut events: mpsc::UnboundedReceiver<Event>) {
    while let Some(event) = events.recv().await {
        for target in dispatcher.targets.iter().filter(|t| t.gets(&event)) {
            let (d, target, event) = (Arc::clone(&dispatcher), target.clone(), event.clone());
            tokio::spawn(async move { deliver(&d, &target, &event).await });
        }
    }
}

/// What one attempt got back.
#[derive(Debug)]
struct Attempt {
    status: Option<u16>,
    error: Option<String>,
}

async fn deliver(d: &Dispatcher, target: &WebhookTarget, event: &Event) {
    let payload = webhook::payload(event, target.format, d.api_base.as_deref());
    let body = match serde_json::to_vec(&payload) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "webhook payload does not serialise");
            return;
        }
    };
    let url = webhook::redact_url(&target.url);
    for attempt in 1..=d.max_attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(webhook::backoff(attempt)).await;
        }
        let result = send(target, event, body.clone()).await;
        let ok = result.status.is_some_and(|s| (200..300).contains(&s));
        let log = WebhookDelivery {
            at: OffsetDateTime::now_utc(),
            event: event.kind.as_str().to_owned(),
            subject: event.subject.clone(),
            url: url.clone(),
            attempt,
            status_code: result.status,
            ok,
            error: result.error.clone(),
        };
        if let Err(error) = d.store.record_delivery(log).await {
            tracing::warn!(%error, "could not log a webhook delivery");
        }
        if ok {
            return;
        }
        tracing::warn!(url, attempt, status = ?result.status, error = ?result.error, event = event.kind.as_str(),
            "webhook delivery failed");
    }
}

async fn send(target: &WebhookTarget, event: &Event, body: Vec<u8>) -> Attempt {
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let signature = webhook::sign(target.secret.as_bytes(), timestamp, &body);
    let url = target.url.clone();
    let kind = event.kind.as_str();
    let sent = tokio::task::spawn_blocking(move || {
        let result = ureq::post(&url)
            .timeout(ATTEMPT_TIMEOUT)
            .set("Content-Type", "application/json")
            .set(TIMESTAMP_HEADER, &timestamp.to_string())
            .set(SIGNATURE_HEADER, &signature)
            .set(EVENT_HEADER, kind)
            .send_bytes(&body);
        match result {
            Ok(response) => Attempt {
                status: Some(response.status()),
                error: None,
            },
            Err(ureq::Error::Status(code, _)) => Attempt {
                status: Some(code),
                error: Some(format!("the receiver answered {code}")),
            },
            // The transport error's kind only: its text may quote the URL, query and credentials included.
            Err(ureq::Error::Transport(t)) => Attempt {
                status: None,
                error: Some(format!("transport error: {}", t.kind())),
            },
        }
    })
    .await;
    sent.unwrap_or_else(|_| Attempt {
        status: None,
        error: Some("the delivery task failed".to_owned()),
    })
}
