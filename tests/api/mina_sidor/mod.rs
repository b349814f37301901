//! Mina sidor för kommuner over real HTTPS: BankID through the real RP client against
//! the BankID test server, invitations through a real SMTP conversation, and the
//! pages as a browser without JavaScript uses them (forms and cookies).

use komvux_domain::{Kommunkod, Personnummer};
use serde_json::{Value, json};

use crate::bodies::{ansokan, anvisa, besluta, person, sok};
use crate::support::{MS_PUBLIC_URL, STOCKHOLM_ORG, TestApp};

mod accounts;
mod cases;
mod lists;

pub(crate) use accounts::*;
pub(crate) use cases::*;
pub(crate) use lists::*;

const STOCKHOLM: &str = "0180";

const GOTEBORG: &str = "1480";

/// A browser without JavaScript: a cookie jar, no automatic redirects.
pub(crate) struct Web {
    http: reqwest::Client,
    phone: reqwest::Client,
    pub base: String,
    bankid: String,
}

pub(crate) struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        attr_after(&self.body, "name=\"csrf\" value=\"").expect("a CSRF field")
    }

    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let rest = &html[start..];
    let end = rest.find(['"', '<', '&']).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

pub(crate) fn browser_client(ca_pem: &[u8]) -> reqwest::Client {
    // reqwest with a cookie store over the test CA; built like support::tls_client.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Web {
    pub fn new(app: &TestApp) -> Self {
        let ms = app.mina_sidor.as_ref().expect("spawned with Mina sidor");
        Self::at(&app.pki.ca_pem(), ms.port, ms.bankid_port)
    }

    /// Mina sidor and the BankID test server on these ports, trusting `ca_pem`.
    pub fn at(ca_pem: &[u8], port: u16, bankid_port: u16) -> Self {
        Self {
            http: browser_client(ca_pem),
            // A new connection for every call: the phone's calls are seconds apart, and
            // a kept connection that the BankID test server closes as idle just as a
            // call goes out fails it (hyper's IncompleteMessage, seen once in the
            // browser test).
            phone: reqwest::Client::builder()
                .tls_backend_preconfigured(crate::support::tls_config(ca_pem, None))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            base: format!("https://localhost:{port}"),
            bankid: format!("https://localhost:{bankid_port}"),
        }
    }

    async fn page(res: reqwest::Response) -> Page {
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(
            self.http
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts a form as if through a proxy that says it forwards for `forwarded_for`.
    pub async fn post_forwarded(
        &self,
        path: &str,
        form: &[(&str, &str)],
        forwarded_for: &str,
    ) -> Page {
        Self::page(
            self.http
                .post(format!("{}{path}", self.base))
                .header("x-forwarded-for", forwarded_for)
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts a form with the CSRF token of the page at `from`. A registration answers
    /// with a redirect to its receipt (Post/Redirect/Get), which is followed.
    pub async fn submit(&self, from: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(from).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(form);
        let r = self.post(action, &all).await;
        if r.status == 303 && r.location().starts_with("/mina-sidor/registrerat/") {
            return self.get(r.location()).await;
        }
        r
    }

    /// Posts the ansökan form with owned pairs, as the test's form builder makes them.
    pub async fn submit_ansokan(&self, fields: &[(String, String)]) -> Page {
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let path = "/mina-sidor/registrera/ansokan";
        self.submit(path, path, &refs).await
    }

    /// Looks a person up on the search page and follows the redirect to the person
    /// page (whose address holds an opaque id, never the personnummer).
    pub async fn search(&self, p: &Personnummer) -> Page {
        let page = self.person_page_of(p).await;
        self.get(&page).await
    }

    /// The search's answer: the address of the person page it redirects to.
    pub async fn person_page_of(&self, p: &Personnummer) -> String {
        let pnr = p.expose();
        let r = self
            .submit(
                "/mina-sidor/sok",
                "/mina-sidor/sok",
                &[("personnummer", &pnr)],
            )
            .await;
        assert_eq!(r.status, 303, "Post/Redirect/Get: {}", r.body);
        let to = r.location().to_owned();
        assert!(
            to.starts_with("/mina-sidor/person/") && !to.contains(&pnr) && !to.contains(&pnr[2..]),
            "{to}"
        );
        to
    }

    /// The phone: identifies the order behind `autostart` in the test app.
    pub async fn phone_identifies(&self, autostart: &str, p: &str) -> String {
        self.phone
            .post(format!("{}/testapp", self.bankid))
            .form(&[
                ("autostarttoken", autostart),
                ("personnummer", p),
                ("fornamn", "Test"),
                ("efternamn", "Testsson"),
                ("atgard", "legitimera"),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Starts BankID from a page with a BankID button (the start page or an
    /// invitation), identifies as `p` and continues; returns the last answer.
    pub async fn bankid(&self, from: &str, p: &Personnummer) -> Page {
        let start = self.get(from).await;
        let action = if from.contains("/inbjudan/") {
            from.to_owned()
        } else {
            "/mina-sidor/logga-in".to_owned()
        };
        let r = self.post(&action, &[("csrf", &start.csrf())]).await;
        assert_eq!(r.status, 303, "BankID starts: {}", r.body);
        assert_eq!(r.location(), "/mina-sidor/logga-in/bankid");
        let qr_page = self.get("/mina-sidor/logga-in/bankid").await;
        assert_eq!(qr_page.status, 200);
        let qr = self.get("/mina-sidor/logga-in/qr.svg").await;
        assert!(qr.body.contains("<svg"), "an animated QR code is served");
        let autostart = attr_after(&qr_page.body, "autostarttoken=").unwrap();
        // Before the phone identifies, the order is pending.
        let pending = self
            .post(
                "/mina-sidor/logga-in/kontrollera",
                &[("csrf", &qr_page.csrf())],
            )
            .await;
        assert_eq!(pending.status, 200);
        assert!(pending.body.contains("BankID"), "{}", pending.body);
        let phone = self.phone_identifies(&autostart, &p.expose()).await;
        assert!(phone.contains("Legitimerad"), "{phone}");
        self.post(
            "/mina-sidor/logga-in/kontrollera",
            &[("csrf", &qr_page.csrf())],
        )
        .await
    }

    /// Logs in as `p`; asserts it worked.
    pub async fn login(&self, p: &Personnummer) {
        let r = self.bankid("/mina-sidor/", p).await;
        assert_eq!(r.status, 303, "logged in: {}", r.body);
        let start = self.get("/mina-sidor/").await;
        assert!(start.body.contains("Logga ut"), "{}", start.body);
    }
}

fn kommun(k: &str) -> Kommunkod {
    Kommunkod::parse(k).unwrap()
}

/// The invitation link in the newest mail to `to`.
fn invitation_link(app: &TestApp, to: &str) -> String {
    let mails = app.mina_sidor.as_ref().unwrap().mailbox.all();
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.to.iter().any(|t| t == to))
        .unwrap_or_else(|| panic!("a mail to {to} in {mails:?}"));
    assert!(
        mail.data.contains("Subject: Inbjudan till Mina sidor"),
        "{}",
        mail.data
    );
    let text = mail.body_text();
    assert!(text.contains("Du är inbjuden till Mina sidor"), "{text}");
    let start = text.find(MS_PUBLIC_URL).expect("a link to Mina sidor");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.trim_start_matches(MS_PUBLIC_URL).to_owned()
}

fn huvudansvarig(app: &TestApp, k: &str, i: usize) -> Personnummer {
    let p = person(900 + i);
    app.store
        .mina_sidor()
        .add_huvudansvarig("test", kommun(k), &p, &format!("ha{i}@kommun.invalid"))
        .unwrap();
    p
}
