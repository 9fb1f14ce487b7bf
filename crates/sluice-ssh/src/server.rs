//! The client-facing russh handler of one SSH connection: authentication, channel opening, forwarding decisions.
//! Everything a channel does after it opens lives in [`crate::channel`].

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use russh::keys::HashAlg;
use russh::server::{
    self, Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Response, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelOpenFailure};
use sluice_record::Event;

use crate::login::{self, LoginResult};
use crate::session::Ready;
use crate::{Listener, SshError};

/// The prompt of keyboard-interactive token login.
const TOKEN_PROMPT: &str = "sluice token: ";

/// The login method named in the log for a typed token.
fn token_method(listener: &Listener, text: &str) -> &'static str {
    if sluice_gateway::identity::is_provider_token(&listener.deps, text.trim()) {
        "provider token"
    } else {
        "token"
    }
}

/// One connection's handler.
pub struct Handler {
    pub(crate) listener: Arc<Listener>,
    pub(crate) peer: SocketAddr,
    /// Set once authenticated; shared with the connection task, which closes the session at the end.
    pub(crate) ready: Arc<std::sync::Mutex<Option<Arc<Ready>>>>,
}

impl Handler {
    fn ready(&self) -> Option<Arc<Ready>> {
        self.ready.lock().ok().and_then(|g| g.clone())
    }

    /// Turns a login outcome into an answer; on success starts the session (recording, policy snapshot).
    async fn conclude(&mut self, login: &str, method: &str, outcome: LoginResult) -> Result<Auth, SshError> {
        match outcome? {
            Ok(who) => {
                let ready =
                    Ready::start(&self.listener.deps, &self.listener.settings, who, self.peer).await?;
                tracing::info!(peer = %self.peer, user = %ready.who.user.name, connection = %ready.who.connection.name, method, session = %ready.log.id, "SSH login");
                if let Ok(mut slot) = self.ready.lock() {
                    *slot = Some(Arc::new(ready));
                }
                Ok(Auth::Accept)
            }
            Err(refusal) => {
                tracing::info!(peer = %self.peer, login, method, reason = refusal.as_str(), "SSH login refused");
                Ok(Auth::reject())
            }
        }
    }
}

impl server::Handler for Handler {
    type Error = SshError;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let fingerprint = offer.public_key.fingerprint(HashAlg::Sha256).to_string();
        if login::key_offered(&self.listener.deps.store, user, &fingerprint).await? {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn auth_publickey(&mut self, user: &str, key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        let fingerprint = key.public_key.fingerprint(HashAlg::Sha256).to_string();
        let outcome = login::by_key(&self.listener.deps.store, user, &fingerprint).await;
        self.conclude(user, "publickey", outcome).await
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if !self.listener.settings.allow_token_password {
            return Ok(Auth::reject());
        }
        let outcome = login::by_token(&self.listener.deps, user, password, self.peer).await;
        self.conclude(user, token_method(&self.listener, password), outcome)
            .await
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        if !self.listener.settings.allow_token_password {
            return Ok(Auth::reject());
        }
        let Some(mut response) = response else {
            return Ok(Auth::Partial {
                name: Cow::Borrowed("sluice"),
                instructions: Cow::Borrowed(
                    "Log in with a sluice token (or an identity provider access token, where allowed).",
                ),
                prompts: Cow::Owned(vec![(Cow::Borrowed(TOKEN_PROMPT), false)]),
            });
        };
        let answer = response.next().map(|b| String::from_utf8_lossy(&b).into_owned());
        let Some(token) = answer else {
            return Ok(Auth::reject());
        };
        let outcome = login::by_token(&self.listener.deps, user, &token, self.peer).await;
        self.conclude(user, token_method(&self.listener, &token), outcome)
            .await
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ready) = self.ready() else {
            return Ok(());
        };
        reply.accept().await;
        tokio::spawn(crate::channel::run(channel, session.handle(), ready));
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        originator_address: &str,
        originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ready) = self.ready() else {
            return Ok(());
        };
        if !ready.options.allow_port_forwarding {
            tracing::info!(connection = %ready.who.connection.name, host_to_connect, port_to_connect, "local forwarding refused: not enabled on the connection");
            ready
                .log
                .append_durable(&Event::Notice(sluice_record::NoticeEvent {
                    severity: "REFUSED".to_owned(),
                    message: format!(
                        "forward {host_to_connect}:{port_to_connect}: not enabled on this connection"
                    ),
                }))?;
            reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
            return Ok(());
        }
        let judged = ready
            .judge
            .forward(host_to_connect, port_to_connect, &ready.log)?;
        if !judged.allowed() {
            reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
            return Ok(());
        }
        let target = match ready.target().await {
            Ok(t) => t,
            Err(error) => {
                tracing::info!(%error, "local forward: target unreachable");
                reply.reject(ChannelOpenFailure::ConnectFailed).await;
                return Ok(());
            }
        };
        let opened = target
            .channel_open_direct_tcpip(
                host_to_connect,
                port_to_connect,
                originator_address,
                originator_port,
            )
            .await;
        let target_channel = match opened {
            Ok(c) => c,
            Err(error) => {
                tracing::info!(%error, "local forward: the target refused");
                reply.reject(ChannelOpenFailure::ConnectFailed).await;
                return Ok(());
            }
        };
        reply.accept().await;
        tokio::spawn(crate::forward::pipe(channel, target_channel, ready));
        Ok(())
    }
}
