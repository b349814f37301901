#![no_main]
use komvux_http::identity::PeerIdentity;
use libfuzzer_sys::fuzz_target;

// Whatever DER a client presents after the handshake, reading its subject never panics.
fuzz_target!(|data: &[u8]| {
    let _ = PeerIdentity::from_der(data);
});
