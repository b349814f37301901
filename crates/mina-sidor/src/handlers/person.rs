//! The person page: what the kommun knows about one person, behind an opaque,
//! session-bound id (a search redirects here), with the kommun's own messages and what
//! the handläggare can do next.

use komvux_persistence::{MessageWriter, StoredMessage, WrittenMessage};

use super::*;

/// The address of the person page for a remembered person.
pub(super) fn person_path(id: &str) -> String {
    format!("{BASE}/person/{id}")
}

/// Whether `s` can be a person page's id (what may go back into an address).
pub(super) fn is_ref(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The person behind an address's id, if it was made in this session and is still fresh.
pub(super) async fn remembered(
    state: &MinaSidorState,
    who: &Inloggad,
    id: &str,
) -> Result<Option<Personnummer>, PageError> {
    let store = state.store.clone();
    let (session, id) = (who.session_id.clone(), id.to_owned());
    run(move || store.mina_sidor().remembered_person(&session, &id)).await
}

/// The answer for an id that is not (or no longer) this session's.
pub(super) fn expired(state: &MinaSidorState, who: &Inloggad) -> HttpResponse {
    pages::html(
        StatusCode::NOT_FOUND,
        layout(
            "Sökningen gäller inte längre",
            ctx(state, who),
            html! {
                h1 { "Sökningen gäller inte längre" }
                p { "En sökning gäller i en timme och bara i den inloggning där den gjordes, så att ingen annan kan öppna adressen. Sök på personen igen." }
                p { a href=(SOK.action) { "Sök person" } }
            },
        ),
    )
}

/// Remembers the searched person for this session and sends the browser to their page
/// (Post/Redirect/Get: no personnummer in the address, Back never sends the form again).
pub(super) async fn to_person_page(
    state: &MinaSidorState,
    who: &Inloggad,
    person: Personnummer,
) -> Page {
    let store = state.store.clone();
    let session = who.session_id.clone();
    let id = run(move || store.mina_sidor().remember_person(&session, &person)).await?;
    Ok(see_other(&person_path(&id)))
}

pub(super) async fn person_page(state: State, who: Inloggad, id: web::Path<String>) -> Page {
    let Some(person) = remembered(&state, &who, &id).await? else {
        return Ok(expired(&state, &who));
    };
    let reader = who.reader();
    let kommun = who.user.kommun;
    // Every read queued at once; each is answered once audited.
    let behov = state.store.utbildningsbehov_for_person(&reader, &person);
    let beslut = state.store.utbildningsbeslut_for_person(&reader, &person);
    let etab = state.store.etableringsprogram_for_person(&reader, &person);
    let history = state
        .store
        .kommun_messages_for_person(&reader, kommun, &person);
    let (behov, beslut, etab, history) = (behov.await?, beslut.await?, etab.await?, history.await?);
    let skyddad = behov.iter().any(|b| b.skyddade_personuppgifter)
        || beslut.iter().any(|b| b.skyddade_personuppgifter)
        || history.iter().any(|m| m.message.skyddade_personuppgifter);
    let behov = privacy::redact_all(&behov);
    let beslut = privacy::redact_all(&beslut);
    let newest_ansokan = history
        .iter()
        .rev()
        .find(|m| is_current(&m.message) && m.message.typ == MessageKind::Ansokan)
        .map(|m| m.message.meddelande_id.to_string());
    Ok(ok(layout(
        "Person",
        ctx(&state, &who),
        html! {
            h1 { "Person" }
            dl class="person" {
                dt { "Personnummer" } dd id="personnummer" { (person.expose()) }
            }
            @if skyddad {
                (spu_banner())
            }
            nav aria-labelledby="registrera-rubrik" class="atgarder" {
                h2 id="registrera-rubrik" { "Registrera för personen" }
                ul class="kort" {
                    @for t in forms::ALL {
                        li {
                            @if t == forms::Typ::Antagning && let Some(a) = &newest_ansokan {
                                a href={ (BASE) "/registrera/" (t.slug()) "?person=" (id) "&fran=" (a) } { (t.title()) }
                                " – kurserna hämtas från den senaste ansökan"
                            } @else {
                                a href={ (BASE) "/registrera/" (t.slug()) "?person=" (id) } { (t.title()) }
                            }
                        }
                    }
                }
            }
            h2 { "Utbildningsbehov" }
            @if behov.is_empty() {
                p { "Personen har inga utbildningsbehov." }
            }
            @for (i, b) in behov.iter().enumerate() {
                (pages::record(&format!("Utbildningsbehov {}", i + 1), b))
            }
            h2 { "Utbildningsbeslut i kommunen " (kommun.namn()) }
            @if beslut.is_empty() {
                p { "Personen har inga utbildningsbeslut i kommunen." }
            }
            @for (i, b) in beslut.iter().enumerate() {
                (pages::record(&format!("Utbildningsbeslut {}", i + 1), b))
            }
            h2 { "Etableringsprogrammet" }
            (etab_answer(&etab))
            h2 id="meddelanden-rubrik" { "Kommunens meddelanden om personen" }
            @if history.is_empty() {
                p { "Kommunen har inte skickat några meddelanden om personen." }
            } @else {
                (history_table(&id, &history))
            }
            p { a href=(SOK.action) { "Ny sökning" } }
        },
    )))
}

/// The page-level notice for a person with skyddade personuppgifter, with what the
/// handläggare should do (and not do) with what the page shows.
fn spu_banner() -> Markup {
    html! {
        section class="skyddad sida" id="skyddad" aria-labelledby="skyddad-rubrik" {
            h2 id="skyddad-rubrik" { "Skyddade personuppgifter." }
            p { "Uppgifter som kan avslöja var personen finns, som skolenhet och Arbetsförmedlingens kontor, visas inte." }
            ul {
                li { "Lämna inte ut uppgifter om personen, inte heller att hen finns hos er, utan att följa kommunens rutin för skyddade personuppgifter." }
                li { "Skriv inte ut sidan och spara den inte utanför tjänsten." }
                li { "Skicka meddelanden om personen som vanligt; Arbetsförmedlingen får dem med samma skydd." }
            }
        }
    }
}

/// A list row's way to the person page: the personnummer posted to the search (whose
/// redirect keeps it out of every address); `about` tells a screen reader which row.
pub(super) fn show_person(who: &Inloggad, person: &Personnummer, about: &str) -> Markup {
    html! {
        form method="post" action=(SOK.action) class="radknapp" {
            (csrf(&who.csrf))
            input type="hidden" name="personnummer" value=(person.expose());
            button type="submit" class="sekundar" {
                "Visa person" span class="visually-hidden" { ", " (about) }
            }
        }
    }
}

/// Whether a message still stands: the newest version, and not itself a removal.
fn is_current(m: &StoredMessage) -> bool {
    m.aktuell && m.status != komvux_domain::MeddelandeStatus::Borttag
}

/// Where a message stands, in words: it applies, it was corrected, or it was removed.
fn standing(m: &StoredMessage, all: &[WrittenMessage]) -> &'static str {
    let replaced_by = m
        .ersatt_av
        .and_then(|id| all.iter().find(|w| w.message.meddelande_id == id));
    match replaced_by {
        Some(w) if w.message.status == komvux_domain::MeddelandeStatus::Borttag => "Borttaget",
        Some(_) => "Ersatt av en ändring",
        None if m.status == komvux_domain::MeddelandeStatus::Borttag => "Tar bort ett meddelande",
        None if m.aktuell => "Gäller",
        None => "Ersatt",
    }
}

