/* PVH entry: 32-bit protected mode, paging off, ebx = hvm_start_info.
 *
 * The PVH boot ABI promises only ebx, CR0.PE (other CR0 bits clear), CR4
 * clear, flat 32-bit cs/ds/es/ss and EFLAGS with IF, TF and VM clear;
 * everything else (esp above all, the GDT, EFER) is undefined. So the
 * trampoline takes a stack of its own before anything is pushed, loads
 * its own GDT, and writes CR0, CR4 and EFER whole rather than adding bits
 * to whatever the loader left (QEMU happens to leave a usable esp; Cloud
 * Hypervisor and Firecracker do not).
 *
 * Builds the kernel's page tables (2 MiB and 4 KiB pages only: our KVM
 * triple-faults on 1 GiB pages), enters long mode with NX enabled and
 * calls lamina_kernel_main(start_info_paddr, entry_tsc) on the boot stack
 * in the higher half. The tables map:
 *   PML4[0]   identity, 0..4 GiB, 2 MiB pages (only until the first process)
 *   PML4[256] direct map, 0..4 GiB, 2 MiB pages, NX (0xffff800000000000)
 *   PML4[511] kernel window, the first 8 MiB in 4 KiB pages, W^X by
 *             section: text read-execute, rodata read-only, the rest
 *             read-write no-execute (0xffffffff80000000)
 * Building them here, before paging is on, costs nothing under a shadow-
 * paging hypervisor, where rewriting live tables later exits per write.
 */

.set PTE_PRESENT, 1 << 0
.set PTE_WRITABLE, 1 << 1
.set PTE_HUGE, 1 << 7
.set PD_ENTRIES_4GIB, 2048
.set KERNEL_WINDOW_PAGES, 2048
.set KERNEL_WINDOW_TABLES, 4
.set PTE_NX_HIGH, 0x80000000
.set CR4_PAE, 1 << 5
.set CR0_PE, 1 << 0
.set CR0_ET, 1 << 4
.set CR0_NE, 1 << 5
.set CR0_WP, 1 << 16
.set CR0_PG, 1 << 31
.set MSR_EFER, 0xc0000080
.set EFER_LME, 1 << 8
.set EFER_NXE, 1 << 11
.set XEN_ELFNOTE_PHYS32_ENTRY, 18

.section .note.Xen, "a", @note
.balign 4
.long 4
.long 4
.long XEN_ELFNOTE_PHYS32_ENTRY
.asciz "Xen"
.balign 4
.long pvh_start32
.balign 4

.section .boot.text, "ax", @progbits
.code32
.global pvh_start32
pvh_start32:
    cli
    cld
    mov esp, offset boot_stack32_top
    push 0
    popfd
    mov esi, ebx
    rdtsc
    mov dword ptr [boot_entry_tsc], eax
    mov dword ptr [boot_entry_tsc + 4], edx

    /* Two sets of four page directories over 0..4 GiB: executable, and NX. */
    xor ecx, ecx
1:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_PRESENT | PTE_WRITABLE | PTE_HUGE
    mov dword ptr [boot_pd + ecx * 8], eax
    mov dword ptr [boot_pd + ecx * 8 + 4], 0
    mov dword ptr [boot_pd_nx + ecx * 8], eax
    mov dword ptr [boot_pd_nx + ecx * 8 + 4], 0x80000000
    inc ecx
    cmp ecx, PD_ENTRIES_4GIB
    jb 1b

    xor ecx, ecx
2:
    mov eax, ecx
    shl eax, 12
    lea edx, [boot_pd + eax + PTE_PRESENT + PTE_WRITABLE]
    mov dword ptr [boot_pdpt_low + ecx * 8], edx
    lea edx, [boot_pd_nx + eax + PTE_PRESENT + PTE_WRITABLE]
    mov dword ptr [boot_pdpt_direct + ecx * 8], edx
    inc ecx
    cmp ecx, 4
    jb 2b

    /* The kernel window: one 4 KiB page per entry, rights by section. */
    xor ecx, ecx
4:
    mov eax, ecx
    shl eax, 12
    mov edx, PTE_NX_HIGH
    mov ebx, PTE_PRESENT | PTE_WRITABLE
    cmp eax, offset __text_phys_start
    jb 5f
    cmp eax, offset __rodata_phys_start
    jae 6f
    xor edx, edx
    mov ebx, PTE_PRESENT
    jmp 5f
6:
    cmp eax, offset __data_phys_start
    jae 5f
    mov ebx, PTE_PRESENT
5:
    or eax, ebx
    mov dword ptr [boot_pt_kernel + ecx * 8], eax
    mov dword ptr [boot_pt_kernel + ecx * 8 + 4], edx
    inc ecx
    cmp ecx, KERNEL_WINDOW_PAGES
    jb 4b

    xor ecx, ecx
7:
    mov eax, ecx
    shl eax, 12
    lea edx, [boot_pt_kernel + eax + PTE_PRESENT + PTE_WRITABLE]
    mov dword ptr [boot_pd_kernel + ecx * 8], edx
    inc ecx
    cmp ecx, KERNEL_WINDOW_TABLES
    jb 7b

    mov eax, offset boot_pd_kernel + PTE_PRESENT + PTE_WRITABLE
    mov dword ptr [boot_pdpt_high + 510 * 8], eax
    mov eax, offset boot_pdpt_low + PTE_PRESENT + PTE_WRITABLE
    mov dword ptr [boot_pml4], eax
    mov eax, offset boot_pdpt_direct + PTE_PRESENT + PTE_WRITABLE
    mov dword ptr [boot_pml4 + 256 * 8], eax
    mov eax, offset boot_pdpt_high + PTE_PRESENT + PTE_WRITABLE
    mov dword ptr [boot_pml4 + 511 * 8], eax

    mov eax, CR4_PAE
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax
    mov ecx, MSR_EFER
    mov eax, EFER_LME | EFER_NXE
    xor edx, edx
    wrmsr
    mov eax, CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_PE
    mov cr0, eax

    lgdt [boot_gdt_pointer]
    mov eax, 0x08
    push eax
    mov eax, offset pvh_start64
    push eax
    retf

.code64
pvh_start64:
    mov eax, 0x10
    mov ds, eax
    mov es, eax
    mov ss, eax
    xor eax, eax
    mov fs, eax
    mov gs, eax
    movabs rsp, offset boot_stack_top
    xor ebp, ebp
    mov edi, esi
    mov rsi, qword ptr [rip + boot_entry_tsc]
    movabs rax, offset lamina_kernel_main
    call rax
3:
    hlt
    jmp 3b

.section .boot.data, "aw", @progbits
.balign 8
boot_entry_tsc:
    .quad 0
.balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff   /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff   /* 0x10: data */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

.section .boot.bss, "aw", @nobits
.balign 4096
.global boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt_low:
    .skip 4096
boot_pdpt_direct:
    .skip 4096
boot_pdpt_high:
    .skip 4096
boot_pd:
    .skip 4096 * 4
boot_pd_nx:
    .skip 4096 * 4
boot_pd_kernel:
    .skip 4096
boot_pt_kernel:
    .skip 4096 * 4

/* The 32-bit code's stack: identity mapped, used for the far return
 * into long mode only. */
.balign 16
boot_stack32:
    .skip 256
boot_stack32_top:

.section .bss.boot_stack, "aw", @nobits
.balign 16
boot_stack_bottom:
    .skip 64 * 1024
boot_stack_top:
