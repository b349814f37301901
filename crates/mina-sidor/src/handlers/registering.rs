//! Registering messages: the forms of every kommun message kind.

use super::*;

pub(super) async fn registrera_index(state: State, who: Inloggad) -> HttpResponse {
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

pub(super) fn registration_page(
    state: &MinaSidorState,
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
            p { (typ.description()) " Alla fält utom de som är märkta valfria behövs vid ny registrering och ändring; vid borttag räcker personnummer, status och meddelande-id. Du får granska uppgifterna innan något skickas." }
            (errors.summary(&|f| typ.knows(f, rows)))
            form method="post" action={ (BASE) "/registrera/" (typ.slug()) } novalidate {
                (csrf(&who.csrf))
                input type="hidden" name="formular_id" value=(formular_id);
                @if let Some(r) = form.value("person_ref") {
                    input type="hidden" name="person_ref" value=(r);
                }
                (forms::fields(typ, form, errors, rows))
                div class="knappar" {
                    button type="submit" name="atgard" value="granska" class="primar" { "Granska" }
                    @if typ.has_kurser() && rows < forms::MAX_KURS_ROWS {
                        button type="submit" name="atgard" value="fler-kurser" class="sekundar" { "Lägg till fler kurser" }
                    }
                }
            }
        },
    )
}

pub(super) fn typ_of(raw: &str) -> Result<Typ, PageError> {
    Typ::parse(raw).ok_or(PageError::NotFound)
}

/// What a registration form is filled with: the person of a person page, and the
/// message it corrects (`rattar`) or the ansökan whose courses an antagning copies
/// (`fran`).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Prefill {
    person: Option<String>,
    rattar: Option<String>,
    fran: Option<String>,
}

pub(super) async fn registrera_form(
    state: State,
    who: Inloggad,
    typ: web::Path<String>,
    q: Option<web::Query<Prefill>>,
) -> Page {
    let typ = typ_of(&typ)?;
    let q = q.map(web::Query::into_inner).unwrap_or_default();
    let form = match &q.person {
        None => FormData(vec![("status".into(), "registrering".into())]),
        Some(person_ref) => {
            let Some(person) = remembered(&state, &who, person_ref).await? else {
                return Ok(expired(&state, &who));
            };
            let mut form = prefilled(&state, &who, typ, &person, &q).await?;
            form.0.push(("person_ref".into(), person_ref.clone()));
            if matches!(typ, Typ::Avbrott | Typ::Forandring | Typ::Betyg) {
                let codes = beslut_courses(&state, &who, &person).await?;
                if !codes.is_empty() {
                    form.0
                        .push((forms::KURSKOD_CHOICES.into(), codes.join(",")));
                }
            }
            form
        }
    };
    let rows = forms::rows_of(&form);
    Ok(ok(registration_page(
        &state,
        &who,
        typ,
        &form,
        &Errors::default(),
        rows,
    )))
}

/// The course codes of the person's utbildningsbeslut in the user's kommun that are
/// still in force (an audited read, like the person page's).
async fn beslut_courses(
    state: &MinaSidorState,
    who: &Inloggad,
    person: &Personnummer,
) -> Result<Vec<String>, PageError> {
    let beslut = state
        .store
        .utbildningsbeslut_for_person(&who.reader(), person)
        .await?;
    let mut codes: Vec<String> = Vec::new();
    for b in &beslut {
        if b.status == komvux_domain::message::UtbildningsbeslutStatus::Upphord {
            continue;
        }
        for k in &b.beslut.villkor.kurskoder {
            let k = k.to_string();
            if !codes.contains(&k) {
                codes.push(k);
            }
        }
    }
    Ok(codes)
}

