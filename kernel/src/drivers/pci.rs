//! Modern virtio-PCI on bus 0 (`pc`, `q35`): the firmware (SeaBIOS) has
//! assigned the BARs; each virtio function (vendor 0x1af4) gets memory
//! decoding and bus mastering, and its capabilities lead to the registers.
//!
//! Interrupts: none are routed. The legacy INTx lines are level-triggered
//! and shared, and on `q35` land on I/O APIC pins above the kernel's 16
//! device vectors; the waits poll instead, sleeping in short timer-bounded
//! `hlt`s (see `virtio_9p`).

use alloc::vec::Vec;
use virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::{virtio_device_type, PciTransport};
use virtio_drivers::transport::SomeTransport;

use super::Found;
use crate::arch::virtio::{DmaHal, PciConfigPorts};

/// The bus the VMMs put their devices on.
const ROOT_BUS: u8 = 0;
/// The host bridge: where there is PCI, there is a function at 00:00.0.
const HOST_BRIDGE: DeviceFunction = DeviceFunction {
    bus: ROOT_BUS,
    device: 0,
    function: 0,
};
const VENDOR_NONE: u32 = 0xffff;
const BAR0: u8 = 0x10;
const BAR_COUNT: u8 = 6;
const BAR_IO: u32 = 1;
const BAR_MEMORY_TYPE_MASK: u32 = 0b110;
const BAR_MEMORY_64: u32 = 0b100;

/// Whether all of a function's memory BARs lie below 4 GiB, inside the
/// direct map (QEMU's default layout puts them there; a BAR above would
/// need a mapping lamina does not make).
fn bars_below_4g(config: &PciConfigPorts, function: DeviceFunction) -> bool {
    let mut index = 0;
    while index < BAR_COUNT {
        let bar = config.read_word(function, BAR0 + 4 * index);
        if bar & BAR_IO == 0 && bar & BAR_MEMORY_TYPE_MASK == BAR_MEMORY_64 {
            if index + 1 < BAR_COUNT && config.read_word(function, BAR0 + 4 * (index + 1)) != 0 {
                return false;
            }
            index += 1;
        }
        index += 1;
    }
    true
}

/// The virtio functions on bus 0. Without a PCI host bridge (microvm,
/// Firecracker) this costs one configuration read.
pub fn probe() -> Vec<Found> {
    let mut found = Vec::new();
    // Reads only: the root below owns the writes.
    let config = PciConfigPorts;
    if config.read_word(HOST_BRIDGE, 0) & 0xffff == VENDOR_NONE {
        return found;
    }
    let mut root = PciRoot::new(PciConfigPorts);
    let functions: Vec<_> = root
        .enumerate_bus(ROOT_BUS)
        .filter(|(_, info)| virtio_device_type(info).is_some())
        .map(|(function, _)| function)
        .collect();
    for function in functions {
        if !bars_below_4g(&config, function) {
            crate::log!("virtio-pci {function}: a BAR above 4 GiB, left alone");
            continue;
        }
        let (_, command) = root.get_status_command(function);
        root.set_command(
            function,
            command | Command::MEMORY_SPACE | Command::BUS_MASTER,
        );
        match PciTransport::new::<DmaHal, _>(&mut root, function) {
            Ok(transport) => found.push(Found {
                transport: SomeTransport::from(transport),
                irq: None,
            }),
            Err(err) => crate::log!("virtio-pci {function}: {err}"),
        }
    }
    found
}
