// ubscope CPU twin: the recording runtime shared by every API header.
//
// Events are fixed-width rows of 19 int64 fields in the order of
// ubscope.probe.events.ROW_FIELDS, kept in a preallocated buffer and written
// to the event file in chunks (strings first, then the rows that use them).
// A chunk is a header {uint32 type, uint32 count, uint64 payload bytes} and
// its payload. An EVENTS chunk holds its rows column by column, each column
// at the width of its Arrow column, so the reader wraps them without a copy;
// see ubscope/probe/ascendc/events.py for the reader.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ubscope_twin {

// Values of ubscope.probe.events.EventKind, Space, CoreKind and Flag.
enum Kind : int64_t { ALLOC = 2, FREE = 3, POOL_RESET = 5, COPY = 6, COMPUTE = 7,
                      QUEUE_INIT = 12, REDZONE_WRITE = 13 };
enum Space : int64_t { NONE = 0, GM = 1, UB = 2, L1 = 3, L0A = 4, L0B = 5, L0C = 6 };
constexpr int SPACES = 7;
enum Flag : int64_t {
    TRUNCATED = 1, MISALIGNED = 2, GM_UNALIGNED = 4, REDZONE = 8, OUT_OF_BOUNDS = 16,
    PARTIAL_OVERLAP = 32, QUEUE_LIMIT = 64, PIPE_LIMIT = 128, PADDED = 256,
    WORKSPACE = 512, TBUF = 4096, PARAM_RANGE = 8192, GUARD_PAGE = 16384, SCALAR_ACCESS = 32768,
    SECOND_SOURCE = 65536, THIRD_SOURCE = 131072,
    ATOMIC_COPY = 262144,  // Flag.ATOMIC: named apart, as kernels -D ATOMIC themselves
};
enum Chunk : uint32_t { STRINGS = 1, EVENTS = 2, FAILURE = 3, END = 4 };
enum Pipe { MTE1, MTE2, MTE3, FIX, VEC, CUBE, SCALAR, PIPES };
// Values of ubscope.probe.events.CoreKind.
enum CoreKind : int64_t { AIV_CORE = 1, AIC_CORE = 2, AICORE = 3 };
// The launch modes of ubscope.probe.device.Device.launch, in the runner's order.
enum LaunchMode : int64_t { VECTOR_LAUNCH = 0, CUBE_LAUNCH = 1, MIX_LAUNCH = 2 };

constexpr int ROW_WIDTH = 19;
using Row = std::array<int64_t, ROW_WIDTH>;
constexpr size_t BATCH_ROWS = 65536;
// Bytes per field in an EVENTS chunk: the width of the field's Arrow column
// (enumeration codes 1, core 2, string ids, burst_count and flags 4, else 8).
// Each column starts 8 B aligned (COLUMN_ALIGNMENT), as Arrow buffers must.
constexpr size_t COLUMN_ALIGNMENT = 8;
constexpr std::array<size_t, ROW_WIDTH> FIELD_BYTES{1, 1, 2, 1, 8, 8, 8, 1, 8, 8,
                                                    4, 4, 4, 4, 8, 8, 8, 8, 4};

// Where each field's column starts in a batch of ``rows`` events.
constexpr std::array<size_t, ROW_WIDTH + 1> column_starts(size_t rows) {
    std::array<size_t, ROW_WIDTH + 1> starts{};
    for (size_t field = 0; field < ROW_WIDTH; ++field) {
        const size_t bytes = rows * FIELD_BYTES[field];
        starts[field + 1] = starts[field] + (bytes + COLUMN_ALIGNMENT - 1) / COLUMN_ALIGNMENT *
                                                COLUMN_ALIGNMENT;
    }
    return starts;
}
constexpr std::array<size_t, ROW_WIDTH + 1> BATCH_STARTS = column_starts(BATCH_ROWS);

// The column type of a field of ``bytes`` bytes.
template <size_t bytes>
using Column = std::conditional_t<bytes == 1, int8_t,
               std::conditional_t<bytes == 2, int16_t,
               std::conditional_t<bytes == 4, int32_t, int64_t>>>;