/// The form for the person: a correction (ändring) filled from the message it
/// corrects, an antagning with the ansökan's courses, or a new registration.
async fn prefilled(
    state: &MinaSidorState,
    who: &Inloggad,
    typ: Typ,
    person: &Personnummer,
    q: &Prefill,
) -> Result<FormData, PageError> {
    let pnr = person.expose();
    if let Some(id) = &q.rattar {
        let m = own_message(state, who, person, id).await?;
        if m.typ.as_str() != typ.slug() || !m.aktuell {
            return Err(PageError::NotFound);
        }
        let mut form = forms::from_fields(typ, &pnr, &m.fields);
        form.0.push(("status".into(), "andring".into()));
        form.0
            .push(("ersatter".into(), m.meddelande_id.to_string()));
        return Ok(form);
    }
    let mut form = FormData(vec![
        ("personnummer".into(), pnr.clone()),
        ("status".into(), "registrering".into()),
    ]);
    if let (Some(id), Typ::Antagning) = (&q.fran, typ) {
        let m = own_message(state, who, person, id).await?;
        if m.typ != MessageKind::Ansokan {
            return Err(PageError::NotFound);
        }
        form.0.extend(forms::kurs_rows(&m.fields));
    }
    Ok(form)
}

pub(super) async fn registrera(
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
    // More course rows, or back from the review: the form again, as it was sent.
    if let Some(atgard @ ("fler-kurser" | "andra")) = form.get("atgard") {
        let rows = if atgard == "fler-kurser" {
            (rows + 3).min(forms::MAX_KURS_ROWS)
        } else {
            rows
        };
        let page = registration_page(&state, &who, typ, &form, &Errors::default(), rows);
        return Ok(ok(page));
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
    // The review step: what will be sent, in words, before anything is.
    if form.get("atgard") == Some("granska") {
        return Ok(ok(review_page(&state, &who, typ, &form)));
    }
    let idem = form_key(typ, &form);
    let actor = AuditActor::Anvandare(who.user.id.clone());
    let result = state
        .store
        .queue_submission(&actor, &write, idem.as_ref())
        .await;
    let kvittens = match result {
        Ok(Submission::Created(k) | Submission::Replayed(k)) => k,
        // The API's one mapping of store refusals to problems and field errors.
        Err(e) => match ApiError::from(e) {
            ApiError::Unavailable(cause) => return Err(PageError::Unavailable(cause)),
            ApiError::Internal(cause) => return Err(PageError::Internal(cause)),
            api => return Ok(refused(problem_errors(&api))),
        },
    };
    tracing::info!(user = %who.user.id, kommun = %who.user.kommun, typ = typ.slug(), "mina sidor: meddelande registrerat");
    // Post/Redirect/Get: the receipt is a page of its own, so Back and reload never
    // send the form again (and a replay under the form's id shows the same receipt).
    let person_ref = form.value("person_ref").filter(|r| is_ref(r));
    match form.value("formular_id") {
        Some(formular_id) if idem.is_some() => {
            let query = person_ref.map_or_else(String::new, |r| format!("?person={r}"));
            Ok(see_other(&format!(
                "{BASE}/registrerat/{}{query}",
                utf8_percent_encode(formular_id)
            )))
        }
        _ => Ok(ok(receipt_page(&state, &who, &kvittens, person_ref))),
    }
}

/// The form's own id as the write's idempotency key, over every field the user sent, so
/// a second click (or a reload) replays the first answer.
fn form_key(typ: Typ, form: &FormData) -> Option<IdempotencyKey> {
    let fingerprint: Vec<(String, String)> = form
        .0
        .iter()
        .filter(|(n, _)| n != "csrf" && n != "atgard")
        .cloned()
        .collect();
    form.value("formular_id").and_then(|k| {
        IdempotencyKey::new(
            k,
            &format!("mina-sidor/registrera/{}", typ.slug()),
            serde_json::to_string(&fingerprint)
                .unwrap_or_default()
                .as_bytes(),
        )
        .ok()
    })
}

/// The review before registering: every filled-in field in words, the form carried in
/// hidden fields, and the buttons Registrera and Ändra (back to the form as it was).
fn review_page(state: &MinaSidorState, who: &Inloggad, typ: Typ, form: &FormData) -> Markup {
    let carried = |n: &str| n != "csrf" && n != "atgard";
    let shown = |n: &str, v: &str| {
        carried(n)
            && !v.trim().is_empty()
            && !["formular_id", "person_ref", forms::KURSKOD_CHOICES].contains(&n)
    };
    layout(
        "Granska",
        ctx(state, who),
        html! {
            h1 { "Granska innan du registrerar" }
            p { (typ.title()) ". Kontrollera uppgifterna. Inget har skickats till Arbetsförmedlingen än." }
            dl id="granska" {
                @for (n, v) in form.0.iter().filter(|(n, v)| shown(n, v)) {
                    dt { (pages::label_of(n)) }
                    dd { (pages::value_text(n, &serde_json::Value::String(v.clone()))) }
                }
            }
            form method="post" action={ (BASE) "/registrera/" (typ.slug()) } {
                (csrf(&who.csrf))
                @for (n, v) in form.0.iter().filter(|(n, _)| carried(n)) {
                    input type="hidden" name=(n) value=(v);
                }
                div class="knappar" {
                    button type="submit" name="atgard" value="registrera" class="primar" { "Registrera" }
                    button type="submit" name="atgard" value="andra" class="sekundar" { "Ändra uppgifterna" }
                }
            }
        },
    )
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ReceiptQuery {
    person: Option<String>,
}

/// The receipt of a form the user sent (the redirect's target).
pub(super) async fn registrerat(
    state: State,
    who: Inloggad,
    formular_id: web::Path<String>,
    q: Option<web::Query<ReceiptQuery>>,
) -> Page {
    let store = state.store.clone();
    let (user, id) = (who.user.clone(), formular_id.into_inner());
    let Some(kvittens) = run(move || store.mina_sidor().receipt(&user, &id)).await? else {
        return Err(PageError::NotFound);
    };
    let person_ref = q
        .as_ref()
        .and_then(|q| q.person.as_deref())
        .filter(|r| is_ref(r));
    Ok(ok(receipt_page(&state, &who, &kvittens, person_ref)))
}

fn receipt_page(
    state: &MinaSidorState,
    who: &Inloggad,
    kvittens: &komvux_persistence::Kvittens,
    person_ref: Option<&str>,
) -> Markup {
    let typ = Typ::parse(kvittens.typ.as_str());
    layout(
        "Registrerat",
        ctx(state, who),
        html! {
            h1 { "Meddelandet är registrerat" }
            p role="status" { "Arbetsförmedlingen kan nu läsa meddelandet." }
            dl id="kvittens" {
                dt { "Meddelande-id" } dd id="meddelande-id" { (kvittens.meddelande_id) }
                dt { "Typ" } dd { (typ_text(kvittens.typ.as_str())) }
                dt { "Status" } dd { (status_text(kvittens.status.as_str())) }
                dt { "Mottaget" } dd { (swedish_time(kvittens.mottaget.unix_micros())) }
            }
            @if !kvittens.varningar.is_empty() {
                section class="varningar" aria-labelledby="varningar-rubrik" {
                    h2 id="varningar-rubrik" { "Kontrollera uppgifterna" }
                    p { "Meddelandet är registrerat, men det här ser ovanligt ut. Rätta meddelandet om något är fel." }
                    ul id="varningar" {
                        @for w in &kvittens.varningar {
                            li data-kod=(w.kod) { (w.meddelande) }
                        }
                    }
                }
            }
            p { "Spara meddelande-id om du senare behöver rätta eller ta bort meddelandet." }
            @if let Some(r) = person_ref {
                p { a href=(person_path(r)) { "Tillbaka till personen" } }
            }
            @if let Some(t) = typ {
                p { a href={ (BASE) "/registrera/" (t.slug()) } { "Registrera ett till" } }
            }
        },
    )
}

/// A form id for a path segment: the browser's own `formular_id` may be anything.
fn utf8_percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The field errors of a refusal; a refusal without fields (a precondition) becomes
/// one error for the whole form, with the API's title and detail.
pub(super) fn problem_errors(e: &ApiError) -> Vec<FieldError> {
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
