//! The TLS configuration seen by a real TLS client (openssl s_client): old protocol
//! versions and handshakes without a client certificate are refused.

use std::process::Stdio;

use tokio::process::Command;

use komvux_devkit::devpki::OrgIdForm;

use crate::support::{Db, STOCKHOLM_ORG, TestApp};

/// Whether `openssl s_client` completes a handshake with these extra arguments.
async fn handshake(app: &TestApp, args: &[&str]) -> (bool, String) {
    let mut out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", app.port),
            "-servername",
            "localhost",
        ])
        .args([
            "-CAfile",
            &app.pki.dir.join("ca.pem").display().to_string(),
            "-verify_return_error",
            "-brief",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    // "Q" at the start of a line makes s_client close the connection and exit.
    if let Some(mut stdin) = out.stdin.take() {
        let _ = tokio::io::AsyncWriteExt::write_all(&mut stdin, b"Q\n").await;
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), out.wait_with_output())
        .await
        .expect("s_client finished")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("CONNECTION ESTABLISHED"),
        text,
    )
}

#[actix_web::test]
async fn old_protocols_and_missing_client_certificates_are_refused() {
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    let cert = app
        .pki
        .ca
        .client("Stockholm", &OrgIdForm::Expisoft(STOCKHOLM_ORG.into()))
        .unwrap();
    let (c, k) = (
        app.pki.dir.join("client.pem"),
        app.pki.dir.join("client.key"),
    );
    std::fs::write(&c, cert.cert_pem().unwrap()).unwrap();
    std::fs::write(&k, cert.key_pem().unwrap()).unwrap();
    let (c, k) = (c.display().to_string(), k.display().to_string());
    let with_cert = ["-cert", c.as_str(), "-key", k.as_str()];

    // positive controls: TLS 1.2 and 1.3 with a client certificate
    for v in ["-tls1_2", "-tls1_3"] {
        let args: Vec<&str> = with_cert.iter().copied().chain([v]).collect();
        let (ok, text) = handshake(&app, &args).await;
        assert!(ok, "{v} with a certificate: {text}");
    }
    // TLS 1.0 and 1.1 are refused even when the client allows them
    for v in ["-tls1", "-tls1_1"] {
        let args: Vec<&str> = with_cert
            .iter()
            .copied()
            .chain([v, "-cipher", "DEFAULT@SECLEVEL=0"])
            .collect();
        let (ok, text) = handshake(&app, &args).await;
        assert!(!ok, "{v} must be refused: {text}");
    }
    // no client certificate: refused at the handshake
    let (ok, text) = handshake(&app, &["-tls1_2"]).await;
    assert!(!ok, "no certificate: {text}");
    app.stop().await;
}
