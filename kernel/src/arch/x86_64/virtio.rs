//! The unsafe half of the virtio drivers: `virtio-drivers`' [`Hal`] (DMA
//! memory from the frame allocator, reached through the direct map; no
//! IOMMU, so sharing a buffer is only a translation), virtio-MMIO
//! transports at physical addresses, PCI configuration space through ports
//! 0xCF8/0xCFC, DMA buffers as safe slices, and the one submission the
//! drivers need: hand a request and a response buffer to the device and
//! return only once the device has used them.
//!
//! The transports and the split virtqueue are `virtio-drivers`' (rcore-os);
//! `kernel/src/drivers/` builds the devices on them in safe code.

use core::ptr::NonNull;

use spin::Mutex;
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::mmio::{MmioError, MmioTransport, VirtIOHeader};
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};
use virtio_drivers::transport::Transport;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};
use x86_64::instructions::port::Port;

use super::phys::{DIRECT_MAP_BASE, DIRECT_MAP_LIMIT, PAGE_SIZE};
use crate::mm::frame;

/// Where the link script places the kernel image (`KERNEL_VIRT_OFFSET`).
const KERNEL_VIRT_OFFSET: u64 = 0xffff_ffff_8000_0000;

/// The physical address of `len` bytes at kernel virtual address `vaddr`:
/// the direct map and the kernel image (heap, statics, the boot stack) are
/// each one linear, physically contiguous mapping.
fn virt_to_phys(vaddr: u64, len: usize) -> u64 {
    let end = vaddr.checked_add(len as u64).expect("buffer wraps");
    if vaddr >= DIRECT_MAP_BASE && end <= DIRECT_MAP_BASE + DIRECT_MAP_LIMIT {
        return vaddr - DIRECT_MAP_BASE;
    }
    let (image_start, image_end) = super::kernel_phys_range();
    if vaddr >= KERNEL_VIRT_OFFSET
        && vaddr - KERNEL_VIRT_OFFSET >= image_start
        && end - KERNEL_VIRT_OFFSET <= image_end
    {
        return vaddr - KERNEL_VIRT_OFFSET;
    }
    panic!("DMA buffer {vaddr:#x}+{len:#x} is neither in the direct map nor in the kernel image");
}

/// The kernel's [`Hal`] for `virtio-drivers`.
#[derive(Debug)]
pub struct DmaHal;

// SAFETY: `dma_alloc` hands out zeroed, page-aligned frames that the frame
// allocator gives to no one else until `dma_dealloc` returns them, through
// the direct map (always mapped, writable); `mmio_phys_to_virt` and `share`
// only translate addresses of the direct map and the kernel image.
unsafe impl Hal for DmaHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        match frame::alloc_contiguous_zeroed(pages as u64) {
            Some(paddr) => {
                let vaddr = (DIRECT_MAP_BASE + paddr) as *mut u8;
                (paddr, NonNull::new(vaddr).expect("direct map is not null"))
            }
            // `Dma::new` reads physical address 0 as "out of memory".
            None => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        frame::free_contiguous(paddr, pages as u64);
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let end = paddr.checked_add(size as u64);
        assert!(
            end.is_some_and(|end| end <= DIRECT_MAP_LIMIT),
            "MMIO region {paddr:#x}+{size:#x} outside the direct map"
        );
        NonNull::new((DIRECT_MAP_BASE + paddr) as *mut u8).expect("direct map is not null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        virt_to_phys(buffer.as_ptr().cast::<u8>() as u64, buffer.len())
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// Physically contiguous, zeroed memory a device may read or write, owned
/// by this value (given back to the frame allocator on drop).
#[derive(Debug)]
pub struct DmaBuffer {
    paddr: u64,
    pages: u64,
}

impl DmaBuffer {
    /// At least `len` bytes (whole pages), or None when memory is short.
    pub fn new(len: usize) -> Option<Self> {
        let pages = (len as u64).div_ceil(PAGE_SIZE).max(1);
        let paddr = frame::alloc_contiguous_zeroed(pages)?;
        Some(Self { paddr, pages })
    }

    pub fn len(&self) -> usize {
        (self.pages * PAGE_SIZE) as usize
    }

    pub fn as_slice(&self) -> &[u8] {
        let start = (DIRECT_MAP_BASE + self.paddr) as *const u8;
        // SAFETY: the frames are mapped (direct map), owned by `self` alone,
        // and a device writes them only while `submit_and_wait` holds the
        // exclusive borrow; the shared borrow here excludes that.
        unsafe { core::slice::from_raw_parts(start, self.len()) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let start = (DIRECT_MAP_BASE + self.paddr) as *mut u8;
        // SAFETY: as in `as_slice`; `&mut self` makes the borrow exclusive.
        unsafe { core::slice::from_raw_parts_mut(start, self.len()) }
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        frame::free_contiguous(self.paddr, self.pages);
    }
}

/// virtio-MMIO register blocks already handed out, so that no two
/// transports alias one device.
static CLAIMED_MMIO: Mutex<alloc::vec::Vec<u64>> = Mutex::new(alloc::vec::Vec::new());

/// Why a virtio-MMIO region was not taken.
#[derive(Debug)]
pub enum MmioClaimError {
    /// Outside the direct map, unaligned, or claimed before.
    BadRegion,
    /// The registers do not describe a virtio device (or no device sits
    /// behind a transport, device id 0).
    Transport(MmioError),
}

impl core::fmt::Display for MmioClaimError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadRegion => f.write_str("unaligned, outside the direct map or claimed twice"),
            Self::Transport(err) => write!(f, "{err}"),
        }
    }
}

