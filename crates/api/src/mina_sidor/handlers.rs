//! The pages of Mina sidor.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use komvux_domain::message::PersonSok;
use komvux_domain::{FieldError, FromJson, Personnummer};
use komvux_persistence::{
    AuditActor, IdempotencyKey, Invitation, InvitationRefusal, InviteRefusal, MsUser, Roll,
    StoreError, Submission,
};
use maud::{Markup, html};
use serde_json::json;

use super::bankid::{self, OrderStatus};
use super::forms::{self, Typ};
use super::pages::{self, Ctx, Errors, csrf, layout, ok, select_field, text_field};
use super::session::{
    AnonCsrf, FormData, Inloggad, LOGIN_COOKIE, PageError, SESSION_COOKIE, cookie, removal,
};
use super::{BASE, MinaSidor};
use crate::startup::AppState;
use komvux_http::body;
use komvux_http::config::Mode;
use komvux_http::error::ApiError;
use komvux_http::privacy;

type State = web::Data<AppState>;
type Ms = web::Data<MinaSidor>;
type Page = Result<HttpResponse, PageError>;

const STYLE: &str = include_str!("stil.css");
const SCRIPT: &str = include_str!("bankid.js");

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(to_start))
        .service(
            web::scope(BASE)
                .route("", web::get().to(to_start))
                .route("/", web::get().to(start))
                .route("/static/stil.css", web::get().to(style))
                .route("/static/bankid.js", web::get().to(script))
                .route("/logga-in", web::post().to(login_start))
                .route("/logga-in/bankid", web::get().to(login_page))
                .route("/logga-in/qr.svg", web::get().to(login_qr))
                .route("/logga-in/status", web::post().to(login_status))
                .route("/logga-in/kontrollera", web::post().to(login_check))
                .route("/logga-in/avbryt", web::post().to(login_cancel))
                .route("/inbjudan/{token}", web::get().to(invitation_page))
                .route("/inbjudan/{token}", web::post().to(invitation_start))
                .route("/logga-ut", web::post().to(logout))
                .route("/byt-kommun", web::post().to(switch_kommun))
                .route("/sok", web::get().to(sok_form))
                .route("/sok", web::post().to(sok))
                .route("/aktiva", web::get().to(aktiva))
                .route("/etableringsprogrammet", web::get().to(etab_form))
                .route("/etableringsprogrammet", web::post().to(etab))
                .route("/registrera", web::get().to(registrera_index))
                .route("/registrera/{typ}", web::get().to(registrera_form))
                .route("/registrera/{typ}", web::post().to(registrera))
                .route("/anvandare", web::get().to(users))
                .route("/anvandare", web::post().to(invite))
                .route("/anvandare/{id}/{atgard}", web::post().to(set_active))
                .route(
                    "/inbjudningar/{id}/{atgard}",
                    web::post().to(invitation_action),
                ),
        )
        .default_service(web::to(not_found));
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, PageError> {
    Ok(web::block(f).await??)
}

fn test_mode(state: &AppState) -> bool {
    state.mode == Mode::Test
}

fn ctx<'a>(state: &AppState, who: &'a Inloggad) -> Ctx<'a> {
    Ctx {
        user: Some(&who.user),
        csrf: &who.csrf,
        test_mode: test_mode(state),
    }
}

fn anon_ctx<'a>(state: &AppState, token: &'a AnonCsrf) -> Ctx<'a> {
    Ctx {
        user: None,
        csrf: &token.token,
        test_mode: test_mode(state),
    }
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

async fn to_start() -> HttpResponse {
    see_other(&format!("{BASE}/"))
}

async fn not_found(req: HttpRequest, state: State) -> HttpResponse {
    let token = AnonCsrf::of(&req);
    pages::html(
        StatusCode::NOT_FOUND,
        pages::message_page(
            "Sidan finns inte",
            "Kontrollera adressen.",
            Some(anon_ctx(&state, &token)),
        ),
    )
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(STYLE)
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(SCRIPT)
}

async fn form_of(req: &HttpRequest, payload: web::Payload) -> Result<FormData, PageError> {
    let timeout = req
        .app_data::<web::Data<AppState>>()
        .map_or(std::time::Duration::from_secs(10), |s| {
            crate::routes::body_timeout(s)
        });
    let bytes = crate::routes::read_body(req, payload, 64 * 1024, timeout)
        .await
        .map_err(|_| PageError::BadRequest("form too large".into()))?;
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(PageError::BadRequest("not a form".into()));
    }
    serde_urlencoded::from_bytes(&bytes).map_err(|e| PageError::BadRequest(e.to_string()))
}

// ---- start and login --------------------------------------------------------------

async fn start(req: HttpRequest, state: State, who: Option<Inloggad>) -> Page {
    if let Some(who) = who {
        let admin = who.user.roll == Roll::Huvudansvarig;
        let store = state.store.clone();
        let me = who.user.clone();
        let others = run(move || store.ms_other_accounts(&me)).await?;
        return Ok(ok(layout(
            "Start",
            ctx(&state, &who),
            html! {
                h1 { "Mina sidor – " (who.user.kommun.namn()) }
                p { "Här ser och registrerar du samma uppgifter som kommunens system utbyter med Arbetsförmedlingen genom API:et." }
                ul class="kort" {
                    li { a href={ (BASE) "/sok" } { "Sök en person" } " – utbildningsbehov och utbildningsbeslut." }
                    li { a href={ (BASE) "/aktiva" } { "Aktiva utbildningsbehov" } " – kommunens invånare med en aktiv anvisning." }
                    li { a href={ (BASE) "/etableringsprogrammet" } { "Etableringsprogrammet" } " – deltar personen?" }
                    li { a href={ (BASE) "/registrera" } { "Registrera" } " – ansökan, antagning, avbrott, förändring och betyg, och rättelser." }
                    @if admin {
                        li { a href={ (BASE) "/anvandare" } { "Användare" } " – bjud in och inaktivera kommunens användare." }
                    }
                }
                @if !others.is_empty() {
                    h2 { "Byt kommun" }
                    p { "Du har konton i fler kommuner." }
                    @for o in &others {
                        form method="post" action={ (BASE) "/byt-kommun" } class="rad" {
                            (csrf(&who.csrf))
                            input type="hidden" name="anvandare" value=(o.id);
                            button type="submit" class="sekundar" { "Arbeta för " (o.kommun.namn()) }
                        }
                    }
                }
            },
        )));
    }
    let token = AnonCsrf::of(&req);
    let page = layout(
        "Logga in",
        anon_ctx(&state, &token),
        html! {
            h1 { "Logga in på Mina sidor för kommuner" }
            p { "Mina sidor är till för kommuner som inte har kopplat sitt studieadministrativa system till Arbetsförmedlingen. Du loggar in med BankID. Din kommuns huvudansvariga bjuder in dig." }
            form method="post" action={ (BASE) "/logga-in" } {
                (csrf(&token.token))
                button type="submit" class="primar" { "Logga in med BankID" }
            }
        },
    );
    Ok(token.apply(ok(page)))
}

