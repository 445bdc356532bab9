// ubscope CPU twin: pipe synchronisation (PipeBarrier, SetFlag/WaitFlag,
// set_flag/wait_flag, TPipe's AllocEventID/FetchEventID/ReleaseEventID).
//
// The twin runs every instruction in order, so synchronisation changes no data;
// each call is recorded as a MARK event so rules can pair flags later:
//   name = the API ("SetFlag", "WaitFlag", "PipeBarrier", "AllocEventID",
//          "FetchEventID", "ReleaseEventID"), tag = the call site,
//   arg = the event ID (PipeBarrier: -1), arg2 = the HardEvent code (the
//   position in HardEvent below; PipeBarrier: the pipe_t code),
//   space = NONE, time = the waiting pipe's time.
// A SetFlag without a later WaitFlag of the same (arg2, arg) on the same core
// is an unpaired flag. WaitFlag also moves the waiting pipe of the cost model
// to the time the flag was set, as the device would.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "ubscope_twin/runtime.h"

// CCE pipe and event names (global, as the device toolchain declares them).
enum pipe_t : uint8_t { PIPE_S = 0, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3, PIPE_ALL, PIPE_FIX };
enum event_t : uint8_t {
    EVENT_ID0 = 0, EVENT_ID1, EVENT_ID2, EVENT_ID3, EVENT_ID4, EVENT_ID5, EVENT_ID6, EVENT_ID7,
};

namespace AscendC {

using TEventID = int8_t;

// In the order of the Ascend C documentation (source pipe _ destination pipe).
enum class HardEvent : uint8_t {
    MTE2_MTE1, MTE1_MTE2, MTE1_M, M_MTE1, MTE2_V, V_MTE2, MTE3_V, V_MTE3, M_V, V_M, V_V,
    MTE3_MTE1, MTE1_MTE3, MTE1_V, MTE2_M, M_MTE2, V_MTE1, M_FIX, FIX_M, MTE3_MTE2, MTE2_MTE3,
    S_V, V_S, S_MTE2, MTE2_S, S_MTE3, MTE3_S, MTE2_FIX, FIX_MTE2, FIX_S, M_S, FIX_MTE3, MAX,
};

}  // namespace AscendC

namespace ubscope_twin {

constexpr auto MARK = static_cast<Kind>(11);  // ubscope.probe.events.EventKind.MARK
constexpr int HARD_EVENTS = static_cast<int>(AscendC::HardEvent::MAX);

// The twin's pipe (SCALAR for PIPE_S) of a CCE pipe.
constexpr Pipe twin_pipe(pipe_t pipe) {
    switch (pipe) {
        case PIPE_V: return VEC;
        case PIPE_M: return CUBE;
        case PIPE_MTE1: return MTE1;
        case PIPE_MTE2: return MTE2;
        case PIPE_MTE3: return MTE3;
        case PIPE_FIX: return FIX;
        default: return SCALAR;
    }
}

// (source, destination) pipes of a HardEvent.
constexpr std::array<pipe_t, 2> event_pipes(AscendC::HardEvent event) {
    constexpr pipe_t table[HARD_EVENTS][2] = {
        {PIPE_MTE2, PIPE_MTE1}, {PIPE_MTE1, PIPE_MTE2}, {PIPE_MTE1, PIPE_M}, {PIPE_M, PIPE_MTE1},
        {PIPE_MTE2, PIPE_V}, {PIPE_V, PIPE_MTE2}, {PIPE_MTE3, PIPE_V}, {PIPE_V, PIPE_MTE3},
        {PIPE_M, PIPE_V}, {PIPE_V, PIPE_M}, {PIPE_V, PIPE_V}, {PIPE_MTE3, PIPE_MTE1},
        {PIPE_MTE1, PIPE_MTE3}, {PIPE_MTE1, PIPE_V}, {PIPE_MTE2, PIPE_M}, {PIPE_M, PIPE_MTE2},
        {PIPE_V, PIPE_MTE1}, {PIPE_M, PIPE_FIX}, {PIPE_FIX, PIPE_M}, {PIPE_MTE3, PIPE_MTE2},
        {PIPE_MTE2, PIPE_MTE3}, {PIPE_S, PIPE_V}, {PIPE_V, PIPE_S}, {PIPE_S, PIPE_MTE2},
        {PIPE_MTE2, PIPE_S}, {PIPE_S, PIPE_MTE3}, {PIPE_MTE3, PIPE_S}, {PIPE_MTE2, PIPE_FIX},
        {PIPE_FIX, PIPE_MTE2}, {PIPE_FIX, PIPE_S}, {PIPE_M, PIPE_S}, {PIPE_FIX, PIPE_MTE3},
    };
    const auto index = static_cast<int>(event);
    return {table[index][0], table[index][1]};
}

inline int64_t& pipe_time(Pipe pipe) {
    Timeline& t = runtime().timeline;
    return pipe == SCALAR ? t.scalar_now : t.pipe_free[pipe];
}

// When each of the running core's flags was last set (they do not cross cores).
inline auto& flag_set_at() { return runtime().registers.flag_set_at; }

inline void record_sync(const char* api, int64_t id, int64_t code, int64_t t_ps, const Where& where) {
    record(MARK, NONE, 0, 0, 0, NONE, 0, 0, 0, literal(api), 0, site(where), t_ps, 0, id, code, 0);
}

inline void set_flag(pipe_t from, pipe_t to, int64_t id, int64_t code, const Where& where) {
    if (id < 0 || id >= EVENT_IDS) {
        fail(where, "SetFlag: event ID " + std::to_string(id) + " outside 0.." + std::to_string(EVENT_IDS - 1));
    }
    const int64_t now = pipe_time(twin_pipe(from));
    flag_set_at()[twin_pipe(from) * PIPES + twin_pipe(to)][id] = now;
    record_sync("SetFlag", id, code, now, where);
}

inline void wait_flag(pipe_t from, pipe_t to, int64_t id, int64_t code, const Where& where) {
    if (id < 0 || id >= EVENT_IDS) {
        fail(where, "WaitFlag: event ID " + std::to_string(id) + " outside 0.." + std::to_string(EVENT_IDS - 1));
    }
    int64_t& waiting = pipe_time(twin_pipe(to));
    waiting = std::max(waiting, flag_set_at()[twin_pipe(from) * PIPES + twin_pipe(to)][id]);
    record_sync("WaitFlag", id, code, waiting, where);
}

// Recorded with arg2 = the pipe_t code.
inline void barrier(pipe_t pipe, const Where& where) {
    Timeline& t = runtime().timeline;
    int64_t now = pipe_time(twin_pipe(pipe));
    if (pipe == PIPE_ALL) {
        now = std::max(timeline_end(), t.scalar_now);
        t.scalar_now = now;
        t.pipe_free.fill(now);
    }
    record_sync("PipeBarrier", -1, pipe, now, where);
}

// The event IDs a TPipe hands out, per HardEvent (AllocEventID/ReleaseEventID).
class EventIds {
public:
    template <AscendC::HardEvent event>
    AscendC::TEventID AllocEventID(const Where& where = Where::current()) {
        auto& used = used_[static_cast<int>(event)];
        for (int id = 0; id < EVENT_IDS; ++id) {
            if (!used[id]) {
                used[id] = true;
                record_sync("AllocEventID", id, static_cast<int64_t>(event), runtime().timeline.scalar_now, where);
                return static_cast<AscendC::TEventID>(id);
            }
        }
        fail(where, "AllocEventID: all " + std::to_string(EVENT_IDS) +
                        " event IDs of this HardEvent are allocated (ReleaseEventID missing)");
    }

