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

pub(super) fn typ_of(raw: &str) -> Result<Typ, PageError> {
    Typ::parse(raw).ok_or(PageError::NotFound)
}

pub(super) async fn registrera_form(state: State, who: Inloggad, typ: web::Path<String>) -> Page {
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
    Ok(ok(layout(
        "Registrerat",
        ctx(&state, &who),
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
            p { a href={ (BASE) "/registrera/" (typ.slug()) } { "Registrera ett till" } }
        },
    )))
}

/// A message kind in Swedish words, as the receipt shows it.
fn typ_text(typ: &str) -> &'static str {
    match typ {
        "ansokan" => "Ansökan",
        "antagning" => "Antagning",
        "avbrott" => "Avbrott",
        "forandring" => "Förändring",
        "betyg" => "Betyg",
        _ => "Meddelande",
    }
}

/// A message status in Swedish words.
fn status_text(status: &str) -> &'static str {
    match status {
        "registrering" => "Registrering",
        "andring" => "Ändring",
        "borttag" => "Borttag",
        _ => "Okänd",
    }
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
