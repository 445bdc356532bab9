// ubscope CPU twin: the cores of a block and the synchronisation between them.
//
// A block of a mix launch on a split chip (910B) is one AIC and two AIVs that
// run the same entry side by side, passing data through GM (a workspace) and
// waiting on each other with CrossCoreSetFlag / CrossCoreWaitFlag. The twin
// runs each core of a block as a coroutine on its own stack: a core runs until
// it ends or waits on a flag no core has set yet, then the next core runs.
// The running core's state (arenas, timeline, indices) lives in the Runtime;
// the others' is kept in their CoreState and swapped in when they resume.
//
// A mix kernel's Matmul adds waits of its own (matmul_server.h): an AIV's call
// waits for the AIC to run it, and the AIC, after REGIST_MATMUL_OBJ, for its
// AIVs' calls; cores waiting on each other with no flag set or call made or
// served in a round of the scheduler are a deadlock, reported with each site.
//
// CrossCoreSetFlag / CrossCoreWaitFlag are MARK events (as SetFlag):
//   name = the API, tag = its call site, arg = the flag ID, arg2 = modeId,
//   time = the setter's pipe time, or when the waiter resumes.
// The waiting core holds every pipe until the time its flag was set.
#pragma once

#include <sys/mman.h>
#include <ucontext.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "ubscope_twin/runtime.h"
#include "ubscope_twin/sync.h"
#include "ubscope_twin/tensor.h"

