//! Mina sidor in a real headless Chromium (Debian's chromium and chromium-driver over
//! WebDriver): the whole journey with JavaScript on, axe-core on every page (WCAG 2.1
//! A and AA rules: zero violations), and the screenshots of docs/mina-sidor.md.
//!
//! Needs `/usr/bin/chromium`, `/usr/bin/chromedriver` (or `KOMVUX_CHROMEDRIVER`) and
//! axe-core (`KOMVUX_AXE_JS`, installed by `make test` into var/tools). Screenshots go
//! to `KOMVUX_SCREENSHOTS` (`make screenshots` points it at docs/mina-sidor/) or to
//! target/mina-sidor-screenshots.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use komvux_domain::Kommunkod;
use serde_json::{Value, json};

use crate::bodies::{anvisa, besluta, person};
use crate::mina_sidor::Web;
use crate::support::{Db, MS_PUBLIC_URL, TestApp};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn axe_source() -> String {
    let path = std::env::var("KOMVUX_AXE_JS").map_or_else(
        |_| repo().join("var/tools/node_modules/axe-core/axe.min.js"),
        PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core not found at {} ({e}): run `make test` (it installs axe-core with npm) or set KOMVUX_AXE_JS",
            path.display()
        )
    })
}

struct Driver {
    process: tokio::process::Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    async fn start() -> Self {
        let binary =
            std::env::var("KOMVUX_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        assert!(
            std::path::Path::new(&binary).exists(),
            "{binary} not found: install Debian's chromium and chromium-driver (.ci/run does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = tokio::process::Command::new(binary)
            .arg(format!("--port={port}"))
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            process,
            port,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        // The dev CA is not in Chromium's trust store; the gateway's TLS is tested elsewhere.
        caps.insert("acceptInsecureCerts".into(), json!(true));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("KOMVUX_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--lang=sv-SE",
                         format!("--user-data-dir={}", self.profile.path().display())],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap()
    }
}

/// A page check: zero axe violations of the WCAG 2.0/2.1 A and AA rules, then a
/// screenshot.
struct Checker {
    axe: String,
    shots: PathBuf,
    checked: Vec<String>,
}

impl Checker {
    fn new() -> Self {
        let shots = std::env::var("KOMVUX_SCREENSHOTS").map_or_else(
            |_| repo().join("target/mina-sidor-screenshots"),
            PathBuf::from,
        );
        std::fs::create_dir_all(&shots).unwrap();
        Self {
            axe: axe_source(),
            shots,
            checked: Vec::new(),
        }
    }

    async fn check(&mut self, c: &Client, name: &str) {
        c.execute(&self.axe, vec![]).await.unwrap();
        let violations = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag',
                     values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact,
                       help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) }))))
                   .catch(e => done([{ id: 'axe-error', help: String(e) }]));",
                vec![],
            )
            .await
            .unwrap();
        let url = c.current_url().await.unwrap();
        assert_eq!(
            violations,
            Value::Array(vec![]),
            "axe-core found WCAG 2.1 AA violations on {name} ({url})"
        );
        let png = c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
        self.checked.push(name.to_owned());
    }
}

