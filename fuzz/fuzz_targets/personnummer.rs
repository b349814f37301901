#![no_main]
use komvux_domain::Personnummer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(p) = Personnummer::parse(s) {
        // A parsed number round-trips and never shows itself whole.
        assert_eq!(Personnummer::parse(&p.expose()), Ok(p));
        assert!(!p.to_string().contains(&p.expose()));
        let _ = p.is_test_number();
    }
});
