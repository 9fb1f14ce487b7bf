//! An allowed `ssh -L` forward: bytes copied both ways between the client's channel and a `direct-tcpip` channel the
//! gateway opened on the target. The decision was recorded when the channel opened; the byte counts are recorded
//! when it closes (the forwarded bytes themselves are an opaque protocol and are not stored).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use russh::{client, server, Channel};
use sluice_record::{Event, NoticeEvent};

use crate::session::Ready;

/// Copies until either side closes.
pub async fn pipe(client: Channel<server::Msg>, target: Channel<client::Msg>, ready: Arc<Ready>) {
    let mut client = client.into_stream();
    let mut target = target.into_stream();
    let outcome = tokio::io::copy_bidirectional(&mut client, &mut target).await;
    let (up, down) = outcome.as_ref().map_or((0, 0), |(u, d)| (*u, *d));
    ready.log.bytes_client.fetch_add(up, Ordering::Relaxed);
    ready.log.bytes_target.fetch_add(down, Ordering::Relaxed);
    let message = match outcome {
        Ok(_) => format!("forward closed: {up} bytes to the target, {down} bytes back"),
        Err(e) => format!(
            "forward ended ({}): {up} bytes to the target, {down} bytes back",
            e.kind()
        ),
    };
    if let Err(error) = ready.log.append(&Event::Notice(NoticeEvent {
        severity: "FORWARD".to_owned(),
        message,
    })) {
        tracing::error!(%error, "could not record the end of a forward");
    }
}
