//! virtio-9p (device id 9; virtio 1.2 section 5.? "9P transport", and
//! QEMU's `hw/9pfs/virtio-9p-device.c`): one request queue; a request is
//! one descriptor chain, the T-message device-readable, then room for the
//! R-message device-writable. The config space holds the mount tag.
//!
//! The 9P2000.L codec and client sit above this; here a request is bytes
//! in, bytes out. One request is in flight at a time (one CPU, no
//! preemption), so the queue is tiny.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use bitflags::bitflags;
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::{SomeTransport, Transport};

use crate::arch::cpu;
use crate::arch::virtio::{self, DmaBuffer, DmaHal};
use crate::task::wait;
use crate::time;

const REQUEST_QUEUE: u16 = 0;
/// One chain of two descriptors in flight; a power of two.
const QUEUE_SIZE: usize = 4;
/// QEMU's `MAX_TAG_LEN`: the mount tag is at most this long.
const MOUNT_TAG_MAX: usize = 255;
/// Config space: `tag_len: le16`, then the tag's bytes.
const CONFIG_TAG_LEN: usize = 0;
const CONFIG_TAG: usize = 2;
/// size[4] type[1] tag[2]: the header of every 9P message.
pub const HEADER_LEN: usize = 7;

/// How long a wait spins on the used ring before it sleeps: a 9P request
/// QEMU answers from its cache often completes within this.
const SPIN_NS: u64 = 20_000;
/// With the device's interrupt routed, a sleep ends at the interrupt; the
/// bound only guards against a lost one.
const SLEEP_WITH_IRQ_NS: u64 = 10_000_000;
/// Without an interrupt (virtio-PCI here), how often the used ring is
/// looked at while sleeping.
const POLL_NS: u64 = 50_000;

bitflags! {
    /// The features lamina's 9P driver accepts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Features: u64 {
        /// The config space has a mount tag (VIRTIO_9P_MOUNT_TAG).
        const MOUNT_TAG = 1 << 0;
        /// Modern virtio (VIRTIO_F_VERSION_1): the device offers it on
        /// modern PCI, and a driver must accept it when offered.
        const VERSION_1 = 1 << 32;
    }
}

#[derive(Debug)]
pub enum Error {
    /// The transport or the queue refused (`virtio-drivers`' error).
    Virtio(virtio_drivers::Error),
    /// The device has no mount tag, or not a UTF-8 one.
    NoMountTag,
    /// No contiguous memory for the DMA buffers.
    OutOfMemory,
    /// A request or response buffer shorter than a 9P header.
    BufferTooSmall,
    /// The device's answer is not a 9P message that fits the buffer.
    BadResponse { size: u32, used: u32 },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Virtio(err) => write!(f, "virtio: {err}"),
            Self::NoMountTag => f.write_str("no mount tag"),
            Self::OutOfMemory => f.write_str("no contiguous memory for the DMA buffers"),
            Self::BufferTooSmall => f.write_str("buffer shorter than a 9P header"),
            Self::BadResponse { size, used } => write!(
                f,
                "reply of {size} bytes by its header, {used} written by the device"
            ),
        }
    }
}

/// One virtio-9p device, driven.
pub struct Virtio9p {
    transport: SomeTransport<'static>,
    queue: VirtQueue<DmaHal, QUEUE_SIZE>,
    mount_tag: String,
    irq: Option<u8>,
    /// Where T-messages are copied for the device to read (grows to the
    /// largest request).
    request_dma: Option<DmaBuffer>,
    /// Where the device writes R-messages (grows to the largest response
    /// buffer a caller offered, i.e. to msize).
    response_dma: Option<DmaBuffer>,
}

impl core::fmt::Debug for Virtio9p {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Virtio9p")
            .field("mount_tag", &self.mount_tag)
            .field("irq", &self.irq)
            .finish_non_exhaustive()
    }
}

fn read_mount_tag(transport: &SomeTransport<'static>) -> Result<String, Error> {
    let tag = transport
        .read_consistent(|| {
            let len: u16 = transport.read_config_space(CONFIG_TAG_LEN)?;
            let len = usize::from(len).min(MOUNT_TAG_MAX);
            (0..len)
                .map(|i| transport.read_config_space::<u8>(CONFIG_TAG + i))
                .collect::<Result<Vec<u8>, _>>()
        })
        .map_err(Error::Virtio)?;
    String::from_utf8(tag).map_err(|_| Error::NoMountTag)
}

/// Makes sure `slot` holds a DMA buffer of at least `len` bytes.
fn ensure_dma(slot: &mut Option<DmaBuffer>, len: usize) -> Result<&mut DmaBuffer, Error> {
    if slot.as_ref().is_none_or(|buffer| buffer.len() < len) {
        *slot = None; // give the old frames back first
        *slot = Some(DmaBuffer::new(len).ok_or(Error::OutOfMemory)?);
    }
    Ok(slot.as_mut().expect("just filled"))
}

