//! Mina sidor's accounts from the command line: Af's bootstrap of a kommun's huvudansvarig.

use super::*;

pub fn mina_sidor(settings: &Settings, cmd: MinaSidorCommand) -> anyhow::Result<()> {
    let MinaSidorCommand::Huvudansvarig(HuvudansvarigCommand::Add {
        kommun,
        personnummer,
        personnummer_file,
        epost,
    }) = cmd;
    let kommun =
        komvux_domain::Kommunkod::parse(&kommun).map_err(|e| anyhow::anyhow!("--kommun: {e}"))?;
    let person = read_person(personnummer, personnummer_file)?;
    if let Err(e) = komvux_http::body::person_allowed(settings.mode, &person, "personnummer") {
        bail!("--personnummer: {}", e.meddelande);
    }
    if !komvux_mina_sidor::mail::valid_address(&epost) {
        bail!("--epost: not an e-mail address");
    }
    let store = open_store(settings)?;
    let user = store.mina_sidor().add_huvudansvarig(
        "mina-sidor huvudansvarig add",
        kommun,
        &person,
        &epost,
    )?;
    say(&format!(
        "huvudansvarig for {} ({kommun}): user {} <{}>; they log in with BankID at Mina sidor",
        kommun.namn(),
        user.id,
        user.epost
    ));
    Ok(())
}
