#include "umkernel/platform/stub.h"

#include "umkernel/platform/seccomp_filter.h"

#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace um::kernel::stub {

int memfd() {
  static int fd = -1;
  if (fd >= 0) return fd;
  // A minimal ELF: header, one program header, then the code page.
  std::vector<uint8_t> image(kPageSize + kStubImageSize, 0);
  auto* eh = reinterpret_cast<Elf64_Ehdr*>(image.data());
  memcpy(eh->e_ident, ELFMAG, SELFMAG);
  eh->e_ident[EI_CLASS] = ELFCLASS64;
  eh->e_ident[EI_DATA] = ELFDATA2LSB;
  eh->e_ident[EI_VERSION] = EV_CURRENT;
  eh->e_type = ET_EXEC;
  eh->e_machine = EM_X86_64;
  eh->e_version = EV_CURRENT;
  eh->e_entry = kStubEntry;
  eh->e_phoff = sizeof(Elf64_Ehdr);
  eh->e_ehsize = sizeof(Elf64_Ehdr);
  eh->e_phentsize = sizeof(Elf64_Phdr);
  eh->e_phnum = 1;
  auto* ph = reinterpret_cast<Elf64_Phdr*>(image.data() + sizeof(Elf64_Ehdr));
  ph->p_type = PT_LOAD;
  ph->p_flags = PF_R | PF_X;  // the scratch page is only ever written with FOLL_FORCE
  ph->p_offset = kPageSize;
  ph->p_vaddr = ph->p_paddr = kStubBase;
  // Both pages come from the file: a zero-fill tail in a read-only segment is refused by
  // the host's ELF loader.
  ph->p_filesz = ph->p_memsz = kStubImageSize;
  ph->p_align = kPageSize;
  uint8_t* code = image.data() + kPageSize;
  code[0] = 0x0f; code[1] = 0x05;  // syscall
  code[2] = 0xcc;                  // int3
  code[8] = 0xeb; code[9] = 0xfe;  // jmp .
  platform::seccomp_stub_fill(code, code + 2 * kPageSize);
  fd = memfd_create("um-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  if (write(fd, image.data(), image.size()) != static_cast<ssize_t>(image.size())) {
    close(fd);
    fd = -1;
    return -1;
  }
  return fd;
}

}  // namespace um::kernel::stub
