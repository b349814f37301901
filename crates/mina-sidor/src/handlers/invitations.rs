//! Opening an invitation link.

use super::*;

pub(super) fn invitation_refused(
    state: &MinaSidorState,
    token: &AnonCsrf,
    r: InvitationRefusal,
) -> HttpResponse {
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

pub(super) async fn invitation_page(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Page {
    let invitation_token = path.into_inner();
    let token = AnonCsrf::of(&req);
    let store = state.store.clone();
    let key = invitation_token.clone();
    let found = run(move || store.mina_sidor().invitation(&key)).await?;
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

pub(super) async fn invitation_start(
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
    if let Err(r) = run(move || store.mina_sidor().invitation(&key)).await? {
        return Ok(invitation_refused(&state, &token, r));
    }
    begin_bankid(&req, &state, &ms, &token, Some(invitation_token)).await
}
