// ubscope CPU twin: the launcher the host compiles with a kernel. It reads the
// launch description, maps the GM file the host wrote (outputs are read back
// from it), runs the entry once per block and streams events to a file.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "gm_guard.h"
#include "kernel_operator.h"

namespace ubscope_twin {

inline int64_t space_code(const std::string& name) {
    for (int64_t space = 0; space < SPACES; ++space) {
        if (name == space_name(space)) {
            return space;
        }
    }
    return -1;
}

inline std::vector<int64_t> read_config(const char* path) {
    Runtime& rt = runtime();
    Config& c = rt.config;
    std::ifstream input(path);
    std::string line, key;
    std::vector<int64_t> args;
    while (std::getline(input, line)) {
        std::istringstream fields(line);
        fields >> key;
        if (key == "capacity" || key == "alignment") {
            std::string space;
            int64_t value = 0;
            fields >> space >> value;
            (key == "capacity" ? c.capacity : c.alignment)[space_code(space)] = value;
        } else if (key == "buffer") {
            GmBuffer buffer;
            int64_t offset = 0;
            fields >> buffer.name >> offset >> buffer.size >> buffer.addr >> buffer.workspace;
            buffer.host = reinterpret_cast<uint8_t*>(offset);  // rebased once the file is mapped
            rt.gm.push_back(buffer);
        } else if (key == "arg") {
            int64_t index = 0;
            while (fields >> index) {
                args.push_back(index);
            }
        } else if (read_cube_config(key, fields) || read_tiling_config(key, fields)) {
        } else if (key == "que_max_event") { fields >> c.que_max_event;
        } else if (key == "qbuf_max_len") { fields >> c.qbuf_max_len;
        } else if (key == "split_cores") { fields >> c.split_cores;
        } else if (key == "launch_mode") { fields >> c.launch_mode;
        } else if (key == "block_dim") { fields >> c.block_dim;
        } else if (key == "gm_bytes_per_s") { fields >> c.gm_bytes_per_s;
        } else if (key == "l2_bytes_per_s") { fields >> c.l2_bytes_per_s;
        } else if (key == "gm_bandwidth") { fields >> c.gm_bandwidth;
        } else if (key == "cycle_ps") { fields >> c.cycle_ps;
        } else if (key == "gm_issue_ps") { fields >> c.gm_issue_ps;
        } else if (key == "gm_latency_ps") { fields >> c.gm_latency_ps;
        } else if (key == "launch_ps") { fields >> c.launch_ps;
        } else if (key == "l2_bytes") { fields >> c.l2_bytes;
        } else if (key == "datacopy_unit") { fields >> c.datacopy_unit;
        } else if (key == "gm_alignment") { fields >> c.gm_alignment;
        } else if (key == "misaligned_gm_factor") { fields >> c.misaligned_gm_factor;
        } else if (key == "vector_fp16_ops_per_cycle") { fields >> c.vector_fp16_ops_per_cycle;
        }
    }
    return args;
}

extern "C" inline void on_crash(int signal_number, siginfo_t* info, void* context) {
    if (signal_number == SIGSEGV && record_guard_fault(info->si_addr, fault_access(context))) {
        end_at_guard_fault();
    }
    const char* message = signal_number == SIGSEGV ? "SIGSEGV"
                          : signal_number == SIGBUS ? "SIGBUS"
                          : signal_number == SIGFPE ? "SIGFPE"
                          : signal_number == SIGILL ? "SIGILL"
                          : "SIGABRT";
    runtime().log.fail(message, 5);
}

inline void catch_crashes() {
    static char alternate_stack[1 << 16];
    stack_t stack{};
    stack.ss_sp = alternate_stack;
    stack.ss_size = sizeof alternate_stack;
    sigaltstack(&stack, nullptr);
    struct sigaction action {};
    action.sa_sigaction = on_crash;
    action.sa_flags = SA_ONSTACK | SA_SIGINFO;
    for (int signal_number : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
        sigaction(signal_number, &action, nullptr);
    }
}

// argv: launch description, GM file, event file.
template <typename Entry>
int run_harness(int argc, char** argv, Entry entry) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s LAUNCH GM EVENTS\n", argv[0]);
        return 2;
    }
#ifdef __linux__
    // The run never outlives the ubscope process that started it: a sweep's
    // timeout kills its worker, and a kernel that loops would run on unseen.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    Runtime& rt = runtime();
    const int events = ::open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (events < 0) {
        std::perror(argv[3]);
        return 2;
    }
    rt.log.open(events);
    catch_crashes();
    const std::vector<int64_t> args = read_config(argv[1]);
    const int gm_fd = ::open(argv[2], O_RDWR);
    struct stat info {};
    if (gm_fd < 0 || fstat(gm_fd, &info) != 0) {
        rt.log.fail(std::string("cannot open the GM file ") + argv[2]);
    }
    auto* gm = static_cast<uint8_t*>(info.st_size
        ? mmap(nullptr, info.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, gm_fd, 0) : nullptr);
    if (gm == MAP_FAILED) {
        rt.log.fail(std::string("cannot map the GM file ") + argv[2]);
    }
    for (GmBuffer& buffer : rt.gm) {
        buffer.host = gm + reinterpret_cast<intptr_t>(buffer.host);
        buffer.name_id = rt.log.intern(buffer.name);
    }
    guard_gm_buffers();
    std::vector<GM_ADDR> pointers;
    for (int64_t index : args) {
        pointers.push_back(index < 0 ? nullptr : rt.gm[index].host);
    }
    // Each core starts when the launch overhead has passed; the launch ends
    // when its slowest core does, but not before its HBM bytes could cross
    // the chip's bandwidth (ubscope.probe.device.Device.launch).
    const int64_t begin = rt.config.launch_ps;
    rt.end_ps = begin;
    const std::function<void()> run_entry = [&] { entry(pointers.data()); };
    for (int64_t block = 0; block < rt.config.block_dim; ++block) {
        core_group().run(block, begin, run_entry);
    }
    unguard_gm_buffers();
    if (gm) {
        msync(gm, info.st_size, MS_SYNC);
    }
    const double roof_ps = static_cast<double>(rt.hbm_bytes) / rt.config.gm_bandwidth * 1e12;
    rt.log.finish(std::max<int64_t>(rt.end_ps, begin + std::llround(roof_ps)));
    return 0;
}

}  // namespace ubscope_twin
