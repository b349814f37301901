//! Accounts: invitations, logins and logouts, sessions, forms' protection, the trusted proxy.

use super::*;

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