async fn switch_kommun(
    req: HttpRequest,
    state: State,
    who: Inloggad,
    payload: web::Payload,
) -> Page {
    let form = form_of(&req, payload).await?;
    who.check_csrf(&form)?;
    let target = form.value("anvandare").unwrap_or_default().to_owned();
    let token = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let store = state.store.clone();
    let me = who.user.clone();
    match run(move || store.ms_switch_account(&token, &me, &target)).await? {
        Some(session) => {
            let mut res = see_other(&format!("{BASE}/"));
            let _ = res.add_cookie(&cookie(SESSION_COOKIE, session));
            Ok(res)
        }
        None => Err(PageError::NotFound),
    }
}

fn bankid_unavailable(state: &AppState, token: &AnonCsrf, e: &bankid::BankIdError) -> HttpResponse {
    tracing::warn!(error = %e, "BankID could not start an order");
    pages::html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::message_page(
            "BankID svarar inte",
            "Inloggning med BankID går inte att starta just nu. Försök igen om en stund.",
            Some(anon_ctx(state, token)),
        ),
    )
}

/// Starts a BankID order and sends the browser to the QR page.
async fn begin_bankid(
    req: &HttpRequest,
    state: &State,
    ms: &Ms,
    token: &AnonCsrf,
    invitation: Option<String>,
) -> Page {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>();
    let ip = super::client_ip(
        req.peer_addr().map(|a| a.ip()),
        forwarded.into_iter(),
        &ms.config.trusted_proxies,
    )
    .to_string();
    if ms.login_limiter.check(&ip).is_err() {
        return Ok(token.apply(pages::html(
            StatusCode::TOO_MANY_REQUESTS,
            pages::message_page(
                "För många inloggningsförsök",
                "Vänta en stund och försök sedan igen.",
                Some(anon_ctx(state, token)),
            ),
        )));
    }
    let order = match ms.bankid.auth(&ip).await {
        Ok(o) => o,
        Err(e) => return Ok(bankid_unavailable(state, token, &e)),
    };
    let store = state.store.clone();
    let login = run(move || {
        store.ms_start_login(
            &order.order_ref,
            &order.auto_start_token,
            &order.qr_start_token,
            &order.qr_start_secret,
            invitation.as_deref(),
        )
    })
    .await?;
    let mut res = see_other(&format!("{BASE}/logga-in/bankid"));
    let _ = res.add_cookie(&cookie(LOGIN_COOKIE, login));
    Ok(res)
}

async fn login_start(req: HttpRequest, state: State, ms: Ms, payload: web::Payload) -> Page {
    let form = form_of(&req, payload).await?;
    AnonCsrf::check(&req, &form)?;
    let token = AnonCsrf::of(&req);
    begin_bankid(&req, &state, &ms, &token, None).await
}

fn login_token(req: &HttpRequest) -> Option<String> {
    req.cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| t.len() <= 100)
}

async fn login_page(req: HttpRequest, state: State, ms: Ms) -> Page {
    let Some(login) = login_token(&req) else {
        return Ok(see_other(&format!("{BASE}/")));
    };
    let store = state.store.clone();
    let Some(pending) = run(move || store.ms_pending_login(&login)).await? else {
        return Ok(see_other(&format!("{BASE}/")));
    };
    let token = AnonCsrf::of(&req);
    let message = bankid::hint_message(OrderStatus::Pending, Some("outstandingTransaction"));
    Ok(token.apply(ok(bankid_page(
        &state,
        &ms,
        &token,
        &pending.auto_start_token,
        message,
    ))))
}

fn bankid_page(
    state: &AppState,
    ms: &MinaSidor,
    token: &AnonCsrf,
    auto_start_token: &str,
    message: &str,
) -> Markup {
    let autostart = format!("bankid:///?autostarttoken={auto_start_token}&redirect=null");
    layout(
        "Legitimera dig med BankID",
        anon_ctx(state, token),
        html! {
            h1 { "Legitimera dig med BankID" }
            div id="bankid" data-csrf=(token.token) data-qr={ (BASE) "/logga-in/qr.svg" }
                data-status={ (BASE) "/logga-in/status" } {
                p id="bankid-status" role="status" aria-live="polite" { (message) }
                img id="bankid-qr" src={ (BASE) "/logga-in/qr.svg" } width="240" height="240"
                    alt="QR-kod för inloggning. Skanna den med BankID-appen i din mobil.";
                p { a id="bankid-autostart" href=(autostart) { "Öppna BankID på den här enheten" } }
                @if let Some(testapp) = &ms.config.bankid_testapp_url {
                    p class="testmiljo-info" {
                        "Testmiljö: "
                        a id="bankid-testapp" href={ (testapp) "?autostarttoken=" (auto_start_token) } target="_blank" rel="noopener" {
                            "legitimera med ett testpersonnummer i test-BankID (öppnas i ny flik)"
                        }
                    }
                }
                p id="bankid-igen" hidden { a href={ (BASE) "/" } { "Försök igen" } }
                form method="post" action={ (BASE) "/logga-in/kontrollera" } class="rad" {
                    (csrf(&token.token))
                    button type="submit" { "Jag har legitimerat mig – fortsätt" }
                }
                form method="post" action={ (BASE) "/logga-in/avbryt" } class="rad" {
                    (csrf(&token.token))
                    button type="submit" class="sekundar" { "Avbryt" }
                }
            }
            script src={ (BASE) "/static/bankid.js" } {}
        },
    )
}

