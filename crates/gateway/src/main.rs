//! `komvux-gateway`: see `komvux-gateway --help`.

use std::process::ExitCode;

use clap::Parser;
use komvux_gateway::cli::{Cli, Command};
use komvux_gateway::settings::{LogFormat, Settings};
use komvux_gateway::{commands, telemetry};

/// jemalloc instead of glibc's allocator: requests allocate on the HTTP workers and free
/// on the readers and back, which glibc serves through its arenas' locks and
/// consolidation (a sixth of a reader's CPU in the profile); with jemalloc the gateway
/// spends 10–15 % less CPU per audited lookup at the same peak RSS (docs/performance.md,
/// step 34). mimalloc, tried in the fifth session, was faster too but more than doubled
/// the peak RSS.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = || Settings::load(cli.config.as_deref());
    match cli.command {
        Command::DevCerts { ref out, force } => {
            telemetry::init(LogFormat::Text);
            commands::dev_certs(out, force)
        }
        Command::Openapi { format, api } => commands::openapi(format, api),
        Command::Kvittens(cmd) => commands::kvittens(cmd),
        Command::DevToken {
            ref sub,
            ref roles,
            ref ttl,
        } => {
            let s = settings()?;
            commands::dev_token(&s, sub, roles, ttl)
        }
        Command::SeedTestdata => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::seed_testdata(&s)
        }
        Command::Serve => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::serve(s)
        }
        Command::Migrate => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::migrate(&s)
        }
        Command::Client(cmd) => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::client(&s, cmd)
        }
        Command::DevSetup { ref secrets } => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::dev_setup(&s, secrets)
        }
        Command::Audit(cmd) => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::audit(&s, cmd)
        }
        Command::Person(cmd) => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::person(&s, cmd)
        }
        Command::MinaSidor(cmd) => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::mina_sidor(&s, cmd)
        }
        Command::DevSeed {
            personer,
            meddelanden,
            seed,
        } => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::dev_seed(&s, personer, meddelanden, seed)
        }
        Command::Gallra { dry_run } => {
            let s = settings()?;
            telemetry::init(s.log_format);
            commands::run_gallring(&s, dry_run)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("komvux-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}
