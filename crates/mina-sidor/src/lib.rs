//! Mina sidor för kommuner: the web interface for kommuner without an API integration.
//!
//! Server-rendered Swedish HTML (maud) on its own HTTPS listener. Users log in with
//! BankID (RP API v6, [`bankid`]); the kommun's huvudansvarig invites users by e-mail
//! ([`mail`]). Every read and write goes through the same [`komvux_persistence::Store`]
//! methods, domain parsers and privacy rules as the API, with the user as the audited
//! actor.

pub mod bankid;
mod forms;
mod handlers;
mod lists;
pub mod mail;
mod pages;
mod session;
mod state;
mod words;

use actix_web::middleware::DefaultHeaders;
use actix_web::web;

pub use bankid::{BankIdClient, BankIdSettings};
pub use mail::{Mailer, SmtpSecurity, SmtpSettings};
pub use state::{MinaSidor, MinaSidorConfig, MinaSidorError, MinaSidorState};

/// The user's address: the TCP peer, unless the peer is a trusted proxy; then the
/// rightmost address of `X-Forwarded-For` (all its headers, in order) that is not a
/// trusted proxy itself. A proxy appends the address it saw, so everything left of the
/// last untrusted hop may be made up by the client and is never believed.
pub fn client_ip<'a>(
    peer: Option<std::net::IpAddr>,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let peer = peer.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops = forwarded_for.rev().flat_map(|h| h.rsplit(','));
    let mut client = peer;
    for hop in hops.by_ref() {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A hop we cannot read ends what can be believed.
            Err(_) => break,
        }
    }
    client
}

/// The base path of every page.
pub const BASE: &str = "/mina-sidor";

/// The security headers of every answer: no script or style from elsewhere, no
/// framing, no referrer (invitation links carry a token), nothing cached.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
        .add(("Strict-Transport-Security", "max-age=31536000"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

/// Every page, with the security headers, for the Mina sidor listener.
pub fn app(
    state: web::Data<MinaSidorState>,
    services: web::Data<MinaSidor>,
) -> actix_web::App<impl komvux_http::edge::ListenerApp> {
    actix_web::App::new()
        .app_data(state)
        .app_data(services)
        .wrap(security_headers())
        .configure(handlers::configure)
}

#[cfg(test)]
mod tests {
    use super::client_ip;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxies = vec!["10.0.0.0/8".parse().unwrap()];
        // Not a proxy: the header is the client's own words.
        let direct = client_ip(
            Some(ip("198.51.100.9")),
            ["203.0.113.1"].into_iter(),
            &proxies,
        );
        assert_eq!(direct, ip("198.51.100.9"));
        // Through the proxy: the address it appended, not what the client put before it.
        let via = client_ip(
            Some(ip("10.1.2.3")),
            ["6.6.6.6, 203.0.113.1", "10.9.9.9"].into_iter(),
            &proxies,
        );
        assert_eq!(via, ip("203.0.113.1"));
        // No header, or nothing readable: the proxy itself.
        assert_eq!(
            client_ip(Some(ip("10.1.2.3")), [].into_iter(), &proxies),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_ip(Some(ip("10.1.2.3")), ["skräp"].into_iter(), &proxies),
            ip("10.1.2.3")
        );
        // Nothing trusted: never the header.
        assert_eq!(
            client_ip(Some(ip("10.1.2.3")), ["203.0.113.1"].into_iter(), &[]),
            ip("10.1.2.3")
        );
    }
}