// The chip figures and cost-model rates the host passes (see runner.py).
struct Config {
    std::array<int64_t, SPACES> capacity{};
    std::array<int64_t, SPACES> alignment{};
    int64_t que_max_event = 8;
    int64_t qbuf_max_len = 64;
    bool split_cores = false;  // AIC and AIV apart (910B), else one AI Core per block
    int64_t launch_mode = 0;   // a LaunchMode
    int64_t block_dim = 1;
    double gm_bytes_per_s = 1.0;  // one core's HBM rate (its share of the chip's)
    double l2_bytes_per_s = 1.0;  // one core's L2 rate
    double gm_bandwidth = 1.0;    // the chip's HBM bytes per second (the roof)
    double cycle_ps = 1.0;
    double gm_issue_ps = 0.0;
    int64_t gm_latency_ps = 0;
    int64_t launch_ps = 0;  // the launch overhead: when the cores start
    int64_t l2_bytes = 0;
    int64_t datacopy_unit = 32;
    int64_t gm_alignment = 512;
    double misaligned_gm_factor = 1.0;
    int64_t vector_fp16_ops_per_cycle = 128;
};

struct GmBuffer {
    std::string name;
    uint8_t* host = nullptr;
    int64_t size = 0;
    int64_t addr = 0;  // the device address the Python model would give it
    int64_t name_id = 0;
    // The launch's workspace (the runner's buffer for a GM_ADDR workspace): an
    // L2-resident core-to-core scratch, as a Python kernel's workspace tensor.
    bool workspace = false;
};

class EventLog {
public:
    void open(int fd) {
        fd_ = fd;
        columns_.resize(BATCH_STARTS[ROW_WIDTH]);
    }

    int64_t intern(std::string_view text) {
        if (text.empty()) {
            return 0;
        }
        auto found = ids_.find(std::string(text));
        if (found != ids_.end()) {
            return found->second;
        }
        const int64_t id = static_cast<int64_t>(ids_.size()) + 1;
        ids_.emplace(std::string(text), id);
        const auto length = static_cast<uint32_t>(text.size());
        pending_strings_.append(reinterpret_cast<const char*>(&length), sizeof length);
        pending_strings_.append(text);
        ++pending_string_count_;
        return id;
    }

    void add(const Row& row) {
        last_tag_ = row[13] ? row[13] : last_tag_;
        store(row, std::make_index_sequence<ROW_WIDTH>{});
        if (++count_ >= BATCH_ROWS) {
            flush();
        }
    }

    // Safe to call from a signal handler once open(): it only calls write(2).
    void flush() {
        if (pending_string_count_) {
            chunk(STRINGS, pending_string_count_, pending_strings_.data(), pending_strings_.size());
            pending_strings_.clear();
            pending_string_count_ = 0;
        }
        if (count_) {
            chunk(EVENTS, static_cast<uint32_t>(count_), columns_.data(), compact());
            count_ = 0;
        }
    }

    void finish(int64_t end_ps) {
        flush();
        chunk(END, 1, &end_ps, sizeof end_ps);
    }

    // The call site of the last event that had one (0: none yet).
    int64_t last_tag() const { return last_tag_; }

    [[noreturn]] void fail(std::string_view message, int exit_code = 3) {
        flush();
        chunk(FAILURE, 1, message.data(), message.size());
        _exit(exit_code);
    }

private:
    // Each field into its column, at the column's width; a value too wide for
    // it becomes the column type's minimum, which the reader's range check
    // rejects (no field's valid range includes it).
    template <size_t... Field>
    void store(const Row& row, std::index_sequence<Field...>) {
        (put<Field>(row[Field]), ...);
    }

    template <size_t Field>
    void put(int64_t value) {
        using Narrow = Column<FIELD_BYTES[Field]>;
        constexpr int64_t low = std::numeric_limits<Narrow>::min();
        constexpr int64_t high = std::numeric_limits<Narrow>::max();
        const Narrow narrow = static_cast<Narrow>(value < low || value > high ? low : value);
        std::memcpy(columns_.data() + BATCH_STARTS[Field] + count_ * sizeof narrow, &narrow,
                    sizeof narrow);
    }

    // A batch short of BATCH_ROWS: its columns moved down to follow each other
    // (nothing moves for a full one); returns the payload's bytes. No
    // allocation: a signal handler may flush.
    size_t compact() {
        const std::array<size_t, ROW_WIDTH + 1> starts = column_starts(count_);
        for (size_t field = 1; field < ROW_WIDTH; ++field) {
            std::memmove(columns_.data() + starts[field], columns_.data() + BATCH_STARTS[field],
                         count_ * FIELD_BYTES[field]);
        }
        return starts[ROW_WIDTH];
    }

