//! The kommun's users and invitations (huvudansvarig).

use super::*;

pub(super) const ROLLER: &[(&str, &str)] = &[
    ("handlaggare", "Handläggare"),
    ("huvudansvarig", "Huvudansvarig"),
];

pub(super) fn users_page(
    state: &MinaSidorState,
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
            (users_table(who, users))
            (invitations_table(who, invitations))
            p { a href={ (BASE) "/anvandare/aktivitet" } { "Aktivitetslogg: vem som har bjudit in, registrerat och inaktiverat vem" } }
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

/// The kommun's users, each with Inaktivera (through a confirmation) or Aktivera.
fn users_table(who: &Inloggad, users: &[MsUser]) -> Markup {
    html! {
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
                        @if u.id != who.user.id && u.active {
                            // A confirmation page first: inaktivering logs the user out at once.
                            a href={ (BASE) "/anvandare/" (u.id) "/inaktivera" } {
                                "Inaktivera" span class="visually-hidden" { " " (u.epost) }
                            }
                        } @else if u.id != who.user.id {
                            form method="post" action={ (BASE) "/anvandare/" (u.id) "/aktivera" } {
                                (csrf(&who.csrf))
                                button type="submit" class="sekundar" {
                                    "Aktivera"
                                    span class="visually-hidden" { " " (u.epost) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    }
}

/// The open invitations, each with Skicka igen and Återkalla.
fn invitations_table(who: &Inloggad, invitations: &[Invitation]) -> Markup {
    html! {
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
    }
}

/// The kommun's users and open invitations, as the huvudansvarig `by` sees them.
pub(super) async fn user_lists(
    state: &MinaSidorState,
    by: &MsUser,
) -> Result<(Vec<MsUser>, Vec<Invitation>), PageError> {
    let store = state.store.clone();
    let by = by.clone();
    run(move || {
        Ok((
            store.mina_sidor().users_for(&by)?,
            store.mina_sidor().open_invitations(by.kommun)?,
        ))
    })
    .await
}

pub(super) async fn users(state: State, who: Inloggad) -> Page {
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

/// What an activity log entry says happened, in Swedish.
fn activity_text(action: &str) -> &'static str {
    match action {
        "mina-sidor:huvudansvarig" => "blev huvudansvarig (Arbetsförmedlingens kommando)",
        "mina-sidor:bjud-in" => "bjöd in",
        "mina-sidor:skicka-inbjudan-igen" => "skickade en inbjudan igen till",
        "mina-sidor:aterkalla-inbjudan" => "återkallade inbjudan till",
        "mina-sidor:registrering" => "registrerade sig med en inbjudan",
        "mina-sidor:aktivera" => "aktiverade",
        "mina-sidor:inaktivera" => "inaktiverade",
        "mina-sidor:utloggning-alla-enheter" => "loggade ut från alla enheter",
        _ => "ändrade",
    }
}

/// The huvudansvarig's activity log: the latest 200 changes to the kommun's users and
/// invitations, newest first, in Swedish time.
pub(super) async fn aktivitet(state: State, who: Inloggad) -> Page {
    who.require_huvudansvarig()?;
    let store = state.store.clone();
    let by = who.user.clone();
    let entries = run(move || store.mina_sidor().activity(&by, 200)).await?;
    Ok(ok(layout(
        "Aktivitetslogg",
        ctx(&state, &who),
        html! {
            h1 { "Aktivitetslogg – " (who.user.kommun.namn()) }
            p { "De senaste ändringarna av kommunens användare och inbjudningar, nyast först." }
            @if entries.is_empty() {
                p { "Inget har hänt ännu." }
            } @else {
                table id="aktivitet" {
                    caption { "Ändringar av användare och inbjudningar" }
                    thead { tr { th scope="col" { "Tid" } th scope="col" { "Vem" } th scope="col" { "Vad" } th scope="col" { "Gäller" } th scope="col" { "Utfall" } } }
                    tbody {
                        @for e in &entries {
                            tr {
                                td { (swedish_time(e.at)) }
                                td { (e.actor.as_deref().unwrap_or("–")) }
                                td { (activity_text(&e.action)) }
                                td { (e.target.as_deref().unwrap_or("–")) }
                                td { (if e.refused { "Nekad" } else { "Genomförd" }) }
                            }
                        }
                    }
                }
            }
            p { a href={ (BASE) "/anvandare" } { "Tillbaka till användare" } }
        },
    )))
}

pub(super) async fn invite(
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
    if !crate::mail::valid_address(&epost) {
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
    let token = match run(move || store.mina_sidor().invite(&by, &person, &to, roll, ttl)).await? {
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
pub(super) async fn users_with_notice(
    state: &MinaSidorState,
    who: &Inloggad,
    notice: &str,
) -> Page {
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
pub(super) async fn send_invitation(
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
pub(super) async fn admin_form(
    req: &HttpRequest,
    who: &Inloggad,
    payload: web::Payload,
) -> Result<(), PageError> {
    let form = form_of(req, payload).await?;
    who.check_csrf(&form)?;
    who.require_huvudansvarig()
}

/// Withdraws (`aterkalla`) or sends again (`skicka-igen`) an open invitation.
pub(super) async fn invitation_action(
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
            web::block(move || store.mina_sidor().withdraw_invitation(&by, &id))
                .await?
                .map_err(found)?;
            "Inbjudan är återkallad. Länken fungerar inte längre.".to_owned()
        }
        "skicka-igen" => {
            let ttl = ms.config.invitation_ttl_secs;
            let (token, epost) =
                web::block(move || store.mina_sidor().resend_invitation(&by, &id, ttl))
                    .await?
                    .map_err(found)?;
            let sent = send_invitation(&ms, &who.user, &epost, &token).await?;
            format!("{sent} Den tidigare länken fungerar inte längre.")
        }
        _ => return Err(PageError::NotFound),
    };
    users_with_notice(&state, &who, &notice).await
}

/// The confirmation before a user is deactivated: who, and what it does.
pub(super) async fn inaktivera_page(state: State, who: Inloggad, id: web::Path<String>) -> Page {
    who.require_huvudansvarig()?;
    let (users, _) = user_lists(&state, &who.user).await?;
    let Some(u) = users
        .into_iter()
        .find(|u| u.id == *id && u.active && u.id != who.user.id)
    else {
        return Err(PageError::NotFound);
    };
    Ok(ok(layout(
        "Inaktivera användaren",
        ctx(&state, &who),
        html! {
            h1 { "Vill du inaktivera användaren?" }
            dl id="anvandaren" {
                dt { "Namn" } dd { @if u.namn.is_empty() { "(har inte loggat in)" } @else { (u.namn) } }
                dt { "E-postadress" } dd { (u.epost) }
                dt { "Roll" } dd { (if u.roll == Roll::Huvudansvarig { "Huvudansvarig" } else { "Handläggare" }) }
            }
            p { "Användaren loggas ut på alla enheter och kan inte logga in igen förrän du aktiverar kontot. Inbjudningar som inte har använts dras tillbaka." }
            form method="post" action={ (BASE) "/anvandare/" (u.id) "/inaktivera" } {
                (csrf(&who.csrf))
                div class="knappar" {
                    button type="submit" class="primar" { "Inaktivera användaren" }
                    a href={ (BASE) "/anvandare" } class="knapplank" { "Avbryt" }
                }
            }
        },
    )))
}

pub(super) async fn set_active(
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
    let result = web::block(move || store.mina_sidor().set_user_active(&by, &id, active)).await?;
    let notice = match result {
        Ok(()) if active => "Användaren är aktiverad.",
        Ok(()) => "Användaren är inaktiverad och utloggad.",
        Err(StoreError::NotFound) => return Err(PageError::NotFound),
        Err(StoreError::Conflict(why)) => why,
        Err(e) => return Err(e.into()),
    };
    users_with_notice(&state, &who, notice).await
}
