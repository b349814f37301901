//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// komvux-gateway: the mutual-TLS API gateway between kommuner and Arbetsförmedlingen.
#[derive(Debug, Parser)]
#[command(name = "komvux-gateway", version, about)]
pub struct Cli {
    /// Configuration file (TOML); KOMVUX_* environment variables override its keys.
    #[arg(long, short, global = true, env = "KOMVUX_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (mutual TLS) and the operations port (health, metrics).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Register and manage kommun-system clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Write development certificates (DEV ONLY) into a folder.
    DevCerts {
        #[arg(long, default_value = "certs-dev")]
        out: PathBuf,
        /// Overwrite an existing dev PKI.
        #[arg(long)]
        force: bool,
    },
    /// Test mode only: register the dev clients (secrets into a folder) and seed test data.
    DevSetup {
        /// Where the dev clients' secrets are written.
        #[arg(long, default_value = "var/dev-clients")]
        secrets: PathBuf,
    },
    /// DEV ONLY: fill an empty test database with a national-scale dataset (persons,
    /// years of messages of every kind, an audit log) in bulk. Test mode with the dev
    /// identity keys only.
    DevSeed {
        /// Persons (Skatteverket's test personnummer first, then made-up ones born in
        /// the 1800s).
        #[arg(long, default_value_t = 20_000)]
        personer: u64,
        /// Messages, over five years.
        #[arg(long, default_value_t = 200_000)]
        meddelanden: u64,
        /// Seed of the random shape (the same seed builds the same shape).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print an OpenAPI document.
    Openapi {
        #[arg(long, value_enum, default_value = "yaml")]
        format: OpenapiFormat,
        /// Which API: the public one in production, in the test environment, or the internal one.
        #[arg(long, value_enum, default_value = "public")]
        api: OpenapiApi,
    },
    /// Test mode only: mint a token for the internal API, signed with the dev key.
    DevToken {
        /// The token's subject (the case handler), recorded in the audit log.
        #[arg(long)]
        sub: String,
        /// Roles, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "handlaggare")]
        roles: Vec<String>,
        /// Lifetime: a number with s, m or h (e.g. 1h).
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
    /// Test mode only: load the synthetic data set for the dev kommuner.
    SeedTestdata,
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Register extract and erasure for one person.
    #[command(subcommand)]
    Person(PersonCommand),
    /// Delete data past the configured retention (gallring).
    Gallra {
        /// Report what would be deleted without deleting.
        #[arg(long)]
        dry_run: bool,
    },
    /// Mina sidor för kommuner: administration (Arbetsförmedlingen's operators).
    #[command(subcommand)]
    MinaSidor(MinaSidorCommand),
    /// Signed receipts: check saved evidence offline (no database, no configuration).
    #[command(subcommand)]
    Kvittens(KvittensCommand),
}

#[derive(Debug, Subcommand)]
pub enum KvittensCommand {
    /// Check a saved evidence answer (`GET /komvux/v1/meddelanden/{id}/kvittens`): the
    /// receipt's signature, the body's hash, the checkpoint's signature and the inclusion
    /// proof. Exit 1 when any check fails.
    Verify {
        /// The evidence answer, as saved (JSON).
        #[arg(long)]
        kvittens: std::path::PathBuf,
        /// The key set, as saved from `GET /komvux/v1/nycklar` (JWKS).
        #[arg(long)]
        nycklar: std::path::PathBuf,
        /// The JSON body the client sent for the message (for a basladdning, the item).
        #[arg(long)]
        body: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MinaSidorCommand {
    /// The kommun's main administrator, who invites the kommun's users.
    #[command(subcommand)]
    Huvudansvarig(HuvudansvarigCommand),
}

#[derive(Debug, Subcommand)]
pub enum HuvudansvarigCommand {
    /// Makes a person the kommun's huvudansvarig (active again if deactivated). They log
    /// in with BankID; the personnummer is kept only as a keyed hash.
    Add {
        /// Kommunkod, four digits.
        #[arg(long)]
        kommun: String,
        /// The person's personnummer (prefer --personnummer-file: a command line is visible to other users).
        #[arg(long, conflicts_with = "personnummer_file")]
        personnummer: Option<String>,
        /// A file holding the personnummer.
        #[arg(long)]
        personnummer_file: Option<PathBuf>,
        /// Their e-mail address.
        #[arg(long)]
        epost: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OpenapiApi {
    Public,
    Test,
    Intern,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OpenapiFormat {
    Yaml,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; its secret is printed once.
    Add {
        /// The organisation's name.
        #[arg(long)]
        name: String,
        /// The organisation number its certificate carries.
        #[arg(long)]
        orgnr: String,
        /// Kommunkoder it acts for, comma-separated (e.g. 0180,0114).
        #[arg(long, value_delimiter = ',', required = true)]
        kommuner: Vec<String>,
        /// A chosen client_id (default: a random UUID).
        #[arg(long)]
        client_id: Option<String>,
        /// Write the secret to this file (mode 0600) instead of printing it.
        #[arg(long)]
        secret_file: Option<PathBuf>,
    },
    /// List clients (never their secrets).
    List,
    /// Issue a new secret; the previous one keeps working for the overlap.
    RotateSecret {
        client_id: String,
        #[arg(long, default_value_t = 24)]
        overlap_hours: u64,
        #[arg(long)]
        secret_file: Option<PathBuf>,
    },
    /// Revoke a client: its requests get 401 from now on.
    Revoke { client_id: String },
    /// Reinstate a revoked client.
    Reinstate { client_id: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole hash chain; exit 1 naming the first broken row.
    Verify,
    /// The access log for one person as JSON lines (an innsyn request); itself audited.
    Export {
        /// The personnummer (12 digits). Prefer --person-file to keep it out of shell history.
        #[arg(long, conflicts_with = "person_file")]
        person: Option<String>,
        /// A file holding the personnummer.
        #[arg(long)]
        person_file: Option<PathBuf>,
        /// From this date (YYYY-MM-DD, inclusive).
        #[arg(long)]
        from: Option<String>,
        /// To this date (YYYY-MM-DD, inclusive).
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Register extract for one person as JSON (both directions, every version); audited.
    Export {
        #[arg(long, conflicts_with = "person_file")]
        person: Option<String>,
        #[arg(long)]
        person_file: Option<PathBuf>,
    },
    /// Erase everything about one person on request; audited. Needs --yes.
    Erase {
        #[arg(long, conflicts_with = "person_file")]
        person: Option<String>,
        #[arg(long)]
        person_file: Option<PathBuf>,
        /// Confirm the erasure.
        #[arg(long)]
        yes: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
