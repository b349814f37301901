//! The `komvux-gateway` binary's parts: command line, settings, telemetry, the
//! development PKI and the subcommands.

pub mod bankid_testserver;
pub mod cli;
pub mod commands;
pub mod devpki;
pub mod settings;
pub mod smtp_sink;
pub mod telemetry;
