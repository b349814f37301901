#![no_main]
use komvux_persistence::Cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(c) = Cursor::parse_handelser(s) {
        assert_eq!(Cursor::parse_handelser(&c.to_string()), Ok(c));
        assert!(c.position() >= 0);
    }
    if let Ok(c) = Cursor::parse_utbildningsbeslut(s) {
        assert!(Cursor::parse_handelser(&c.to_string()).is_err(), "cursors are bound to their feed");
    }
});
