//! Channels (design.md, "Channels"): named, reliable, ordered byte streams
//! between the guest and the host, carrying the framed messages of
//! `lamina_proto` ("ctl": the workload's stdio and exit status, "net": its
//! forwarded sockets). The transport today is a virtio-console port of the
//! same name ([`crate::drivers::virtio_console`]); a vsock transport slots
//! in below this module and nothing above it changes.
//!
//! Sending: [`send`] queues whole frames or nothing (EAGAIN when the
//! transport's buffers are full: the caller waits on [`send_queue`], woken
//! when the host has taken bytes). Receiving: [`service`] runs from the
//! scheduler's event step (the device's interrupt, or a poll where there
//! is none), reassembles frames and hands each to its channel's receiver,
//! outside any system call and without the device locked, so a receiver
//! may send. The first frame each way is the protocol's Hello; a
//! malformed frame ends that channel (its users then see EPIPE), never
//! the kernel.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_proto::channel::{Channel, ChannelError, Frame, FrameDecoder, Hello};
use spin::Mutex;

use crate::arch::virtio::DmaBuffer;
use crate::drivers::virtio_console::VirtioConsole;
use crate::task::wait::WaitQueue;

/// What a channel's receiver does with a frame; an error ends the channel.
type Receiver = fn(Frame<'_>) -> Result<(), ChannelError>;

fn index(channel: Channel) -> usize {
    match channel {
        Channel::Control => 0,
        Channel::Net => 1,
    }
}

fn receiver(channel: Channel) -> Receiver {
    match channel {
        Channel::Control => crate::console::receive,
        Channel::Net => crate::net::forward::receive,
    }
}

static DEVICE: Mutex<Option<VirtioConsole>> = Mutex::new(None);
/// Per channel: its port is open (and the channel not broken).
static UP: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
/// Per channel: the port number.
static PORT: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
/// The interrupt bit (`arch::irq::take_pending`) of the device; 0 when it
/// has no interrupt and is polled.
static IRQ_BIT: AtomicU64 = AtomicU64::new(0);
static POLLED: AtomicBool = AtomicBool::new(false);

/// The receiving side of a channel.
struct Inbound {
    decoder: FrameDecoder,
    /// The peer's Hello arrived and agreed.
    greeted: bool,
}

static INBOUND: [Mutex<Inbound>; 2] = [
    Mutex::new(Inbound {
        decoder: FrameDecoder::new(),
        greeted: false,
    }),
    Mutex::new(Inbound {
        decoder: FrameDecoder::new(),
        greeted: false,
    }),
];

static SEND_QUEUES: [WaitQueue; 2] = [WaitQueue::new(), WaitQueue::new()];

/// Takes the device over: each of lamina's channels whose port it has is
/// up, and says Hello.
pub fn attach(device: VirtioConsole) {
    if let Some(pin) = device.irq() {
        IRQ_BIT.store(1 << pin, Ordering::Relaxed);
    } else {
        POLLED.store(true, Ordering::Relaxed);
    }
    let mut device = device;
    for channel in Channel::ALL {
        let Some(port) = device.port_named(channel.name()) else {
            continue;
        };
        let mut hello = Vec::new();
        Hello::new(channel).encode(&mut hello);
        if device.write(port, &hello) != hello.len() {
            crate::log!("channel {channel}: no room for the hello");
            continue;
        }
        device.kick(port);
        PORT[index(channel)].store(port, Ordering::Relaxed);
        UP[index(channel)].store(true, Ordering::Relaxed);
        crate::log!("channel {channel}: port {port}");
    }
    *DEVICE.lock() = Some(device);
}

/// Whether `channel` can carry messages.
pub fn is_up(channel: Channel) -> bool {
    UP[index(channel)].load(Ordering::Relaxed)
}

fn port(channel: Channel) -> Result<usize, Errno> {
    if is_up(channel) {
        Ok(PORT[index(channel)].load(Ordering::Relaxed))
    } else {
        Err(Errno::EPIPE)
    }
}

/// Bytes [`send`] takes on `channel` now.
pub fn room(channel: Channel) -> usize {
    let Ok(port) = port(channel) else {
        return 0;
    };
    DEVICE.lock().as_mut().map_or(0, |d| d.room(port))
}

/// Queues `frames` (whole frames) on `channel`: all of them, or none and
/// EAGAIN when the transport has no room yet (wait on [`send_queue`]).
/// EPIPE when the channel is not up.
pub fn send(channel: Channel, frames: &[u8]) -> Result<(), Errno> {
    send_parts(channel, &[frames])
}

/// As [`send`], for frames whose bytes lie in several pieces (a header
/// here, the data there): all the pieces, in order, or none.
pub fn send_parts(channel: Channel, parts: &[&[u8]]) -> Result<(), Errno> {
    let port = port(channel)?;
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut guard = DEVICE.lock();
    let device = guard.as_mut().ok_or(Errno::EPIPE)?;
    if device.room(port) < len {
        return Err(Errno::EAGAIN);
    }
    for part in parts {
        let written = device.write(port, part);
        // `room` held for all of them together: a short write would be a
        // hole in the stream, which no reader could resynchronise.
        assert_eq!(written, part.len(), "channel {channel}: room was {len}");
    }
    device.kick(port);
    Ok(())
}

/// Where senders wait for room on `channel`.
pub fn send_queue(channel: Channel) -> &'static WaitQueue {
    &SEND_QUEUES[index(channel)]
}

