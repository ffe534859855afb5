//! virtio-console with named ports (virtio 1.2 section 5.3, feature
//! `VIRTIO_CONSOLE_F_MULTIPORT`; QEMU's `virtio-serial` with
//! `virtserialport`s): the first transport of lamina's channels.
//!
//! Queues: 0/1 are port 0's receive and transmit queues, 2/3 the control
//! queues, then two per port from port 1 on. All are set up before the
//! driver says DRIVER_OK (the ports announce themselves only afterwards,
//! over the control queue): DEVICE_READY from the driver, DEVICE_ADD per
//! port from the device, PORT_READY back, then PORT_NAME (and PORT_OPEN
//! when the host end is connected). The driver opens a port (PORT_OPEN,
//! without which QEMU passes it no data) once it knows its name.
//!
//! A port is a byte stream each way. Receive buffers stay posted; what the
//! device filled is handed out by [`VirtioConsole::take_received`] and
//! posted again by [`VirtioConsole::give_back`]. Writes are copied into a
//! few transmit buffers, so a writer sees back-pressure (less [`room`])
//! while the host is slow to read — QEMU keeps a buffer until its chardev
//! took every byte.
//!
//! [`room`]: VirtioConsole::room

use alloc::string::String;
use alloc::vec::Vec;
use bitflags::bitflags;
use virtio_drivers::transport::{SomeTransport, Transport};

use crate::arch::virtio::{BufferQueue, DmaBuffer};

/// Descriptors per queue (a power of two).
const QUEUE_SIZE: usize = 16;
/// Ports whose queues are set up; a device offering more gets only these.
const MAX_PORTS: u32 = 8;
/// Receive buffers kept posted per port, and their size: 256 KiB in all
/// (a stream's window, see `crate::channel`).
const RX_BUFFERS: usize = 16;
const RX_BUFFER_LEN: usize = 16 * 1024;
/// Transmit buffers per port, and their size.
const TX_BUFFERS: usize = 4;
const TX_BUFFER_LEN: usize = 64 * 1024;
/// In a small guest (below [`SMALL_GUEST_PAGES`] of RAM) a port keeps
/// fewer buffers: the fewest that still carry a largest frame each way.
const SMALL_GUEST_PAGES: u64 = (64 << 20) / 4096;
const SMALL_RX_BUFFERS: usize = 4;
const SMALL_TX_BUFFERS: usize = 2;
/// Control messages in flight from the device.
const CONTROL_RX_BUFFERS: usize = 8;
const CONTROL_BUFFER_LEN: usize = 4096;

const CONTROL_RX_QUEUE: u16 = 2;
const CONTROL_TX_QUEUE: u16 = 3;
/// Config space: `cols: le16, rows: le16, max_nr_ports: le32, ...`.
const CONFIG_MAX_NR_PORTS: usize = 4;

// Control events (virtio 1.2 section 5.3.6.2).
const DEVICE_READY: u16 = 0;
const DEVICE_ADD: u16 = 1;
const DEVICE_REMOVE: u16 = 2;
const PORT_READY: u16 = 3;
const PORT_OPEN: u16 = 6;
const PORT_NAME: u16 = 7;
/// `id: le32, event: le16, value: le16`.
const CONTROL_HEADER_LEN: usize = 8;
/// Longest port name kept (the rest is ignored).
const MAX_NAME_LEN: usize = 64;

bitflags! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Features: u64 {
        const MULTIPORT = 1 << 1;
        const VERSION_1 = 1 << 32;
    }
}

#[derive(Debug)]
pub enum Error {
    Virtio(virtio_drivers::Error),
    /// The device did not offer named ports.
    NoMultiport,
    OutOfMemory,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Virtio(err) => write!(f, "virtio: {err}"),
            Self::NoMultiport => f.write_str("no multiport feature (no named ports)"),
            Self::OutOfMemory => f.write_str("no memory for the queue buffers"),
        }
    }
}