namespace ubscope_twin {

// Flag IDs of CrossCoreSetFlag/CrossCoreWaitFlag on Atlas A2/A3 (0-10).
constexpr int CROSS_CORE_FLAGS = 11;
constexpr int AIVS_PER_AIC = 2;  // KERNEL_TYPE_MIX_AIC_1_2
constexpr size_t CORE_STACK_BYTES = size_t{8} << 20;

// What a paused core waits for: a deadlock's message says it per core, and
// says it plainly when every core waits for a flag.
enum class Wait { FLAG, MATMUL_CALL, MATMUL_SERVE };

inline const char* wait_text(Wait wait) {
    switch (wait) {
    case Wait::FLAG:
        return "waits in CrossCoreWaitFlag for a flag";
    case Wait::MATMUL_CALL:
        return "waits in a Matmul call for the AIC";
    case Wait::MATMUL_SERVE:
        return "is the AIC, serving only its AIVs' Matmul calls from this REGIST_MATMUL_OBJ";
    }
    return "waits";
}

// What a core keeps while another core of its block runs.
struct CoreState {
    int64_t kind = AICORE;
    int64_t index = 0;
    int64_t block_idx = 0;
    int64_t sub_block_idx = 0;
    int64_t serial = 0;
    CoreRegisters registers;
    std::array<std::vector<uint8_t>, SPACES> arenas;
    Timeline timeline;
    // Set times of the flags this core may wait on, by flag ID and sender
    // (an AIC counts a flag once both AIVs set it; an AIV hears its AIC only).
    std::array<std::array<std::deque<int64_t>, AIVS_PER_AIC>, CROSS_CORE_FLAGS> inbox;
    ucontext_t context{};
    bool done = false;
    Where waiting{nullptr, 0};  // the call it is blocked at
    Wait waiting_for = Wait::FLAG;  // what that call waits for
};

inline void exchange(Runtime& rt, CoreState& core) {
    std::swap(rt.core_kind, core.kind);
    std::swap(rt.core_index, core.index);
    std::swap(rt.block_idx, core.block_idx);
    std::swap(rt.sub_block_idx, core.sub_block_idx);
    std::swap(rt.core_serial, core.serial);
    std::swap(rt.registers, core.registers);
    std::swap(rt.arenas, core.arenas);
    std::swap(rt.timeline, core.timeline);
}

// Thrown on a core to end it before its entry returns, unwinding its frames
// (the AIC of a mix block once it has served its AIVs' Matmul calls).
struct CoreEnded {};

// The cores of the running block and the coroutine switching between them.
class CoreGroup {
public:
    void run(int64_t block, int64_t start_ps, const std::function<void()>& entry) {
        Runtime& rt = runtime();
        entry_ = &entry;
        block_ = block;
        cores_.clear();
        const int64_t mode = rt.config.launch_mode;
        if (!rt.config.split_cores) {
            add(AICORE, block, block, 0, start_ps);
        } else if (mode == VECTOR_LAUNCH) {
            add(AIV_CORE, block, block, 0, start_ps);
        } else {
            if (mode == MIX_LAUNCH) {
                for (int64_t sub = 0; sub < AIVS_PER_AIC; ++sub) {
                    add(AIV_CORE, AIVS_PER_AIC * block + sub, AIVS_PER_AIC * block + sub, sub, start_ps);
                }
            }
            add(AIC_CORE, block, block, 0, start_ps);
        }
        for (size_t i = 0; i < cores_.size(); ++i) {
            if (stacks_.size() <= i) {
                void* stack = mmap(nullptr, CORE_STACK_BYTES, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
                if (stack == MAP_FAILED) {
                    rt.log.fail("cannot map a core's stack");
                }
                stacks_.push_back(stack);
            }
            ucontext_t& context = cores_[i].context;
            getcontext(&context);
            context.uc_stack.ss_sp = stacks_[i];
            context.uc_stack.ss_size = CORE_STACK_BYTES;
            context.uc_link = &scheduler_;
            makecontext(&context, &CoreGroup::core_main, 0);
        }
        for (size_t left = cores_.size(); left > 0;) {
            const int64_t progress_before = progress_;
            size_t finished = 0;
            for (size_t i = 0; i < cores_.size(); ++i) {
                if (!cores_[i].done) {
                    resume(i);
                    finished += cores_[i].done;
                }
            }
            left -= finished;
            if (left > 0 && finished == 0 && progress_ == progress_before) {
                deadlock();
            }
        }
    }

    // Called by the running core: switch to the next one (the scheduler).
    // ``waiting_for`` says what the call at ``where`` waits for.
    void pause(const Where& where, Wait waiting_for) {
        CoreState& core = cores_[running_];
        core.waiting = where;
        core.waiting_for = waiting_for;
        exchange(runtime(), core);
        swapcontext(&core.context, &scheduler_);
    }

    // The running core's flags (its other state is in the Runtime while it runs).
    CoreState& running() { return cores_[running_]; }

    int64_t block() const { return block_; }

    // Whether every core of the block but the running one has ended.
    bool others_done() const {
        for (size_t i = 0; i < cores_.size(); ++i) {
            if (i != running_ && !cores_[i].done) {
                return false;
            }
        }
        return true;
    }

    // Whether a core of ``kind`` in this block has ended.
    bool ended(int64_t kind) const {
        for (const CoreState& core : cores_) {
            if (core.kind == kind && core.done) {
                return true;
            }
        }
        return false;
    }

    // Something a waiting core may be waiting for happened (a flag set, a
    // request made or served): the scheduler's deadlock check counts these.
    void note_progress() { ++progress_; }

    // The cores of this block that hear a flag the running core sets (mode 2:
    // an AIC's flag reaches both AIVs; an AIV's reaches the AIC in its lane).
    void deliver(int64_t flag, int64_t set_ps) {
        const Runtime& setter = runtime();  // the running core's indices are there
        for (CoreState& core : cores_) {
            if (setter.core_kind == AIC_CORE && core.kind == AIV_CORE) {
                core.inbox[flag][0].push_back(set_ps);
            } else if (setter.core_kind == AIV_CORE && core.kind == AIC_CORE) {
                core.inbox[flag][setter.sub_block_idx].push_back(set_ps);
            }
        }
        note_progress();
    }

private:
    void add(int64_t kind, int64_t index, int64_t block_idx, int64_t sub, int64_t start_ps) {
        const Runtime& rt = runtime();
        CoreState& core = cores_.emplace_back();
        core.kind = kind;
        core.index = index;
        core.block_idx = block_idx;
        core.sub_block_idx = sub;
        core.serial = next_serial_++;
        core.timeline = Timeline::starting_at(start_ps);
        for (int64_t space = 0; space < SPACES; ++space) {
            const bool vector = space == UB;
            const bool cube = space == L1 || space == L0A || space == L0B || space == L0C;
            if ((kind == AICORE && (vector || cube)) || (kind == AIV_CORE && vector) ||
                (kind == AIC_CORE && cube)) {
                core.arenas[space].assign(2 * rt.config.capacity[space], 0);
            }
        }
    }

    void resume(size_t index) {
        running_ = index;
        exchange(runtime(), cores_[index]);
        swapcontext(&scheduler_, &cores_[index].context);
    }

    static void core_main();

    [[noreturn]] void deadlock() {
        std::string sites, waits;
        bool only_flags = true;
        for (const CoreState& core : cores_) {
            if (!core.done) {
                std::string_view file = core.waiting.file_name();
                file.remove_prefix(std::min(file.size(), file.find_last_of('/') + 1));
                const std::string site = std::string(file) + ":" + std::to_string(core.waiting.line());
                sites += (sites.empty() ? "" : ", ") + site;
                waits += std::string(waits.empty() ? "" : "; ") + site + " " + wait_text(core.waiting_for);
                only_flags = only_flags && core.waiting_for == Wait::FLAG;
            }
        }
        runtime().log.fail(only_flags ? "CrossCoreWaitFlag at " + sites +
                                            " waits for a flag no core of the block sets (the device would hang)"
                                      : "the cores of the block wait for each other (the device would hang): " +
                                            waits);
    }

    std::vector<CoreState> cores_;
    std::vector<void*> stacks_;
    ucontext_t scheduler_{};
    const std::function<void()>* entry_ = nullptr;
    size_t running_ = 0;
    int64_t block_ = 0;
    int64_t progress_ = 0;
    int64_t next_serial_ = 0;
};

inline CoreGroup& core_group() {
    static CoreGroup group;
    return group;
}

inline void CoreGroup::core_main() {
    CoreGroup& group = core_group();
    try {
        (*group.entry_)();
    } catch (const CoreEnded&) {
    }
    Runtime& rt = runtime();
    rt.end_ps = std::max(rt.end_ps, timeline_end());
    CoreState& core = group.cores_[group.running_];
    core.done = true;
    exchange(rt, core);
}

inline void cross_core_set(int64_t mode, pipe_t pipe, int64_t flag, const Where& where) {
    if (mode != 2) {
        fail(where, "CrossCoreSetFlag: modeId " + std::to_string(mode) +
                        " is not covered by the twin yet (only 2, between the AIC and its AIVs)");
    }
    if (flag < 0 || flag >= CROSS_CORE_FLAGS) {
        fail(where, "CrossCoreSetFlag: flag ID " + std::to_string(flag) + " outside 0.." +
                        std::to_string(CROSS_CORE_FLAGS - 1));
    }
    const int64_t now = pipe_time(twin_pipe(pipe));
    core_group().deliver(flag, now);
    record_sync("CrossCoreSetFlag", flag, mode, now, where);
}

inline void cross_core_wait(int64_t mode, pipe_t pipe, int64_t flag, const Where& where) {
    if (flag < 0 || flag >= CROSS_CORE_FLAGS) {
        fail(where, "CrossCoreWaitFlag: flag ID " + std::to_string(flag) + " outside 0.." +
                        std::to_string(CROSS_CORE_FLAGS - 1));
    }
    CoreGroup& group = core_group();
    const int lanes = runtime().core_kind == AIC_CORE ? AIVS_PER_AIC : 1;
    auto ready = [&] {
        for (int lane = 0; lane < lanes; ++lane) {
            if (group.running().inbox[flag][lane].empty()) {
                return false;
            }
        }
        return true;
    };
    while (!ready()) {
        group.pause(where, Wait::FLAG);
    }
    int64_t set_at = 0;
    for (int lane = 0; lane < lanes; ++lane) {
        auto& times = group.running().inbox[flag][lane];
        set_at = std::max(set_at, times.front());
        times.pop_front();
    }
    Timeline& t = runtime().timeline;
    t.scalar_now = std::max(t.scalar_now, set_at);
    int64_t& waiting = pipe_time(twin_pipe(pipe));
    waiting = std::max(waiting, set_at);
    record_sync("CrossCoreWaitFlag", flag, mode, t.scalar_now, where);
}

}  // namespace ubscope_twin

namespace AscendC {

// g_coreType's values: the kind of core running the code.
constexpr int32_t AIC = 1;
constexpr int32_t AIV = 2;
constexpr int32_t MIX = 3;  // a coupled AI Core (910A, 310P): cube and vector in one

inline int32_t current_core_type() {
    switch (ubscope_twin::runtime().core_kind) {
        case ubscope_twin::AIC_CORE: return AIC;
        case ubscope_twin::AIV_CORE: return AIV;
        default: return MIX;
    }
}

inline int64_t GetSubBlockIdx() { return ubscope_twin::runtime().sub_block_idx; }

// AIVs per AIC on this core's side of the launch: 2 on an AIV of a mix 1:2 launch.
inline int64_t GetTaskRatio() {
    const auto& rt = ubscope_twin::runtime();
    return rt.config.split_cores && rt.config.launch_mode == ubscope_twin::MIX_LAUNCH &&
                   rt.core_kind == ubscope_twin::AIV_CORE
               ? ubscope_twin::AIVS_PER_AIC
               : 1;
}

// The twin reserves no system workspace: the user's part starts at the buffer.
inline GM_ADDR GetUserWorkspace(GM_ADDR workspace) { return workspace; }

template <uint8_t modeId, pipe_t pipe>
void CrossCoreSetFlag(uint16_t flagId, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::cross_core_set(modeId, pipe, flagId, where);
}

template <uint8_t modeId = 0, pipe_t pipe = PIPE_S>
void CrossCoreWaitFlag(uint16_t flagId, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::cross_core_wait(modeId, pipe, flagId, where);
}

}  // namespace AscendC

#define g_coreType (::AscendC::current_core_type())
#define ASCEND_IS_AIC (g_coreType == ::AscendC::AIC)
#define ASCEND_IS_AIV (g_coreType == ::AscendC::AIV)