    void chunk(uint32_t type, uint32_t count, const void* data, size_t nbytes) {
        struct {
            uint32_t type, count;
            uint64_t nbytes;
        } header{type, count, nbytes};
        write_all(&header, sizeof header);
        write_all(data, nbytes);
    }

    void write_all(const void* data, size_t nbytes) {
        const char* cursor = static_cast<const char*>(data);
        while (nbytes > 0) {
            const ssize_t written = ::write(fd_, cursor, nbytes);
            if (written <= 0) {
                _exit(4);
            }
            cursor += written;
            nbytes -= static_cast<size_t>(written);
        }
    }

    int fd_ = -1;
    std::vector<uint8_t> columns_;  // BATCH_ROWS events, field by field
    size_t count_ = 0;
    std::unordered_map<std::string, int64_t> ids_;
    std::string pending_strings_;
    uint32_t pending_string_count_ = 0;
    int64_t last_tag_ = 0;
};

// Per-core pipes with read-after-write and write-after-read dependencies, as
// ubscope.probe.costmodel.Timeline (keys name allocation blocks and GM spans).
struct Timeline {
    std::array<int64_t, PIPES> pipe_free{};
    std::unordered_map<uint64_t, int64_t> ready, last_read;
    int64_t scalar_now = 0;
    int64_t landed = 0;  // when the last written data has landed
    // Blocks whose life so far (since AllocTensor or TBuf::Get) had a scalar
    // access recorded: later SetValue/GetValue calls on them record nothing.
    std::unordered_set<uint64_t> scalar_seen;

    static Timeline starting_at(int64_t start_ps) {
        Timeline t;
        t.pipe_free.fill(start_ps);
        t.scalar_now = t.landed = start_ps;
        return t;
    }
};

// Which GM bytes are still in L2, as ubscope.probe.costmodel.L2Residency:
// one stamp per 512 B sector of each buffer, the running count of bytes
// brought in when it was last touched; resident while fewer than the L2's
// capacity were brought in since.
constexpr int64_t L2_SECTOR_BYTES = 512;

struct L2Residency {
    int64_t brought_in = 0;
    std::unordered_map<int64_t, std::vector<int64_t>> stamps;  // by GM buffer index

    // Touch ``sectors`` of buffer ``buffer`` (``size`` bytes); how many were resident.
    int64_t touch(int64_t capacity, int64_t buffer, int64_t size, const std::vector<int64_t>& sectors) {
        auto found = stamps.find(buffer);
        if (found == stamps.end()) {
            const size_t count = static_cast<size_t>((size + L2_SECTOR_BYTES - 1) / L2_SECTOR_BYTES);
            found = stamps.emplace(buffer, std::vector<int64_t>(count, -(capacity + 1))).first;
        }
        std::vector<int64_t>& stamp = found->second;
        int64_t hits = 0;
        for (int64_t sector : sectors) {
            hits += brought_in - stamp[static_cast<size_t>(sector)] < capacity;
        }
        brought_in += (static_cast<int64_t>(sectors.size()) - hits) * L2_SECTOR_BYTES;
        for (int64_t sector : sectors) {
            stamp[static_cast<size_t>(sector)] = brought_in;
        }
        return hits;
    }
};

struct SiteHash {
    size_t operator()(const std::pair<const char*, uint32_t>& site) const {
        return std::hash<const char*>()(site.first) * 31u + site.second;
    }
};

// The lanes of one repeat a mask enables.
struct Lanes {
    std::array<uint64_t, 2> bits{};
    bool on(int64_t lane) const { return (bits[lane / 64] >> (lane % 64)) & 1u; }
    int64_t highest() const {
        for (int64_t lane = 127; lane >= 0; --lane) {
            if (on(lane)) {
                return lane;
            }
        }
        return -1;
    }
    int64_t count() const { return __builtin_popcountll(bits[0]) + __builtin_popcountll(bits[1]); }
};

enum class AtomicOp : uint8_t { NONE, ADD, MAX, MIN };
enum class AtomicType : uint8_t { NONE, F32, F16, BF16, S32, S16, S8 };

// The mode SetAtomicAdd/Max/Min/Type set (atomic.h).
struct AtomicState {
    AtomicOp op = AtomicOp::NONE;
    AtomicType type = AtomicType::NONE;
    const char* api = "";  // the call that set op, for messages
};

