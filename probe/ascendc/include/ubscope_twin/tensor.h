// ubscope CPU twin: the kernel frame, GlobalTensor, LocalTensor, TPipe, TQue and TBuf.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <type_traits>
#include <vector>

#include "ubscope_twin/half.h"
#include "ubscope_twin/int4.h"
#include "ubscope_twin/runtime.h"
#include "ubscope_twin/sync.h"

#define __global__
#define __aicore__
#define __gm__
#ifndef __CCE_KT_TEST__
#define __CCE_KT_TEST__ 1  // keeps a sample's host-side <<<>>> launch helper out
#endif
using GM_ADDR = uint8_t*;

#define ASSERT(condition)                                                                 \
    do {                                                                                  \
        if (!(condition)) {                                                               \
            ::ubscope_twin::fail(::ubscope_twin::Where::current(),                        \
                                 "ASSERT(" #condition ") failed");                        \
        }                                                                                 \
    } while (0)

namespace AscendC {

inline int64_t GetBlockIdx() { return ubscope_twin::runtime().block_idx; }
inline int64_t GetBlockNum() { return ubscope_twin::runtime().config.block_dim; }

enum class TPosition : uint8_t {
    GM, A1, A2, B1, B2, C1, C2, CO1, CO2, VECIN, VECOUT, VECCALC, LCM = VECCALC, SPM, SHM = SPM,
    TSCM, MAX,
};
using QuePosition = TPosition;

}  // namespace AscendC

namespace ubscope_twin {

// (TPosition code recorded in QUEUE_INIT's arg2, physical space) of a position,
// as ubscope.probe.events.TPosition and POSITION_SPACE.
struct Placement {
    int64_t code;
    int64_t space;
};

inline bool coupled_core() {
    const auto& arenas = runtime().arenas;
    return !arenas[UB].empty() && !arenas[L0C].empty();
}

inline Placement placement(AscendC::TPosition pos) {
    using AscendC::TPosition;
    switch (pos) {
        case TPosition::VECIN: return {0, UB};
        case TPosition::VECOUT: return {1, UB};
        case TPosition::VECCALC: return {2, UB};
        case TPosition::A1: return {3, L1};
        case TPosition::B1: return {4, L1};
        case TPosition::A2: return {5, L0A};
        case TPosition::B2: return {6, L0B};
        case TPosition::CO1: return {7, L0C};
        // L0C results leave a coupled core (910A, 310P) through UB; a split one
        // (910B) writes them to GM.
        case TPosition::CO2: return {8, coupled_core() ? UB : GM};
        default: return {-1, NONE};
    }
}

// Which core lacks ``space``; on a split chip the kernel type decides the cores.
inline std::string no_space(int64_t space) {
    const int64_t kind = runtime().core_kind;
    if (kind == AIV_CORE) {
        return std::string("this AIV has no ") + space_name(space) +
               " (cube work on a split chip needs KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY)"
               " or KERNEL_TYPE_MIX_AIC_1_2; a kernel written for a coupled chip runs"
               " unchanged with --chip Ascend910A or Ascend310P3)";
    }
    if (kind == AIC_CORE) {
        return std::string("this AIC has no ") + space_name(space) +
               " (vector work runs on the AIVs of a KERNEL_TYPE_MIX_AIC_1_2 launch)";
    }
    return std::string("this core has no ") + space_name(space);
}

inline uint8_t* arena_bytes(int64_t space, int64_t addr, int64_t nbytes, const Where& where) {
    auto& arena = runtime().arenas[space];
    if (arena.empty()) {
        fail(where, no_space(space));
    }
    if (addr < 0 || nbytes < 0 || addr + nbytes > static_cast<int64_t>(arena.size())) {
        fail(where, std::string(space_name(space)) + " access at " + hex(addr) +
                        " + " + std::to_string(nbytes) + " B reaches beyond the red zone");
    }
    return arena.data() + addr;
}

// Flags for writing ``nbytes`` at an on-chip address: misalignment and red
// zone (a red-zone write is also its own event), as Core.check_placement.
inline int64_t check_placement(int64_t space, int64_t addr, int64_t nbytes, int64_t tag,
                               int64_t now) {
    const Config& c = runtime().config;
    int64_t flags = 0;
    if (addr % c.alignment[space]) {
        flags |= MISALIGNED;
    }
    const int64_t end = addr + nbytes;
    if (end > c.capacity[space] && nbytes > 0) {
        flags |= REDZONE;
        const int64_t past = end - std::max(addr, c.capacity[space]);
        record(REDZONE_WRITE, space, addr, nbytes, past, NONE, 0, 0, 0, 0, 0, tag, now, 0, 0, 0,
               REDZONE);
    }
    return flags;
}

// A scalar access (LocalTensor::SetValue or GetValue) of ``bytes`` at ``at`` in
// the block ``key`` names: the first of the block's life is a COMPUTE event
// flagged SCALAR_ACCESS, so a buffer only the scalar unit fills or reads is
// still used (UB011): a store at its destination, a load at its source, no
// FLOPs and no time, at the core's scalar time. The life's later accesses
// record nothing, as kernels fill tables element by element in loops.
inline void record_scalar(const char* op, uint64_t key, int64_t space, int64_t at, int64_t bytes,
                          bool store, const Where& where) {
    Runtime& rt = runtime();
    if (!rt.timeline.scalar_seen.insert(key).second) {
        return;
    }
    const int64_t dst_space = store ? space : NONE;
    const int64_t src_space = store ? NONE : space;
    record(COMPUTE, dst_space, store ? at : 0, bytes, store ? bytes : 0, src_space, store ? 0 : at, 0,
           0, literal(op), 0, site(where), rt.timeline.scalar_now, 0, 0, 0, SCALAR_ACCESS);
}

// A new life of the block ``key`` (AllocTensor, TBuf::Get): its next scalar access is recorded.
inline void new_life(uint64_t key) { runtime().timeline.scalar_seen.erase(key); }

}  // namespace ubscope_twin

namespace AscendC {

template <typename T>
class LocalTensor {
public:
    LocalTensor() = default;
    LocalTensor(int64_t space, int64_t addr, int64_t nbytes, uint64_t key, int64_t name)
        : space_(space), addr_(addr), nbytes_(nbytes), key_(key), name_(name) {}

    LocalTensor operator[](uint32_t offset) const {
        const int64_t skip = ubscope_twin::bytes_of<T>(offset);
        return LocalTensor(space_, addr_ + skip, std::max<int64_t>(0, nbytes_ - skip), key_, name_);
    }
    T GetValue(uint32_t index, const ubscope_twin::Where& where = ubscope_twin::Where::current()) const {
        static_assert(!ubscope_twin::is_int4<T>, "GetValue on int4b_t is not covered by the twin");
        // A read past capacity reads the red zone, unflagged, as a vector source there does.
        T value;
        const int64_t at = addr_ + static_cast<int64_t>(index) * static_cast<int64_t>(sizeof(T));
        std::memcpy(&value, ubscope_twin::arena_bytes(space_, at, sizeof(T), where), sizeof(T));
        ubscope_twin::record_scalar("GetValue", key_, space_, at, sizeof(T), false, where);
        return value;
    }
    void SetValue(uint32_t index, std::type_identity_t<T> value,
                  const ubscope_twin::Where& where = ubscope_twin::Where::current()) const {
        static_assert(!ubscope_twin::is_int4<T>, "SetValue on int4b_t is not covered by the twin");
        const int64_t at = addr_ + static_cast<int64_t>(index) * static_cast<int64_t>(sizeof(T));
        std::memcpy(ubscope_twin::arena_bytes(space_, at, sizeof(T), where), &value, sizeof(T));
        ubscope_twin::record_scalar("SetValue", key_, space_, at, sizeof(T), true, where);
        // A store past capacity is a device fault as a vector or copy one is.
        ubscope_twin::Runtime& rt = ubscope_twin::runtime();
        if (at + static_cast<int64_t>(sizeof(T)) > rt.config.capacity[space_]) {
            ubscope_twin::check_placement(space_, at, sizeof(T), ubscope_twin::site(where),
                                          rt.timeline.scalar_now);
        }
    }
    uint32_t GetSize() const { return static_cast<uint32_t>(ubscope_twin::elements_in<T>(nbytes_)); }
    void SetSize(uint32_t size) { nbytes_ = ubscope_twin::bytes_of<T>(size); }
    uint64_t GetPhyAddr() const { return static_cast<uint64_t>(addr_); }
    template <typename U>
    LocalTensor<U> ReinterpretCast() const {
        return LocalTensor<U>(space_, addr_, nbytes_, key_, name_);
    }

    // The twin's own accessors (not Ascend C API).
    int64_t space() const { return space_; }
    int64_t addr() const { return addr_; }
    int64_t nbytes() const { return nbytes_; }
    uint64_t key() const { return key_; }
    int64_t name() const { return name_; }
    T* data(int64_t count, const ubscope_twin::Where& where) const {
        return reinterpret_cast<T*>(ubscope_twin::arena_bytes(space_, addr_, count * sizeof(T), where));
    }

private:
    int64_t space_ = ubscope_twin::NONE;
    int64_t addr_ = 0;
    int64_t nbytes_ = 0;
    uint64_t key_ = 0;
    int64_t name_ = 0;
};

template <typename T>
class GlobalTensor {
public:
    void SetGlobalBuffer(__gm__ T* buffer, uint64_t bufferSize) {
        ptr_ = buffer;
        size_ = static_cast<int64_t>(bufferSize);
    }
    void SetGlobalBuffer(__gm__ T* buffer) {
        ptr_ = buffer;
        size_ = -1;
    }
    GlobalTensor operator[](uint64_t offset) const {
        GlobalTensor view;
        view.ptr_ = ptr_ + offset;
        view.size_ = size_ < 0 ? -1 : size_ - static_cast<int64_t>(offset);
        return view;
    }
    uint64_t GetSize() const { return size_ < 0 ? 0 : static_cast<uint64_t>(size_); }
    __gm__ T* GetPhyAddr() const { return ptr_; }

    T GetValue(uint64_t index, const ubscope_twin::Where& where = ubscope_twin::Where::current()) const {
        T value{};
        if (checked(index, where, false)) {
            std::memcpy(&value, ptr_ + index, sizeof(T));
        }
        return value;
    }
    void SetValue(uint64_t index, std::type_identity_t<T> value,
                  const ubscope_twin::Where& where = ubscope_twin::Where::current()) const {
        if (checked(index, where, true)) {
            std::memcpy(ptr_ + index, &value, sizeof(T));
        }
    }
    T& operator()(uint64_t index) const { return ptr_[index]; }

    // Where the tensor's bytes lie among the host's GM buffers (not Ascend C API).
    struct Span {
        int64_t buffer;        // index into runtime().gm, -1 when unknown
        int64_t offset;        // bytes from the buffer start
        int64_t valid_bytes;   // bytes from the start that lie inside the buffer
        int64_t declared_bytes;  // bytes SetGlobalBuffer allows (-1: no size given)
    };
    Span span() const {
        const int64_t buffer = ubscope_twin::gm_buffer_of(ptr_);
        if (buffer < 0) {
            return {-1, 0, 0, -1};
        }
        const auto& gm = ubscope_twin::runtime().gm[buffer];
        const int64_t offset = reinterpret_cast<const uint8_t*>(ptr_) - gm.host;
        return {buffer, offset, gm.size - offset,
                size_ < 0 ? -1 : std::max<int64_t>(0, size_) * static_cast<int64_t>(sizeof(T))};
    }
    uint8_t* bytes() const { return reinterpret_cast<uint8_t*>(ptr_); }

private:
    // A scalar access: in bounds, or recorded as an out-of-bounds GM copy.
    bool checked(uint64_t index, const ubscope_twin::Where& where, bool store) const {
        const Span where_bytes = span();
        const int64_t end = static_cast<int64_t>((index + 1) * sizeof(T));
        const bool inside_host = where_bytes.buffer >= 0 && end <= where_bytes.valid_bytes;
        const bool inside_declared = where_bytes.declared_bytes < 0 || end <= where_bytes.declared_bytes;
        if (inside_host && inside_declared) {
            return true;
        }
        using namespace ubscope_twin;
        Runtime& rt = runtime();
        const bool known = where_bytes.buffer >= 0;
        const int64_t name = known ? rt.gm[where_bytes.buffer].name_id : 0;
        const int64_t addr = known
            ? rt.gm[where_bytes.buffer].addr + where_bytes.offset + static_cast<int64_t>(index * sizeof(T))
            : 0;
        const int64_t flags = OUT_OF_BOUNDS | (known && rt.gm[where_bytes.buffer].workspace ? WORKSPACE : 0);
        const int64_t now = rt.timeline.scalar_now;
        if (store) {
            record(COPY, GM, addr, sizeof(T), inside_host ? sizeof(T) : 0, NONE, 0, sizeof(T), 1, 0,
                   name, site(where), now, 0, 0, 0, flags);
        } else {
            record(COPY, NONE, 0, sizeof(T), inside_host ? sizeof(T) : 0, GM, addr, sizeof(T), 1, 0,
                   name, site(where), now, 0, 0, 0, flags);
        }
        return inside_host;
    }

    __gm__ T* ptr_ = nullptr;
    int64_t size_ = -1;
};

class TPipe;

namespace detail {

// What TQue and TBuf share: the blocks InitBuffer gave them.
class QueueBase {
public:
    QueueBase(TPosition pos, int32_t depth, bool is_buffer)
        : place_(ubscope_twin::placement(pos)), depth_(depth), is_buffer_(is_buffer) {}
    QueueBase(const QueueBase&) = delete;
    QueueBase& operator=(const QueueBase&) = delete;
    ~QueueBase();

    int64_t space() const { return place_.space; }

protected:
    friend class AscendC::TPipe;

    void ready(const ubscope_twin::Where& where, const char* what) const {
        if (!initialised_) {
            ubscope_twin::fail(where, std::string(what) + " on a queue or buffer before TPipe::InitBuffer");
        }
    }

    ubscope_twin::Placement place_;
    int32_t depth_;
    bool is_buffer_;
    bool initialised_ = false;
    TPipe* pipe_ = nullptr;
    int64_t name_ = 0;
    std::vector<std::pair<int64_t, int64_t>> blocks_;  // (addr, bytes)
    std::deque<size_t> free_;
    std::deque<LocalTensor<uint8_t>> queued_;
};

}  // namespace detail

template <TPosition pos, int32_t depth>
class TQue : public detail::QueueBase {
public:
    TQue() : QueueBase(pos, depth, false) {}

    template <typename T>
    LocalTensor<T> AllocTensor(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        ready(where, "AllocTensor");
        if (free_.empty()) {
            ubscope_twin::fail(where, "AllocTensor with all " + std::to_string(blocks_.size()) +
                                          " blocks of the queue in use (FreeTensor missing; this hangs "
                                          "on the device)");
        }
        const size_t index = free_.front();
        free_.pop_front();
        const auto [addr, nbytes] = blocks_[index];
        const uint64_t key = ubscope_twin::local_key(place_.space, addr);
        ubscope_twin::acquire(key);
        ubscope_twin::new_life(key);
        return LocalTensor<T>(place_.space, addr, nbytes, key, name_);
    }

    template <typename T>
    void FreeTensor(LocalTensor<T>& tensor, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        for (size_t index = 0; index < blocks_.size(); ++index) {
            if (blocks_[index].first == tensor.addr()) {
                for (size_t held : free_) {
                    if (held == index) {
                        ubscope_twin::fail(where, "FreeTensor of a tensor already freed");
                    }
                }
                free_.push_back(index);
                return;
            }
        }
        ubscope_twin::fail(where, "FreeTensor of a tensor the queue does not own");
    }

    template <typename T>
    bool EnQue(const LocalTensor<T>& tensor, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        ready(where, "EnQue");
        if (queued_.size() >= std::max<size_t>(1, depth_) + blocks_.size()) {
            ubscope_twin::fail(where, "EnQue beyond the queue's depth");
        }
        queued_.push_back(tensor.template ReinterpretCast<uint8_t>());
        return true;
    }

    template <typename T>
    LocalTensor<T> DeQue(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        ready(where, "DeQue");
        if (queued_.empty()) {
            ubscope_twin::fail(where, "DeQue on an empty queue (EnQue missing)");
        }
        LocalTensor<uint8_t> tensor = queued_.front();
        queued_.pop_front();
        return tensor.template ReinterpretCast<T>();
    }
};

template <TPosition pos>
class TBuf : public detail::QueueBase {
public:
    TBuf() : QueueBase(pos, 0, true) {}

    template <typename T>
    LocalTensor<T> Get(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        ready(where, "TBuf::Get");
        const auto [addr, nbytes] = blocks_[0];
        const uint64_t key = ubscope_twin::local_key(place_.space, addr);
        ubscope_twin::new_life(key);
        return LocalTensor<T>(place_.space, addr, nbytes, key, name_);
    }
    template <typename T>
    LocalTensor<T> Get(uint32_t count, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        LocalTensor<T> whole = Get<T>(where);
        whole.SetSize(std::min<uint32_t>(count, whole.GetSize()));
        return whole;
    }
};

class TPipe : public ubscope_twin::EventIds {
public:
    TPipe() = default;
    TPipe(const TPipe&) = delete;
    TPipe& operator=(const TPipe&) = delete;
    // Members are destroyed in reverse order, so a kernel class's queues may
    // already be gone: the pipe keeps its own list of the blocks it placed.
    ~TPipe() {
        if (!placed_.empty()) {
            release(ubscope_twin::runtime().log.intern("pipe_destroy"));
        }
    }

    template <TPosition pos, int32_t depth>
    bool InitBuffer(TQue<pos, depth>& que, uint8_t num, uint32_t len,
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        place(que, num, len, where);
        return true;
    }
    template <TPosition pos>
    bool InitBuffer(TBuf<pos>& buf, uint32_t len,
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        place(buf, 1, len, where);
        return true;
    }
    void Reset(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        release(ubscope_twin::site(where));
    }
    void Destroy(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
        release(ubscope_twin::site(where));
    }

private:
    // InitBuffer: ``num`` blocks of ``len`` bytes rounded up to 32 B whatever
    // the space (as Ascend C does; a 128 B L0A block leaves the next one off
    // the 512 B L0A alignment), bump-allocated; limits are flagged, not
    // enforced (as ubscope.probe.memory.tpipe.TPipe.init_buffer).
    void place(detail::QueueBase& que, int64_t num, int64_t len, const ubscope_twin::Where& where) {
        using namespace ubscope_twin;
        Runtime& rt = runtime();
        const Config& c = rt.config;
        const int64_t space = que.place_.space;
        if (space == NONE || space == GM) {
            fail(where, "InitBuffer on a position the twin does not place on chip");
        }
        if (rt.arenas[space].empty()) {
            fail(where, "InitBuffer: " + no_space(space));
        }
        if (num < 1 || num > c.qbuf_max_len) {
            fail(where, "InitBuffer: num=" + std::to_string(num) + " outside 1.." +
                            std::to_string(c.qbuf_max_len));
        }
        if (len < 1) {
            fail(where, "InitBuffer: len=" + std::to_string(len) + ": a buffer needs at least one byte");
        }
        constexpr int64_t rounding = 32;  // kernel_tpipe_impl.h: len = (len + 31) / 32 * 32
        const int64_t block = (len + rounding - 1) / rounding * rounding;
        const int64_t start = next_addr_[space];
        const int64_t end = start + num * block;
        if (end > static_cast<int64_t>(rt.arenas[space].size())) {
            fail(where, "InitBuffer: " + std::to_string(num) + " x " + std::to_string(block) + " B at " +
                            space_name(space) + " " + hex(start) + " would end at " + hex(end) + " (" +
                            std::to_string(end) + " B), past the " + std::to_string(c.capacity[space]) +
                            " B of " + space_name(space) + " and its red zone; the twin cannot place it");
        }
        buffers_total_ += num;
        int64_t flags = 0;
        if (que.is_buffer_) {
            flags |= TBUF;
        } else {
            per_position_[que.place_.code] += num;
            if (per_position_[que.place_.code] > c.que_max_event) {
                flags |= QUEUE_LIMIT;
            }
        }
        if (buffers_total_ > c.qbuf_max_len) {
            flags |= PIPE_LIMIT;
        }
        const int64_t tag = site(where);
        const int64_t now = rt.timeline.scalar_now;
        que.name_ = tag;  // named by its InitBuffer line; the host resolves the variable name
        record(QUEUE_INIT, space, start, block * num, block, NONE, 0, 0, 0, tag, 0, tag, now, 0, num,
               que.place_.code, flags);
        for (int64_t i = 0; i < num; ++i) {
            const int64_t addr = start + i * block;
            const int64_t over = addr + block > c.capacity[space] ? REDZONE : 0;
            record(ALLOC, space, addr, len, block, NONE, 0, 0, 0, tag, 0, tag, now, 0, i, 0, over);
            que.blocks_.emplace_back(addr, block);
            que.free_.push_back(static_cast<size_t>(i));
            placed_.push_back({space, addr, block, tag});
        }
        next_addr_[space] = end;
        que.initialised_ = true;
        que.pipe_ = this;
        queues_.push_back(&que);
    }

    friend class detail::QueueBase;
    void forget(detail::QueueBase* que) { std::erase(queues_, que); }

    void release(int64_t tag) {
        using namespace ubscope_twin;
        Runtime& rt = runtime();
        int64_t now = rt.timeline.scalar_now;
        for (const Placed& p : placed_) {
            const int64_t released = ubscope_twin::release(local_key(p.space, p.addr));
            now = std::max(now, released);
            record(FREE, p.space, p.addr, p.block, p.block, NONE, 0, 0, 0, p.name, 0, tag, released, 0,
                   0, 0, 0);
        }
        for (detail::QueueBase* que : queues_) {
            que->blocks_.clear();
            que->free_.clear();
            que->queued_.clear();
            que->initialised_ = false;
            que->pipe_ = nullptr;
        }
        placed_.clear();
        for (int64_t space = 0; space < SPACES; ++space) {
            if (next_addr_[space]) {
                record(POOL_RESET, space, 0, next_addr_[space], next_addr_[space], NONE, 0, 0, 0,
                       rt.log.intern("pipe"), 0, 0, now, 0, next_addr_[space], next_addr_[space], 0);
            }
        }
        queues_.clear();
        next_addr_.fill(0);
        per_position_.fill(0);
        buffers_total_ = 0;
    }

    std::array<int64_t, ubscope_twin::SPACES> next_addr_{};
    std::array<int64_t, 16> per_position_{};
    int64_t buffers_total_ = 0;
    struct Placed {
        int64_t space, addr, block, name;
    };
    std::vector<Placed> placed_;
    std::vector<detail::QueueBase*> queues_;
};

inline detail::QueueBase::~QueueBase() {
    if (pipe_ != nullptr) {
        pipe_->forget(this);
    }
}

}  // namespace AscendC
