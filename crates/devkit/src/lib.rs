//! DEV ONLY: what the test environment and the tests run beside the gateway, never
//! production: the development PKI ([`devpki`]: a CA, server and client certificates
//! in the Swedish organisation-certificate forms, CRLs), a BankID test server
//! ([`bankid_testserver`]: the Relying Party API v6 with a test "phone" page) and an
//! SMTP sink ([`smtp_sink`]) that keeps the mail Mina sidor sends, and an RFC 3161
//! time-stamp authority ([`tsa`]) for the receipts' checkpoints.

pub mod bankid_testserver;
pub mod devpki;
pub mod smtp_sink;
pub mod tsa;
