//! Fuzzes `alb_token::parse`: no input may panic it, and whatever it accepts has a
//! 64-byte signature and a signing input that is a prefix of the token.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data)
        && let Ok(parsed) = alb_token::parse(token)
    {
        assert!(token.starts_with(parsed.signing_input()));
        assert_eq!(parsed.header.alg, "ES256");
    }
});
