#![no_main]
use std::sync::OnceLock;

use komvux_api::JwtSettings;
use komvux_api::intern::jwt::JwtVerifier;
use libfuzzer_sys::fuzz_target;

// A P-256 public key (any key will do: the target checks that no token crashes the
// verifier and that none verifies without a signature by it).
const KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhM9CwHNQii10D0KSLnnU3StjE9Ew
31kuvrJLPMFvX8GdR7mzqrSfYL4FBEttwlSVq9LVi7tQgg59jCZBeKCYeA==
-----END PUBLIC KEY-----
";

fn verifier() -> &'static JwtVerifier {
    static V: OnceLock<JwtVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let path = std::env::temp_dir().join("komvux-fuzz-jwt.pem");
        std::fs::write(&path, KEY).expect("temp file");
        JwtVerifier::load(&JwtSettings {
            issuer: "i".into(),
            audience: "a".into(),
            roles_claim: "roles".into(),
            required_role: "r".into(),
            leeway_secs: 30,
            key_files: vec![path],
        })
        .expect("key loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    assert!(verifier().verify(token).is_err(), "no token verifies without the private key");
});