constexpr int EVENT_IDS = 8;

// The registers and modes a core keeps for itself. The running core's are in
// Runtime::registers; cores.h swaps each core's own in when it resumes, so
// every core of a launch starts from these values and one core's settings
// never reach another (nor the next block).
struct CoreRegisters {
    Lanes vector_mask{{~uint64_t{0}, ~uint64_t{0}}};  // every lane, as after ResetMask
    std::array<uint8_t, 16> cmp_mask{};                // SetCmpMask's 128 bits
    AtomicState atomic;
    // When each (pipe pair, event ID) flag was last set (SetFlag / WaitFlag).
    std::array<std::array<int64_t, EVENT_IDS>, PIPES * PIPES> flag_set_at{};
};

struct Runtime {
    Config config;
    EventLog log;
    std::vector<GmBuffer> gm;
    std::unordered_map<uint64_t, int64_t> shared_ready;  // GM keys, across cores
    // Call sites and op names by the address of their literal (stable per build).
    std::unordered_map<std::pair<const char*, uint32_t>, int64_t, SiteHash> sites;
    std::unordered_map<const char*, int64_t> literals;
    std::array<std::vector<uint8_t>, SPACES> arenas;  // capacity + red zone of the same size
    Timeline timeline;
    L2Residency l2;
    int64_t hbm_bytes = 0;  // the launch's GM bytes to or from HBM (its roof)
    // The running core: what GetBlockIdx and GetSubBlockIdx return, and the
    // kind and index its events carry (AIC i and AIV 2i, 2i+1 in a mix launch).
    int64_t block_idx = 0;
    int64_t sub_block_idx = 0;
    int64_t core_kind = AICORE;
    int64_t core_index = 0;
    int64_t core_serial = 0;  // unique per core of the launch
    CoreRegisters registers;
    int64_t end_ps = 0;
};

inline Runtime& runtime() {
    static Runtime instance;
    return instance;
}

// The call site of an API call, taken as a default argument so it is the
// caller's file and line. Built on __builtin_FILE/__builtin_LINE (g++ and
// clang++ alike) rather than std::source_location, which libstdc++ gives
// clang++ only from clang 15.
struct Where {
    const char* file;
    uint32_t line_number;

    static constexpr Where current(const char* file = __builtin_FILE(),
                                   uint32_t line = __builtin_LINE()) {
        return Where{file, line};
    }
    constexpr const char* file_name() const { return file; }
    constexpr uint32_t line() const { return line_number; }
};

// The string id of a literal (an op name), interned once per literal.
inline int64_t literal(const char* text) {
    Runtime& rt = runtime();
    auto found = rt.literals.find(text);
    if (found != rt.literals.end()) {
        return found->second;
    }
    const int64_t id = rt.log.intern(text);
    rt.literals.emplace(text, id);
    return id;
}

// The call site "file.cpp:57" of an API call, interned once per source line.
inline int64_t site(const Where& where) {
    Runtime& rt = runtime();
    const auto key = std::make_pair(where.file_name(), static_cast<uint32_t>(where.line()));
    auto found = rt.sites.find(key);
    if (found != rt.sites.end()) {
        return found->second;
    }
    std::string_view file = where.file_name();
    const size_t slash = file.find_last_of('/');
    if (slash != std::string_view::npos) {
        file.remove_prefix(slash + 1);
    }
    const int64_t id = rt.log.intern(std::string(file) + ":" + std::to_string(where.line()));
    rt.sites.emplace(key, id);
    return id;
}

[[noreturn]] inline void fail(const Where& where, const std::string& message) {
    std::string_view file = where.file_name();
    const size_t slash = file.find_last_of('/');
    if (slash != std::string_view::npos) {
        file.remove_prefix(slash + 1);
    }
    runtime().log.fail(std::string(file) + ":" + std::to_string(where.line()) + ": " + message);
}

// "0x1a2b" ("-0x10" below zero): an address in hexadecimal, for messages.
inline std::string hex(int64_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    uint64_t rest = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
    std::string text;
    do {
        text.insert(text.begin(), digits[rest % 16]);
        rest /= 16;
    } while (rest);
    return (value < 0 ? "-0x" : "0x") + text;
}

inline const char* space_name(int64_t space) {
    static const char* names[SPACES] = {"NONE", "GM", "UB", "L1", "L0A", "L0B", "L0C"};
    return names[space];
}

