//! The `komvux-gateway` binary's parts: command line, settings, telemetry, the
//! subcommands and [`serve`], which binds every listener (the composition root). DEV
//! ONLY tools (dev PKI, BankID test server, SMTP sink) are in komvux-devkit.

pub mod cli;
pub mod commands;
pub mod serve;
pub mod settings;
pub mod telemetry;
