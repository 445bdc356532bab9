// ubscope CPU twin: guard pages around the GM buffers the host passed, so a
// kernel reading or writing through a raw __gm__ pointer past its tensor
// faults in the child instead of corrupting the next tensor (GlobalTensor
// accesses are bounds-checked where they are made; raw pointers are not).
//
// Each buffer is moved out of the GM file into its own anonymous mapping that
// ends on a page boundary, with an inaccessible page after it and one before
// the page it starts in: one byte past the end faults. The bytes are copied
// back into the file when the launch ends.
#pragma once

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
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

// Copy the buffers' final bytes back into the GM file the host reads.
inline void unguard_gm_buffers() {
    Runtime& rt = runtime();
    for (size_t i = 0; i < rt.gm.size(); ++i) {
        const GuardedBuffer& guarded = guarded_buffers()[i];
        std::memcpy(guarded.file_bytes, rt.gm[i].host, static_cast<size_t>(rt.gm[i].size));
        munmap(guarded.region, guarded.region_bytes);
        rt.gm[i].host = guarded.file_bytes;
    }
    guarded_buffers().clear();
}

// The failure message when ``address`` is in the guard page after a buffer
// or before the page it starts in, else nullptr. Called from the SIGSEGV
// handler: formats into a static buffer, allocates nothing.
inline const char* guard_fault_message(const void* address) {
    static char message[512];
    const auto* byte = static_cast<const uint8_t*>(address);
    const size_t page = page_bytes();
    const Runtime& rt = runtime();
    for (size_t i = 0; i < guarded_buffers().size() && i < rt.gm.size(); ++i) {
        const GmBuffer& buffer = rt.gm[i];
        const uint8_t* region = guarded_buffers()[i].region;
        const uint8_t* end = buffer.host + buffer.size;
        const bool after = byte >= end && byte < end + page;
        const bool before = byte >= region && byte < region + page;
        if (after || before) {
            std::snprintf(message, sizeof message,
                          "GM guard: read or wrote GM buffer '%s' (%lld B) at byte %lld, %s",
                          buffer.name.c_str(), static_cast<long long>(buffer.size),
                          static_cast<long long>(byte - buffer.host),
                          after ? "past its end" : "before its start");
            return message;
        }
    }
    return nullptr;
}

}  // namespace ubscope_twin