async fn login_qr(req: HttpRequest, state: State) -> Page {
    let Some(login) = login_token(&req) else {
        return Err(PageError::NotFound);
    };
    let store = state.store.clone();
    let Some(pending) = run(move || store.ms_pending_login(&login)).await? else {
        return Err(PageError::NotFound);
    };
    let micros = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64;
    let seconds = u64::try_from((micros - pending.started_at) / 1_000_000).unwrap_or(0);
    let data = bankid::qr_data(&pending.qr_start_token, &pending.qr_start_secret, seconds);
    let svg = bankid::qr_svg(&data).ok_or_else(|| PageError::Internal("QR code".into()))?;
    Ok(HttpResponse::Ok().content_type("image/svg+xml").body(svg))
}

/// Where a login stands after asking BankID.
enum LoginOutcome {
    /// Still waiting, with the message to show and the order's autostart token.
    Pending(&'static str, String),
    Failed(&'static str),
    LoggedIn(String),
}

fn refusal_text(r: InvitationRefusal) -> &'static str {
    match r {
        InvitationRefusal::Unknown => {
            "Inbjudan finns inte. Kontrollera att du använt hela länken i e-postmeddelandet."
        }
        InvitationRefusal::Expired => {
            "Inbjudan har gått ut. Be kommunens huvudansvariga att skicka en ny inbjudan."
        }
        InvitationRefusal::Used => {
            "Inbjudan har redan använts. Har du redan registrerat dig loggar du in med BankID på startsidan."
        }
        InvitationRefusal::Withdrawn => {
            "Inbjudan har återkallats. Be kommunens huvudansvariga om en ny inbjudan om du behöver ett konto."
        }
        InvitationRefusal::OtherPerson => {
            "Inbjudan gäller en annan person än den som legitimerade sig. Inbjudan kan bara användas av den som den skickades till."
        }
        InvitationRefusal::AccountExists => {
            "Du har redan ett konto i kommunen, och en inbjudan ändrar det inte. Logga in med BankID på startsidan, eller be kommunens huvudansvariga om hjälp."
        }
    }
}

fn invite_refusal_error(r: InviteRefusal) -> FieldError {
    match r {
        InviteRefusal::HasAccount => FieldError::new(
            "personnummer",
            "har_konto",
            "Personen har redan ett konto i kommunen. En inbjudan kan inte ändra ett konto.",
        ),
        InviteRefusal::HasInactiveAccount => FieldError::new(
            "personnummer",
            "har_inaktiverat_konto",
            "Personen har ett inaktiverat konto i kommunen. Aktivera kontot i listan över användare i stället.",
        ),
        InviteRefusal::OpenInvitation => FieldError::new(
            "personnummer",
            "har_oppen_inbjudan",
            "Personen har redan en inbjudan som inte har använts. Skicka den igen eller återkalla den i listan över inbjudningar.",
        ),
    }
}

const NOT_INVITED: &str = "Du har inget konto på Mina sidor för kommuner. Be din kommuns huvudansvariga att bjuda in dig.";

async fn collect_login(state: &State, ms: &Ms, login: String) -> Result<LoginOutcome, PageError> {
    let store = state.store.clone();
    let key = login.clone();
    let Some(pending) = run(move || store.ms_pending_login(&key)).await? else {
        return Ok(LoginOutcome::Failed(
            "Inloggningen har gått ut. Börja om från startsidan.",
        ));
    };
    let end = |state: &State, login: String| {
        let store = state.store.clone();
        run(move || store.ms_end_login(&login))
    };
    let answer = match ms.bankid.collect(&pending.order_ref).await {
        Ok(a) => a,
        Err(bankid::BankIdError::Api {
            status: 400 | 404, ..
        }) => {
            end(state, login).await?;
            return Ok(LoginOutcome::Failed(
                "Inloggningen har gått ut. Börja om från startsidan.",
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "BankID collect failed");
            return Ok(LoginOutcome::Pending(
                "BankID svarar inte just nu, vi försöker igen …",
                pending.auto_start_token,
            ));
        }
    };
    match answer.status {
        OrderStatus::Pending => Ok(LoginOutcome::Pending(
            bankid::hint_message(OrderStatus::Pending, answer.hint_code.as_deref()),
            pending.auto_start_token,
        )),
        OrderStatus::Failed => {
            end(state, login).await?;
            Ok(LoginOutcome::Failed(bankid::hint_message(
                OrderStatus::Failed,
                answer.hint_code.as_deref(),
            )))
        }
        OrderStatus::Complete => {
            end(state, login).await?;
            let Some(done) = answer.completion_data else {
                return Err(PageError::Internal(
                    "complete without completionData".into(),
                ));
            };
            let pnr = Personnummer::parse(&done.user.personal_number)
                .map_err(|_| PageError::Internal("BankID gave no valid personnummer".into()))?;
            let namn = done.user.name;
            let store = state.store.clone();
            let user: Result<MsUser, &'static str> = match pending.invitation_hash {
                Some(h) => run(move || store.ms_accept_invitation(&h, &pnr, &namn))
                    .await?
                    .map_err(refusal_text),
                None => run(move || store.ms_login_users(&pnr, &namn))
                    .await?
                    .into_iter()
                    .next()
                    .ok_or(NOT_INVITED),
            };
            let user = match user {
                Ok(u) => u,
                Err(text) => return Ok(LoginOutcome::Failed(text)),
            };
            let store = state.store.clone();
            let session = run(move || store.ms_create_session(&user)).await?;
            Ok(LoginOutcome::LoggedIn(session))
        }
    }
}

fn logged_in(mut res: HttpResponse, session: String) -> HttpResponse {
    let _ = res.add_cookie(&cookie(SESSION_COOKIE, session));
    let _ = res.add_cookie(&removal(LOGIN_COOKIE));
    res
}

/// Polled by the QR page's script: JSON, with the CSRF token in a header.
async fn login_status(req: HttpRequest, state: State, ms: Ms) -> Page {
    let sent = req
        .headers()
        .get("X-CSRF-Token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    AnonCsrf::check(&req, &FormData(vec![("csrf".into(), sent)]))?;
    let Some(login) = login_token(&req) else {
        return Ok(HttpResponse::Ok().json(json!({ "status": "failed",
            "meddelande": "Inloggningen har gått ut. Börja om från startsidan." })));
    };
    Ok(match collect_login(&state, &ms, login).await? {
        LoginOutcome::Pending(m, _) => {
            HttpResponse::Ok().json(json!({ "status": "pending", "meddelande": m }))
        }
        LoginOutcome::Failed(m) => {
            let mut res = HttpResponse::Ok().json(json!({ "status": "failed", "meddelande": m }));
            let _ = res.add_cookie(&removal(LOGIN_COOKIE));
            res
        }
        LoginOutcome::LoggedIn(session) => logged_in(
            HttpResponse::Ok().json(json!({ "status": "complete",
                "meddelande": "Du är inloggad.", "adress": format!("{BASE}/") })),
            session,
        ),
    })
}

/// The same without JavaScript: the "continue" button.
async fn login_check(req: HttpRequest, state: State, ms: Ms, payload: web::Payload) -> Page {
    let form = form_of(&req, payload).await?;
    AnonCsrf::check(&req, &form)?;
    let token = AnonCsrf::of(&req);
    let Some(login) = login_token(&req) else {
        return Ok(see_other(&format!("{BASE}/")));
    };
    Ok(match collect_login(&state, &ms, login).await? {
        LoginOutcome::Pending(m, auto_start) => {
            ok(bankid_page(&state, &ms, &token, &auto_start, m))
        }
        LoginOutcome::Failed(m) => pages::html(
            StatusCode::FORBIDDEN,
            pages::message_page("Inloggningen gick inte", m, Some(anon_ctx(&state, &token))),
        ),
        LoginOutcome::LoggedIn(session) => logged_in(see_other(&format!("{BASE}/")), session),
    })
}

async fn login_cancel(req: HttpRequest, state: State, ms: Ms, payload: web::Payload) -> Page {
    let form = form_of(&req, payload).await?;
    AnonCsrf::check(&req, &form)?;
    if let Some(login) = login_token(&req) {
        let store = state.store.clone();
        let key = login.clone();
        if let Some(p) = run(move || store.ms_pending_login(&key)).await?
            && let Err(e) = ms.bankid.cancel(&p.order_ref).await
        {
            tracing::info!(error = %e, "BankID cancel failed");
        }
        let store = state.store.clone();
        run(move || store.ms_end_login(&login)).await?;
    }
    let mut res = see_other(&format!("{BASE}/"));
    let _ = res.add_cookie(&removal(LOGIN_COOKIE));
    Ok(res)
}

async fn logout(req: HttpRequest, state: State, who: Inloggad, payload: web::Payload) -> Page {
    let form = form_of(&req, payload).await?;
    who.check_csrf(&form)?;
    let everywhere = form.value("alla") == Some("ja");
    if everywhere {
        let store = state.store.clone();
        let user = who.user.clone();
        run(move || store.ms_end_all_sessions(&user)).await?;
    } else if let Some(c) = req.cookie(SESSION_COOKIE) {
        let token = c.value().to_owned();
        let store = state.store.clone();
        run(move || store.ms_end_session(&token)).await?;
    }
    let token = AnonCsrf::of(&req);
    let mut res = token.apply(ok(pages::message_page(
        "Du är utloggad",
        if everywhere {
            "Du har loggat ut från Mina sidor för kommuner på alla enheter och i alla webbläsare."
        } else {
            "Du har loggat ut från Mina sidor för kommuner."
        },
        Some(anon_ctx(&state, &token)),
    )));
    let _ = res.add_cookie(&removal(SESSION_COOKIE));
    Ok(res)
}

// ---- invitations --------------------------------------------------------------------

fn invitation_refused(state: &AppState, token: &AnonCsrf, r: InvitationRefusal) -> HttpResponse {
    let status = match r {
        InvitationRefusal::Unknown => StatusCode::NOT_FOUND,
        _ => StatusCode::GONE,
    };
    token.apply(pages::html(
        status,
        pages::message_page(
            "Inbjudan kan inte användas",
            refusal_text(r),
            Some(anon_ctx(state, token)),
        ),
    ))
}

async fn invitation_page(req: HttpRequest, state: State, path: web::Path<String>) -> Page {
    let invitation_token = path.into_inner();
    let token = AnonCsrf::of(&req);
    let store = state.store.clone();
    let key = invitation_token.clone();
    let found = run(move || store.ms_invitation(&key)).await?;
    let invitation = match found {
        Ok(i) => i,
        Err(r) => return Ok(invitation_refused(&state, &token, r)),
    };
    let roll = match invitation.roll {
        Roll::Huvudansvarig => "huvudansvarig",
        Roll::Handlaggare => "handläggare",
    };
    Ok(token.apply(ok(layout(
        "Inbjudan",
        anon_ctx(&state, &token),
        html! {
            h1 { "Inbjudan till Mina sidor för kommuner" }
            p { "Du är inbjuden som " (roll) " i kommunen " (invitation.kommun.namn()) ". Registrera dig genom att legitimera dig med BankID. Inbjudan kan bara användas en gång och bara av den person den skickades till." }
            form method="post" action={ (BASE) "/inbjudan/" (invitation_token) } {
                (csrf(&token.token))
                button type="submit" class="primar" { "Registrera dig med BankID" }
            }
        },
    ))))
}

async fn invitation_start(
    req: HttpRequest,
    state: State,
    ms: Ms,
    path: web::Path<String>,
    payload: web::Payload,
) -> Page {
    let form = form_of(&req, payload).await?;
    AnonCsrf::check(&req, &form)?;
    let token = AnonCsrf::of(&req);
    let invitation_token = path.into_inner();
    let store = state.store.clone();
    let key = invitation_token.clone();
    if let Err(r) = run(move || store.ms_invitation(&key)).await? {
        return Ok(invitation_refused(&state, &token, r));
    }
    begin_bankid(&req, &state, &ms, &token, Some(invitation_token)).await
}

// ---- looking people up -------------------------------------------------------------

/// The personnummer of a search form, checked exactly as the API's `sok` bodies.
fn person_of(state: &AppState, form: &FormData) -> Result<Personnummer, Errors> {
    let value = json!({ "personnummer": form.value("personnummer").unwrap_or_default() });
    let sok = PersonSok::from_json(&value).map_err(|e| Errors(e.into_errors()))?;
    body::persons_allowed(state.mode, [(&sok.personnummer, "personnummer".to_owned())])
        .map_err(|e| Errors(e.problem(None).errors))?;
    Ok(sok.personnummer)
}

fn person_form(action: &str, who: &Inloggad, value: Option<&str>, errors: &Errors) -> Markup {
    html! {
        (errors.summary(&|f| f == "personnummer"))
        form method="post" action=(action) novalidate {
            (csrf(&who.csrf))
            (text_field("personnummer", value, Some("12 siffror, ÅÅÅÅMMDDNNNN. Personnumret skickas i formuläret, aldrig i adressen."), errors, None))
            button type="submit" class="primar" { "Sök" }
        }
    }
}

/// A page that asks one question about a person (search, etableringsprogrammet).
struct PersonQuestion {
    title: &'static str,
    heading: &'static str,
    action: &'static str,
    /// Shown above the empty form.
    intro: Option<&'static str>,
}

const SOK: PersonQuestion = PersonQuestion {
    title: "Sök person",
    heading: "Sök person",
    action: "/mina-sidor/sok",
    intro: Some(
        "Visar personens utbildningsbehov (anvisningar från Arbetsförmedlingen) och de utbildningsbeslut som gäller din kommun. Sökningen loggas.",
    ),
};

const ETAB: PersonQuestion = PersonQuestion {
    title: "Etableringsprogrammet",
    heading: "Deltar personen i etableringsprogrammet?",
    action: "/mina-sidor/etableringsprogrammet",
    intro: None,
};

/// The question's form: empty, or as sent with its errors.
fn question_page(
    state: &AppState,
    who: &Inloggad,
    q: &PersonQuestion,
    sent: Option<(&FormData, &Errors)>,
) -> Markup {
    let empty = Errors::default();
    let (value, errors) = sent.map_or((None, &empty), |(f, e)| (f.get("personnummer"), e));
    layout(
        q.title,
        ctx(state, who),
        html! {
            h1 { (q.heading) }
            @if let (Some(intro), None) = (q.intro, sent) { p { (intro) } }
            (person_form(q.action, who, value, errors))
        },
    )
}

/// The personnummer a question's form asks about, or the form again with its errors.
async fn asked_person(
    req: &HttpRequest,
    state: &AppState,
    who: &Inloggad,
    payload: web::Payload,
    q: &PersonQuestion,
) -> Result<Result<Personnummer, HttpResponse>, PageError> {
    let form = form_of(req, payload).await?;
    who.check_csrf(&form)?;
    Ok(person_of(state, &form).map_err(|errors| {
        pages::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            question_page(state, who, q, Some((&form, &errors))),
        )
    }))
}

async fn sok_form(state: State, who: Inloggad) -> HttpResponse {
    ok(question_page(&state, &who, &SOK, None))
}

async fn sok(req: HttpRequest, state: State, who: Inloggad, payload: web::Payload) -> Page {
    let person = match asked_person(&req, &state, &who, payload, &SOK).await? {
        Ok(p) => p,
        Err(page) => return Ok(page),
    };
    let reader = who.reader();
    // Both reads queued at once; each is answered once audited.
    let behov = state.store.utbildningsbehov_for_person(&reader, &person);
    let beslut = state.store.utbildningsbeslut_for_person(&reader, &person);
    let (behov, beslut) = (behov.await?, beslut.await?);
    let behov = privacy::redact_all(&behov);
    let beslut = privacy::redact_all(&beslut);
    Ok(ok(layout(
        "Sökresultat",
        ctx(&state, &who),
        html! {
            h1 { "Sökresultat" }
            h2 { "Utbildningsbehov" }
            @if behov.is_empty() {
                p { "Personen har inga utbildningsbehov." }
            }
            @for (i, b) in behov.iter().enumerate() {
                (pages::record(&format!("Utbildningsbehov {}", i + 1), b))
            }
            h2 { "Utbildningsbeslut i kommunen " (who.user.kommun.namn()) }
            @if beslut.is_empty() {
                p { "Personen har inga utbildningsbeslut i kommunen." }
            }
            @for (i, b) in beslut.iter().enumerate() {
                (pages::record(&format!("Utbildningsbeslut {}", i + 1), b))
            }
            p { a href=(SOK.action) { "Ny sökning" } }
        },
    )))
}

#[derive(serde::Deserialize)]
struct SidaQuery {
    sida: Option<u32>,
}

async fn aktiva(state: State, who: Inloggad, q: Option<web::Query<SidaQuery>>) -> Page {
    let sida = q.and_then(|q| q.sida).unwrap_or(1).clamp(1, 1_000_000);
    let reader = who.reader();
    let kommun = who.user.kommun;
    let page = state
        .store
        .aktiva_utbildningsbehov(&reader, kommun, sida, 20)
        .await?;
    let rows = privacy::redact_listings(&page.data);
    let pages_total = page.total.div_ceil(u64::from(page.limit)).max(1);
    Ok(ok(layout(
        "Aktiva utbildningsbehov",
        ctx(&state, &who),
        html! {
            h1 { "Aktiva utbildningsbehov" }
            p { "Invånare i kommunen " (kommun.namn()) " med ett aktivt utbildningsbehov, äldst först. "
                "För personer med skyddade personuppgifter visas inte personnumret; sök på personen när hen vänder sig till kommunen." }
            @if rows.is_empty() {
                p { "Inga aktiva utbildningsbehov." }
            } @else {
                (pages::table(
                    &format!("Sida {} av {}, {} utbildningsbehov", page.page, pages_total, page.total),
                    &["personnummer", "anvisningsdatum", "skolformer", "giltig_tom", "skyddade_personuppgifter"],
                    &rows,
                ))
            }
            nav aria-label="Sidor" class="sidor" {
                @if page.page > 1 {
                    a href={ (BASE) "/aktiva?sida=" (page.page - 1) } { "Föregående sida" }
                }
                @if u64::from(page.page) < pages_total {
                    a href={ (BASE) "/aktiva?sida=" (page.page + 1) } { "Nästa sida" }
                }
            }
        },
    )))
}

async fn etab_form(state: State, who: Inloggad) -> HttpResponse {
    ok(question_page(&state, &who, &ETAB, None))
}

async fn etab(req: HttpRequest, state: State, who: Inloggad, payload: web::Payload) -> Page {
    let person = match asked_person(&req, &state, &who, payload, &ETAB).await? {
        Ok(p) => p,
        Err(page) => return Ok(page),
    };
    let reader = who.reader();
    let record = state
        .store
        .etableringsprogram_for_person(&reader, &person)
        .await?;
    let v = serde_json::to_value(&record).unwrap_or_default();
    let deltar = v.get("deltar").and_then(serde_json::Value::as_bool) == Some(true);
    Ok(ok(layout(
        "Etableringsprogrammet",
        ctx(&state, &who),
        html! {
            h1 { "Deltar personen i etableringsprogrammet?" }
            @if deltar {
                p class="svar" { strong { "Ja." } " Personen deltar i etableringsprogrammet "
                    (v["fom"].as_str().unwrap_or("")) " – " (v["tom"].as_str().unwrap_or("")) "." }
            } @else {
                p class="svar" { strong { "Nej." } " Personen deltar inte i etableringsprogrammet, eller så saknar Arbetsförmedlingen uppgift." }
            }
            p { a href=(ETAB.action) { "Ny fråga" } }
        },
    )))
}

// ---- registering -------------------------------------------------------------------

async fn registrera_index(state: State, who: Inloggad) -> HttpResponse {
    ok(layout(
        "Registrera",
        ctx(&state, &who),
        html! {
            h1 { "Registrera" }
            p { "Välj vad du vill registrera. En rättelse (ändring eller borttag) registreras i samma formulär med status Ändring eller Borttag och meddelande-id för det meddelande som rättas." }
            ul class="kort" {
                @for t in forms::ALL {
                    li { a href={ (BASE) "/registrera/" (t.slug()) } { (t.title()) } " – " (t.description()) }
                }
            }
        },
    ))
}

fn registration_page(
    state: &AppState,
    who: &Inloggad,
    typ: Typ,
    form: &FormData,
    errors: &Errors,
    rows: usize,
) -> Markup {
    let formular_id = form
        .value("formular_id")
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    layout(
        typ.title(),
        ctx(state, who),
        html! {
            h1 { (typ.title()) }
            p { (typ.description()) " Alla fält utom de som är märkta valfria behövs vid ny registrering och ändring; vid borttag räcker personnummer, status och meddelande-id." }
            (errors.summary(&|f| typ.knows(f, rows)))
            form method="post" action={ (BASE) "/registrera/" (typ.slug()) } novalidate {
                (csrf(&who.csrf))
                input type="hidden" name="formular_id" value=(formular_id);
                (forms::fields(typ, form, errors, rows))
                div class="knappar" {
                    button type="submit" name="atgard" value="registrera" class="primar" { "Registrera" }
                    @if typ.has_kurser() && rows < forms::MAX_KURS_ROWS {
                        button type="submit" name="atgard" value="fler-kurser" class="sekundar" { "Lägg till fler kurser" }
                    }
                }
            }
        },
    )
}

fn typ_of(raw: &str) -> Result<Typ, PageError> {
    Typ::parse(raw).ok_or(PageError::NotFound)
}

async fn registrera_form(state: State, who: Inloggad, typ: web::Path<String>) -> Page {
    let typ = typ_of(&typ)?;
    let form = FormData(vec![("status".into(), "registrering".into())]);
    Ok(ok(registration_page(
        &state,
        &who,
        typ,
        &form,
        &Errors::default(),
        forms::KURS_ROWS,
    )))
}

async fn registrera(
    req: HttpRequest,
    state: State,
    who: Inloggad,
    typ: web::Path<String>,
    payload: web::Payload,
) -> Page {
    let typ = typ_of(&typ)?;
    let form = form_of(&req, payload).await?;
    who.check_csrf(&form)?;
    let rows = forms::rows_of(&form);
    if form.get("atgard") == Some("fler-kurser") {
        let rows = (rows + 3).min(forms::MAX_KURS_ROWS);
        return Ok(ok(registration_page(
            &state,
            &who,
            typ,
            &form,
            &Errors::default(),
            rows,
        )));
    }
    let value = forms::to_json(typ, &form, who.user.kommun, rows);
    let refused = |errors: Vec<FieldError>| {
        pages::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            registration_page(&state, &who, typ, &form, &Errors(errors), rows),
        )
    };
    let write = match forms::parse_write(typ, &value, state.mode, who.user.kommun) {
        Ok(w) => w,
        Err(e) => return Ok(refused(problem_errors(&e))),
    };
    // The form's own id makes a second click (or a reload) replay the first answer.
    let fingerprint: Vec<(String, String)> = form
        .0
        .iter()
        .filter(|(n, _)| n != "csrf" && n != "atgard")
        .cloned()
        .collect();
    let idem = form.value("formular_id").and_then(|k| {
        IdempotencyKey::new(
            k,
            &format!("mina-sidor/registrera/{}", typ.slug()),
            serde_json::to_string(&fingerprint)
                .unwrap_or_default()
                .as_bytes(),
        )
        .ok()
    });
    let actor = AuditActor::Anvandare(who.user.id.clone());
    let result = state
        .store
        .queue_submission(&actor, &write, idem.as_ref())
        .await;
    let kvittens = match result {
        Ok(Submission::Created(k) | Submission::Replayed(k)) => k,
        Err(e) if e.is_unavailable() => return Err(PageError::Unavailable(e.to_string())),
        Err(e) => {
            let api = ApiError::from(e);
            if matches!(api, ApiError::Internal(_) | ApiError::Unavailable(_)) {
                return Err(PageError::Internal(api.to_string()));
            }
            return Ok(refused(problem_errors(&api)));
        }
    };
    tracing::info!(user = %who.user.id, kommun = %who.user.kommun, typ = typ.slug(), "mina sidor: meddelande registrerat");
    let v = serde_json::to_value(&kvittens).unwrap_or_default();
    Ok(ok(layout(
        "Registrerat",
        ctx(&state, &who),
        html! {
            h1 { "Meddelandet är registrerat" }
            p role="status" { "Arbetsförmedlingen kan nu läsa meddelandet." }
            dl id="kvittens" {
                dt { "Meddelande-id" } dd id="meddelande-id" { (v["meddelande_id"].as_str().unwrap_or("")) }
                dt { "Typ" } dd { (v["typ"].as_str().unwrap_or("")) }
                dt { "Status" } dd { (v["status"].as_str().unwrap_or("")) }
                dt { "Mottaget" } dd { (v["mottaget"].as_str().unwrap_or("")) }
            }
            p { "Spara meddelande-id om du senare behöver rätta eller ta bort meddelandet." }
            p { a href={ (BASE) "/registrera/" (typ.slug()) } { "Registrera ett till" } }
        },
    )))
}