/// Where a message stands, seen alone (a list shows no other versions).
pub(super) fn standing_alone(m: &StoredMessage) -> &'static str {
    match (m.aktuell, m.status) {
        (_, komvux_domain::MeddelandeStatus::Borttag) => "Tar bort ett meddelande",
        (true, _) => "Gäller",
        (false, _) => "Ersatt",
    }
}

/// The message's content in a few words: its courses, decision, grade or reason.
pub(super) fn summary(m: &StoredMessage) -> String {
    let f = &m.fields;
    let text = |k: &str| f.get(k).and_then(serde_json::Value::as_str);
    let mut parts: Vec<String> = Vec::new();
    if let Some(b) = text("beslut") {
        parts.push(pages::value_text("beslut", &b.into()));
    }
    if let Some(kurser) = f.get("kurser").and_then(serde_json::Value::as_array) {
        let koder: Vec<&str> = kurser
            .iter()
            .filter_map(|k| k.get("kurskod").and_then(serde_json::Value::as_str))
            .collect();
        if !koder.is_empty() {
            parts.push(koder.join(", "));
        }
    }
    if let Some(koder) = f.get("kurskoder").and_then(serde_json::Value::as_array) {
        let koder: Vec<&str> = koder.iter().filter_map(serde_json::Value::as_str).collect();
        parts.push(if koder.is_empty() {
            "hela utbildningen".to_owned()
        } else {
            koder.join(", ")
        });
    }
    if let Some(k) = text("kurskod") {
        parts.push(k.to_owned());
    }
    if let Some(b) = text("betyg") {
        parts.push(format!("betyg {b}"));
    }
    if let Some(o) = text("orsak") {
        parts.push(pages::value_text("orsak", &o.into()));
    }
    parts.join(" · ")
}

pub(super) fn writer_text(w: &MessageWriter) -> String {
    match w {
        MessageWriter::Anvandare { namn } if namn.is_empty() => "Användare i Mina sidor".into(),
        MessageWriter::Anvandare { namn } => namn.clone(),
        MessageWriter::System { namn } => format!("Systemet {namn}"),
    }
}

