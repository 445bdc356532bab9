// ubscope CPU twin: guard pages around the GM buffers the host passed, so a
// kernel reading or writing through a raw __gm__ pointer past its tensor
// faults in the child instead of corrupting the next tensor (GlobalTensor
// accesses are bounds-checked where they are made; raw pointers are not).
//
// A fault in a guard page ends the run there as a complete recording whose
// last event is that access (record_guard_fault), as the device would fault;
// any other fault stays a crash (harness.h).
//
// Each buffer is moved out of the GM file into its own anonymous mapping that
// ends on a page boundary, with an inaccessible page after it and one before
// the page it starts in: one byte past the end faults. The bytes are copied
// back into the file when the launch ends.
#pragma once

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ucontext.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime.h"

namespace ubscope_twin {

struct GuardedBuffer {
    uint8_t* file_bytes;  // where the buffer lies in the mapped GM file
    uint8_t* region;      // its mapping: guard page, pages of data, guard page
    size_t region_bytes;
};

inline std::vector<GuardedBuffer>& guarded_buffers() {
    static std::vector<GuardedBuffer> buffers;
    return buffers;
}

inline size_t page_bytes() {
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return page;
}

// Move every GM buffer (whose host pointer points into the mapped file) into
// a guarded mapping of its own.
inline void guard_gm_buffers() {
    Runtime& rt = runtime();
    const size_t page = page_bytes();
    for (GmBuffer& buffer : rt.gm) {
        const size_t size = static_cast<size_t>(buffer.size);
        const size_t data_pages = (size + page - 1) / page;
        const size_t region_bytes = (data_pages + 2) * page;
        void* mapped = mmap(nullptr, region_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED) {
            rt.log.fail("cannot map guard pages for GM buffer " + buffer.name);
        }
        auto* region = static_cast<uint8_t*>(mapped);
        if (data_pages && mprotect(region + page, data_pages * page, PROT_READ | PROT_WRITE) != 0) {
            rt.log.fail("cannot map GM buffer " + buffer.name);
        }
        uint8_t* guarded = region + page + data_pages * page - size;
        std::memcpy(guarded, buffer.host, size);
        guarded_buffers().push_back({buffer.host, region, region_bytes});
        buffer.host = guarded;
    }
}

// Copy the buffers' final bytes back into the GM file the host reads (the
// host's buffers: the twin's own, added later, are not in the file).
inline void unguard_gm_buffers() {
    Runtime& rt = runtime();
    for (size_t i = 0; i < guarded_buffers().size(); ++i) {
        const GuardedBuffer& guarded = guarded_buffers()[i];
        std::memcpy(guarded.file_bytes, rt.gm[i].host, static_cast<size_t>(rt.gm[i].size));
        munmap(guarded.region, guarded.region_bytes);
        rt.gm[i].host = guarded.file_bytes;
    }
    guarded_buffers().clear();
}

// How a faulting access used memory, as the signal's context tells it.
enum GuardAccess : int64_t { ACCESS_UNKNOWN = 0, ACCESS_READ = 1, ACCESS_WRITE = 2 };

inline GuardAccess fault_access([[maybe_unused]] const void* context) {
#if defined(__x86_64__) && defined(REG_ERR)
    // Bit 1 of the x86 page-fault error code: the access was a write.
    const auto* uc = static_cast<const ucontext_t*>(context);
    return (uc->uc_mcontext.gregs[REG_ERR] & 2) ? ACCESS_WRITE : ACCESS_READ;
#else
    return ACCESS_UNKNOWN;
#endif
}

// When ``address`` lies in the guard page after a buffer or before the page it
// starts in: record the access as an out-of-bounds GM copy flagged GUARD_PAGE
// (from GM for a read, to GM for a write, both when not known; ``arg2`` the
// byte offset in the buffer; the tag the last recorded call site; the host
// notes it as the run's device fault) and return true. Called from the
// SIGSEGV handler: allocates nothing (the event buffer is reserved and the
// tag already interned).
inline bool record_guard_fault(const void* address, GuardAccess access) {
    const auto* byte = static_cast<const uint8_t*>(address);
    const size_t page = page_bytes();
    Runtime& rt = runtime();
    for (size_t i = 0; i < guarded_buffers().size() && i < rt.gm.size(); ++i) {
        const GmBuffer& buffer = rt.gm[i];
        const uint8_t* region = guarded_buffers()[i].region;
        const uint8_t* end = buffer.host + buffer.size;
        if ((byte >= end && byte < end + page) || (byte >= region && byte < region + page)) {
            const int64_t offset = byte - buffer.host;
            const int64_t addr = buffer.addr + offset;
            const bool to_gm = access != ACCESS_READ, from_gm = access != ACCESS_WRITE;
            // One byte: where the access met the guard page (its width is not known).
            record(COPY, to_gm ? GM : NONE, to_gm ? addr : 0, 1, 0, from_gm ? GM : NONE,
                   from_gm ? addr : 0, 1, 1, 0, buffer.name_id, rt.log.last_tag(),
                   rt.timeline.scalar_now, 0, 0, offset,
                   OUT_OF_BOUNDS | GUARD_PAGE | (buffer.workspace ? WORKSPACE : 0));
            return true;
        }
    }
    return false;
}

// After a guard-page fault: the buffers' bytes back into the GM file (the
// outputs as far as the kernel got) and the event file ended as a complete
// run that stopped at the fault.
[[noreturn]] inline void end_at_guard_fault() {
    Runtime& rt = runtime();
    for (size_t i = 0; i < guarded_buffers().size() && i < rt.gm.size(); ++i) {
        std::memcpy(guarded_buffers()[i].file_bytes, rt.gm[i].host,
                    static_cast<size_t>(rt.gm[i].size));
    }
    rt.log.finish(std::max(rt.end_ps, timeline_end()));
    _exit(0);
}

}  // namespace ubscope_twin
