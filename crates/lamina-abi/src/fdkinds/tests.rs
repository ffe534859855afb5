use super::*;

// Offsets and sizes printed by gcc on x86_64 with offsetof()/sizeof() over
// <sys/signalfd.h>, <sys/inotify.h>, <signal.h> and <time.h>.
const C_SIZEOF_SIGNALFD_SIGINFO: usize = 128;
const C_OFFSETOF_SSI_TID: usize = 24;
const C_OFFSETOF_SSI_OVERRUN: usize = 32;
const C_OFFSETOF_SSI_INT: usize = 44;
const C_OFFSETOF_SSI_PTR: usize = 48;
const C_OFFSETOF_SSI_ADDR: usize = 72;
const C_OFFSETOF_SIGEV_SIGNO: usize = 8;
const C_OFFSETOF_SIGEV_NOTIFY: usize = 12;
const C_OFFSETOF_SIGEV_TID: usize = 16;

#[test]
fn flag_values_are_linux_x86_64() {
    assert_eq!(EFD_CLOEXEC, 0x80000);
    assert_eq!(EFD_NONBLOCK, 0x800);
    assert_eq!(TFD_NONBLOCK, 0x800);
    assert_eq!(SFD_CLOEXEC, 0x80000);
    assert_eq!(IN_CLOEXEC, 0x80000);
    assert_eq!(F_SEAL_ALL, 0x3f);
    assert_eq!(IN_VALID_MASK, 0xb700_0fff);
}

#[test]
fn signalfd_siginfo_layout() {
    let si = SignalfdSiginfo {
        signo: 10,
        code: -2,
        tid: 7,
        overrun: 3,
        int: 42,
        ptr: 0x1122_3344_5566_7788,
        addr: 0xdead_beef,
        ..SignalfdSiginfo::default()
    };
    let b = si.to_bytes();
    assert_eq!(b.len(), C_SIZEOF_SIGNALFD_SIGINFO);
    assert_eq!(&b[0..4], &10u32.to_le_bytes());
    assert_eq!(&b[8..12], &(-2i32).to_le_bytes());
    assert_eq!(&b[C_OFFSETOF_SSI_TID..][..4], &7u32.to_le_bytes());
    assert_eq!(&b[C_OFFSETOF_SSI_OVERRUN..][..4], &3u32.to_le_bytes());
    assert_eq!(&b[C_OFFSETOF_SSI_INT..][..4], &42i32.to_le_bytes());
    assert_eq!(
        &b[C_OFFSETOF_SSI_PTR..][..8],
        &0x1122_3344_5566_7788u64.to_le_bytes()
    );
    assert_eq!(
        &b[C_OFFSETOF_SSI_ADDR..][..8],
        &0xdead_beefu64.to_le_bytes()
    );
    assert!(b[80..].iter().all(|&x| x == 0));
}

#[test]
fn itimerspec_round_trip_and_checks() {
    let spec = Itimerspec::from_ns(1_500_000_000, 250);
    let b = spec.to_bytes();
    assert_eq!(&b[0..8], &1i64.to_le_bytes());
    assert_eq!(&b[8..16], &500_000_000i64.to_le_bytes());
    assert_eq!(&b[24..32], &250i64.to_le_bytes());
    assert_eq!(Itimerspec::decode_ns(&b), Ok((1_500_000_000, 250)));
    let mut bad = b;
    bad[24..32].copy_from_slice(&NSEC_PER_SEC.to_le_bytes());
    assert_eq!(Itimerspec::decode_ns(&bad), Err(Errno::EINVAL));
    let mut negative = b;
    negative[0..8].copy_from_slice(&(-1i64).to_le_bytes());
    assert_eq!(Itimerspec::decode_ns(&negative), Err(Errno::EINVAL));
}

#[test]
fn sigevent_fields() {
    let mut b = [0u8; SIGEVENT_SIZE];
    b[..8].copy_from_slice(&99u64.to_le_bytes());
    b[C_OFFSETOF_SIGEV_SIGNO..][..4].copy_from_slice(&12i32.to_le_bytes());
    b[C_OFFSETOF_SIGEV_NOTIFY..][..4].copy_from_slice(&SIGEV_THREAD_ID.to_le_bytes());
    b[C_OFFSETOF_SIGEV_TID..][..4].copy_from_slice(&1234i32.to_le_bytes());
    let ev = Sigevent::from_bytes(&b);
    assert_eq!(
        ev,
        Sigevent {
            value: 99,
            signo: 12,
            notify: SIGEV_THREAD_ID,
            thread_id: 1234
        }
    );
}

#[test]
fn inotify_event_padding() {
    let bare = inotify_event(1, IN_DELETE_SELF, 0, b"");
    assert_eq!(bare.len(), INOTIFY_EVENT_HEADER);
    assert_eq!(&bare[12..16], &0u32.to_le_bytes());
    // "file" + NUL rounds up to 16 bytes of name.
    let named = inotify_event(2, IN_CREATE, 5, b"file");
    assert_eq!(named.len(), 32);
    assert_eq!(&named[0..4], &2i32.to_le_bytes());
    assert_eq!(&named[4..8], &IN_CREATE.to_le_bytes());
    assert_eq!(&named[8..12], &5u32.to_le_bytes());
    assert_eq!(&named[12..16], &16u32.to_le_bytes());
    assert_eq!(&named[16..20], b"file");
    assert!(named[20..].iter().all(|&x| x == 0));
    // Exactly 16 bytes of name needs a NUL: 32.
    assert_eq!(inotify_event(3, IN_CREATE, 0, &[b'a'; 16]).len(), 48);
}