/// The registers are 32 bits wide.
const VIRTIO_MMIO_ALIGN: u64 = 4;

/// The virtio-MMIO transport whose registers are at `paddr` (`size`
/// bytes), as the VMM announced it on the kernel command line.
pub fn mmio_transport(paddr: u64, size: u64) -> Result<MmioTransport<'static>, MmioClaimError> {
    let header_ok = paddr.is_multiple_of(VIRTIO_MMIO_ALIGN)
        && paddr
            .checked_add(size)
            .is_some_and(|end| end <= DIRECT_MAP_LIMIT);
    let mut claimed = CLAIMED_MMIO.lock();
    if !header_ok || claimed.contains(&paddr) {
        return Err(MmioClaimError::BadRegion);
    }
    let header = NonNull::new((DIRECT_MAP_BASE + paddr) as *mut VirtIOHeader)
        .expect("direct map is not null");
    // SAFETY: the VMM describes the region as a virtio-MMIO register block
    // (device memory, not RAM: the VMM owns the machine's layout, so its
    // word is the only authority there is); it is aligned and stays mapped
    // for good (the direct map, checked), and `CLAIMED_MMIO` ensures that
    // no other transport refers to it.
    let transport =
        unsafe { MmioTransport::new(header, size as usize) }.map_err(MmioClaimError::Transport)?;
    claimed.push(paddr);
    Ok(transport)
}

/// PCI configuration space through configuration mechanism #1 (ports
/// 0xCF8/0xCFC), present on QEMU's `pc` and `q35`.
#[derive(Debug)]
pub struct PciConfigPorts;

const PCI_CONFIG_ADDRESS: u16 = 0xcf8;
const PCI_CONFIG_DATA: u16 = 0xcfc;
const PCI_CONFIG_ENABLE: u32 = 1 << 31;

fn pci_config_address(function: DeviceFunction, register_offset: u8) -> u32 {
    PCI_CONFIG_ENABLE
        | u32::from(function.bus) << 16
        | u32::from(function.device) << 11
        | u32::from(function.function) << 8
        | u32::from(register_offset & 0xfc)
}

impl ConfigurationAccess for PciConfigPorts {
    fn read_word(&self, function: DeviceFunction, register_offset: u8) -> u32 {
        // SAFETY: the address/data pair of configuration mechanism #1; the
        // kernel runs on one CPU with no preemption, so the pair of
        // accesses is never interleaved. Where no PCI host answers (microvm)
        // the ports are unclaimed and read as all ones.
        unsafe {
            Port::<u32>::new(PCI_CONFIG_ADDRESS)
                .write(pci_config_address(function, register_offset));
            Port::<u32>::new(PCI_CONFIG_DATA).read()
        }
    }

    fn write_word(&mut self, function: DeviceFunction, register_offset: u8, data: u32) {
        // SAFETY: as in `read_word`; configuration writes come only from
        // the virtio PCI probe, which owns the devices it writes.
        unsafe {
            Port::<u32>::new(PCI_CONFIG_ADDRESS)
                .write(pci_config_address(function, register_offset));
            Port::<u32>::new(PCI_CONFIG_DATA).write(data);
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PciConfigPorts
    }
}

/// The device used a descriptor chain other than the one submitted.
#[derive(Debug)]
pub struct QueueError(pub virtio_drivers::Error);

/// Hands `request` (device-readable) and `response` (device-writable) to
/// the device as one descriptor chain on `queue` (number `queue_index` of
/// `transport`), then calls `wait` with a "has the device used them?"
/// predicate until it holds, and returns the number of bytes the device
/// wrote. The caller has no other request in flight on the queue.
pub fn submit_and_wait<T: Transport, const SIZE: usize>(
    queue: &mut VirtQueue<DmaHal, SIZE>,
    queue_index: u16,
    transport: &mut T,
    request: &[u8],
    response: &mut [u8],
    mut wait: impl FnMut(&dyn Fn() -> bool),
) -> Result<u32, QueueError> {
    let inputs = [request];
    let mut outputs = [response];
    // SAFETY: both buffers stay borrowed by this function until the device
    // has used them: the loop below leaves only when the used ring holds
    // the chain, and `pop_used` then takes it back (a mismatch panics
    // instead of returning with the device still owning the buffers).
    let token = unsafe { queue.add(&inputs, &mut outputs) }.map_err(QueueError)?;
    if queue.should_notify() {
        transport.notify(queue_index);
    }
    while !queue.can_pop() {
        wait(&|| queue.can_pop());
    }
    // SAFETY: the same buffers as given to `add`, still borrowed.
    match unsafe { queue.pop_used(token, &inputs, &mut outputs) } {
        Ok(len) => Ok(len),
        Err(err) => panic!("virtqueue {queue_index}: the device used another chain: {err:?}"),
    }
}

/// Which way a buffer handed to a [`BufferQueue`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// The device reads the first `len` bytes.
    ToDevice(usize),
    /// The device writes into the whole buffer.
    FromDevice,
}