inline void record(Kind kind, int64_t space, int64_t addr, int64_t size, int64_t aligned_size,
                   int64_t src_space, int64_t src_addr, int64_t burst_len, int64_t burst_count,
                   int64_t name, int64_t tensor, int64_t tag, int64_t start_ps, int64_t dur_ps,
                   int64_t arg, int64_t arg2, int64_t flags) {
    Runtime& rt = runtime();
    rt.log.add(Row{kind, rt.core_kind, rt.core_index, space, addr, size, aligned_size,
                   src_space, src_addr, burst_len, burst_count, name, tensor, tag, start_ps,
                   dur_ps, arg, arg2, flags});
}

// -- the cost model (ubscope.probe.costmodel.CostModel) ------------------------
// The L2 sectors of a ``size``-byte buffer that ``rows`` bursts of ``row_bytes``,
// ``pitch`` bytes apart from byte ``offset``, touch (sorted, clipped to the buffer).
inline std::vector<int64_t> copy_sectors(int64_t offset, int64_t rows, int64_t row_bytes, int64_t pitch,
                                         int64_t size) {
    std::vector<int64_t> sectors;
    const int64_t limit = (size + L2_SECTOR_BYTES - 1) / L2_SECTOR_BYTES;
    for (int64_t row = 0; row < rows && row_bytes > 0; ++row) {
        const int64_t start = offset + row * pitch;
        const int64_t last = std::min(limit - 1, (start + row_bytes - 1) / L2_SECTOR_BYTES);
        for (int64_t sector = std::max<int64_t>(0, start / L2_SECTOR_BYTES); sector <= last; ++sector) {
            sectors.push_back(sector);
        }
    }
    std::sort(sectors.begin(), sectors.end());
    sectors.erase(std::unique(sectors.begin(), sectors.end()), sectors.end());
    return sectors;
}

// MTE pipe time of a copy of ``rows`` bursts of ``row_bytes`` (each rounded up
// to the DataCopy unit), ``pitch`` bytes apart from ``offset`` in GM buffer
// ``buffer``: the issue cost, HBM bytes at the core's HBM rate, L2-resident
// bytes of a read at its L2 rate, slower when the address is off 512 B (the
// workspace's bytes all at the L2 rate, and no HBM bytes). Its data lands
// ``gm_latency_ps`` later (see issue).
inline int64_t gm_copy_ps(int64_t buffer, int64_t offset, int64_t rows, int64_t row_bytes, int64_t pitch,
                          bool write) {
    Runtime& rt = runtime();
    const Config& c = rt.config;
    const int64_t unit = c.datacopy_unit;
    const double charged = static_cast<double>(rows * ((row_bytes + unit - 1) / unit * unit));
    const GmBuffer& gm = rt.gm[static_cast<size_t>(buffer)];
    const double slowdown = (gm.addr + offset) % c.gm_alignment ? c.misaligned_gm_factor : 1.0;
    if (gm.workspace) {
        // All of it at the L2 rate, none of it HBM traffic (as CostModel.gm_copy).
        return std::llround(c.gm_issue_ps + charged / c.l2_bytes_per_s / slowdown * 1e12);
    }
    const std::vector<int64_t> sectors = copy_sectors(offset, rows, row_bytes, pitch, gm.size);
    const int64_t resident = rt.l2.touch(c.l2_bytes, buffer, gm.size, sectors);
    // Writes go back to HBM in the end; reads of resident sectors do not.
    const double hit = write || sectors.empty()
                           ? 0.0
                           : charged * static_cast<double>(resident) / static_cast<double>(sectors.size());
    // A read that misses fetches whole sectors (as hbm_traffic in probe/costmodel.py).
    const int64_t missed_sectors = static_cast<int64_t>(sectors.size()) - resident;
    rt.hbm_bytes += write ? std::llround(charged - hit)
                          : std::max<int64_t>(std::llround(charged - hit), missed_sectors * L2_SECTOR_BYTES);
    const double seconds = (charged - hit) / c.gm_bytes_per_s + hit / c.l2_bytes_per_s;
    return std::llround(c.gm_issue_ps + seconds / slowdown * 1e12);
}

// The flags every GM copy of ``buffer`` at device address ``gm_addr`` carries:
// WORKSPACE for the launch's workspace, GM_UNALIGNED off the 512 B boundary.
inline int64_t gm_flags(const GmBuffer& buffer, int64_t gm_addr) {
    return (buffer.workspace ? WORKSPACE : 0) | (gm_addr % runtime().config.gm_alignment ? GM_UNALIGNED : 0);
}

