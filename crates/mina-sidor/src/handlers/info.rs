//! The pages every public-sector service owes its users, linked from every footer:
//! the tillgänglighetsredogörelse (lag 2018:1937), how personal data is processed, and
//! help and contact ([`pages::FOOTER`]). Open without logging in.

use super::*;

/// The page with the menu for a logged-in user, without it otherwise.
fn info_page(
    req: &HttpRequest,
    state: &MinaSidorState,
    who: Option<&Inloggad>,
    title: &str,
    content: Markup,
) -> HttpResponse {
    let token = AnonCsrf::of(req);
    let page_ctx = match who {
        Some(w) => ctx(state, w),
        None => anon_ctx(state, &token),
    };
    token.apply(ok(layout(title, page_ctx, content)))
}

pub(super) async fn tillganglighet(
    req: HttpRequest,
    state: State,
    who: Option<Inloggad>,
) -> HttpResponse {
    info_page(
        &req,
        &state,
        who.as_ref(),
        "Tillgänglighetsredogörelse",
        html! {
            h1 { "Tillgänglighetsredogörelse" }
            p { "Arbetsförmedlingen står bakom Mina sidor för kommuner och vill att så många som möjligt ska kunna använda tjänsten. Här beskriver vi hur tjänsten uppfyller lagen (2018:1937) om tillgänglighet till digital offentlig service, kända brister och hur du kan rapportera problem." }
            h2 { "Hur tillgänglig är tjänsten?" }
            p { "Tjänsten är förenlig med WCAG 2.1 nivå AA. Sidorna är byggda i HTML på servern och fungerar utan JavaScript, med tangentbord och med skärmläsare; texten går att förstora till 400 procent och sidorna går att läsa på en skärm som är 320 pixlar bred." }
            h2 { "Kända brister" }
            ul {
                li { "QR-koden för BankID på en annan enhet går inte att läsa för den som inte ser. Använd då BankID på samma enhet (knappen Öppna BankID)." }
            }
            h2 { "Vad kan du göra om du inte kan använda delar av tjänsten?" }
            p { "Kontakta din kommuns huvudansvariga för Mina sidor, eller Arbetsförmedlingen (se " a href={ (BASE) "/hjalp" } { "Hjälp och kontakt" } "), så hjälper vi dig att få uppgifterna på annat sätt." }
            h2 { "Rapportera brister" }
            p { "Vi strävar hela tiden efter att förbättra tjänstens tillgänglighet. Om du upptäcker problem som inte finns beskrivna här, eller om du anser att vi inte uppfyller lagens krav, kontakta oss så att vi får veta att problemet finns." }
            h2 { "Tillsyn" }
            p { "Myndigheten för digital förvaltning (Digg) har ansvaret för tillsyn över lagen. Om du inte är nöjd med hur vi hanterar dina synpunkter kan du kontakta Digg och påtala det." }
            h2 { "Hur vi testat tjänsten" }
            p { "Varje sida och felsituation prövas automatiskt i en riktig webbläsare med axe-core mot WCAG 2.1 A och AA, också i 320 pixlars bredd, varje gång tjänsten ändras. Sidorna har dessutom gåtts igenom med enbart tangentbord." }
        },
    )
}

pub(super) async fn personuppgifter(
    req: HttpRequest,
    state: State,
    who: Option<Inloggad>,
) -> HttpResponse {
    info_page(
        &req,
        &state,
        who.as_ref(),
        "Personuppgifter",
        html! {
            h1 { "Så behandlas personuppgifter i Mina sidor för kommuner" }
            h2 { "Uppgifter om dem som tjänsten handlar om" }
            p { "Tjänsten förmedlar uppgifter om personer som är inskrivna på Arbetsförmedlingen och studerar, eller vill studera, inom kommunal vuxenutbildning och sfi: utbildningsbehov som Arbetsförmedlingen anvisar, och kommunens ansökningar, antagningar, avbrott, förändringar och betyg. Uppgifterna behövs för Arbetsförmedlingens och kommunernas uppdrag och lämnas enligt de bestämmelser som gäller för informationsutbytet." }
            ul {
                li { "Personnummer lagras krypterat och bara på ett ställe; övriga uppgifter är knutna till en pseudonym." }
                li { "Varje gång någon läser eller registrerar uppgifter om en person loggas vem, vilken kommun, vilken person och vad. Loggen kan inte ändras i efterhand." }
                li { "Uppgifter om personer med skyddade personuppgifter visas utan det som kan avslöja var personen finns." }
                li { "Uppgifterna gallras när de inte längre behövs, enligt de frister som gäller för informationsutbytet." }
                li { "Personnummer skrivs aldrig i en adress (URL). En sökning gäller en timme och bara i den inloggning där den gjordes." }
            }
            h2 { "Uppgifter om dig som använder tjänsten" }
            p { "Vi sparar ditt namn från BankID, din e-postadress, din roll och vilken kommun du arbetar för, samt en logg över vad du har gjort i tjänsten. Ditt personnummer sparas bara i en form som inte går att läsa ut (en nyckelsatt kontrollsumma), för att känna igen dig när du loggar in." }
            h2 { "Dina rättigheter" }
            p { "Du har rätt att få veta vilka uppgifter om dig som behandlas, och att få felaktiga uppgifter rättade. Kontakta Arbetsförmedlingen eller din kommun (se " a href={ (BASE) "/hjalp" } { "Hjälp och kontakt" } "). Du kan klaga hos Integritetsskyddsmyndigheten (IMY)." }
        },
    )
}

pub(super) async fn hjalp(req: HttpRequest, state: State, who: Option<Inloggad>) -> HttpResponse {
    info_page(
        &req,
        &state,
        who.as_ref(),
        "Hjälp och kontakt",
        html! {
            h1 { "Hjälp och kontakt" }
            h2 { "Konto och inloggning" }
            p { "Du får ett konto genom en inbjudan från din kommuns huvudansvariga för Mina sidor. Kontakta henne eller honom om du inte kan logga in, har bytt e-postadress eller ska ha en annan roll. Kommunens första huvudansvariga läggs upp av Arbetsförmedlingen." }
            h2 { "Logga in" }
            p { "Du loggar in med BankID, på samma enhet eller med QR-koden från en annan. Efter en stunds inaktivitet loggas du ut. Två minuter innan får du en varning med knappen Fortsätt vara inloggad. Loggas du ut finns det du har skrivit men inte skickat kvar i samma flik när du har loggat in igen, och du kommer tillbaka till sidan du var på." }
            h2 { "Registrera och rätta" }
            p { "Sök på personen och välj vad du vill registrera på personens sida. Ett meddelande som är fel rättar du med Rätta eller Ta bort i listan över kommunens meddelanden om personen; Arbetsförmedlingen ser både det gamla och det nya meddelandet." }
            h2 { "Frågor om uppgifterna eller tjänsten" }
            p { "Frågor om en persons anvisning eller om tjänsten ställer du till Arbetsförmedlingen genom den kontaktväg som står i kommunens avtal om informationsutbytet. Skicka aldrig personnummer i vanlig e-post." }
        },
    )
}
