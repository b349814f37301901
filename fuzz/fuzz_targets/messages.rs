#![no_main]
use komvux_domain::message::{
    Ansokan, Antagning, Avbrott, Basladdning, Betyg, Etableringsprogram, Forandring, PersonSok,
    Utbildningsbehov, Utbildningsbeslut, UtbildningsbeslutAndring,
};
use komvux_domain::{FromJson, KommunMeddelande};
use libfuzzer_sys::fuzz_target;

fn check<T: FromJson + serde::Serialize>(data: &[u8]) {
    if let Ok(v) = T::from_json_slice(data) {
        // What parsed serialises to JSON that parses again.
        let again = serde_json::to_vec(&v).expect("serialises");
        assert!(T::from_json_slice(&again).is_ok());
    }
}

fuzz_target!(|data: &[u8]| {
    check::<KommunMeddelande<Ansokan>>(data);
    check::<KommunMeddelande<Antagning>>(data);
    check::<KommunMeddelande<Avbrott>>(data);
    check::<KommunMeddelande<Forandring>>(data);
    check::<KommunMeddelande<Betyg>>(data);
    check::<Basladdning>(data);
    check::<Utbildningsbehov>(data);
    check::<Utbildningsbeslut>(data);
    check::<UtbildningsbeslutAndring>(data);
    check::<Etableringsprogram>(data);
    check::<PersonSok>(data);
});