/// A port's queues and its state.
struct Port {
    rx: BufferQueue<QUEUE_SIZE>,
    tx: BufferQueue<QUEUE_SIZE>,
    /// The device announced it (DEVICE_ADD) and its receive buffers are
    /// posted.
    added: bool,
    name: Option<String>,
    /// The driver sent PORT_OPEN.
    opened: bool,
    /// The host end said it closed (PORT_OPEN 0 after it was open, or
    /// the port was removed): QEMU drops what the guest writes there.
    host_gone: bool,
    host_open: bool,
    /// Empty transmit buffers.
    tx_free: Vec<DmaBuffer>,
    /// The buffer being filled, and how much of it is.
    tx_fill: Option<(DmaBuffer, usize)>,
}

/// One virtio-console device with multiport, driven.
pub struct VirtioConsole {
    transport: SomeTransport<'static>,
    irq: Option<u8>,
    control_rx: BufferQueue<QUEUE_SIZE>,
    control_tx: BufferQueue<QUEUE_SIZE>,
    /// By port number.
    ports: Vec<Port>,
}

fn rx_queue(port: u32) -> u16 {
    if port == 0 {
        0
    } else {
        (2 + 2 * port) as u16
    }
}

impl VirtioConsole {
    /// Brings the device up and learns its ports' names (the device
    /// answers the control messages as it gets them, so this takes no
    /// waiting beyond a few round trips).
    pub fn new(mut transport: SomeTransport<'static>, irq: Option<u8>) -> Result<Self, Error> {
        let features = transport.begin_init(Features::MULTIPORT | Features::VERSION_1);
        if !features.contains(Features::MULTIPORT) {
            transport.finish_init();
            return Err(Error::NoMultiport);
        }
        let max_ports: u32 = transport
            .read_config_space(CONFIG_MAX_NR_PORTS)
            .map_err(Error::Virtio)?;
        let max_ports = max_ports.min(MAX_PORTS);
        let queue = |t: &mut SomeTransport<'static>, i| {
            BufferQueue::new(t, i).map_err(|e| Error::Virtio(e.0))
        };
        let mut ports = Vec::new();
        let control_rx;
        let control_tx;
        {
            // Port 0's queues come first, then the control queues.
            let rx0 = queue(&mut transport, 0)?;
            let tx0 = queue(&mut transport, 1)?;
            control_rx = queue(&mut transport, CONTROL_RX_QUEUE)?;
            control_tx = queue(&mut transport, CONTROL_TX_QUEUE)?;
            ports.push(Port::new(rx0, tx0));
            for port in 1..max_ports {
                let rx = queue(&mut transport, rx_queue(port))?;
                let tx = queue(&mut transport, rx_queue(port) + 1)?;
                ports.push(Port::new(rx, tx));
            }
        }
        transport.finish_init();
        let mut device = Self {
            transport,
            irq,
            control_rx,
            control_tx,
            ports,
        };
        for _ in 0..CONTROL_RX_BUFFERS {
            let buffer = DmaBuffer::new(CONTROL_BUFFER_LEN).ok_or(Error::OutOfMemory)?;
            let _ = device.control_rx.give_for_device(buffer);
        }
        device.control_rx.notify(&mut device.transport);
        device.send_control(0, DEVICE_READY, 1);
        // The device answers each control message while the driver's
        // notification is being handled, so its answers are there by the
        // time the loop looks; the bound only guards a slow device.
        let started = crate::time::monotonic_ns();
        while crate::time::monotonic_ns() - started < 50_000_000 {
            let progressed = device.process_control();
            if !progressed && device.all_named() {
                break;
            }
            if !progressed {
                crate::arch::cpu::pause();
            }
        }
        Ok(device)
    }

    pub fn irq(&self) -> Option<u8> {
        self.irq
    }

    fn all_named(&self) -> bool {
        let mut added = self.ports.iter().filter(|p| p.added).peekable();
        added.peek().is_some() && added.all(|p| p.opened)
    }

    /// The number of the open port called `name`.
    pub fn port_named(&self, name: &str) -> Option<usize> {
        self.ports
            .iter()
            .position(|p| p.opened && p.name.as_deref() == Some(name))
    }

    fn send_control(&mut self, id: u32, event: u16, value: u16) {
        self.reclaim_control();
        let Some(mut buffer) = DmaBuffer::new(CONTROL_HEADER_LEN) else {
            crate::log!("virtio-console: no memory for a control message");
            return;
        };
        let bytes = buffer.as_mut_slice();
        bytes[..4].copy_from_slice(&id.to_le_bytes());
        bytes[4..6].copy_from_slice(&event.to_le_bytes());
        bytes[6..8].copy_from_slice(&value.to_le_bytes());
        if self
            .control_tx
            .give_to_device(buffer, CONTROL_HEADER_LEN)
            .is_err()
        {
            crate::log!("virtio-console: control queue full, event {event} for port {id} dropped");
            return;
        }
        self.control_tx.notify(&mut self.transport);
    }

    fn reclaim_control(&mut self) {
        while self.control_tx.take_used().is_some() {}
    }

    /// Acts on the device's control messages; whether there were any.
    fn process_control(&mut self) -> bool {
        let mut any = false;
        while let Some((buffer, len)) = self.control_rx.take_used() {
            any = true;
            if len >= CONTROL_HEADER_LEN {
                let bytes = buffer.as_slice();
                let id = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
                let event = u16::from_le_bytes([bytes[4], bytes[5]]);
                let value = u16::from_le_bytes([bytes[6], bytes[7]]);
                let name_end = len.min(CONTROL_HEADER_LEN + MAX_NAME_LEN);
                let name = &bytes[CONTROL_HEADER_LEN..name_end];
                let name = String::from_utf8_lossy(name).trim_end_matches('\0').into();
                self.control_event(id, event, value, name);
            }
            let _ = self.control_rx.give_for_device(buffer);
            self.control_rx.notify(&mut self.transport);
        }
        any
    }

    fn control_event(&mut self, id: u32, event: u16, value: u16, name: String) {
        let Some(port) = self.ports.get_mut(id as usize) else {
            crate::log!("virtio-console: event {event} for port {id}, beyond the ports set up");
            return;
        };
        match event {
            DEVICE_ADD if !port.added => {
                let small = crate::mm::frame::stats().1 < SMALL_GUEST_PAGES;
                let (rx_buffers, tx_buffers) = match small {
                    true => (SMALL_RX_BUFFERS, SMALL_TX_BUFFERS),
                    false => (RX_BUFFERS, TX_BUFFERS),
                };
                for _ in 0..rx_buffers {
                    let Some(buffer) = DmaBuffer::new(RX_BUFFER_LEN) else {
                        break;
                    };
                    let _ = port.rx.give_for_device(buffer);
                }
                port.tx_free
                    .extend((0..tx_buffers).filter_map(|_| DmaBuffer::new(TX_BUFFER_LEN)));
                port.added = true;
                port.rx.notify(&mut self.transport);
                self.send_control(id, PORT_READY, 1);
            }
            PORT_NAME => {
                crate::log!("virtio-console: port {id} is {name:?}");
                port.name = Some(name);
                if !port.opened {
                    port.opened = true;
                    self.send_control(id, PORT_OPEN, 1);
                }
            }
            PORT_OPEN => {
                crate::log!(
                    "virtio-console: the host {} port {id}",
                    if value == 1 { "opened" } else { "closed" }
                );
                if value == 1 {
                    port.host_open = true;
                } else if port.host_open {
                    port.host_gone = true;
                }
            }
            DEVICE_REMOVE => {
                crate::log!("virtio-console: port {id} removed");
                port.opened = false;
                port.host_gone = true;
            }
            _ => {}
        }
    }

    /// Handles what the device has done since the last call: control
    /// messages, transmit buffers it finished with. Acknowledges the
    /// interrupt first (where there is one), so that later work raises a
    /// new one.
    pub fn service(&mut self) {
        // Polled (no interrupt routed): there is no line to lower, and the
        // status read is a VM exit under KVM on every scheduler pass.
        if self.irq.is_some() {
            self.transport.ack_interrupt();
        }
        self.process_control();
        for port in 0..self.ports.len() {
            self.reclaim_tx(port);
            self.submit_fill(port);
        }
    }

    /// The next buffer of bytes that arrived on `port`, if any; hand it
    /// back with [`Self::give_back`] once read.
    pub fn take_received(&mut self, port: usize) -> Option<(DmaBuffer, usize)> {
        self.ports.get_mut(port)?.rx.take_used()
    }

    /// Posts a receive buffer again.
    pub fn give_back(&mut self, port: usize, buffer: DmaBuffer) {
        if let Some(p) = self.ports.get_mut(port) {
            let _ = p.rx.give_for_device(buffer);
            p.rx.notify(&mut self.transport);
        }
    }

    fn reclaim_tx(&mut self, port: usize) {
        let p = &mut self.ports[port];
        while let Some((buffer, _)) = p.tx.take_used() {
            p.tx_free.push(buffer);
        }
    }

    /// Hands the buffer being filled to the device, if it holds anything.
    fn submit_fill(&mut self, port: usize) {
        let p = &mut self.ports[port];
        let Some((buffer, len)) = p.tx_fill.take() else {
            return;
        };
        if len == 0 {
            p.tx_fill = Some((buffer, 0));
            return;
        }
        match p.tx.give_to_device(buffer, len) {
            Ok(()) => p.tx.notify(&mut self.transport),
            Err(buffer) => p.tx_fill = Some((buffer, len)),
        }
    }

    /// Whether the host end of `port` has gone (it will read nothing more).
    pub fn host_gone(&self, port: usize) -> bool {
        self.ports.get(port).is_none_or(|p| p.host_gone)
    }

    /// Bytes [`Self::write`] takes on `port` now.
    pub fn room(&mut self, port: usize) -> usize {
        self.reclaim_tx(port);
        let p = &self.ports[port];
        let fill = p.tx_fill.as_ref().map_or(0, |(b, len)| b.len() - len);
        fill + p.tx_free.len() * TX_BUFFER_LEN
    }

    /// Copies as much of `data` as there is room for ([`Self::room`]
    /// says how much) and returns how much; full buffers go to the device
    /// at once, the last, partly filled one at [`Self::kick`]. (Sending it
    /// here would make a second write, of a frame's data after its
    /// header, start a buffer of its own, and the room said before the
    /// first would no longer hold.)
    pub fn write(&mut self, port: usize, mut data: &[u8]) -> usize {
        self.reclaim_tx(port);
        let mut done = 0;
        while !data.is_empty() {
            let p = &mut self.ports[port];
            if p.tx_fill.is_none() {
                match p.tx_free.pop() {
                    Some(buffer) => p.tx_fill = Some((buffer, 0)),
                    None => break,
                }
            }
            let (buffer, len) = p.tx_fill.as_mut().expect("just filled");
            let n = data.len().min(buffer.len() - *len);
            buffer.as_mut_slice()[*len..*len + n].copy_from_slice(&data[..n]);
            *len += n;
            done += n;
            data = &data[n..];
            if *len == buffer.len() {
                self.submit_fill(port);
                let p = &mut self.ports[port];
                if p.tx_fill.is_some() {
                    break; // the queue is full: the rest waits
                }
            }
        }
        done
    }

    /// Starts sending what [`Self::write`] left in the buffer being filled.
    pub fn kick(&mut self, port: usize) {
        self.submit_fill(port);
    }

    /// Whether the device has taken everything written to `port`.
    pub fn flushed(&mut self, port: usize) -> bool {
        self.reclaim_tx(port);
        self.submit_fill(port);
        let p = &self.ports[port];
        p.tx.in_flight() == 0 && p.tx_fill.as_ref().is_none_or(|(_, len)| *len == 0)
    }
}

impl Port {
    fn new(rx: BufferQueue<QUEUE_SIZE>, tx: BufferQueue<QUEUE_SIZE>) -> Self {
        Self {
            rx,
            tx,
            added: false,
            name: None,
            opened: false,
            host_gone: false,
            host_open: false,
            tx_free: Vec::new(),
            tx_fill: None,
        }
    }
}
