#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| postdesk::fuzzing::header_charset(data));