fn history_table(id: &str, history: &[WrittenMessage]) -> Markup {
    html! {
        div class="tabell" role="region" aria-labelledby="meddelanden-rubrik" tabindex="0" {
        table id="meddelanden" {
            caption { (history.len()) " meddelanden, äldst först" }
            thead { tr {
                th scope="col" { "Mottaget" }
                th scope="col" { "Typ" }
                th scope="col" { "Status" }
                th scope="col" { "Innehåll" }
                th scope="col" { "Läge" }
                th scope="col" { "Registrerat av" }
                th scope="col" { "Åtgärd" }
            } }
            tbody {
                @for w in history {
                    @let m = &w.message;
                    @let typ = forms::Typ::parse(m.typ.as_str());
                    tr data-meddelande-id=(m.meddelande_id) {
                        td { (swedish_time(m.mottaget.unix_micros())) }
                        td { (typ_text(m.typ.as_str())) }
                        td { (status_text(m.status.as_str())) }
                        td { (summary(m)) }
                        td { (standing(m, history)) }
                        td { (writer_text(&w.writer)) }
                        td {
                            @if let (true, Some(t)) = (is_current(m), typ) {
                                a href={ (BASE) "/registrera/" (t.slug()) "?person=" (id) "&rattar=" (m.meddelande_id) } {
                                    "Rätta" span class="visually-hidden" { " " (typ_text(m.typ.as_str()).to_lowercase()) " " (swedish_time(m.mottaget.unix_micros())) }
                                }
                                " "
                                a href={ (BASE) "/person/" (id) "/ta-bort/" (m.meddelande_id) } {
                                    "Ta bort" span class="visually-hidden" { " " (typ_text(m.typ.as_str()).to_lowercase()) " " (swedish_time(m.mottaget.unix_micros())) }
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

/// The kommun message `id` about the person behind `person_ref`, or why not.
pub(super) async fn own_message(
    state: &MinaSidorState,
    who: &Inloggad,
    person: &Personnummer,
    id: &str,
) -> Result<StoredMessage, PageError> {
    let id = komvux_domain::MeddelandeId::parse(id).map_err(|_| PageError::NotFound)?;
    let m = match state.store.message(&who.reader(), id).await {
        Ok(m) => m,
        Err(StoreError::NotFound) => return Err(PageError::NotFound),
        Err(e) => return Err(e.into()),
    };
    // The kommun's message about this person only (the id came in the address).
    if m.personnummer != *person || m.kommunkod != who.user.kommun {
        return Err(PageError::NotFound);
    }
    Ok(m)
}

#[derive(serde::Deserialize)]
pub(super) struct RemovalPath {
    id: String,
    meddelande: String,
}

/// The confirmation before a removal (borttag): what goes, and the button that sends it.
pub(super) async fn ta_bort_page(
    state: State,
    who: Inloggad,
    path: web::Path<RemovalPath>,
) -> Page {
    let Some(person) = remembered(&state, &who, &path.id).await? else {
        return Ok(expired(&state, &who));
    };
    let m = own_message(&state, &who, &person, &path.meddelande).await?;
    let Some(typ) = forms::Typ::parse(m.typ.as_str()).filter(|_| is_current(&m)) else {
        return Err(PageError::NotFound);
    };
    let back = person_path(&path.id);
    Ok(ok(layout(
        "Ta bort meddelandet",
        ctx(&state, &who),
        html! {
            h1 { "Vill du ta bort meddelandet?" }
            p { "Ett borttag skickas till Arbetsförmedlingen och ersätter meddelandet. Det går inte att ångra, men du kan registrera ett nytt meddelande." }
            dl id="borttag" {
                dt { "Typ" } dd { (typ_text(m.typ.as_str())) }
                dt { "Mottaget" } dd { (swedish_time(m.mottaget.unix_micros())) }
                dt { "Innehåll" } dd { (summary(&m)) }
                dt { "Meddelande-id" } dd { (m.meddelande_id) }
            }
            form method="post" action={ (BASE) "/registrera/" (typ.slug()) } {
                (csrf(&who.csrf))
                input type="hidden" name="formular_id" value=(uuid::Uuid::new_v4().to_string());
                input type="hidden" name="person_ref" value=(path.id);
                input type="hidden" name="personnummer" value=(person.expose());
                input type="hidden" name="status" value="borttag";
                input type="hidden" name="ersatter" value=(m.meddelande_id);
                div class="knappar" {
                    button type="submit" name="atgard" value="registrera" class="primar" { "Ta bort meddelandet" }
                    a href=(back) class="knapplank" { "Avbryt" }
                }
            }
        },
    )))
}
