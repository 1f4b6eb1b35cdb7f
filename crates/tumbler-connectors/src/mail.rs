//! Sending a plain-text mail over SMTP (plain, STARTTLS or implicit TLS, with optional
//! credentials). Certificates are checked against the web PKI roots; the password is handed to
//! the transport and never appears in an error.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// Plain, then `STARTTLS` (required).
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// Where and how mail is sent.
#[derive(Debug, Clone)]
pub struct SmtpServer {
    /// Host name (checked against the certificate with TLS).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Transport protection.
    pub security: SmtpSecurity,
    /// Login, if the server wants one.
    pub credentials: Option<(String, SecretString)>,
    /// The limit for the whole exchange.
    pub timeout: Duration,
}

/// One plain-text message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `From` (an address, optionally with a name: `Tumbler <tumbler@example.com>`).
    pub from: String,
    /// Recipients' addresses.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address is not valid.
    #[error("{0:?} is not a valid mail address")]
    Address(String),
    /// The message could not be built.
    #[error("the message could not be built: {0}")]
    Message(String),
    /// The server could not be reached, refused the login or the message.
    #[error("the SMTP server did not take the message: {0}")]
    Smtp(String),
}

impl MailError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Address(_) => "invalid_address",
            Self::Message(_) => "invalid_message",
            Self::Smtp(_) => "smtp_failed",
        }
    }
}

/// Parses `text` as a mailbox (`a@b.c` or `Name <a@b.c>`).
pub fn parse_mailbox(text: &str) -> Result<Mailbox, MailError> {
    text.parse::<Mailbox>()
        .map_err(|_| MailError::Address(text.to_owned()))
}

/// Sends `mail` through `server`.
pub async fn send_mail(server: &SmtpServer, mail: &Mail) -> Result<(), MailError> {
    let smtp = |e: lettre::transport::smtp::Error| MailError::Smtp(e.to_string());
    let builder = match server.security {
        // Plain SMTP is what the administrator chose for this relay.
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host),
        SmtpSecurity::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&server.host).map_err(smtp)?
        }
        SmtpSecurity::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&server.host).map_err(smtp)?
        }
    };
    let mut builder = builder.port(server.port).timeout(Some(server.timeout));
    if let Some((user, password)) = &server.credentials {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    let transport = builder.build();
    let mut message = Message::builder()
        .from(parse_mailbox(&mail.from)?)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN);
    for to in &mail.to {
        message = message.to(parse_mailbox(to)?);
    }
    let message = message
        .body(mail.body.clone())
        .map_err(|e| MailError::Message(e.to_string()))?;
    let send = transport.send(message);
    match tokio::time::timeout(server.timeout, send).await {
        Err(_) => Err(MailError::Smtp("timed out".to_owned())),
        Ok(result) => result.map(|_| ()).map_err(smtp),
    }
}