/// Whether the scheduler must look at the channels without an interrupt
/// (virtio-PCI here routes none), and how often.
pub fn poll_interval_ns() -> Option<u64> {
    POLLED.load(Ordering::Relaxed).then_some(1_000_000)
}

/// Whether the interrupts in `pending` (or polling) call for [`service`].
pub fn wants_service(pending: u64) -> bool {
    pending & IRQ_BIT.load(Ordering::Relaxed) != 0 || POLLED.load(Ordering::Relaxed)
}

/// Takes what the host sent and what it finished reading: frames go to
/// their receivers, senders waiting for room wake.
pub fn service() {
    let mut received: Vec<(Channel, usize, DmaBuffer, usize)> = Vec::new();
    let mut gone: Vec<Channel> = Vec::new();
    {
        let mut guard = DEVICE.lock();
        let Some(device) = guard.as_mut() else {
            return;
        };
        device.service();
        for channel in Channel::ALL {
            let Ok(port) = port(channel) else {
                continue;
            };
            if device.host_gone(port) {
                gone.push(channel);
                continue;
            }
            while let Some((buffer, len)) = device.take_received(port) {
                received.push((channel, port, buffer, len));
            }
        }
    }
    for channel in gone {
        crate::console::log_line(format_args!("channel {channel}: the host closed it"));
        close(channel);
    }
    let mut back = Vec::with_capacity(received.len());
    for (channel, port, buffer, len) in received {
        if is_up(channel) {
            if let Err(err) = deliver(channel, &buffer.as_slice()[..len]) {
                crate::console::log_line(format_args!(
                    "channel {channel}: {err}; the channel is closed"
                ));
                close(channel);
            }
        }
        back.push((port, buffer));
    }
    if let Some(device) = DEVICE.lock().as_mut() {
        for (port, buffer) in back {
            device.give_back(port, buffer);
        }
    }
    for queue in &SEND_QUEUES {
        queue.wake_all();
    }
    // Forwarded sockets keep their own backlog and waiters.
    crate::net::forward::channel_room();
    // `/dev/tty` writers wait on stdin's queue (one queue per object).
    crate::console::STDIN_QUEUE.wake_all();
}

/// Takes `channel` down: its users see EPIPE (stdio falls back to the
/// serial line; forwarded sockets fail and their waiters wake).
fn close(channel: Channel) {
    UP[index(channel)].store(false, Ordering::Relaxed);
    if channel == Channel::Net {
        crate::net::forward::channel_closed();
    }
}

/// Reassembles frames from `bytes` and hands them on.
fn deliver(channel: Channel, mut bytes: &[u8]) -> Result<(), ChannelError> {
    let mut inbound = INBOUND[index(channel)].lock();
    let receive = receiver(channel);
    while !bytes.is_empty() {
        let Inbound { decoder, greeted } = &mut *inbound;
        let (used, frame) = decoder.feed(bytes);
        bytes = &bytes[used..];
        let Some(frame) = frame? else {
            continue;
        };
        if !*greeted {
            let peer = Hello::decode(frame)?;
            Hello::new(channel).agree(&peer)?;
            *greeted = true;
            continue;
        }
        receive(frame)?;
    }
    Ok(())
}

/// Waits until the host has taken everything sent on `channel` (before
/// the VM powers off), or `deadline_ns` passes.
pub fn flush(channel: Channel, deadline_ns: Option<u64>) {
    let Ok(port) = port(channel) else {
        return;
    };
    // Bounded sleeps: a device without an interrupt (virtio-PCI) says
    // nothing when it is done.
    while !DEVICE.lock().as_mut().is_none_or(|d| d.flushed(port)) {
        let now = crate::time::monotonic_ns();
        if deadline_ns.is_some_and(|deadline| now >= deadline) {
            return;
        }
        crate::time::wait_until(now + 200_000);
    }
}

/// `selftest=ctl-garbage` / `net-garbage`: writes bytes that are no frame
/// (a length field over the largest frame, then junk) on `channel`, as a
/// broken or hostile guest would.
pub fn selftest_garbage(channel: Channel) {
    let mut junk = Vec::from(u32::MAX.to_le_bytes());
    junk.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    match send(channel, &junk) {
        Ok(()) => crate::log!("channel {channel}: sent {} bytes of garbage", junk.len()),
        Err(err) => crate::log!("channel {channel}: garbage not sent: {}", err.name()),
    }
}
