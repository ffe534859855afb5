//! Any bytes, decoded as a request, a reply and as Rreaddir data: errors
//! are fine, panics are not, and whatever decodes re-encodes to the same
//! bytes (the unbounded twin of the crate's `hostile` test).
#![no_main]

use lamina_9p::{DirEntries, Header, Rmsg, Tmsg};
use libfuzzer_sys::fuzz_target;

const MSIZE: u32 = 512 * 1024;

fuzz_target!(|bytes: &[u8]| {
    let Ok(header) = Header::decode(bytes, MSIZE) else {
        for entry in DirEntries::new(bytes) {
            let _ = entry;
        }
        return;
    };
    // Present whenever a decode succeeds.
    let message = bytes.get(..header.size as usize);
    if let Ok((tag, msg)) = Tmsg::decode(bytes, MSIZE) {
        let mut again = Vec::new();
        msg.encode_to_vec(tag, &mut again).unwrap();
        assert_eq!(Some(&again[..]), message);
    }
    if let Ok((tag, msg)) = Rmsg::decode(bytes, MSIZE) {
        let mut again = Vec::new();
        msg.encode_to_vec(tag, &mut again).unwrap();
        assert_eq!(Some(&again[..]), message);
        if let Rmsg::Readdir { data } = msg {
            for entry in DirEntries::new(data) {
                let _ = entry;
            }
        }
    }
});
