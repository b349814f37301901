//! Arbetsförmedlingen's internal API (`/intern/v1`): bearer JWT, its own listener.

pub mod auth;
pub mod jwt;
mod routes;

pub use routes::{BASE, configure};
