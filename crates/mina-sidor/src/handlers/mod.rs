//! The pages of Mina sidor, one page family per file; this module holds the routes and
//! what the families share.

mod inbox;
mod info;
mod invitations;
mod login;
mod lookup;
mod person;
mod registering;
mod sent;
mod users;

use inbox::*;
use info::*;
use invitations::*;
use login::*;
use lookup::*;
use person::*;
use registering::*;
use sent::*;
use users::*;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use komvux_domain::message::PersonSok;
use komvux_domain::{FieldError, FromJson, MessageKind, Personnummer};
use komvux_persistence::{
    AuditActor, IdempotencyKey, Invitation, InvitationRefusal, InviteRefusal, MsUser, Roll,
    StoreError, Submission,
};
use maud::{Markup, html};
use serde_json::json;

use super::bankid::{self, OrderStatus};
use super::forms::{self, Typ};
use super::lists;
use super::pages::{self, Ctx, Errors, csrf, layout, ok, select_field, text_field};
use super::session::{
    AnonCsrf, FormData, Inloggad, LOGIN_COOKIE, PageError, RETURN_COOKIE, SESSION_COOKIE, cookie,
    removal, return_path,
};
use super::words::{status_text, swedish_time, typ_text};
use super::{BASE, MinaSidor};
use crate::state::MinaSidorState;
use komvux_http::body;
use komvux_http::config::Mode;
use komvux_http::error::ApiError;
use komvux_http::privacy;

type State = web::Data<MinaSidorState>;
type Ms = web::Data<MinaSidor>;
type Page = Result<HttpResponse, PageError>;

const STYLE: &str = include_str!("../stil.css");
const SCRIPT: &str = include_str!("../bankid.js");
const TIMEOUT_SCRIPT: &str = include_str!("../tidsgrans.js");

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(to_start))
        .service(
            web::scope(BASE)
                .route("", web::get().to(to_start))
                .route("/", web::get().to(start))
                .route("/static/stil.css", web::get().to(style))
                .route("/static/bankid.js", web::get().to(script))
                .route("/static/tidsgrans.js", web::get().to(timeout_script))
                .route("/fortsatt", web::post().to(keep_alive))
                .route("/utloggad", web::get().to(timed_out))
                .route("/logga-in", web::post().to(login_start))
                .route("/logga-in/bankid", web::get().to(login_page))
                .route("/logga-in/qr.svg", web::get().to(login_qr))
                .route("/logga-in/status", web::post().to(login_status))
                .route("/logga-in/kontrollera", web::post().to(login_check))
                .route("/logga-in/avbryt", web::post().to(login_cancel))
                .route("/tillganglighet", web::get().to(tillganglighet))
                .route("/personuppgifter", web::get().to(personuppgifter))
                .route("/hjalp", web::get().to(hjalp))
                .route("/inbjudan/{token}", web::get().to(invitation_page))
                .route("/inbjudan/{token}", web::post().to(invitation_start))
                .route("/logga-ut", web::post().to(logout))
                .route("/byt-kommun", web::post().to(switch_kommun))
                .route("/sok", web::get().to(sok_form))
                .route("/sok", web::post().to(sok))
                .route("/person/{id}", web::get().to(person_page))
                .route(
                    "/person/{id}/ta-bort/{meddelande}",
                    web::get().to(ta_bort_page),
                )
                .route("/aktiva", web::get().to(aktiva))
                .route("/aktiva.csv", web::get().to(aktiva_csv))
                .route("/etableringsprogrammet", web::get().to(etab_form))
                .route("/etableringsprogrammet", web::post().to(etab))
                .route("/registrera", web::get().to(registrera_index))
                .route("/registrera/{typ}", web::get().to(registrera_form))
                .route("/registrera/{typ}", web::post().to(registrera))
                .route("/registrerat/{formular_id}", web::get().to(registrerat))
                .route("/beslut", web::get().to(beslut_inbox))
                .route("/skickade", web::get().to(skickade))
                .route("/skickade.csv", web::get().to(skickade_csv))
                .route("/anvandare", web::get().to(users))
                .route("/anvandare", web::post().to(invite))
                .route("/anvandare/aktivitet", web::get().to(aktivitet))
                .route("/anvandare/{id}/inaktivera", web::get().to(inaktivera_page))
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

fn test_mode(state: &MinaSidorState) -> bool {
    state.mode == Mode::Test
}

fn ctx<'a>(state: &MinaSidorState, who: &'a Inloggad) -> Ctx<'a> {
    Ctx {
        user: Some(&who.user),
        csrf: &who.csrf,
        test_mode: test_mode(state),
        path: &who.path,
        idle_secs: Some(who.idle_secs),
    }
}

fn anon_ctx<'a>(state: &MinaSidorState, token: &'a AnonCsrf) -> Ctx<'a> {
    Ctx {
        user: None,
        csrf: &token.token,
        test_mode: test_mode(state),
        path: "",
        idle_secs: None,
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

async fn timeout_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(TIMEOUT_SCRIPT)
}

async fn form_of(req: &HttpRequest, payload: web::Payload) -> Result<FormData, PageError> {
    let timeout = req
        .app_data::<web::Data<MinaSidorState>>()
        .map_or(std::time::Duration::from_secs(10), |s| s.body_timeout);
    let bytes = body::read_limited(req, payload, 64 * 1024, timeout)
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