async fn wait_for_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still at {url}, waiting for {path}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The element once it is there (a click on a submit button does not wait for the
/// next page).
async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// Waits until the page's heading is `expected` (the next page has loaded).
async fn wait_h1(c: &Client, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = match c.find(Locator::Css("h1")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "heading {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fill(c: &Client, id: &str, value: &str) {
    let e = find(c, &format!("#{id}")).await;
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

/// Reflow (WCAG 1.4.10): at 320 CSS pixels nothing on the page but a table's own
/// region is wider than the window; then the page is checked at that width too.
async fn reflows_at_320_px(c: &Client, checker: &mut Checker, name: &str) {
    c.set_window_size(320, 900).await.unwrap();
    let wide = c
        .execute(
            "return [...document.querySelectorAll('body *')]
                 .filter(e => !e.closest('.tabell'))
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                 .map(e => e.tagName + '#' + e.id + '.' + e.className)",
            vec![],
        )
        .await
        .unwrap();
    let fits = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        (fits, wide),
        (Value::Bool(true), Value::Array(vec![])),
        "{name}: wider than 320 px"
    );
    checker.check(c, name).await;
    c.set_window_size(1280, 1000).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    find(c, css).await.click().await.unwrap();
}

/// Logs in (or registers, from an invitation page) with BankID: the browser shows the
/// QR page and polls; the "phone" identifies; the page's script moves on by itself.
async fn bankid(c: &Client, web: &Web, p: &str, checker: Option<(&mut Checker, &str)>) {
    bankid_to(c, web, p, checker, "/mina-sidor/").await;
}

/// As [`bankid`], for a login that leads to `path`.
async fn bankid_to(
    c: &Client,
    web: &Web,
    p: &str,
    checker: Option<(&mut Checker, &str)>,
    path: &str,
) {
    click(c, "button.primar").await;
    wait_for_path(c, "/mina-sidor/logga-in/bankid").await;
    let link = c
        .find(Locator::Id("bankid-autostart"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(link.starts_with("bankid:///?autostarttoken="), "{link}");
    if let Some((checker, name)) = checker {
        checker.check(c, name).await;
    }
    let token = link
        .trim_start_matches("bankid:///?autostarttoken=")
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let answer = web.phone_identifies(&token, p).await;
    assert!(answer.contains("Legitimerad"), "{answer}");
    wait_for_path(c, path).await;
}

#[actix_web::test]
async fn mina_sidor_in_a_real_browser() {
    let app = TestApp::spawn_mina_sidor(Db::Sqlite, |_| {}).await.unwrap();
    let ms_base = format!(
        "https://localhost:{}",
        app.mina_sidor.as_ref().unwrap().port
    );
    let web = Web::new(&app);
    let driver = Driver::start().await;
    let c = driver.browser().await;
    let mut checker = Checker::new();

    let stockholm = Kommunkod::parse("0180").unwrap();
    let goteborg = Kommunkod::parse("1480").unwrap();
    let admin = person(960);
    app.store
        .mina_sidor()
        .add_huvudansvarig("test", stockholm, &admin, "ha@stockholm.invalid")
        .unwrap();
    let (resident, decided) = (person(961), person(962));
    anvisa(&app.store, resident, "0180");
    anvisa(&app.store, decided, "0180");
    besluta(&app.store, decided, "0180");

    // the huvudansvarig logs in
    c.goto(&format!("{ms_base}/")).await.unwrap();
    wait_h1(&c, "Logga in på Mina sidor för kommuner").await;
    checker.check(&c, "01-logga-in").await;
    bankid(&c, &web, &admin.expose(), Some((&mut checker, "02-bankid"))).await;
    wait_h1(&c, "Mina sidor – Stockholm").await;
    checker.check(&c, "03-start").await;

    // and invites a handläggare
    let user = person(963);
    click(&c, "a[href='/mina-sidor/anvandare']").await;
    wait_h1(&c, "Användare – Stockholm").await;
    fill(&c, "f-personnummer", &user.expose()).await;
    fill(&c, "f-epost", "handlaggare@stockholm.invalid").await;
    c.find(Locator::Id("f-roll"))
        .await
        .unwrap()
        .select_by_value("handlaggare")
        .await
        .unwrap();
    click(&c, "form[action='/mina-sidor/anvandare'] button").await;
    let notice = find(&c, ".notis").await.text().await.unwrap();
    assert!(notice.contains("handlaggare@stockholm.invalid"), "{notice}");
    checker.check(&c, "04-anvandare").await;
    click(&c, "a[href='/mina-sidor/anvandare/aktivitet']").await;
    wait_h1(&c, "Aktivitetslogg – Stockholm").await;
    checker.check(&c, "04-aktivitetslogg").await;

    // the mail arrives over SMTP; the handläggare registers with BankID in a fresh browser
    let mails = app.mina_sidor.as_ref().unwrap().mailbox.all();
    let text = mails.last().unwrap().body_text();
    let start = text.find(MS_PUBLIC_URL).unwrap();
    let path: String = text[start + MS_PUBLIC_URL.len()..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{ms_base}{path}")).await.unwrap();
    wait_h1(&c, "Inbjudan till Mina sidor för kommuner").await;
    checker.check(&c, "05-inbjudan").await;
    bankid(&c, &web, &user.expose(), None).await;
    wait_h1(&c, "Mina sidor – Stockholm").await;

    // looks a person up: the search answers with a redirect to the person page, whose
    // address holds an opaque id, never the personnummer
    click(&c, "a[href='/mina-sidor/sok']").await;
    wait_h1(&c, "Sök person").await;
    checker.check(&c, "06-sok").await;
    fill(&c, "f-personnummer", &decided.expose()).await;
    click(&c, "form button.primar").await;
    wait_h1(&c, "Person").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("Utbildningsbeslut 1") && page.contains("Utbildningsbehov 1"));
    let url = c.current_url().await.unwrap().to_string();
    assert!(
        url.contains("/mina-sidor/person/") && !url.contains(&decided.expose()),
        "{url}"
    );
    checker.check(&c, "07-person").await;
    reflows_at_320_px(&c, &mut checker, "07-person-320px").await;
    // an avbrott for the person offers the beslut's courses, one checkbox each
    click(&c, "a[href^='/mina-sidor/registrera/avbrott?person=']").await;
    wait_h1(&c, "Registrera avbrott").await;
    find(&c, "input[type='checkbox'][name='kurskoder']").await;
    checker.check(&c, "07b-avbrott-kurser").await;
    c.back().await.unwrap();
    wait_h1(&c, "Person").await;

    // Tabell 2
    click(&c, "a[href='/mina-sidor/aktiva']").await;
    wait_h1(&c, "Aktiva utbildningsbehov").await;
    assert!(c.source().await.unwrap().contains(&resident.expose()));
    checker.check(&c, "08-aktiva").await;
    click(&c, "a[href='/mina-sidor/registrera']").await;
    wait_h1(&c, "Registrera").await;
    checker.check(&c, "09-registrera").await;

    // the person-centred flow: search → person page → register pre-filled → receipt →
    // the history shows it → correct it → remove it (after a confirmation)
    click(&c, "a[href='/mina-sidor/sok']").await;
    wait_h1(&c, "Sök person").await;
    fill(&c, "f-personnummer", &resident.expose()).await;
    click(&c, "form button.primar").await;
    wait_h1(&c, "Person").await;
    assert!(
        c.source()
            .await
            .unwrap()
            .contains("Kommunen har inte skickat några meddelanden om personen.")
    );
    click(&c, "a[href^='/mina-sidor/registrera/ansokan?person=']").await;
    wait_h1(&c, "Registrera ansökan").await;
    let prefilled = find(&c, "#f-personnummer")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(prefilled.as_deref(), Some(resident.expose().as_str()));
    fill(&c, "f-ansokningsdatum", "2026-03-01").await;
    fill(&c, "f-kurser-0-kurskod", "MATMAT01a").await;
    fill(&c, "f-kurser-0-kursnamn", "Matematik 1a").await;
    c.find(Locator::Id("f-kurser-0-skolform"))
        .await
        .unwrap()
        .select_by_value("gymnasial")
        .await
        .unwrap();
    fill(&c, "f-kurser-0-poang", "100").await;
    fill(&c, "f-kurser-0-studietakt", "150").await;
    fill(&c, "f-kurser-0-startdatum", "2027-08-17").await;
    fill(&c, "f-kurser-0-slutdatum", "2027-12-18").await;
    click(&c, "button[value='granska']").await;
    let summary = find(&c, ".felsammanfattning").await.text().await.unwrap();
    assert!(summary.contains("Kurs 1, studietakt"), "{summary}");
    checker.check(&c, "10-registrera-fel").await;
    reflows_at_320_px(&c, &mut checker, "10-registrera-fel-320px").await;
    fill(&c, "f-kurser-0-studietakt", "50").await;
    // the review: what will be sent, in words; Ändra goes back with everything kept
    click(&c, "button[value='granska']").await;
    wait_h1(&c, "Granska innan du registrerar").await;
    let review = find(&c, "#granska").await.text().await.unwrap();
    assert!(
        review.contains("Gymnasial")
            && review.contains("MATMAT01a")
            && !review.contains("gymnasial"),
        "{review}"
    );
    checker.check(&c, "10b-granska").await;
    click(&c, "button[value='andra']").await;
    wait_h1(&c, "Registrera ansökan").await;
    assert_eq!(
        find(&c, "#f-kurser-0-studietakt")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("50")
    );
    click(&c, "button[value='granska']").await;
    wait_h1(&c, "Granska innan du registrerar").await;
    click(&c, "button[value='registrera']").await;
    let id = find(&c, "#meddelande-id").await.text().await.unwrap();
    checker.check(&c, "11-registrerat").await;
    click(&c, "a[href^='/mina-sidor/person/']").await;
    wait_h1(&c, "Person").await;
    let row = |id: &str| format!("tr[data-meddelande-id='{id}']");
    let text = find(&c, &row(&id)).await.text().await.unwrap();
    assert!(
        text.contains("Ansökan") && text.contains("MATMAT01a") && text.contains("Gäller"),
        "{text}"
    );
    checker.check(&c, "12-person-historik").await;

    // corrects it: the ändring form comes filled from the message
    click(&c, &format!("a[href$='&rattar={id}']")).await;
    wait_h1(&c, "Registrera ansökan").await;
    let value = |css: &'static str| {
        let c = &c;
        async move { find(c, css).await.prop("value").await.unwrap().unwrap() }
    };
    assert_eq!(value("#f-status").await, "andring");
    assert_eq!(value("#f-ersatter").await, id);
    assert_eq!(value("#f-kurser-0-kurskod").await, "MATMAT01a");
    assert_eq!(value("#f-ansokningsdatum").await, "2026-03-01");
    fill(&c, "f-kurser-0-kursnamn", "Matematik 1a, kväll").await;
    click(&c, "button[value='granska']").await;
    wait_h1(&c, "Granska innan du registrerar").await;
    click(&c, "button[value='registrera']").await;
    let corrected = find(&c, "#meddelande-id").await.text().await.unwrap();
    assert_ne!(corrected, id);
    click(&c, "a[href^='/mina-sidor/person/']").await;
    wait_h1(&c, "Person").await;
    let old = find(&c, &row(&id)).await.text().await.unwrap();
    assert!(old.contains("Ersatt av en ändring"), "{old}");
    let new = find(&c, &row(&corrected)).await.text().await.unwrap();
    assert!(new.contains("Ändring") && new.contains("Gäller"), "{new}");

    // removes the correction, after a confirmation
    click(&c, &format!("a[href$='/ta-bort/{corrected}']")).await;
    wait_h1(&c, "Vill du ta bort meddelandet?").await;
    checker.check(&c, "13-ta-bort").await;
    click(&c, "form button.primar").await;
    wait_h1(&c, "Meddelandet är registrerat").await;
    click(&c, "a[href^='/mina-sidor/person/']").await;
    wait_h1(&c, "Person").await;
    let removed = find(&c, &row(&corrected)).await.text().await.unwrap();
    assert!(removed.contains("Borttaget"), "{removed}");
    // Back from the person page is the receipt, never a form sent again
    c.back().await.unwrap();
    wait_h1(&c, "Meddelandet är registrerat").await;

    // Af sees it on its internal feed
    let feed = app.af().get("/handelser").await;
    assert!(
        feed.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["meddelande_id"] == id.as_str() && m["typ"] == "ansokan"),
        "{id} in {:?}",
        feed.body
    );

    // Skickade meddelanden lists them all, newest first; its filter narrows to a kind,
    // and "Visa person" leads to the person page
    click(&c, "a[href='/mina-sidor/skickade']").await;
    wait_h1(&c, "Skickade meddelanden").await;
    let status = find(&c, ".visar").await.text().await.unwrap();
    assert_eq!(status, "Visar 1–3 av 3 meddelanden.");
    checker.check(&c, "16-skickade").await;
    reflows_at_320_px(&c, &mut checker, "16-skickade-320px").await;
    c.find(Locator::Id("f-typ"))
        .await
        .unwrap()
        .select_by_value("antagning")
        .await
        .unwrap();
    click(&c, "form.filter button.primar").await;
    wait_h1(&c, "Skickade meddelanden").await;
    assert_eq!(
        find(&c, ".visar").await.text().await.unwrap(),
        "Inga meddelanden."
    );
    c.back().await.unwrap();
    wait_h1(&c, "Skickade meddelanden").await;
    click(&c, &format!("{} .radknapp button", row(&id))).await;
    wait_h1(&c, "Person").await;

    // Af's decisions for the kommun, from the API's feed
    click(&c, "a[href='/mina-sidor/beslut']").await;
    wait_h1(&c, "Utbildningsbeslut").await;
    find(&c, "#beslut tbody tr").await;
    checker.check(&c, "17-beslut").await;

    // the footer's pages: accessibility statement, personal data, help
    click(&c, "footer a[href='/mina-sidor/tillganglighet']").await;
    wait_h1(&c, "Tillgänglighetsredogörelse").await;
    checker.check(&c, "15-tillganglighet").await;
    click(&c, "footer a[href='/mina-sidor/personuppgifter']").await;
    wait_h1(&c, "Så behandlas personuppgifter i Mina sidor för kommuner").await;
    click(&c, "footer a[href='/mina-sidor/hjalp']").await;
    wait_h1(&c, "Hjälp och kontakt").await;

    // the used invitation is refused, in the browser too
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{ms_base}{path}")).await.unwrap();
    wait_h1(&c, "Inbjudan kan inte användas").await;
    assert!(c.source().await.unwrap().contains("redan använts"));
    checker.check(&c, "14-inbjudan-anvand").await;

    // a user of Göteborg never sees Stockholm's data
    let gbg = person(964);
    app.store
        .mina_sidor()
        .add_huvudansvarig("test", goteborg, &gbg, "ha@goteborg.invalid")
        .unwrap();
    c.goto(&format!("{ms_base}/mina-sidor/")).await.unwrap();
    bankid(&c, &web, &gbg.expose(), None).await;
    wait_h1(&c, "Mina sidor – Göteborg").await;
    click(&c, "a[href='/mina-sidor/sok']").await;
    wait_h1(&c, "Sök person").await;
    fill(&c, "f-personnummer", &decided.expose()).await;
    click(&c, "form button.primar").await;
    wait_h1(&c, "Person").await;
    let page = c.source().await.unwrap();
    assert!(
        page.contains("Utbildningsbehov 1"),
        "utbildningsbehov are national"
    );
    assert!(
        !page.contains("Utbildningsbeslut 1"),
        "no Stockholm beslut for Göteborg"
    );
    click(&c, "a[href='/mina-sidor/aktiva']").await;
    wait_h1(&c, "Aktiva utbildningsbehov").await;
    let page = c.source().await.unwrap();
    assert!(!page.contains(&resident.expose()) && !page.contains(&decided.expose()));

    assert_eq!(checker.checked.len(), 23);
    c.close().await.unwrap();
    drop(driver);
    app.stop().await;
}

/// The warning before an idle session ends (WCAG 2.2.1): it comes, takes the focus and
/// keeps the session when asked; when the time runs out the login page says why, and
/// after logging in again the user is back on the form with what they had typed.
#[actix_web::test]
async fn mina_sidor_warns_before_the_session_ends_and_keeps_what_was_typed() {
    let app = TestApp::spawn_mina_sidor(Db::Sqlite, |c| c.session_idle_secs = 8)
        .await
        .unwrap();
    let ms_base = format!(
        "https://localhost:{}",
        app.mina_sidor.as_ref().unwrap().port
    );
    let web = Web::new(&app);
    let driver = Driver::start().await;
    let c = driver.browser().await;
    let mut checker = Checker::new();
    let admin = person(970);
    app.store
        .mina_sidor()
        .add_huvudansvarig(
            "test",
            Kommunkod::parse("0180").unwrap(),
            &admin,
            "ha@x.invalid",
        )
        .unwrap();
    c.goto(&format!("{ms_base}/")).await.unwrap();
    bankid(&c, &web, &admin.expose(), None).await;
    c.goto(&format!("{ms_base}/mina-sidor/registrera/ansokan"))
        .await
        .unwrap();
    wait_h1(&c, "Registrera ansökan").await;
    let shown = || async {
        c.execute(
            "return !document.getElementById('tidsgrans').hidden",
            vec![],
        )
        .await
        .unwrap()
            == Value::Bool(true)
    };
    assert!(!shown().await, "no warning at first");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !shown().await {
        assert!(Instant::now() < deadline, "the warning comes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let focused = c
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, Value::String("tidsgrans-fortsatt".into()));
    checker.check(&c, "16-tidsgrans").await;
    click(&c, "#tidsgrans-fortsatt").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while shown().await {
        assert!(Instant::now() < deadline, "the warning goes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fill(&c, "f-ansokningsdatum", "2026-03-01").await;
    fill(&c, "f-kurser-0-kurskod", "MATMAT01a").await;
    // nobody answers: the time runs out
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.current_url().await.unwrap().path() != "/mina-sidor/" {
        assert!(Instant::now() < deadline, "the session ends");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    wait_h1(&c, "Logga in på Mina sidor för kommuner").await;
    let why = find(&c, "#utloggad").await.text().await.unwrap();
    assert!(why.contains("kommer du tillbaka"), "{why}");
    checker.check(&c, "17-utloggad").await;
    bankid_to(
        &c,
        &web,
        &admin.expose(),
        None,
        "/mina-sidor/registrera/ansokan",
    )
    .await;
    wait_h1(&c, "Registrera ansökan").await;
    find(&c, "#utkast-aterstallt").await;
    let value = |id: &'static str| {
        let c = &c;
        async move {
            find(c, &format!("#{id}"))
                .await
                .prop("value")
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(value("f-ansokningsdatum").await, "2026-03-01");
    assert_eq!(value("f-kurser-0-kurskod").await, "MATMAT01a");
    let kept = c
        .execute(
            "return Object.keys(window.sessionStorage).filter(k => k.startsWith('ms-utkast:')).length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, Value::from(0), "restored once, then forgotten");
    assert_eq!(checker.checked.len(), 2);
    c.close().await.unwrap();
    drop(driver);
    app.stop().await;
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}
