//! The problem answers operations share, declared once for the OpenAPI document: an
//! operation lists its success and its own problems, then the groups that apply to it
//! (`responses((status = 200, …), ServerProblems, Unauthenticated, JsonBodyProblems)`).
//! The descriptions name the problem type (`/problem/<typ>`), as CONTRACT.md does.

use utoipa::IntoResponses;

use super::Problem;

/// Every operation: the gateway's own failure, and a database that does not answer.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub(crate) enum ServerProblems {
    #[response(
        status = 500,
        description = "internt-fel",
        content_type = "application/problem+json"
    )]
    Internal(Problem),
    #[response(
        status = 503,
        description = "tillfalligt-otillganglig: databasen svarar inte; försök igen",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// Every operation that needs a client (the public API: certificate and client id; the
/// internal API: a bearer token).
#[derive(IntoResponses)]
#[response(
    status = 401,
    description = "ej-autentiserad",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub(crate) struct Unauthenticated(Problem);

/// Every operation that reads a JSON body.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub(crate) enum JsonBodyProblems {
    #[response(
        status = 400,
        description = "felaktig-json: inte giltig JSON",
        content_type = "application/problem+json"
    )]
    Malformed(Problem),
    #[response(
        status = 413,
        description = "for-stor: större än gränsen för kroppen",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "fel-innehallstyp: inte application/json",
        content_type = "application/problem+json"
    )]
    NotJson(Problem),
}

/// Every operation of the internal API: the token lacks the handläggare role.
#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "saknar-roll",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub(crate) struct MissingRole(Problem);