impl Virtio9p {
    /// Brings the device up (virtio 1.2 section 3.1.1) and reads its tag.
    pub fn new(mut transport: SomeTransport<'static>, irq: Option<u8>) -> Result<Self, Error> {
        let features = transport.begin_init(Features::MOUNT_TAG | Features::VERSION_1);
        let queue =
            VirtQueue::new(&mut transport, REQUEST_QUEUE, false, false).map_err(Error::Virtio)?;
        transport.finish_init();
        if !features.contains(Features::MOUNT_TAG) {
            return Err(Error::NoMountTag);
        }
        let mount_tag = read_mount_tag(&transport)?;
        Ok(Self {
            transport,
            queue,
            mount_tag,
            irq,
            request_dma: None,
            response_dma: None,
        })
    }

    pub fn mount_tag(&self) -> &str {
        &self.mount_tag
    }

    /// Sends the T-message `request` and waits for its R-message, which
    /// lands at the start of `response`; returns its length (the size in
    /// its header). `response` should be msize bytes long: the device
    /// fails a request whose reply does not fit. Both travel through DMA
    /// buffers of this driver, kept for the next request.
    pub fn request(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, Error> {
        self.request_with(
            request.len(),
            |buffer| {
                buffer[..request.len()].copy_from_slice(request);
                request.len()
            },
            response,
        )
    }

    /// As [`Self::request`], but `encode` writes the T-message straight
    /// into the driver's DMA buffer (at least `max_len` bytes) and returns
    /// its length: a Twrite's payload is copied once, not twice.
    pub fn request_with(
        &mut self,
        max_len: usize,
        encode: impl FnOnce(&mut [u8]) -> usize,
        response: &mut [u8],
    ) -> Result<usize, Error> {
        let room = response.len();
        self.exchange(max_len, room, encode, |reply| {
            response[..reply.len()].copy_from_slice(reply);
            reply.len()
        })
    }

    /// The request in place both ways: `encode` writes the T-message into
    /// the DMA buffer (at least `max_len` bytes) and returns its length,
    /// `read` gets the R-message where the device wrote it (at most
    /// `response_len` bytes, msize: the device fails a request whose reply
    /// does not fit). Nothing is copied through the kernel heap.
    pub fn exchange<R>(
        &mut self,
        max_len: usize,
        response_len: usize,
        encode: impl FnOnce(&mut [u8]) -> usize,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, Error> {
        if max_len < HEADER_LEN || response_len < HEADER_LEN {
            return Err(Error::BufferTooSmall);
        }
        let request_dma = ensure_dma(&mut self.request_dma, max_len)?;
        let request_len = encode(&mut request_dma.as_mut_slice()[..max_len]);
        if !(HEADER_LEN..=max_len).contains(&request_len) {
            return Err(Error::BufferTooSmall);
        }
        let response_dma = ensure_dma(&mut self.response_dma, response_len)?;

        let irq = self.irq;
        let started_ns = time::monotonic_ns();
        let used = virtio::submit_and_wait(
            &mut self.queue,
            REQUEST_QUEUE,
            &mut self.transport,
            &request_dma.as_slice()[..request_len],
            &mut response_dma.as_mut_slice()[..response_len],
            |used| {
                let now = time::monotonic_ns();
                if now - started_ns < SPIN_NS {
                    cpu::pause();
                    return;
                }
                let sleep_ns = if irq.is_some() {
                    SLEEP_WITH_IRQ_NS
                } else {
                    POLL_NS
                };
                wait::device_wait_until(Some(now + sleep_ns), used);
            },
        )
        .map_err(|err| Error::Virtio(err.0))?;
        // Drops the interrupt line, so that the next completion raises a
        // fresh edge.
        self.transport.ack_interrupt();

        let reply = &response_dma.as_slice()[..response_len];
        let size = u32::from_le_bytes(reply[..4].try_into().expect("4 bytes"));
        if (size as usize) < HEADER_LEN || size > used || size as usize > response_len {
            return Err(Error::BadResponse { size, used });
        }
        Ok(read(&reply[..size as usize]))
    }
}

impl crate::fs::p9::Transport for Virtio9p {
    fn exchange(
        &mut self,
        msize: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> usize,
        read: &mut dyn FnMut(&[u8]),
    ) -> Result<(), lamina_abi::errno::Errno> {
        Virtio9p::exchange(self, msize, msize, encode, read).map_err(|err| {
            crate::log!("virtio-9p: {err}");
            lamina_abi::errno::Errno::EIO
        })
    }
}

/// The message types the self-check uses (9P2000.L).
const TVERSION: u8 = 100;
const RVERSION: u8 = 101;
const RLERROR: u8 = 7;
const TWRITE: u8 = 118;
const TATTACH: u8 = 104;
const NOFID: u32 = 0xffff_ffff;
const NOTAG: u16 = 0xffff;
/// The msize the self-check asks for: 4 MiB, the most Linux's virtio 9P
/// client offers. QEMU 7.2 sets no upper bound: `v9fs_version` accepts
/// any msize from 4096 (`P9_MIN_MSIZE`) up and answers with the client's
/// own, and a descriptor over guest RAM is mapped in one piece whatever
/// its length (checked up to 64 MiB: a 64 MiB Twrite in one descriptor
/// reaches the 9P server). What bounds msize is the guest: each direction
/// is one physically contiguous DMA buffer of msize bytes.
pub const MAX_MSIZE: u32 = 4 << 20;
const VERSION_9P2000_L: &[u8] = b"9P2000.L";

fn put_header(message: &mut Vec<u8>, kind: u8, tag: u16) {
    message.extend_from_slice(&[0; 4]);
    message.push(kind);
    message.extend_from_slice(&tag.to_le_bytes());
}

fn finish(mut message: Vec<u8>) -> Vec<u8> {
    let size = message.len() as u32;
    message[..4].copy_from_slice(&size.to_le_bytes());
    message
}

/// `selftest=virtio-9p`: Tversion with [`MAX_MSIZE`], then a Twrite of
/// that whole size to a fid that was never attached (the device must map
/// the full-size descriptor to answer Rlerror).
pub fn selftest(device: &mut Virtio9p) {
    crate::log!("virtio-9p selftest: mount tag {:?}", device.mount_tag());
    let mut tversion = Vec::new();
    put_header(&mut tversion, TVERSION, NOTAG);
    tversion.extend_from_slice(&MAX_MSIZE.to_le_bytes());
    tversion.extend_from_slice(&(VERSION_9P2000_L.len() as u16).to_le_bytes());
    tversion.extend_from_slice(VERSION_9P2000_L);
    let mut reply = [0u8; 64];
    let started = cpu::rdtsc();
    match device.request(&finish(tversion), &mut reply) {
        Ok(len) if len >= HEADER_LEN + 6 && reply[4] == RVERSION => {
            let msize = u32::from_le_bytes(reply[7..11].try_into().expect("4 bytes"));
            let version_len = usize::from(u16::from_le_bytes([reply[11], reply[12]]));
            let version = reply.get(13..13 + version_len).unwrap_or(&[]);
            crate::log!(
                "virtio-9p selftest: Rversion msize {} version {} in {} us",
                msize,
                core::str::from_utf8(version).unwrap_or("?"),
                time::cycles_to_ns(cpu::rdtsc() - started) / 1000
            );
        }
        Ok(len) => crate::log!(
            "virtio-9p selftest: unexpected reply type {} ({len} bytes)",
            reply[4]
        ),
        Err(err) => {
            crate::log!("virtio-9p selftest: Tversion failed: {err}");
            return;
        }
    }

    // Tattach makes QEMU stat the export in a worker thread, so the reply
    // arrives later, through the interrupt (or the polling) path.
    let mut tattach = Vec::new();
    put_header(&mut tattach, TATTACH, 0);
    tattach.extend_from_slice(&0u32.to_le_bytes()); // fid
    tattach.extend_from_slice(&NOFID.to_le_bytes()); // afid
    for name in [&b"root"[..], b""] {
        tattach.extend_from_slice(&(name.len() as u16).to_le_bytes());
        tattach.extend_from_slice(name);
    }
    tattach.extend_from_slice(&0u32.to_le_bytes()); // n_uname
    let started = cpu::rdtsc();
    match device.request(&finish(tattach), &mut reply) {
        Ok(len) => crate::log!(
            "virtio-9p selftest: Tattach answered with type {} ({len} bytes) in {} us",
            reply[4],
            time::cycles_to_ns(cpu::rdtsc() - started) / 1000
        ),
        Err(err) => crate::log!("virtio-9p selftest: Tattach failed: {err}"),
    }

    const UNATTACHED_FID: u32 = 0xffff_fffe;
    const TWRITE_HEADER_LEN: usize = HEADER_LEN + 4 + 8 + 4;
    let count = MAX_MSIZE as usize - TWRITE_HEADER_LEN;
    let encode = |buffer: &mut [u8]| {
        let mut header = Vec::new();
        put_header(&mut header, TWRITE, 1);
        header.extend_from_slice(&UNATTACHED_FID.to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes());
        header.extend_from_slice(&(count as u32).to_le_bytes());
        header[..4].copy_from_slice(&MAX_MSIZE.to_le_bytes());
        buffer[..header.len()].copy_from_slice(&header);
        // The payload stays as the buffer holds it: the fid is unknown,
        // so the server never looks at it.
        buffer.len()
    };
    let mut reply = vec![0u8; 64];
    match device.request_with(MAX_MSIZE as usize, encode, &mut reply) {
        Ok(len) if len >= HEADER_LEN + 4 && reply[4] == RLERROR => crate::log!(
            "virtio-9p selftest: Twrite of {} bytes: Rlerror {}",
            MAX_MSIZE,
            u32::from_le_bytes(reply[7..11].try_into().expect("4 bytes"))
        ),
        Ok(len) => crate::log!(
            "virtio-9p selftest: Twrite: unexpected reply type {} ({len} bytes)",
            reply[4]
        ),
        Err(err) => crate::log!("virtio-9p selftest: Twrite failed: {err}"),
    }
}