/// A virtqueue whose buffers are owned while the device has them: each is
/// one [`DmaBuffer`] handed over by value and handed back with the length
/// the device used, in the order the device used them. For devices with
/// many requests in flight (a console port's receive and transmit queues),
/// where [`submit_and_wait`]'s one-at-a-time exchange does not fit.
pub struct BufferQueue<const SIZE: usize> {
    queue: VirtQueue<DmaHal, SIZE>,
    index: u16,
    in_flight: alloc::collections::BTreeMap<u16, (DmaBuffer, Way)>,
}

impl<const SIZE: usize> BufferQueue<SIZE> {
    /// Sets up queue `index` of `transport` (during device initialisation).
    pub fn new<T: Transport>(transport: &mut T, index: u16) -> Result<Self, QueueError> {
        Ok(Self {
            queue: VirtQueue::new(transport, index, false, false).map_err(QueueError)?,
            index,
            in_flight: alloc::collections::BTreeMap::new(),
        })
    }

    /// Whether another buffer can be handed over now.
    pub fn has_room(&self) -> bool {
        self.queue.available_desc() > 0
    }

    /// Buffers the device holds.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn give(&mut self, mut buffer: DmaBuffer, way: Way) -> Result<(), DmaBuffer> {
        if !self.has_room() {
            return Err(buffer);
        }
        let token = match way {
            Way::ToDevice(len) => {
                let inputs = [&buffer.as_slice()[..len]];
                // SAFETY: the frames behind the slice belong to `buffer`,
                // which is kept in `in_flight` (moving the `DmaBuffer`
                // value does not move its frames) and neither read through
                // nor freed until `take_used` pops this token.
                unsafe { self.queue.add(&inputs, &mut []) }
            }
            Way::FromDevice => {
                let mut outputs = [buffer.as_mut_slice()];
                // SAFETY: as above; the device writes the frames only
                // while `in_flight` owns them.
                unsafe { self.queue.add(&[], &mut outputs) }
            }
        };
        match token {
            Ok(token) => {
                self.in_flight.insert(token, (buffer, way));
                Ok(())
            }
            Err(_) => Err(buffer),
        }
    }

    /// Hands the first `len` bytes of `buffer` to the device to read; the
    /// buffer comes back when it is full (no room: the buffer, untouched).
    pub fn give_to_device(&mut self, buffer: DmaBuffer, len: usize) -> Result<(), DmaBuffer> {
        let len = len.clamp(1, buffer.len());
        self.give(buffer, Way::ToDevice(len))
    }

    /// Hands `buffer` to the device to fill.
    pub fn give_for_device(&mut self, buffer: DmaBuffer) -> Result<(), DmaBuffer> {
        self.give(buffer, Way::FromDevice)
    }

    /// Tells the device about buffers handed over, if it wants to know.
    pub fn notify<T: Transport>(&self, transport: &mut T) {
        if self.queue.should_notify() {
            transport.notify(self.index);
        }
    }

    /// The next buffer the device is done with, and how many bytes it
    /// wrote into it (0 for a buffer it read).
    pub fn take_used(&mut self) -> Option<(DmaBuffer, usize)> {
        let token = self.queue.peek_used()?;
        let (mut buffer, way) = self.in_flight.remove(&token)?;
        let used = match way {
            Way::ToDevice(len) => {
                let inputs = [&buffer.as_slice()[..len]];
                // SAFETY: the same single readable buffer `give` added
                // under this token.
                unsafe { self.queue.pop_used(token, &inputs, &mut []) }
            }
            Way::FromDevice => {
                let mut outputs = [buffer.as_mut_slice()];
                // SAFETY: the same single writable buffer `give` added
                // under this token.
                unsafe { self.queue.pop_used(token, &[], &mut outputs) }
            }
        };
        match used {
            Ok(len) => {
                let len = (len as usize).min(buffer.len());
                Some((buffer, len))
            }
            Err(err) => panic!("virtqueue {}: {err:?}", self.index),
        }
    }
}