/// The field errors of a refusal; a refusal without fields (a precondition) becomes
/// one error for the whole form, with the API's title and detail.
fn problem_errors(e: &ApiError) -> Vec<FieldError> {
    let p = e.problem(None);
    if p.errors.is_empty() {
        vec![FieldError::new(
            "",
            "problem",
            format!("{}. {}", p.title, p.detail),
        )]
    } else {
        p.errors
    }
}

// ---- users -------------------------------------------------------------------------

const ROLLER: &[(&str, &str)] = &[
    ("handlaggare", "Handläggare"),
    ("huvudansvarig", "Huvudansvarig"),
];

fn users_page(
    state: &AppState,
    who: &Inloggad,
    (users, invitations): &(Vec<MsUser>, Vec<Invitation>),
    form: &FormData,
    errors: &Errors,
    notice: Option<&str>,
) -> Markup {
    let known = |f: &str| ["personnummer", "epost", "roll"].contains(&f);
    layout(
        "Användare",
        ctx(state, who),
        html! {
            h1 { "Användare – " (who.user.kommun.namn()) }
            @if let Some(n) = notice { p class="notis" role="status" { (n) } }
            table {
                caption { "Kommunens användare" }
                thead { tr { th scope="col" { "Namn" } th scope="col" { "E-postadress" } th scope="col" { "Roll" } th scope="col" { "Status" } th scope="col" { "Åtgärd" } } }
                tbody {
                    @for u in users {
                        tr {
                            td { @if u.namn.is_empty() { "(har inte loggat in)" } @else { (u.namn) } }
                            td { (u.epost) }
                            td { (if u.roll == Roll::Huvudansvarig { "Huvudansvarig" } else { "Handläggare" }) }
                            td { (if u.active { "Aktiv" } else { "Inaktiverad" }) }
                            td {
                                @if u.id != who.user.id {
                                    form method="post" action={ (BASE) "/anvandare/" (u.id) "/" (if u.active { "inaktivera" } else { "aktivera" }) } {
                                        (csrf(&who.csrf))
                                        button type="submit" class="sekundar" {
                                            (if u.active { "Inaktivera" } else { "Aktivera" })
                                            span class="visually-hidden" { " " (u.epost) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !invitations.is_empty() {
                table {
                    caption { "Inbjudningar som inte har använts" }
                    thead { tr { th scope="col" { "E-postadress" } th scope="col" { "Roll" } th scope="col" { "Gäller till" } th scope="col" { "Åtgärd" } } }
                    tbody {
                        @for i in invitations {
                            tr {
                                td { (i.epost) }
                                td { (if i.roll == Roll::Huvudansvarig { "Huvudansvarig" } else { "Handläggare" }) }
                                td { (swedish_time(i.expires_at)) }
                                td {
                                    form method="post" action={ (BASE) "/inbjudningar/" (i.id) "/skicka-igen" } {
                                        (csrf(&who.csrf))
                                        button type="submit" class="sekundar" {
                                            "Skicka igen"
                                            span class="visually-hidden" { " till " (i.epost) }
                                        }
                                    }
                                    form method="post" action={ (BASE) "/inbjudningar/" (i.id) "/aterkalla" } {
                                        (csrf(&who.csrf))
                                        button type="submit" class="sekundar" {
                                            "Återkalla"
                                            span class="visually-hidden" { " inbjudan till " (i.epost) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Bjud in en användare" }
            p { "Personen får en länk med e-post. Länken kan användas en gång och bara av personen med det angivna personnumret, som legitimerar sig med BankID." }
            (errors.summary(&known))
            form method="post" action={ (BASE) "/anvandare" } novalidate {
                (csrf(&who.csrf))
                (text_field("personnummer", form.get("personnummer"), Some("12 siffror, ÅÅÅÅMMDDNNNN"), errors, None))
                (text_field("epost", form.get("epost"), None, errors, Some("email")))
                (select_field("roll", ROLLER, form.get("roll"), errors))
                button type="submit" class="primar" { "Skicka inbjudan" }
            }
        },
    )
}

/// A stored timestamp (microseconds) in Swedish time, e.g. `2026-11-28 10:00`:
/// CET, and CEST from the last Sunday of March to the last Sunday of October (01:00
/// UTC both, the EU rule).
fn swedish_time(micros: i64) -> String {
    let utc = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let last_sunday_01_utc = |month: time::Month| {
        let last = time::Date::from_calendar_date(utc.year(), month, 31)
            .unwrap_or(time::macros::date!(1970 - 01 - 01));
        let back = i64::from(last.weekday().number_days_from_sunday());
        last.saturating_sub(time::Duration::days(back))
            .with_hms(1, 0, 0)
            .map(|t| t.assume_utc())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    };
    let summer = utc >= last_sunday_01_utc(time::Month::March)
        && utc < last_sunday_01_utc(time::Month::October);
    let local = utc.to_offset(if summer {
        time::macros::offset!(+2)
    } else {
        time::macros::offset!(+1)
    });
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    local.format(&f).unwrap_or_default()
}

/// The kommun's users and open invitations, as the huvudansvarig `by` sees them.
async fn user_lists(
    state: &AppState,
    by: &MsUser,
) -> Result<(Vec<MsUser>, Vec<Invitation>), PageError> {
    let store = state.store.clone();
    let by = by.clone();
    run(move || {
        Ok((
            store.ms_users_for(&by)?,
            store.ms_open_invitations(by.kommun)?,
        ))
    })
    .await
}

async fn users(state: State, who: Inloggad) -> Page {
    who.require_huvudansvarig()?;
    let lists = user_lists(&state, &who.user).await?;
    Ok(ok(users_page(
        &state,
        &who,
        &lists,
        &FormData::default(),
        &Errors::default(),
        None,
    )))
}

async fn invite(
    req: HttpRequest,
    state: State,
    ms: Ms,
    who: Inloggad,
    payload: web::Payload,
) -> Page {
    let form = form_of(&req, payload).await?;
    who.check_csrf(&form)?;
    who.require_huvudansvarig()?;
    let mut errors = Vec::new();
    let person = match person_of(&state, &form) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.extend(e.0);
            None
        }
    };
    let epost = form.value("epost").unwrap_or_default().to_owned();
    if !super::mail::valid_address(&epost) {
        errors.push(FieldError::new(
            "epost",
            "ogiltig_epost",
            "Ange en e-postadress, till exempel namn@kommun.se",
        ));
    }
    let roll = Roll::parse(form.value("roll").unwrap_or_default());
    if roll.is_none() {
        errors.push(FieldError::new("roll", "ogiltig_roll", "Välj en roll"));
    }
    let store = state.store.clone();
    let (Some(person), Some(roll), true) = (person, roll, errors.is_empty()) else {
        let lists = user_lists(&state, &who.user).await?;
        return Ok(pages::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            users_page(&state, &who, &lists, &form, &Errors(errors), None),
        ));
    };
    let by = who.user.clone();
    let ttl = ms.config.invitation_ttl_secs;
    let to = epost.clone();
    let token = match run(move || store.ms_invite(&by, &person, &to, roll, ttl)).await? {
        Ok(token) => token,
        Err(refusal) => {
            let lists = user_lists(&state, &who.user).await?;
            let errors = Errors(vec![invite_refusal_error(refusal)]);
            return Ok(pages::html(
                StatusCode::UNPROCESSABLE_ENTITY,
                users_page(&state, &who, &lists, &form, &errors, None),
            ));
        }
    };
    let notice = send_invitation(&ms, &who.user, &epost, &token).await?;
    users_with_notice(&state, &who, &notice).await
}

/// The users page after an action, with its notice.
async fn users_with_notice(state: &AppState, who: &Inloggad, notice: &str) -> Page {
    let lists = user_lists(state, &who.user).await?;
    Ok(ok(users_page(
        state,
        who,
        &lists,
        &FormData::default(),
        &Errors::default(),
        Some(notice),
    )))
}

/// Mails the invitation link for `token` to `epost`; returns the notice to show.
async fn send_invitation(
    ms: &Ms,
    by: &MsUser,
    epost: &str,
    token: &str,
) -> Result<String, PageError> {
    let kommun = by.kommun;
    let ttl = ms.config.invitation_ttl_secs;
    let link = format!(
        "{}{BASE}/inbjudan/{token}",
        ms.config.public_url.trim_end_matches('/')
    );
    let hours = ttl / 3600;
    let body = format!(
        "Hej!\n\nDu är inbjuden till Mina sidor för kommuner för kommunen {} av {}.\n\n\
         Registrera dig genom att öppna länken och legitimera dig med BankID:\n\n{link}\n\n\
         Länken kan användas en gång och gäller i {hours} timmar. \
         Har du inte väntat dig inbjudan kan du bortse från det här meddelandet.\n\n\
         Mina sidor för kommuner\n",
        kommun.namn(),
        if by.namn.is_empty() {
            by.epost.as_str()
        } else {
            by.namn.as_str()
        },
    );
    let mailer = ms.mailer.clone();
    let to = epost.to_owned();
    let sent =
        web::block(move || mailer.send(&to, "Inbjudan till Mina sidor för kommuner", body)).await?;
    Ok(match sent {
        Ok(()) => format!("En inbjudan har skickats till {epost}."),
        Err(e) => {
            tracing::warn!(error = %e, "mina sidor: invitation mail not sent");
            format!(
                "Inbjudan skapades men e-posten till {epost} kunde inte skickas. Försök igen senare."
            )
        }
    })
}

/// Reads an administration form (an action button's): CSRF checked, huvudansvarig only.
async fn admin_form(
    req: &HttpRequest,
    who: &Inloggad,
    payload: web::Payload,
) -> Result<(), PageError> {
    let form = form_of(req, payload).await?;
    who.check_csrf(&form)?;
    who.require_huvudansvarig()
}

/// Withdraws (`aterkalla`) or sends again (`skicka-igen`) an open invitation.
async fn invitation_action(
    req: HttpRequest,
    state: State,
    ms: Ms,
    who: Inloggad,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Page {
    admin_form(&req, &who, payload).await?;
    let (id, atgard) = path.into_inner();
    let store = state.store.clone();
    let by = who.user.clone();
    // An invitation that is not the kommun's, or no longer open, is 404 like an unknown one.
    let found = |e: StoreError| match e {
        StoreError::NotFound => PageError::NotFound,
        e => e.into(),
    };
    let notice = match atgard.as_str() {
        "aterkalla" => {
            web::block(move || store.ms_withdraw_invitation(&by, &id))
                .await?
                .map_err(found)?;
            "Inbjudan är återkallad. Länken fungerar inte längre.".to_owned()
        }
        "skicka-igen" => {
            let ttl = ms.config.invitation_ttl_secs;
            let (token, epost) = web::block(move || store.ms_resend_invitation(&by, &id, ttl))
                .await?
                .map_err(found)?;
            let sent = send_invitation(&ms, &who.user, &epost, &token).await?;
            format!("{sent} Den tidigare länken fungerar inte längre.")
        }
        _ => return Err(PageError::NotFound),
    };
    users_with_notice(&state, &who, &notice).await
}

async fn set_active(
    req: HttpRequest,
    state: State,
    who: Inloggad,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Page {
    admin_form(&req, &who, payload).await?;
    let (id, atgard) = path.into_inner();
    let active = match atgard.as_str() {
        "aktivera" => true,
        "inaktivera" => false,
        _ => return Err(PageError::NotFound),
    };
    let store = state.store.clone();
    let by = who.user.clone();
    let result = web::block(move || store.ms_set_user_active(&by, &id, active)).await?;
    let notice = match result {
        Ok(()) if active => "Användaren är aktiverad.",
        Ok(()) => "Användaren är inaktiverad och utloggad.",
        Err(StoreError::NotFound) => return Err(PageError::NotFound),
        Err(StoreError::Conflict(why)) => why,
        Err(e) => return Err(e.into()),
    };
    users_with_notice(&state, &who, notice).await
}

#[cfg(test)]
mod tests {
    use super::swedish_time;

    fn micros(rfc3339: &str) -> i64 {
        let t =
            time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or_default()
    }

    #[test]
    fn swedish_time_is_cet_in_winter_cest_in_summer_changing_at_01_utc_on_the_last_sundays() {
        // 2026: the last Sundays of March and October are the 29th and the 25th.
        for (utc, swedish) in [
            ("2026-12-01T10:00:00Z", "2026-12-01 11:00"),
            ("2026-07-01T10:00:00Z", "2026-07-01 12:00"),
            ("2026-03-29T00:59:00Z", "2026-03-29 01:59"),
            ("2026-03-29T01:00:00Z", "2026-03-29 03:00"),
            ("2026-10-25T00:59:00Z", "2026-10-25 02:59"),
            ("2026-10-25T01:00:00Z", "2026-10-25 02:00"),
        ] {
            assert_eq!(swedish_time(micros(utc)), swedish, "{utc}");
        }
    }
}