    template <AscendC::HardEvent event>
    void ReleaseEventID(AscendC::TEventID id, const Where& where = Where::current()) {
        auto& used = used_[static_cast<int>(event)];
        if (id < 0 || id >= EVENT_IDS || !used[id]) {
            fail(where, "ReleaseEventID of event ID " + std::to_string(id) + " that is not allocated");
        }
        used[id] = false;
        record_sync("ReleaseEventID", id, static_cast<int64_t>(event), runtime().timeline.scalar_now, where);
    }

    // FetchEventID: an ID free now, without allocating it.
    AscendC::TEventID FetchEventID(AscendC::HardEvent event, const Where& where = Where::current()) {
        const auto& used = used_[static_cast<int>(event)];
        int id = 0;
        while (id < EVENT_IDS - 1 && used[id]) {
            ++id;
        }
        record_sync("FetchEventID", id, static_cast<int64_t>(event), runtime().timeline.scalar_now, where);
        return static_cast<AscendC::TEventID>(id);
    }
    template <AscendC::HardEvent event>
    AscendC::TEventID FetchEventID(const Where& where = Where::current()) {
        return FetchEventID(event, where);
    }

private:
    std::array<std::array<bool, EVENT_IDS>, HARD_EVENTS> used_{};
};

}  // namespace ubscope_twin

namespace AscendC {

template <HardEvent event>
void SetFlag(int32_t eventID, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    constexpr auto pipes = ubscope_twin::event_pipes(event);
    ubscope_twin::set_flag(pipes[0], pipes[1], eventID, static_cast<int64_t>(event), where);
}

template <HardEvent event>
void WaitFlag(int32_t eventID, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    constexpr auto pipes = ubscope_twin::event_pipes(event);
    ubscope_twin::wait_flag(pipes[0], pipes[1], eventID, static_cast<int64_t>(event), where);
}

// PipeBarrier<pipe>: later instructions of ``pipe`` (every pipe for PIPE_ALL)
// wait for the earlier ones.
template <pipe_t pipe>
void PipeBarrier(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::barrier(pipe, where);
}

}  // namespace AscendC

// The CCE intrinsics: set_flag(src pipe, dst pipe, event ID) and its wait.
// Recorded with arg2 = -1 - (src pipe * 16 + dst pipe), as no HardEvent names it.
inline void set_flag(pipe_t from, pipe_t to, event_t id,
                     const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::set_flag(from, to, id, -1 - (from * 16 + to), where);
}

inline void wait_flag(pipe_t from, pipe_t to, event_t id,
                      const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::wait_flag(from, to, id, -1 - (from * 16 + to), where);
}

inline void pipe_barrier(pipe_t pipe, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::barrier(pipe, where);
}
