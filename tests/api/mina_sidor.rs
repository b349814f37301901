//! Mina sidor för kommuner over real HTTPS: BankID through the real RP client against
//! the BankID test server, invitations through a real SMTP conversation, and the
//! pages as a browser without JavaScript uses them (forms and cookies).

use komvux_domain::{Kommunkod, Personnummer};
use serde_json::{Value, json};

use crate::bodies::{ansokan, anvisa, besluta, person, sok};
use crate::support::{MS_PUBLIC_URL, STOCKHOLM_ORG, TestApp};

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

/// Invites `p` from the logged-in huvudansvarig's browser; returns the link path.
async fn invite(app: &TestApp, admin: &Web, p: &Personnummer, epost: &str) -> String {
    let r = try_invite(admin, p, epost).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(&format!("En inbjudan har skickats till {epost}")),
        "{}",
        r.body
    );
    invitation_link(app, epost)
}

pub(crate) async fn invitations_register_once_and_only_the_invited_person(app: &TestApp) {
    let admin_p = huvudansvarig(app, STOCKHOLM, 1);
    let admin = Web::new(app);
    admin.login(&admin_p).await;

    // invite → mail → register with BankID
    let user_p = person(910);
    let link = invite(app, &admin, &user_p, "handlaggare@stockholm.invalid").await;
    assert!(link.starts_with("/mina-sidor/inbjudan/"), "{link}");
    let open = admin.get("/mina-sidor/anvandare").await.body;
    assert!(
        open.contains("Inbjudningar som inte har använts")
            && open.contains("handlaggare@stockholm.invalid"),
        "{open}"
    );
    let user = Web::new(app);
    let page = user.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Registrera dig med BankID"));
    let r = user.bankid(&link, &user_p).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let start = user.get("/mina-sidor/").await;
    assert!(
        start.body.contains("Mina sidor – Stockholm"),
        "{}",
        start.body
    );
    assert!(
        !start.body.contains("/mina-sidor/anvandare"),
        "a handläggare does not administer users"
    );
    assert_eq!(user.get("/mina-sidor/anvandare").await.status, 403);

    assert!(
        !admin
            .get("/mina-sidor/anvandare")
            .await
            .body
            .contains("<td>handlaggare@stockholm.invalid</td><td>Handläggare</td><td>20"),
        "a used invitation is no longer open"
    );

    // the link is single use
    let again = Web::new(app);
    let r = again.get(&link).await;
    assert_eq!(r.status, 410);
    assert!(r.body.contains("redan använts"), "{}", r.body);

    // an invitation for one person cannot be used by another
    let other_link = invite(app, &admin, &person(911), "annan@stockholm.invalid").await;
    let thief = Web::new(app);
    let r = thief.bankid(&other_link, &person(912)).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("annan person"), "{}", r.body);

    // an expired invitation is refused
    let by = app
        .store
        .mina_sidor()
        .login_users(&admin_p, "Test")
        .unwrap()
        .remove(0);
    let token = app
        .store
        .mina_sidor()
        .invite(
            &by,
            &person(913),
            "sen@stockholm.invalid",
            komvux_persistence::Roll::Handlaggare,
            -1,
        )
        .unwrap()
        .unwrap();
    let r = Web::new(app)
        .get(&format!("/mina-sidor/inbjudan/{token}"))
        .await;
    assert_eq!(r.status, 410);
    assert!(r.body.contains("gått ut"), "{}", r.body);
    let r = Web::new(app).get("/mina-sidor/inbjudan/finns-inte").await;
    assert_eq!(r.status, 404);

    // someone never invited gets a clear refusal
    let stranger = Web::new(app);
    let r = stranger.bankid("/mina-sidor/", &person(914)).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("inget konto"), "{}", r.body);

    // a non-test personnummer is not accepted by the test BankID
    let reply = Web::new(app)
        .phone_identifies("00000000-0000-0000-0000-000000000000", "198112289874")
        .await;
    assert!(reply.contains("testpersonnummer"), "{reply}");

    // deactivation ends the user's sessions at once
    let users = admin.get("/mina-sidor/anvandare").await;
    let marker = "/mina-sidor/anvandare/";
    let ids: Vec<String> = users
        .body
        .match_indices(marker)
        .map(|(i, _)| {
            users.body[i + marker.len()..]
                .split('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(!ids.is_empty());
    let user_id = app
        .store
        .mina_sidor()
        .login_users(&user_p, "Test Testsson")
        .unwrap()
        .remove(0)
        .id;
    assert!(ids.contains(&user_id));
    // deactivating asks first: the list links to a confirmation page with the form
    let confirm = format!("/mina-sidor/anvandare/{user_id}/inaktivera");
    let list = admin.get("/mina-sidor/anvandare").await;
    assert!(
        list.body.contains(&format!("href=\"{confirm}\"")),
        "{}",
        list.body
    );
    let page = admin.get(&confirm).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Vill du inaktivera användaren?"));
    assert_eq!(user.get("/mina-sidor/sok").await.status, 200, "not yet");
    assert_eq!(user.get(&confirm).await.status, 403, "a handläggare cannot");
    let r = admin.submit(&confirm, &confirm, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(user.get("/mina-sidor/sok").await.status, 303, "logged out");
    let r = Web::new(app).bankid("/mina-sidor/", &user_p).await;
    assert_eq!(r.status, 403, "a deactivated user cannot log in");

    // registration and login are audited
    let admin_id = by.id.clone();
    let admin_audit = app.store.audit_for_actor(&admin_id, 1000).unwrap();
    assert!(
        admin_audit
            .iter()
            .any(|a| a.action == "mina-sidor:lista-anvandare")
    );
    assert!(admin_audit.iter().any(|a| a.action == "mina-sidor:bjud-in"));
    assert!(
        admin_audit
            .iter()
            .any(|a| a.action == "mina-sidor:inaktivera")
    );
    let audit = app.store.audit_for_actor(&user_id, 1000).unwrap();
    assert!(audit.iter().any(|a| a.action == "mina-sidor:registrering"));
    assert!(audit.iter().any(|a| a.action == "mina-sidor:inloggning"));
}

/// Posts the invitation form for `p` as handläggare; returns the answer.
async fn try_invite(admin: &Web, p: &Personnummer, epost: &str) -> Page {
    admin
        .submit(
            "/mina-sidor/anvandare",
            "/mina-sidor/anvandare",
            &[
                ("personnummer", &p.expose()),
                ("epost", epost),
                ("roll", "handlaggare"),
            ],
        )
        .await
}

/// Runs `atgard` (`skicka-igen`, `aterkalla`) on the first open invitation that the
/// users page of `page_of` lists, as `by`.
async fn invitation_action(page_of: &Web, by: &Web, atgard: &str) -> Page {
    let users = page_of.get("/mina-sidor/anvandare").await.body;
    let prefix = "/mina-sidor/inbjudningar/";
    let start = users
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {users}"))
        + prefix.len();
    let id = users[start..].split('/').next().unwrap();
    by.submit(
        "/mina-sidor/anvandare",
        &format!("{prefix}{id}/{atgard}"),
        &[],
    )
    .await
}

pub(crate) async fn invitations_never_change_an_account(app: &TestApp) {
    let admin_p = huvudansvarig(app, STOCKHOLM, 2);
    let admin = Web::new(app);
    admin.login(&admin_p).await;

    // The only huvudansvarig cannot be invited (and so demoted) by mistake.
    let r = try_invite(&admin, &admin_p, "fel@stockholm.invalid").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("redan ett konto i kommunen"), "{}", r.body);
    assert!(
        r.body.contains("href=\"#f-personnummer\""),
        "the summary links the field"
    );

    // A registered user is not invited again; a person with an open invitation neither.
    let user_p = person(920);
    let link = invite(app, &admin, &user_p, "h920@stockholm.invalid").await;
    let user = Web::new(app);
    assert_eq!(user.bankid(&link, &user_p).await.status, 303);
    let r = try_invite(&admin, &user_p, "ny920@stockholm.invalid").await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("redan ett konto i kommunen"), "{}", r.body);
    let p921 = person(921);
    let link921 = invite(app, &admin, &p921, "h921@stockholm.invalid").await;
    let r = try_invite(&admin, &p921, "igen921@stockholm.invalid").await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("redan en inbjudan"), "{}", r.body);

    // An account made after the invitation (Af's command) is not changed by accepting it.
    app.store
        .mina_sidor()
        .add_huvudansvarig("test", kommun(STOCKHOLM), &p921, "ha921@stockholm.invalid")
        .unwrap();
    let r = Web::new(app).bankid(&link921, &p921).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("redan ett konto"), "{}", r.body);
    let kept = app
        .store
        .mina_sidor()
        .login_users(&p921, "Test")
        .unwrap()
        .remove(0);
    assert_eq!(kept.roll, komvux_persistence::Roll::Huvudansvarig);
    assert_eq!(kept.epost, "ha921@stockholm.invalid");

    // Deactivation withdraws the person's open invitations: the link sent before it no
    // longer works, and nothing reactivates the account but the huvudansvarig.
    let p922 = person(922);
    let link922 = invite(app, &admin, &p922, "h922@stockholm.invalid").await;
    let second = app
        .store
        .mina_sidor()
        .add_huvudansvarig("test", kommun(STOCKHOLM), &p922, "ha922@stockholm.invalid")
        .unwrap();
    let r = admin
        .submit(
            "/mina-sidor/anvandare",
            &format!("/mina-sidor/anvandare/{}/inaktivera", second.id),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("inaktiverad och utloggad"), "{}", r.body);
    let r = Web::new(app).get(&link922).await;
    assert_eq!(r.status, 410, "{}", r.body);
    assert!(r.body.contains("återkallats"), "{}", r.body);
    assert_eq!(
        Web::new(app).bankid("/mina-sidor/", &p922).await.status,
        403,
        "still deactivated"
    );
    let r = try_invite(&admin, &p922, "h922@stockholm.invalid").await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("inaktiverat konto"), "{}", r.body);

    // Open invitations: shown in Swedish time, sent again (the old link withdrawn) or
    // withdrawn.
    let p923 = person(923);
    let old = invite(app, &admin, &p923, "h923@stockholm.invalid").await;
    let users = admin.get("/mina-sidor/anvandare").await.body;
    assert!(
        users.contains("h923@stockholm.invalid") && !users.contains(" UTC"),
        "{users}"
    );
    let r = invitation_action(&admin, &admin, "skicka-igen").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("En inbjudan har skickats till h923@stockholm.invalid"),
        "{}",
        r.body
    );
    let new = invitation_link(app, "h923@stockholm.invalid");
    assert_ne!(new, old);
    assert_eq!(Web::new(app).get(&old).await.status, 410);
    assert_eq!(Web::new(app).get(&new).await.status, 200);
    let users = admin.get("/mina-sidor/anvandare").await.body;
    let prefix = "/mina-sidor/inbjudningar/";
    let id = users[users.find(prefix).unwrap() + prefix.len()..]
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let r = invitation_action(&admin, &admin, "aterkalla").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Inbjudan är återkallad"), "{}", r.body);
    assert!(
        !r.body.contains("h923@stockholm.invalid"),
        "no longer listed"
    );
    assert_eq!(Web::new(app).get(&new).await.status, 410);
    let again = admin
        .submit(
            "/mina-sidor/anvandare",
            &format!("{prefix}{id}/aterkalla"),
            &[],
        )
        .await;
    assert_eq!(again.status, 404, "a withdrawn invitation is not open");

    // Another kommun's huvudansvarig cannot touch this kommun's invitations.
    let goteborg_p = huvudansvarig(app, GOTEBORG, 3);
    let other = Web::new(app);
    other.login(&goteborg_p).await;
    let link924 = invite(app, &admin, &person(924), "h924@stockholm.invalid").await;
    let r = invitation_action(&admin, &other, "aterkalla").await;
    assert_eq!(r.status, 404);
    assert_eq!(Web::new(app).get(&link924).await.status, 200, "still open");

    let admin_id = app
        .store
        .mina_sidor()
        .login_users(&admin_p, "Test")
        .unwrap()
        .remove(0)
        .id;
    let audit = app.store.audit_for_actor(&admin_id, 1000).unwrap();
    for action in [
        "mina-sidor:skicka-inbjudan-igen",
        "mina-sidor:aterkalla-inbjudan",
    ] {
        assert!(audit.iter().any(|a| a.action == action), "{action} audited");
    }

    // The activity log says who did what to whom (the chained log: the chainer runs
    // every 50 ms), only to this kommun's huvudansvarig.
    let mut log = String::new();
    for _ in 0..60 {
        log = admin.get("/mina-sidor/anvandare/aktivitet").await.body;
        if log.contains("h924@stockholm.invalid") {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for (what, whom) in [
        ("bjöd in", "h920@stockholm.invalid"),
        ("registrerade sig med en inbjudan", "h920@stockholm.invalid"),
        ("inaktiverade", "ha922@stockholm.invalid"),
        ("skickade en inbjudan igen till", "h923@stockholm.invalid"),
        ("återkallade inbjudan till", "h923@stockholm.invalid"),
        ("bjöd in", "h924@stockholm.invalid"),
    ] {
        assert!(
            log.contains(what) && log.contains(whom),
            "{what} {whom}: {log}"
        );
    }
    assert!(log.contains("Nekad"), "the refused invitations: {log}");
    assert!(!log.contains(" UTC"), "Swedish time: {log}");
    let theirs = other.get("/mina-sidor/anvandare/aktivitet").await;
    assert_eq!(theirs.status, 200);
    assert!(
        !theirs.body.contains("stockholm.invalid"),
        "{}",
        theirs.body
    );
    let r = user.get("/mina-sidor/anvandare/aktivitet").await;
    assert_eq!(r.status, 403, "a handläggare: {}", r.body);
}

pub(crate) async fn logout_from_every_device_ends_every_session(app: &TestApp) {
    let p = huvudansvarig(app, STOCKHOLM, 4);
    let (laptop, phone, tablet) = (Web::new(app), Web::new(app), Web::new(app));
    for browser in [&laptop, &phone, &tablet] {
        browser.login(&p).await;
    }
    let start = laptop.get("/mina-sidor/").await;
    assert!(
        start.body.contains("Logga ut från alla enheter"),
        "{}",
        start.body
    );
    // A plain logout ends this browser's session only.
    let r = tablet
        .submit("/mina-sidor/", "/mina-sidor/logga-ut", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(tablet.get("/mina-sidor/sok").await.status, 303);
    assert_eq!(phone.get("/mina-sidor/sok").await.status, 200);
    // "Logga ut från alla enheter" ends every session of the user.
    let r = laptop
        .submit("/mina-sidor/", "/mina-sidor/logga-ut", &[("alla", "ja")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("på alla enheter"), "{}", r.body);
    assert_eq!(laptop.get("/mina-sidor/sok").await.status, 303);
    assert_eq!(
        phone.get("/mina-sidor/sok").await.status,
        303,
        "the other device too"
    );
    let id = app
        .store
        .mina_sidor()
        .login_users(&p, "Test")
        .unwrap()
        .remove(0)
        .id;
    let audit = app.store.audit_for_actor(&id, 1000).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "mina-sidor:utloggning-alla-enheter")
    );
}

pub(crate) async fn a_handlaggare_looks_up_and_registers_and_af_sees_it(app: &TestApp) {
    let p = person(920);
    anvisa(&app.store, p, STOCKHOLM);
    let web = Web::new(app);
    web.login(&huvudansvarig(app, STOCKHOLM, 2)).await;

    // look up: the same data the API gives, without the personnummer in any URL
    let r = web.search(&p).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Utbildningsbehov 1"), "{}", r.body);
    assert!(
        r.body
            .contains("Kommunen har inte skickat några meddelanden om personen.")
    );
    assert!(r.body.contains("Personen har inga utbildningsbeslut"));
    let bad = web
        .submit(
            "/mina-sidor/sok",
            "/mina-sidor/sok",
            &[("personnummer", "12345")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("aria-invalid=\"true\""));

    // Tabell 2, and as a CSV file (an audited read like the list)
    let r = web.get("/mina-sidor/aktiva").await;
    assert!(r.body.contains(&p.expose()), "{}", r.body);
    assert!(
        r.body.contains("Visar 1–1 av 1 utbildningsbehov."),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<td>Gymnasial</td>") && !r.body.contains("<td>gymnasial"),
        "Swedish words: {}",
        r.body
    );
    let csv = web.get("/mina-sidor/aktiva.csv").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body
            .starts_with("\u{feff}Personnummer;Anvisningsdatum;Skolformer;")
            && csv.body.contains(&p.expose()),
        "{}",
        csv.body
    );

    // a form with an error gives the API's message on the field
    let api = app.client(STOCKHOLM_ORG, &[STOCKHOLM]);
    let mut body = ansokan(STOCKHOLM, p);
    body["kurser"][0]["kurskod"] = json!("x");
    let problem = api.post("/ansokningar", &body).await;
    let api_message = problem.body["errors"][0]["meddelande"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(problem.body["errors"][0]["falt"], "kurser[0].kurskod");
    let form = |kurskod: &'static str| {
        let p = p.expose();
        move |extra: &str| {
            vec![
                ("personnummer".to_owned(), p.clone()),
                ("status".into(), "registrering".into()),
                ("ansokningsdatum".into(), "2026-03-01".into()),
                ("kurser[0].kurskod".into(), kurskod.into()),
                ("kurser[0].kursnamn".into(), "Matematik 1a".into()),
                ("kurser[0].skolform".into(), "gymnasial".into()),
                ("kurser[0].poang".into(), "100".into()),
                ("kurser[0].studietakt".into(), "50".into()),
                ("kurser[0].startdatum".into(), "2027-08-17".into()),
                ("kurser[0].slutdatum".into(), "2027-12-18".into()),
                ("formular_id".into(), extra.to_owned()),
            ]
        }
    };
    let r = web.submit_ansokan(&form("x")("form-1")).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains(&api_message),
        "the API's message {api_message:?} in {}",
        r.body
    );
    assert!(
        r.body.contains("href=\"#f-kurser-0-kurskod\""),
        "the summary links to the field"
    );

    // the review step shows what will be sent, in words, and stores nothing; Ändra
    // goes back to the form as it was
    let mut review = form("MATMAT01a")("form-2");
    review.push(("atgard".into(), "granska".into()));
    let r = web.submit_ansokan(&review).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("Granska innan du registrerar")
            && r.body.contains("<dd>Gymnasial</dd>")
            && r.body
                .contains("<dt>Kurs 1, kursnamn</dt><dd>Matematik 1a</dd>")
            && r.body.contains("value=\"registrera\""),
        "{}",
        r.body
    );
    let nothing = app.af().get("/handelser").await;
    assert_eq!(
        nothing.body["data"].as_array().unwrap().len(),
        0,
        "nothing sent"
    );
    review.last_mut().unwrap().1 = "andra".into();
    let back = web.submit_ansokan(&review).await;
    assert!(
        back.body.contains("<h1>Registrera ansökan</h1>")
            && back.body.contains("value=\"Matematik 1a\""),
        "{}",
        back.body
    );

    // a valid one is stored; a second click replays the same receipt
    let fields = form("MATMAT01a")("form-2");
    let first = web.submit_ansokan(&fields).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let id = attr_after(&first.body, "<dd id=\"meddelande-id\">").unwrap();
    let second = web.submit_ansokan(&fields).await;
    assert_eq!(
        attr_after(&second.body, "<dd id=\"meddelande-id\">").unwrap(),
        id
    );

    // Af sees it on the internal feed, written by the Mina sidor user
    let feed = app.af().get("/handelser").await;
    let entries = feed.body["data"].as_array().unwrap();
    let entry = entries
        .iter()
        .find(|m| m["meddelande_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} in {entries:?}"));
    assert_eq!(entry["typ"], "ansokan");
    assert_eq!(entry["kommunkod"], STOCKHOLM);
    assert_eq!(entries.len(), 1, "the replay stored nothing");

    // a correction (ändring) through the same form
    let mut fields = form("MATMAT01a")("form-3");
    fields[1].1 = "andring".into();
    fields.push(("ersatter".into(), id.clone()));
    let r = web.submit_ansokan(&fields).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = api.get(&format!("/meddelanden/{id}")).await;
    assert_eq!(m.body["aktuell"], false, "replaced");

    // the person page lists both versions, with who wrote them, and offers to correct
    // the current one with a form filled from it
    let corrected = attr_after(&r.body, "<dd id=\"meddelande-id\">").unwrap();
    let page_path = web.person_page_of(&p).await;
    let page = web.get(&page_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for version in [&id, &corrected] {
        assert!(
            page.body
                .contains(&format!("data-meddelande-id=\"{version}\"")),
            "{version} in {}",
            page.body
        );
    }
    assert!(page.body.contains("Ersatt av en ändring") && page.body.contains("Testsson"));
    let rattar = format!(
        "/mina-sidor/registrera/ansokan?person={}&amp;rattar={corrected}",
        &page_path[19..]
    );
    assert!(page.body.contains(&rattar), "{}", page.body);
    assert!(
        !page.body.contains(&format!("rattar={id}")),
        "a replaced version is not offered"
    );
    let prefilled = web.get(&rattar.replace("&amp;", "&")).await;
    assert_eq!(prefilled.status, 200);
    for field in [
        format!("value=\"{corrected}\""),
        "value=\"MATMAT01a\"".to_owned(),
        "value=\"2026-03-01\"".to_owned(),
        format!("value=\"{}\"", p.expose()),
    ] {
        assert!(
            prefilled.body.contains(&field),
            "{field} in {}",
            prefilled.body
        );
    }
    assert!(
        prefilled
            .body
            .contains("<option value=\"andring\" selected>")
    );
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "las:meddelanden" && a.actor_kind == "anvandare"),
        "the history is an audited read"
    );

    // the precondition problem shows as a form error
    let nobody = person(921).expose();
    let r = web
        .submit(
            "/mina-sidor/registrera/betyg",
            "/mina-sidor/registrera/betyg",
            &[
                ("personnummer", &nobody),
                ("status", "registrering"),
                ("kurskod", "MATMAT01a"),
                ("skolform", "gymnasial"),
                ("betyg", "C"),
                ("betygsdatum", "2026-06-18"),
                ("poang", "100"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains("inget gällande utbildningsbeslut i kommunen"),
        "{}",
        r.body
    );
    // The error summary takes the focus; digits get a number pad; the menu marks the page.
    assert!(
        r.body.contains("tabindex=\"-1\" autofocus")
            && r.body.contains("name=\"personnummer\" value=\"")
            && r.body.contains("inputmode=\"numeric\"")
            && r.body
                .contains("href=\"/mina-sidor/registrera\" aria-current=\"page\""),
        "{}",
        r.body
    );

    // a rule's warning shows on the receipt page; a rule's error on the form
    let q = person(922);
    anvisa(&app.store, q, STOCKHOLM);
    besluta(&app.store, q, STOCKHOLM);
    let forandring = |kurskod: &'static str| {
        [
            ("personnummer", q.expose()),
            ("status", "registrering".to_owned()),
            ("kurskod", kurskod.to_owned()),
            ("giltig_fran", "2027-09-01".to_owned()),
            ("ny_studietakt", "75".to_owned()),
        ]
    };
    let fields = forandring("ENGENG05");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = web
        .submit(
            "/mina-sidor/registrera/forandring",
            "/mina-sidor/registrera/forandring",
            &fields,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Meddelandet är registrerat"), "{}", r.body);
    // Swedish words and Swedish time on the receipt, no API values.
    assert!(
        r.body.contains("<dd>Förändring</dd>")
            && r.body.contains("<dd>Registrering</dd>")
            && !r.body.contains("forandring</dd>")
            && !r.body.contains("Z</dd>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("data-kod=\"kurskod_saknas_i_beslut\"")
            && r.body
                .contains("Kursen ENGENG05 finns inte i personens utbildningsbeslut"),
        "{}",
        r.body
    );
    let r = web
        .submit(
            "/mina-sidor/registrera/betyg",
            "/mina-sidor/registrera/betyg",
            &[
                ("personnummer", &q.expose()),
                ("status", "registrering"),
                ("kurskod", "MATMAT01a"),
                ("skolform", "gymnasial"),
                ("betyg", "C"),
                ("betygsdatum", "2031-06-18"),
                ("poang", "100"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("mer än ett år fram i tiden"), "{}", r.body);

    // opened from the person page, a förändring offers the beslut's courses as a
    // choice and an avbrott one checkbox per course; the checked ones are sent
    let q_page = web.person_page_of(&q).await;
    let q_ref = &q_page["/mina-sidor/person/".len()..];
    let forandring_form = web
        .get(&format!("/mina-sidor/registrera/forandring?person={q_ref}"))
        .await;
    assert!(
        forandring_form
            .body
            .contains("<select id=\"f-kurskod\" name=\"kurskod\"")
            && forandring_form
                .body
                .contains("<option value=\"MATMAT01a\">MATMAT01a</option>"),
        "{}",
        forandring_form.body
    );
    let avbrott_form = web
        .get(&format!("/mina-sidor/registrera/avbrott?person={q_ref}"))
        .await;
    assert!(
        avbrott_form.body.contains(
            "type=\"checkbox\" id=\"f-kurskoder-0\" name=\"kurskoder\" value=\"MATMAT01a\""
        ),
        "{}",
        avbrott_form.body
    );
    let r = web
        .submit(
            &format!("/mina-sidor/registrera/avbrott?person={q_ref}"),
            "/mina-sidor/registrera/avbrott",
            &[
                ("personnummer", &q.expose()),
                ("status", "registrering"),
                ("avbrottsdatum", "2027-10-01"),
                ("orsak", "arbete"),
                ("kurskod_val", "MATMAT01a"),
                ("kurskoder", "MATMAT01a"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let avbrott_id = attr_after(&r.body, "<dd id=\"meddelande-id\">").unwrap();
    let stored = api.get(&format!("/meddelanden/{avbrott_id}")).await;
    assert_eq!(
        stored.body["kurskoder"],
        json!(["MATMAT01a"]),
        "{}",
        stored.body
    );

    // etableringsprogrammet
    let r = web
        .submit(
            "/mina-sidor/etableringsprogrammet",
            "/mina-sidor/etableringsprogrammet",
            &[("personnummer", &p.expose())],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<strong>Nej.</strong>"), "{}", r.body);

    // every view of personal data is audited with the user
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    for action in [
        "las:utbildningsbehov",
        "lista:utbildningsbehov",
        "skriv:ansokan",
        "las:etableringsprogram",
    ] {
        assert!(
            audit
                .iter()
                .any(|a| a.action == action && a.actor_kind == "anvandare"),
            "{action} audited as the user: {audit:?}"
        );
    }
}

pub(crate) async fn a_user_of_another_kommun_sees_nothing_of_it(app: &TestApp) {
    let p = person(930);
    anvisa(&app.store, p, STOCKHOLM);
    besluta(&app.store, p, STOCKHOLM);
    let stockholm = Web::new(app);
    stockholm.login(&huvudansvarig(app, STOCKHOLM, 3)).await;
    let goteborg = Web::new(app);
    goteborg.login(&huvudansvarig(app, GOTEBORG, 4)).await;

    // Stockholm sees its beslut; Göteborg does not (and not the person in Tabell 2)
    let own = stockholm.search(&p).await;
    assert!(own.body.contains("Utbildningsbeslut 1"), "{}", own.body);
    let other = goteborg.search(&p).await;
    assert!(
        !other.body.contains("Utbildningsbeslut 1"),
        "{}",
        other.body
    );
    // the person page's address is bound to the session that searched: another user
    // (or the same user after logging out) gets nothing from it
    let stockholms_page = stockholm.person_page_of(&p).await;
    let borrowed = goteborg.get(&stockholms_page).await;
    assert_eq!(borrowed.status, 404, "{}", borrowed.body);
    assert!(borrowed.body.contains("Sökningen gäller inte längre"));
    assert!(!borrowed.body.contains(&p.expose()));
    let ta_bort = format!("{stockholms_page}/ta-bort/00000000-0000-4000-8000-000000000000");
    assert_eq!(goteborg.get(&ta_bort).await.status, 404);
    assert_eq!(stockholm.get(&ta_bort).await.status, 404, "no such message");
    assert_eq!(
        goteborg
            .get(&format!(
                "/mina-sidor/registrera/ansokan?person={}",
                &stockholms_page[19..]
            ))
            .await
            .status,
        404
    );
    assert_eq!(stockholm.get(&stockholms_page).await.status, 200);
    assert!(other.body.contains("inga utbildningsbeslut i kommunen"));
    assert!(
        !goteborg
            .get("/mina-sidor/aktiva")
            .await
            .body
            .contains(&p.expose())
    );

    // a form always writes for the user's own kommun
    let api = app.client(STOCKHOLM_ORG, &[STOCKHOLM]);
    let r = goteborg
        .submit(
            "/mina-sidor/registrera/ansokan",
            "/mina-sidor/registrera/ansokan",
            &[
                ("personnummer", &p.expose()),
                ("status", "registrering"),
                ("ansokningsdatum", "2026-03-01"),
                ("kurser[0].kurskod", "MATMAT01a"),
                ("kurser[0].kursnamn", "Matematik 1a"),
                ("kurser[0].skolform", "gymnasial"),
                ("kurser[0].poang", "100"),
                ("kurser[0].studietakt", "50"),
                ("kurser[0].startdatum", "2027-08-17"),
                ("kurser[0].slutdatum", "2027-12-18"),
                ("kommunkod", STOCKHOLM),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = attr_after(&r.body, "<dd id=\"meddelande-id\">").unwrap();
    assert_eq!(
        api.get(&format!("/meddelanden/{id}")).await.status,
        404,
        "not Stockholm's"
    );

    // a person with accounts in both kommuner switches between them
    let both = person(935);
    for k in [STOCKHOLM, GOTEBORG] {
        app.store
            .mina_sidor()
            .add_huvudansvarig("test", kommun(k), &both, "bada@kommun.invalid")
            .unwrap();
    }
    let web = Web::new(app);
    web.login(&both).await;
    let start = web.get("/mina-sidor/").await.body;
    assert!(
        start.contains("Mina sidor – Stockholm") && start.contains("Arbeta för Göteborg"),
        "{start}"
    );
    let target = app.store.mina_sidor().users(kommun(GOTEBORG)).unwrap();
    let target = target
        .iter()
        .find(|u| u.epost == "bada@kommun.invalid")
        .unwrap();
    let r = web
        .submit(
            "/mina-sidor/",
            "/mina-sidor/byt-kommun",
            &[("anvandare", &target.id)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        web.get("/mina-sidor/")
            .await
            .body
            .contains("Mina sidor – Göteborg")
    );
    // but not into someone else's account
    let stranger = app.store.mina_sidor().users(kommun(STOCKHOLM)).unwrap();
    let stranger = stranger
        .iter()
        .find(|u| u.epost != "bada@kommun.invalid")
        .unwrap();
    let r = web
        .submit(
            "/mina-sidor/",
            "/mina-sidor/byt-kommun",
            &[("anvandare", &stranger.id)],
        )
        .await;
    assert_eq!(r.status, 404);

    // Göteborg cannot touch Stockholm's users
    let stockholm_admin = app
        .store
        .mina_sidor()
        .users(kommun(STOCKHOLM))
        .unwrap()
        .remove(0);
    let r = goteborg
        .submit(
            "/mina-sidor/registrera",
            &format!("/mina-sidor/anvandare/{}/inaktivera", stockholm_admin.id),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(app.store.mina_sidor().users(kommun(STOCKHOLM)).unwrap()[0].active);
}

pub(crate) async fn forms_sessions_and_headers_are_protected(app: &TestApp) {
    let web = Web::new(app);
    let start = web.get("/mina-sidor/").await;
    let csp = start.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(start.headers["x-frame-options"], "DENY");
    assert_eq!(start.headers["referrer-policy"], "no-referrer");
    assert_eq!(start.headers["cache-control"], "no-store");
    assert!(!start.body.contains("<script>"), "no inline script");
    let cookie = start.headers["set-cookie"].to_str().unwrap();
    for flag in ["__Host-", "HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }

    // the BankID test server's RP API answers only relying parties with a certificate
    let r = web
        .phone
        .post(format!("{}/rp/v6.0/auth", web.bankid))
        .json(&json!({ "endUserIp": "127.0.0.1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // a form without (or with a wrong) CSRF token is refused
    assert_eq!(web.post("/mina-sidor/logga-in", &[]).await.status, 403);
    assert_eq!(
        web.post("/mina-sidor/logga-in", &[("csrf", "fel")])
            .await
            .status,
        403
    );
    // pages need a session
    for path in [
        "/mina-sidor/sok",
        "/mina-sidor/aktiva",
        "/mina-sidor/anvandare",
        "/mina-sidor/registrera/ansokan",
    ] {
        let r = web.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.location(), "/mina-sidor/");
    }

    web.login(&huvudansvarig(app, STOCKHOLM, 5)).await;
    let session_cookie = {
        // the session cookie is HttpOnly, Secure, SameSite=Strict too (checked on login)
        let r = Web::new(app);
        let page = r.bankid("/mina-sidor/", &person(905)).await;
        page.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("__Host-ms-session="))
            .unwrap()
    };
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(session_cookie.contains(flag), "{flag} in {session_cookie}");
    }
    // logged in, the anonymous token no longer works: the session's is needed
    let p = person(940).expose();
    assert_eq!(
        web.post("/mina-sidor/sok", &[("csrf", "fel"), ("personnummer", &p)])
            .await
            .status,
        403
    );
    // a form post of another content type is refused
    let r = web
        .http
        .post(format!("{}/mina-sidor/sok", web.base))
        .json(&json!({ "personnummer": p }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // an oversized form is refused
    let big = "x".repeat(100 * 1024);
    assert_eq!(
        web.post("/mina-sidor/sok", &[("x", &big)]).await.status,
        400
    );

    // logging out ends the session on the server
    let r = web
        .submit("/mina-sidor/", "/mina-sidor/logga-ut", &[])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(web.get("/mina-sidor/sok").await.status, 303);

    // starting BankID orders is limited per address (BankID is a paid, shared service)
    // ... and a made-up X-Forwarded-For does not escape it: no proxy is trusted here.
    let spammer = Web::new(app);
    let csrf = spammer.get("/mina-sidor/").await.csrf();
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(
            spammer
                .post_forwarded(
                    "/mina-sidor/logga-in",
                    &[("csrf", &csrf)],
                    &format!("203.0.113.{i}"),
                )
                .await
                .status,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

/// Behind a trusted proxy the user's address is the one the proxy forwards for: the
/// per-address login limit hits one user, not everyone behind the proxy (and BankID's
/// `endUserIp` is the user's).
pub(crate) async fn a_trusted_proxy_forwards_the_users_address(app: &TestApp) {
    let web = Web::new(app);
    let csrf = web.get("/mina-sidor/").await.csrf();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            web.post_forwarded("/mina-sidor/logga-in", &[("csrf", &csrf)], "198.51.100.7")
                .await
                .status,
        );
    }
    assert!(statuses.contains(&429), "one user is limited: {statuses:?}");
    // Another user behind the same proxy is not; what a client puts left of the hop
    // the proxy appended is not believed.
    let other = web
        .post_forwarded(
            "/mina-sidor/logga-in",
            &[("csrf", &csrf)],
            "198.51.100.7, 198.51.100.8",
        )
        .await;
    assert_eq!(other.status, 303, "{}", other.body);
}

pub(crate) async fn skyddade_personuppgifter_are_flagged_and_withheld(app: &TestApp) {
    let af = app.af();
    let p = person(950);
    let r = af
        .post(
            "/utbildningsbehov",
            &json!({ "personnummer": p.expose(), "hemkommun": STOCKHOLM,
                "anvisningsdatum": "2026-02-20", "skolformer": ["sfi"], "giltig_tom": "2099-01-01",
                "af_kontor": "Arbetsförmedlingen Rinkeby" }),
        )
        .await;
    assert_eq!(r.status, 201);
    af.put(
        "/skyddade-personuppgifter",
        &json!({ "personnummer": p.expose(), "skyddade_personuppgifter": true }),
    )
    .await;
    let web = Web::new(app);
    web.login(&huvudansvarig(app, STOCKHOLM, 6)).await;
    let r = web.search(&p).await;
    assert!(r.body.contains("Skyddade personuppgifter."), "{}", r.body);
    // a page-level banner with what to do, first after the heading
    let banner = r.body.find("id=\"skyddad\"").expect("the SPU banner");
    assert!(banner < r.body.find("Registrera för personen").unwrap());
    assert!(r.body.contains("Lämna inte ut uppgifter om personen"));
    assert!(
        !r.body.contains("Rinkeby"),
        "af_kontor withheld: {}",
        r.body
    );
    let list = web.get("/mina-sidor/aktiva").await;
    assert!(
        !list.body.contains(&p.expose()),
        "no personnummer in Tabell 2"
    );
    assert!(list.body.contains("Visas inte"));
    // the same redaction as the API's
    let api = app.client(STOCKHOLM_ORG, &[STOCKHOLM]);
    let behov: Value = api.post("/utbildningsbehov/sok", &sok(p)).await.body;
    assert!(behov["utbildningsbehov"][0].get("af_kontor").is_none());
}

pub(crate) async fn sessions_end_when_idle(app: &TestApp) {
    let web = Web::new(app);
    let me = huvudansvarig(app, STOCKHOLM, 7);
    web.login(&me).await;
    let page = web.get("/mina-sidor/aktiva?sida=1").await;
    assert_eq!(page.status, 200);
    // every logged-in page carries the warning, hidden until its script shows it
    assert!(page.body.contains("id=\"tidsgrans\""), "{}", page.body);
    assert!(page.body.contains("data-sekunder=\"1\""));
    // the warning's button keeps the session alive (with the CSRF token in a header)
    let keep = |token: String| {
        let web = &web;
        async move {
            web.http
                .post(format!("{}/mina-sidor/fortsatt", web.base))
                .header("X-CSRF-Token", token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let csrf = attr_after(&page.body, "data-csrf=\"").unwrap();
    assert_eq!(keep("fel".into()).await, 403);
    assert_eq!(keep(csrf.clone()).await, 204);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = web.get("/mina-sidor/aktiva?sida=1").await;
    assert_eq!(
        r.status, 303,
        "idle longer than the timeout: back to the login page"
    );
    assert_eq!(r.location(), "/mina-sidor/?utloggad=ja");
    assert_eq!(keep(csrf).await, 303, "an ended session is not kept");
    let login = web.get("/mina-sidor/?utloggad=ja").await;
    assert!(
        login.body.contains("Du har loggats ut") && login.body.contains("kommer du tillbaka"),
        "{}",
        login.body
    );
    // logging in again leads back to the page the session ended on
    let r = web.bankid("/mina-sidor/?utloggad=ja", &me).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/mina-sidor/aktiva?sida=1");
    // the script's way out when the time has run out: the session ends, and a
    // tillbaka that is not a page of ours is never followed
    let r = web
        .get("/mina-sidor/utloggad?tillbaka=https%3A%2F%2Fevil.example%2F")
        .await;
    assert_eq!(r.location(), "/mina-sidor/?utloggad=ja");
    let r = web.bankid("/mina-sidor/", &me).await;
    assert_eq!(r.location(), "/mina-sidor/", "no return path was kept");
}

/// The option values of a select, by the select's id (the first, "Alla", is empty).
fn options_of(html: &str, select_id: &str) -> Vec<String> {
    let start = html
        .find(&format!("id=\"{select_id}\""))
        .expect("the select");
    let end = start + html[start..].find("</select>").unwrap();
    html[start..end]
        .split("<option value=\"")
        .skip(1)
        .map(|o| o[..o.find('"').unwrap()].to_owned())
        .collect()
}

pub(crate) async fn the_kommun_lists_and_exports_what_it_sent(app: &TestApp) {
    let p = person(930);
    let q = person(931);
    anvisa(&app.store, p, STOCKHOLM);
    anvisa(&app.store, q, STOCKHOLM);
    app.af()
        .put(
            "/skyddade-personuppgifter",
            &json!({ "personnummer": q.expose(), "skyddade_personuppgifter": true }),
        )
        .await;
    // The kommun's system sends 21 ansökningar (20 for one person, one for a protected
    // person); a handläggare one more through the form.
    let api = app.client(STOCKHOLM_ORG, &[STOCKHOLM]);
    for _ in 0..20 {
        assert_eq!(
            api.post("/ansokningar", &ansokan(STOCKHOLM, p))
                .await
                .status,
            201
        );
    }
    assert_eq!(
        api.post("/ansokningar", &ansokan(STOCKHOLM, q))
            .await
            .status,
        201
    );
    let web = Web::new(app);
    web.login(&huvudansvarig(app, STOCKHOLM, 8)).await;
    let fields: Vec<(String, String)> = [
        ("personnummer", p.expose()),
        ("status", "registrering".into()),
        ("ansokningsdatum", "2026-03-01".into()),
        ("kurser[0].kurskod", "SVASVA01".into()),
        ("kurser[0].kursnamn", "Svenska som andraspråk 1".into()),
        ("kurser[0].skolform", "gymnasial".into()),
        ("kurser[0].poang", "100".into()),
        ("kurser[0].studietakt", "50".into()),
        ("kurser[0].startdatum", "2027-08-17".into()),
        ("kurser[0].slutdatum", "2027-12-18".into()),
        ("formular_id", "skickade-1".into()),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b))
    .collect();
    let receipt = web.submit_ansokan(&fields).await;
    let mine = attr_after(&receipt.body, "<dd id=\"meddelande-id\">").unwrap();

    // newest first, 20 a page, with where the page is and page numbers
    let list = web.get("/mina-sidor/skickade").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains("Visar 1–20 av 22 meddelanden."),
        "{}",
        list.body
    );
    let first_row = attr_after(&list.body, "data-meddelande-id=\"").unwrap();
    assert_eq!(first_row, mine, "newest first");
    assert!(list.body.contains("href=\"/mina-sidor/skickade?sida=2\""));
    assert!(
        list.body
            .contains("aria-current=\"page\"><span class=\"visually-hidden\">Sida </span>1")
    );
    assert!(list.body.contains("<td>Ansökan</td>") && !list.body.contains(">ansokan<"));
    let page2 = web.get("/mina-sidor/skickade?sida=2").await;
    assert!(
        page2.body.contains("Visar 21–22 av 22 meddelanden."),
        "{}",
        page2.body
    );
    // a protected person's personnummer is not listed, and no button reveals it
    assert!(
        page2.body.contains("Skyddade personuppgifter")
            || list.body.contains("Skyddade personuppgifter")
    );
    for body in [&list.body, &page2.body] {
        assert!(!body.contains(&q.expose()), "{body}");
    }
    // "Visa person" leads to the person page, by the search's Post/Redirect/Get
    assert!(
        list.body
            .contains(&format!("name=\"personnummer\" value=\"{}\"", p.expose()))
    );

    // narrowed to the handläggare: only what she registered
    let users = options_of(&list.body, "f-handlaggare");
    assert_eq!(users.len(), 2, "Alla and the one user: {users:?}");
    let hers = web
        .get(&format!("/mina-sidor/skickade?handlaggare={}", users[1]))
        .await;
    assert!(
        hers.body.contains("Visar 1–1 av 1 meddelanden."),
        "{}",
        hers.body
    );
    assert!(
        hers.body
            .contains(&format!("data-meddelande-id=\"{mine}\""))
    );
    // by kind, by date, oldest first
    let none = web.get("/mina-sidor/skickade?typ=antagning").await;
    assert!(none.body.contains("Inga meddelanden."), "{}", none.body);
    let future = web.get("/mina-sidor/skickade?fran=2099-01-01").await;
    assert!(future.body.contains("Inga meddelanden."));
    let today = web
        .get("/mina-sidor/skickade?fran=2020-01-01&till=2099-12-31&ordning=aldst")
        .await;
    assert!(today.body.contains("Visar 1–20 av 22"), "{}", today.body);
    assert_ne!(
        attr_after(&today.body, "data-meddelande-id=\"").unwrap(),
        mine
    );
    // a wrong filter is named in Swedish
    let bad = web
        .get("/mina-sidor/skickade?fran=1%2F12&handlaggare=nagon")
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains("Mottaget från och med: Skriv datumet som ÅÅÅÅ-MM-DD")
            && bad
                .body
                .contains("Registrerat av: Välj en användare i listan"),
        "{}",
        bad.body
    );

    // the CSV file: the same filters, semicolons and a BOM for Excel, audited
    let csv = web
        .http
        .get(format!(
            "{}/mina-sidor/skickade.csv?handlaggare={}",
            web.base, users[1]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("\u{feff}Mottaget;Typ;Status;Personnummer;"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(&p.expose()) && text.contains(&mine) && text.contains(";Ansökan;"));
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "lista:meddelanden" && a.actor_kind == "anvandare"),
        "{audit:?}"
    );

    // another kommun's user sees none of it
    let other = Web::new(app);
    other.login(&huvudansvarig(app, GOTEBORG, 9)).await;
    let theirs = other.get("/mina-sidor/skickade").await;
    assert!(theirs.body.contains("Inga meddelanden."), "{}", theirs.body);
    let csv = other.get("/mina-sidor/skickade.csv").await;
    assert!(!csv.body.contains(&p.expose()));
    let hers = other
        .get(&format!("/mina-sidor/skickade?handlaggare={}", users[1]))
        .await;
    assert_eq!(hers.status, 400, "another kommun's user is not a choice");
}

pub(crate) async fn new_decisions_are_counted_since_the_last_login(app: &TestApp) {
    let me = huvudansvarig(app, STOCKHOLM, 10);
    let login = || async {
        let web = Web::new(app);
        web.login(&me).await;
        let start = web.get("/mina-sidor/").await;
        (web, start)
    };
    // a first login has no "since": nothing to count from
    let (_, start) = login().await;
    assert!(!start.body.contains("id=\"nya-beslut\""), "{}", start.body);
    let (_, start) = login().await;
    assert!(
        start
            .body
            .contains("Inga nya utbildningsbeslut sedan din senaste inloggning."),
        "{}",
        start.body
    );
    // Af decides for a Stockholm resident and for one in Göteborg
    let p = person(940);
    anvisa(&app.store, p, STOCKHOLM);
    let beslut = besluta(&app.store, p, STOCKHOLM);
    let g = person(941);
    anvisa(&app.store, g, GOTEBORG);
    let elsewhere = besluta(&app.store, g, GOTEBORG);
    let (web, start) = login().await;
    assert!(
        start
            .body
            .contains("<strong>1 nytt utbildningsbeslut</strong> sedan din senaste inloggning."),
        "{}",
        start.body
    );
    let link = attr_after(&start.body, "<a href=\"/mina-sidor/beslut?efter=").unwrap();
    let page = web.get(&format!("/mina-sidor/beslut?efter={link}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("data-utbildningsbeslut-id=\"{beslut}\""))
            && !page.body.contains(&elsewhere)
            && page.body.contains(&p.expose())
            && page.body.contains("<td>Beslutat</td>"),
        "{}",
        page.body
    );
    // the same feed as the API's, from the beginning too, and each page audited
    let all = web.get("/mina-sidor/beslut").await;
    assert!(all.body.contains(&beslut) && !all.body.contains(&elsewhere));
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.actor_kind == "anvandare" && a.action.contains("utbildningsbeslut")),
        "{audit:?}"
    );
    // a cursor that is broken, or of another kommun, is refused
    let bad = web.get("/mina-sidor/beslut?efter=skräp").await;
    assert_eq!(bad.status, 400);
    let gbg = huvudansvarig(app, GOTEBORG, 11);
    let theirs = Web::new(app);
    theirs.login(&gbg).await;
    let mut their_page = theirs.get("/mina-sidor/beslut").await;
    assert!(their_page.body.contains(&elsewhere) && !their_page.body.contains(&beslut));
    let next = attr_after(&their_page.body, "href=\"/mina-sidor/beslut?efter=").unwrap();
    their_page = web.get(&format!("/mina-sidor/beslut?efter={next}")).await;
    assert_eq!(
        their_page.status, 400,
        "Göteborg's cursor is not Stockholm's"
    );
}

pub(crate) async fn tabell2_is_narrowed_and_ordered(app: &TestApp) {
    let af = app.af();
    let behov = |p: Personnummer, skolformer: Value, anvisad: &str, tom: &str| {
        json!({ "personnummer": p.expose(), "hemkommun": STOCKHOLM, "anvisningsdatum": anvisad,
                "skolformer": skolformer, "giltig_tom": tom })
    };
    let (a, b, c) = (person(950), person(951), person(952));
    for body in [
        behov(a, json!(["sfi"]), "2026-01-10", "2099-01-01"),
        behov(b, json!(["gymnasial"]), "2026-03-10", "2098-01-01"),
        behov(
            c,
            json!(["grundlaggande", "sfi"]),
            "2026-05-10",
            "2099-06-01",
        ),
    ] {
        assert_eq!(af.post("/utbildningsbehov", &body).await.status, 201);
    }
    let web = Web::new(app);
    web.login(&huvudansvarig(app, STOCKHOLM, 12)).await;
    let first = |body: &str, of: &[Personnummer]| {
        of.iter()
            .filter_map(|p| body.find(&p.expose()).map(|i| (i, p.expose())))
            .min()
            .map(|(_, p)| p)
    };
    let all = web.get("/mina-sidor/aktiva").await;
    assert!(
        all.body.contains("Visar 1–3 av 3 utbildningsbehov."),
        "{}",
        all.body
    );
    assert_eq!(
        first(&all.body, &[a, b, c]),
        Some(a.expose()),
        "oldest first"
    );
    let sfi = web.get("/mina-sidor/aktiva?skolform=sfi").await;
    assert!(
        sfi.body.contains("Visar 1–2 av 2 utbildningsbehov.")
            && sfi.body.contains(&a.expose())
            && sfi.body.contains(&c.expose())
            && !sfi.body.contains(&b.expose()),
        "{}",
        sfi.body
    );
    let later = web
        .get("/mina-sidor/aktiva?anvisad_fran=2026-03-01&anvisad_till=2026-04-30")
        .await;
    assert!(later.body.contains("Visar 1–1 av 1") && later.body.contains(&b.expose()));
    let newest = web.get("/mina-sidor/aktiva?ordning=nyast-anvisning").await;
    assert_eq!(first(&newest.body, &[a, b, c]), Some(c.expose()));
    let ending = web.get("/mina-sidor/aktiva?ordning=giltig-tom").await;
    assert_eq!(first(&ending.body, &[a, b, c]), Some(b.expose()));
    // the page links keep the filters
    assert!(
        sfi.body
            .contains("href=\"/mina-sidor/aktiva.csv?skolform=sfi\""),
        "{}",
        sfi.body
    );
    let bad = web
        .get("/mina-sidor/aktiva?anvisad_fran=igar&skolform=latin")
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains("Anvisad från och med: Skriv datumet som ÅÅÅÅ-MM-DD")
            && bad.body.contains("Skolform: Välj en skolform i listan"),
        "{}",
        bad.body
    );
    let csv = web.get("/mina-sidor/aktiva.csv?skolform=gymnasial").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.contains(&b.expose())
            && !csv.body.contains(&a.expose())
            && csv.body.contains(";Gymnasial;"),
        "{}",
        csv.body
    );
    let audit = app.store.audit_for_person(&c, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "lista:utbildningsbehov" && e.actor_kind == "anvandare"),
        "the narrowed list is an audited read: {audit:?}"
    );
    let unlisted = app.store.audit_for_person(&b, 0, i64::MAX).unwrap();
    assert_eq!(
        unlisted
            .iter()
            .filter(|e| e.action == "lista:utbildningsbehov")
            .count(),
        // the plain list, the giltig-tom and newest orders, the date filter and the CSV
        5,
        "only the pages a person was on are audited for them: {unlisted:?}"
    );
}