inline int64_t vector_ps(int64_t elements, int64_t element_bytes, int64_t ops_per_element) {
    const Config& c = runtime().config;
    const int64_t lanes = std::max<int64_t>(1, c.vector_fp16_ops_per_cycle * 2 / std::max<int64_t>(1, element_bytes));
    const int64_t cycles = std::max<int64_t>(1, (elements * ops_per_element + lanes - 1) / lanes);
    return std::llround(static_cast<double>(cycles) * c.cycle_ps);
}

// Schedule an operation that occupies ``pipe`` for ``duration`` and whose
// results are ready ``latency`` after that; returns its start time.
template <class Reads, class Writes>
int64_t issue(Pipe pipe, int64_t duration, const Reads& reads, const Writes& writes, int64_t latency = 0) {
    Runtime& rt = runtime();
    Timeline& t = rt.timeline;
    int64_t start = std::max(t.pipe_free[pipe], t.scalar_now);
    auto get = [](const std::unordered_map<uint64_t, int64_t>& map, uint64_t key) {
        auto found = map.find(key);
        return found == map.end() ? int64_t{0} : found->second;
    };
    for (uint64_t key : reads) {
        start = std::max({start, get(t.ready, key), get(rt.shared_ready, key)});
    }
    for (uint64_t key : writes) {
        start = std::max({start, get(t.last_read, key), get(t.ready, key)});
    }
    const int64_t end = start + duration;
    t.pipe_free[pipe] = end;
    for (uint64_t key : reads) {
        int64_t& last = t.last_read[key];
        last = std::max(last, end);
    }
    const int64_t landed = end + latency;
    for (uint64_t key : writes) {
        t.ready[key] = landed;
        if (key >> 63) {
            rt.shared_ready[key] = landed;
        }
    }
    if (std::begin(writes) != std::end(writes)) {
        t.landed = std::max(t.landed, landed);
    }
    return start;
}

// AllocTensor waits until the block's previous contents were last used.
inline int64_t acquire(uint64_t key) {
    Timeline& t = runtime().timeline;
    auto value = [](const std::unordered_map<uint64_t, int64_t>& map, uint64_t k) {
        auto found = map.find(k);
        return found == map.end() ? int64_t{0} : found->second;
    };
    t.scalar_now = std::max({t.scalar_now, value(t.ready, key), value(t.last_read, key)});
    return t.scalar_now;
}

inline int64_t release(uint64_t key) {
    Timeline& t = runtime().timeline;
    int64_t used = 0;
    if (auto found = t.ready.find(key); found != t.ready.end()) {
        used = found->second;
    }
    if (auto found = t.last_read.find(key); found != t.last_read.end()) {
        used = std::max(used, found->second);
    }
    return used ? used : t.scalar_now;
}

// When the core is done: its pipes are idle and its writes have landed.
inline int64_t timeline_end() {
    const Timeline& t = runtime().timeline;
    int64_t end = t.landed;
    for (int64_t free_at : t.pipe_free) {
        end = std::max(end, free_at);
    }
    return end;
}

// Dependency keys: on-chip blocks by (space, block address); GM spans by
// (buffer, byte offset), with the top bit set so they are shared across cores.
inline uint64_t local_key(int64_t space, int64_t block_addr) {
    return (static_cast<uint64_t>(space) << 48) | static_cast<uint64_t>(block_addr);
}

inline uint64_t gm_key(int64_t buffer_index, int64_t offset) {
    return (uint64_t{1} << 63) | (static_cast<uint64_t>(buffer_index) << 48) |
           (static_cast<uint64_t>(offset) & 0xffffffffffffULL);
}

// The GM buffer the host passed that holds ``pointer`` (or -1).
inline int64_t gm_buffer_of(const void* pointer) {
    const auto* byte = static_cast<const uint8_t*>(pointer);
    const auto& buffers = runtime().gm;
    for (size_t i = 0; i < buffers.size(); ++i) {
        // One past the end still belongs to the buffer: a view may start there.
        if (byte >= buffers[i].host && byte <= buffers[i].host + buffers[i].size) {
            return static_cast<int64_t>(i);
        }
    }
    return -1;
}

}  // namespace ubscope_twin
