//! An SMTP sink (DEV ONLY): accepts every message over a real SMTP conversation and
//! keeps it, in memory and optionally as `.eml` files (with the decoded text beside each
//! as `.txt`), so that the test environment
//! and the tests can read the invitations Mina sidor sends. It delivers nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-stuffing removed.
    pub data: String,
}

impl Mail {
    /// The body as text: after the headers, quoted-printable decoded when the message
    /// says so.
    pub fn body_text(&self) -> String {
        let (headers, body) = self
            .data
            .split_once("\r\n\r\n")
            .unwrap_or(("", self.data.as_str()));
        if !headers
            .to_ascii_lowercase()
            .contains("content-transfer-encoding: quoted-printable")
        {
            return body.to_owned();
        }
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The messages received so far.
#[derive(Debug, Clone, Default)]
pub struct Mailbox(Arc<Mutex<Vec<Mail>>>);

impl Mailbox {
    pub fn all(&self) -> Vec<Mail> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn push(&self, mail: Mail) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(mail);
    }
}

/// A running sink.
#[derive(Debug)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    pub mailbox: Mailbox,
}

impl SmtpSink {
    /// Binds and serves on the current tokio runtime; `dir` also gets each message as
    /// a file.
    pub async fn start(listen: SocketAddr, dir: Option<PathBuf>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let mailbox = Mailbox::default();
        let inbox = mailbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = inbox.clone();
                let dir = dir.clone();
                tokio::spawn(async move {
                    if let Err(e) = conversation(stream, inbox, dir).await {
                        tracing::warn!(error = %e, "smtp sink: conversation failed");
                    }
                });
            }
        });
        Ok(Self { addr, mailbox })
    }
}

async fn conversation(
    stream: TcpStream,
    inbox: Mailbox,
    dir: Option<PathBuf>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 komvux-gateway SMTP sink (DEV ONLY) ESMTP\r\n")
        .await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 localhost\r\n",
            "MAIL" => {
                from = address(&command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(&command));
                b"250 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(data) = read_data(&mut lines, &mut line).await? else {
                    return Ok(());
                };
                let mail = Mail {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                };
                if let Some(dir) = &dir {
                    save(dir, &mail)?;
                }
                inbox.push(mail);
                b"250 OK: queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The message after `DATA` up to the line with one dot, dot-stuffing undone; `None`
/// when the client hangs up before the end.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut String,
) -> std::io::Result<Option<String>> {
    let mut data = String::new();
    loop {
        line.clear();
        if lines.read_line(line).await? == 0 {
            return Ok(None);
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok(Some(data));
        }
        data.push_str(line.strip_prefix('.').unwrap_or(line));
    }
}

/// Saves a mail into `dir` as a `.eml` file, and its decoded text beside it (`.txt`) for
/// a person reading the folder.
fn save(dir: &Path, mail: &Mail) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let name = format!(
        "{}-{}.eml",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
        uuid::Uuid::new_v4().simple()
    );
    std::fs::write(dir.join(&name), &mail.data)?;
    std::fs::write(dir.join(name.replace(".eml", ".txt")), mail.body_text())?;
    tracing::info!(file = %dir.join(&name).display(), "smtp sink: message saved");
    Ok(())
}

/// The address in `MAIL FROM:<a@b>` or `RCPT TO:<a@b>`.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_default()
}
