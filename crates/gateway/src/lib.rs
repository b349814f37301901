//! The `komvux-gateway` binary's parts: command line, settings, telemetry and the
//! subcommands. DEV ONLY tools (dev PKI, BankID test server, SMTP sink) are in
//! komvux-devkit.

pub mod cli;
pub mod commands;
pub mod settings;
pub mod telemetry;
