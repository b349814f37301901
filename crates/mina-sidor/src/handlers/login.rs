//! Start, login with BankID, kommun switch and logout.

use super::*;

pub(super) async fn start(req: HttpRequest, state: State, who: Option<Inloggad>) -> Page {
    if let Some(who) = who {
        let admin = who.user.roll == Roll::Huvudansvarig;
        let store = state.store.clone();
        let me = who.user.clone();
        let (others, new_beslut) = run(move || {
            Ok((
                store.mina_sidor().other_accounts(&me)?,
                store.mina_sidor().new_beslut(&me)?,
            ))
        })
        .await?;
        return Ok(ok(layout(
            "Start",
            ctx(&state, &who),
            html! {
                h1 { "Mina sidor – " (who.user.kommun.namn()) }
                p { "Här ser och registrerar du samma uppgifter som kommunens system utbyter med Arbetsförmedlingen genom API:et." }
                @if let Some(n) = &new_beslut {
                    (new_beslut_notice(n))
                }
                ul class="kort" {
                    li { a href={ (BASE) "/sok" } { "Sök en person" } " – utbildningsbehov och utbildningsbeslut." }
                    li { a href={ (BASE) "/aktiva" } { "Aktiva utbildningsbehov" } " – kommunens invånare med en aktiv anvisning." }
                    li { a href={ (BASE) "/beslut" } { "Utbildningsbeslut" } " – Arbetsförmedlingens beslut för kommunen, i den ordning de kom." }
                    li { a href={ (BASE) "/skickade" } { "Skickade meddelanden" } " – det kommunen har skickat, från Mina sidor och kommunens system." }
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
    let ended = req.query_string() == "utloggad=ja";
    let returning = req
        .cookie(RETURN_COOKIE)
        .is_some_and(|c| return_path(c.value()).is_some());
    let page = layout(
        "Logga in",
        anon_ctx(&state, &token),
        html! {
            h1 { "Logga in på Mina sidor för kommuner" }
            @if ended {
                p class="notis" role="status" id="utloggad" {
                    "Du har loggats ut eftersom du inte har använt tjänsten på en stund, eller loggade ut på en annan enhet. "
                    @if returning { "När du har loggat in igen kommer du tillbaka till sidan du var på." }
                }
            }
            p { "Mina sidor är till för kommuner som inte har kopplat sitt studieadministrativa system till Arbetsförmedlingen. Du loggar in med BankID. Din kommuns huvudansvariga bjuder in dig." }
            form method="post" action={ (BASE) "/logga-in" } {
                (csrf(&token.token))
                button type="submit" class="primar" { "Logga in med BankID" }
            }
        },
    );
    Ok(token.apply(ok(page)))
}

pub(super) async fn switch_kommun(
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
    match run(move || store.mina_sidor().switch_account(&token, &me, &target)).await? {
        Some(session) => {
            let mut res = see_other(&format!("{BASE}/"));
            let _ = res.add_cookie(&cookie(SESSION_COOKIE, session));
            Ok(res)
        }
        None => Err(PageError::NotFound),
    }
}

pub(super) fn bankid_unavailable(
    state: &MinaSidorState,
    token: &AnonCsrf,
    e: &bankid::BankIdError,
) -> HttpResponse {
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
pub(super) async fn begin_bankid(
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
    let ip = crate::client_ip(
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
        store.mina_sidor().start_login(
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

pub(super) async fn login_start(
    req: HttpRequest,
    state: State,
    ms: Ms,
    payload: web::Payload,
) -> Page {
    let form = form_of(&req, payload).await?;
    AnonCsrf::check(&req, &form)?;
    let token = AnonCsrf::of(&req);
    begin_bankid(&req, &state, &ms, &token, None).await
}

pub(super) fn login_token(req: &HttpRequest) -> Option<String> {
    req.cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| t.len() <= 100)
}

pub(super) async fn login_page(req: HttpRequest, state: State, ms: Ms) -> Page {
    let Some(login) = login_token(&req) else {
        return Ok(see_other(&format!("{BASE}/")));
    };
    let store = state.store.clone();
    let Some(pending) = run(move || store.mina_sidor().pending_login(&login)).await? else {
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

pub(super) fn bankid_page(
    state: &MinaSidorState,
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

pub(super) async fn login_qr(req: HttpRequest, state: State) -> Page {
    let Some(login) = login_token(&req) else {
        return Err(PageError::NotFound);
    };
    let store = state.store.clone();
    let Some(pending) = run(move || store.mina_sidor().pending_login(&login)).await? else {
        return Err(PageError::NotFound);
    };
    let micros = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64;
    let seconds = u64::try_from((micros - pending.started_at) / 1_000_000).unwrap_or(0);
    let data = bankid::qr_data(&pending.qr_start_token, &pending.qr_start_secret, seconds);
    let svg = bankid::qr_svg(&data).ok_or_else(|| PageError::Internal("QR code".into()))?;
    Ok(HttpResponse::Ok().content_type("image/svg+xml").body(svg))
}

/// Where a login stands after asking BankID.
pub(super) enum LoginOutcome {
    /// Still waiting, with the message to show and the order's autostart token.
    Pending(&'static str, String),
    Failed(&'static str),
    LoggedIn(String),
}

pub(super) fn refusal_text(r: InvitationRefusal) -> &'static str {
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

pub(super) fn invite_refusal_error(r: InviteRefusal) -> FieldError {
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

pub(super) const NOT_INVITED: &str = "Du har inget konto på Mina sidor för kommuner. Be din kommuns huvudansvariga att bjuda in dig.";

pub(super) async fn collect_login(
    state: &State,
    ms: &Ms,
    login: String,
) -> Result<LoginOutcome, PageError> {
    let store = state.store.clone();
    let key = login.clone();
    let Some(pending) = run(move || store.mina_sidor().pending_login(&key)).await? else {
        return Ok(LoginOutcome::Failed(
            "Inloggningen har gått ut. Börja om från startsidan.",
        ));
    };
    let end = |state: &State, login: String| {
        let store = state.store.clone();
        run(move || store.mina_sidor().end_login(&login))
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
                Some(h) => run(move || store.mina_sidor().accept_invitation(&h, &pnr, &namn))
                    .await?
                    .map_err(refusal_text),
                None => run(move || store.mina_sidor().login_users(&pnr, &namn))
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
            let session = run(move || store.mina_sidor().create_session(&user)).await?;
            Ok(LoginOutcome::LoggedIn(session))
        }
    }
}

pub(super) fn logged_in(mut res: HttpResponse, session: String) -> HttpResponse {
    let _ = res.add_cookie(&cookie(SESSION_COOKIE, session));
    let _ = res.add_cookie(&removal(LOGIN_COOKIE));
    let _ = res.add_cookie(&removal(RETURN_COOKIE));
    res
}

/// Where a login leads: back to the page the ended session was on, or the start page.
pub(super) fn after_login(req: &HttpRequest) -> String {
    req.cookie(RETURN_COOKIE)
        .and_then(|c| return_path(c.value()).map(str::to_owned))
        .unwrap_or_else(|| format!("{BASE}/"))
}

/// A script's CSRF token (the `X-CSRF-Token` header) as a form's field, to check.
fn header_csrf(req: &HttpRequest) -> FormData {
    let sent = req
        .headers()
        .get("X-CSRF-Token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    FormData(vec![("csrf".into(), sent)])
}

/// Keeps the session alive: the timeout warning's button (a script's POST with the
/// CSRF token in a header). `204 No Content`; an ended session is the login redirect.
pub(super) async fn keep_alive(req: HttpRequest, who: Inloggad) -> Page {
    who.check_csrf(&header_csrf(&req))?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(serde::Deserialize)]
pub(super) struct TimedOut {
    tillbaka: Option<String>,
}

/// Where the timeout warning's script goes when the time has run out: the session ends
/// here too, and the login page says why and leads back to `tillbaka` afterwards.
pub(super) async fn timed_out(
    req: HttpRequest,
    state: State,
    q: Option<web::Query<TimedOut>>,
) -> Page {
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        let token = c.value().to_owned();
        let store = state.store.clone();
        run(move || store.mina_sidor().end_session(&token)).await?;
    }
    let back = q.and_then(|q| q.into_inner().tillbaka);
    Err(PageError::Login { back, ended: true })
}

/// Polled by the QR page's script: JSON, with the CSRF token in a header.
pub(super) async fn login_status(req: HttpRequest, state: State, ms: Ms) -> Page {
    AnonCsrf::check(&req, &header_csrf(&req))?;
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
                "meddelande": "Du är inloggad.", "adress": after_login(&req) })),
            session,
        ),
    })
}

/// The same without JavaScript: the "continue" button.
pub(super) async fn login_check(
    req: HttpRequest,
    state: State,
    ms: Ms,
    payload: web::Payload,
) -> Page {
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
        LoginOutcome::LoggedIn(session) => logged_in(see_other(&after_login(&req)), session),
    })
}

pub(super) async fn login_cancel(
    req: HttpRequest,
    state: State,
    ms: Ms,
    payload: web::Payload,
) -> Page {
    let form = form_of(&req, payload).await?;
    AnonCsrf::check(&req, &form)?;
    if let Some(login) = login_token(&req) {
        let store = state.store.clone();
        let key = login.clone();
        if let Some(p) = run(move || store.mina_sidor().pending_login(&key)).await?
            && let Err(e) = ms.bankid.cancel(&p.order_ref).await
        {
            tracing::info!(error = %e, "BankID cancel failed");
        }
        let store = state.store.clone();
        run(move || store.mina_sidor().end_login(&login)).await?;
    }
    let mut res = see_other(&format!("{BASE}/"));
    let _ = res.add_cookie(&removal(LOGIN_COOKIE));
    Ok(res)
}

pub(super) async fn logout(
    req: HttpRequest,
    state: State,
    who: Inloggad,
    payload: web::Payload,
) -> Page {
    let form = form_of(&req, payload).await?;
    who.check_csrf(&form)?;
    let everywhere = form.value("alla") == Some("ja");
    if everywhere {
        let store = state.store.clone();
        let user = who.user.clone();
        run(move || store.mina_sidor().end_all_sessions(&user)).await?;
    } else if let Some(c) = req.cookie(SESSION_COOKIE) {
        let token = c.value().to_owned();
        let store = state.store.clone();
        run(move || store.mina_sidor().end_session(&token)).await?;
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
