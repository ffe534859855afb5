//! Any bytes, as a channel stream: the first byte sets the size of the
//! pieces the stream decoder is fed, and every frame it yields is decoded
//! as a Hello and as each message of the "net" and "ctl" channels, and its
//! body as the trace records the serial console carries. Errors
//! are fine, panics are not, and whatever decodes re-encodes to the same
//! bytes (the unbounded twin of the crate's `channel_streams_never_panic`).
#![no_main]

use lamina_proto::channel::{Frame, FrameDecoder, Hello};
use lamina_proto::trace::{Missing, TraceRecord};
use lamina_proto::{control, net};
use libfuzzer_sys::fuzz_target;

fn decode_every_way(frame: Frame<'_>, bytes: &[u8]) {
    let mut again = Vec::new();
    let check = |encoded: bool, again: &mut Vec<u8>| {
        if encoded {
            assert_eq!(again.as_slice(), bytes);
        }
        again.clear();
    };
    if let Ok(hello) = Hello::decode(frame) {
        hello.encode(&mut again);
        check(true, &mut again);
    }
    if let Ok(msg) = net::GuestMsg::decode(frame) {
        check(msg.encode(&mut again).is_ok(), &mut again);
    }
    if let Ok(msg) = net::HostMsg::decode(frame) {
        check(msg.encode(&mut again).is_ok(), &mut again);
    }
    if let Ok(msg) = control::GuestMsg::decode(frame) {
        check(msg.encode(&mut again).is_ok(), &mut again);
    }
    if let Ok(msg) = control::HostMsg::decode(frame) {
        check(msg.encode(&mut again).is_ok(), &mut again);
    }
    // The same bodies as serial-frame payloads (GuestKind::Trace, ::Missing).
    let body = &bytes[lamina_proto::channel::HEADER_LEN..];
    if let Ok(record) = TraceRecord::decode(body) {
        record.encode(&mut again);
        assert_eq!(again.as_slice(), body);
        again.clear();
    }
    if let Ok(missing) = Missing::decode(body) {
        missing.encode(&mut again);
        assert_eq!(again.as_slice(), body);
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&piece, stream)) = input.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1);
    if let Ok(Some((frame, used))) = Frame::split(stream) {
        decode_every_way(frame, &stream[..used]);
    }
    let mut decoder = FrameDecoder::new();
    let mut start = 0;
    let mut rest = stream;
    while !rest.is_empty() {
        let (used, got) = decoder.feed(&rest[..piece.min(rest.len())]);
        rest = &rest[used..];
        match got {
            Ok(Some(frame)) => {
                let end = stream.len() - rest.len();
                decode_every_way(frame, &stream[start..end]);
                start = end;
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
    let _ = decoder.finish();
});
