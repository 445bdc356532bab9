// ubscope CPU twin: the Matmul high-level API (matmul::Matmul, MatmulType,
// REGIST_MATMUL_OBJ), written from the public Ascend C API documentation
// ("Matmul使用说明", the Matmul kernel-side API pages, "TCubeTiling结构体").
//
// C = A x B (+ bias) per core, on the twin's own cube primitives, so every
// step is an ordinary event at the user's call site, in the cost model and in
// the memory map: Nd2Nz DataCopy GM -> L1, LoadData L1 -> L0A / L0B, Mmad
// into L0C, Fixpipe L0C -> GM. The buffers come from the user's TPipe
// (InitBuffer at the REGIST_MATMUL_OBJ / Init line), so a tiling whose
// buffers pass a space's capacity is flagged as any InitBuffer past it is
// (REDZONE on the allocation; the first write there is a device fault).
//
// What the pages say and the twin does:
// - Shapes: A is [M, Ka] (stored [Ka, M] with isTransposeA), B is [Kb, N]
//   ([N, Kb] with isTransposeB), C is [M, N], bias [1, N] added to every row.
//   M, N, Ka, Kb of the tiling (or SetOrgShape) are the GM row pitches; each
//   core computes singleCoreM x singleCoreN over singleCoreK (SetSingleShape,
//   SetTail change them) from the GlobalTensors it was given, so a kernel
//   offsets them by GetBlockIdx itself.
// - Iterate computes one baseM x baseN block of C (smaller at the tails) into
//   L0C and returns false once every block was computed; the blocks go along
//   M first with iterateOrder 0, along N first with 1. GetTensorC writes the
//   block to its place in C (enSequentialWrite: to the tensor's start, rows
//   baseN apart); IterateAll is every Iterate and GetTensorC. enAtomic 1, 2, 3
//   write with SetAtomicAdd, Max, Min of the C type, cleared afterwards.
// - Types: half x half and bfloat16_t x bfloat16_t accumulate in float (C
//   float, half or bfloat16_t, converted by Fixpipe), int8_t x int8_t in
//   int32_t (C int32_t); the bias is the accumulator's type (float, int32_t).
//
// Where the pages are silent, the twin chooses:
// - Loop and data reuse: for each C block, its A row panel and B column panel
//   are copied from GM again, stepKa (A) and stepKb (B) baseK-wide slices per
//   Nd2Nz copy, each into the next free L1 slot; nothing is kept in L1 from
//   one C block to the next. So A's GM bytes are its singleCoreM x singleCoreK
//   once per block column (ceil(singleCoreN / baseN) times) and B's once per
//   block row; the device's library may keep more in L1 (depthA1 > stepKa)
//   and read less.
// - Buffers: A1 holds depthA1 / stepKa slots of stepKa x baseM x baseK, B1
//   depthB1 / stepKb slots of stepKb x baseK x baseN, L0A dbL0A blocks of
//   baseM x baseK, L0B dbL0B of baseK x baseN, L0C dbL0C of baseM x baseN
//   accumulators, and with isBias one B1 block of baseN bias elements. The
//   bias goes GM -> L1 by Nd2Nz and seeds the L0C block (one COPY event L1 ->
//   L0C on MTE1: the device reads it from the bias table, which the trace has
//   no space for); the Mmads then accumulate onto it.
// - The Matmul runs on the AIC of a split chip (Atlas A2). In an AIC-only
//   launch (KERNEL_TYPE_AIC_ONLY, ASCENDC_CUBE_ONLY) the AIC calls it; in a
//   mix launch the AIVs call it and their block's AIC runs the calls
//   (matmul_server.h), which is how a VECIN C reaches an AIV's UB (through
//   the system workspace in GM). A coupled chip stops the run with one line.
//   sync = false runs as sync (the twin runs in order); MatmulConfig
//   (CFG_NORM, CFG_MDL, ...), ISTRANS, LayoutMode, IBSHARE and IterateAll's
//   waitIterateAll and fakeMsg are taken and ignored.
// - Refused with one line: formats other than CubeFormat::ND, A, B and bias
//   positions other than TPosition::GM, C positions other than GM and VECIN
//   (at build time, at the declaration); the LocalTensor forms of
//   SetTensorA/B and GetTensorC into GM and UB at once (at build time, at the
//   call); enPartialSum, a transposed int8_t A or an untransposed
//   int8_t B (LoadData's transpose is for 2-byte elements), a GM row past
//   65535 elements (the pages' limit without intrinsicsCheck) and tilings
//   the documentation rules out (base sizes off the fractals, depthA1 <
//   stepKa, ...) at run time, at the call.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "ubscope_twin/atomic.h"
#include "ubscope_twin/cube.h"
#include "ubscope_twin/cube_tiling.h"
#include "ubscope_twin/matmul_server.h"
#include "ubscope_twin/tensor.h"

enum class CubeFormat : uint8_t { ND = 0, NZ, ZN, ZZ, NN, ND_ALIGN, SCALAR, VECTOR };
enum class LayoutMode : uint8_t { NONE = 0, BSNGD, SBNGD, BNGS1S2, NORMAL };

namespace AscendC {

using ::CubeFormat;
using ::LayoutMode;

template <TPosition POSITION, CubeFormat FORMAT, typename TYPE, bool ISTRANS = false,
          LayoutMode LAYOUT = LayoutMode::NONE, bool IBSHARE = false>
struct MatmulType {
    constexpr static TPosition pos = POSITION;
    constexpr static CubeFormat format = FORMAT;
    using T = TYPE;
    constexpr static bool isTrans = ISTRANS;
    constexpr static LayoutMode layout = LAYOUT;
    constexpr static bool ibShare = IBSHARE;
};

// The template configurations; the twin takes them and runs every one alike.
struct MatmulConfig {
    bool doNorm = true;
    bool doBasicBlock = false;
    bool doMultiDataLoad = false;
    uint32_t basicM = 0;
    uint32_t basicN = 0;
    uint32_t basicK = 0;
    bool intrinsicsCheck = false;
    bool isNBatch = false;
    bool enVecND2NZ = false;
    bool doSpecialBasicBlock = false;
    uint32_t doMTE2Preload = 0;
    uint32_t singleCoreM = 0;
    uint32_t singleCoreN = 0;
    uint32_t singleCoreK = 0;
    uint32_t stepM = 0;
    uint32_t stepN = 0;
    bool enUnitFlag = false;
    bool enableInit = true;
    bool enableEnd = true;
    bool enableGetTensorC = true;
    bool enableSetOrgShape = true;
    bool enableSetBias = true;
    bool enableSetTail = true;
};

template <typename... Args>
constexpr MatmulConfig GetNormalConfig(Args...) {
    return MatmulConfig{};
}

template <typename... Args>
constexpr MatmulConfig GetMDLConfig(Args...) {
    MatmulConfig config;
    config.doNorm = false;
    config.doMultiDataLoad = true;
    return config;
}

inline constexpr MatmulConfig CFG_NORM = GetNormalConfig();
inline constexpr MatmulConfig CFG_MDL = GetMDLConfig();

}  // namespace AscendC

namespace ubscope_twin {

// The pages' limit on the Matmul objects of a kernel.
constexpr size_t MAX_MATMUL_OBJECTS = 4;

inline GM_ADDR& sys_workspace() {
    static GM_ADDR workspace = nullptr;
    return workspace;
}

template <typename T>
constexpr bool matmul_input = std::is_same_v<T, half> || std::is_same_v<T, bfloat16_t> ||
                              std::is_same_v<T, int8_t>;

// The L0C accumulator of an input type.
template <typename In>
using matmul_acc = std::conditional_t<std::is_same_v<In, int8_t>, int32_t, float>;

template <typename In, typename Out>
constexpr bool matmul_output = std::is_same_v<In, int8_t>
                                   ? std::is_same_v<Out, int32_t>
                                   : std::is_same_v<Out, float> || std::is_same_v<Out, half> ||
                                         std::is_same_v<Out, bfloat16_t>;

template <typename T>
constexpr bool is_cube_tiling =
    std::is_same_v<std::remove_cvref_t<std::remove_pointer_t<std::remove_cvref_t<T>>>, TCubeTiling>;

template <typename T>
const TCubeTiling* cube_tiling_ptr(T&& tiling) {
    if constexpr (std::is_pointer_v<std::remove_cvref_t<T>>) {
        return tiling;
    } else {
        return &tiling;
    }
}

// The REGIST_MATMUL_OBJ arguments after the workspace: objects, each
// optionally followed by its tiling.
template <size_t I, typename Tuple>
void regist_from(const Where& where, AscendC::TPipe* pipe, Tuple& args,
                 std::vector<MatmulServer::Registered>& registered) {
    constexpr size_t count = std::tuple_size_v<Tuple>;
    if constexpr (I < count) {
        auto& mm = std::get<I>(args);
        const size_t index = registered.size();
        registered.push_back({&mm, type_tag<std::remove_cvref_t<decltype(mm)>>()});
        if constexpr (I + 1 < count && is_cube_tiling<std::tuple_element_t<I + 1, Tuple>>) {
            mm.ubscope_register(pipe, cube_tiling_ptr(std::get<I + 1>(args)), index, where);
            regist_from<I + 2>(where, pipe, args, registered);
        } else {
            mm.ubscope_register(pipe, nullptr, index, where);
            regist_from<I + 1>(where, pipe, args, registered);
        }
    }
}

}  // namespace ubscope_twin

#define UBSCOPE_TWIN_MATMUL_LAYOUT_MESSAGE                                                        \
    "ubscope twin: matmul::Matmul takes A, B and bias as MatmulType<TPosition::GM, "              \
    "CubeFormat::ND, ...> and C in TPosition::GM or TPosition::VECIN: NZ and the other formats "  \
    "and positions are not implemented (see docs/ascendc-twin.md)"
#define UBSCOPE_TWIN_MATMUL_TYPES_MESSAGE                                                         \
    "ubscope twin: matmul::Matmul takes half x half or bfloat16_t x bfloat16_t into float, half " \
    "or bfloat16_t, and int8_t x int8_t into int32_t (see docs/ascendc-twin.md)"
#define UBSCOPE_TWIN_MATMUL_LOCAL_MESSAGE                                                         \
    "ubscope twin: the LocalTensor forms of matmul::Matmul's SetTensorA and SetTensorB are not "  \
    "implemented: A and B are GlobalTensors (see docs/ascendc-twin.md)"
#define UBSCOPE_TWIN_MATMUL_BOTH_MESSAGE                                                          \
    "ubscope twin: matmul::Matmul's GetTensorC into a GlobalTensor and a LocalTensor at once is " \
    "not implemented: call it for one of them (see docs/ascendc-twin.md)"

namespace AscendC {

inline void SetSysWorkspace(GM_ADDR workspace) { ubscope_twin::sys_workspace() = workspace; }
inline GM_ADDR GetSysWorkSpacePtr() { return ubscope_twin::sys_workspace(); }

template <class A_TYPE, class B_TYPE, class C_TYPE, class BIAS_TYPE = C_TYPE,
          const auto& MM_CFG = CFG_NORM, class... Policy>
class Matmul {
    using SrcAT = typename A_TYPE::T;
    using SrcBT = typename B_TYPE::T;
    using DstT = typename C_TYPE::T;
    using BiasT = typename BIAS_TYPE::T;
    using L0cT = ubscope_twin::matmul_acc<SrcAT>;
    using Where = ubscope_twin::Where;

    static constexpr bool layout_ok =
        A_TYPE::format == CubeFormat::ND && B_TYPE::format == CubeFormat::ND &&
        C_TYPE::format == CubeFormat::ND && BIAS_TYPE::format == CubeFormat::ND &&
        A_TYPE::pos == TPosition::GM && B_TYPE::pos == TPosition::GM &&
        (C_TYPE::pos == TPosition::GM || C_TYPE::pos == TPosition::VECIN) &&
        (BIAS_TYPE::pos == TPosition::GM || std::is_same_v<BIAS_TYPE, C_TYPE>);  // the default bias type
    static constexpr bool types_ok = ubscope_twin::matmul_input<SrcAT> && std::is_same_v<SrcAT, SrcBT> &&
                                     ubscope_twin::matmul_output<SrcAT, DstT>;
    // Elements of a 32 B row of a fractal: the K step of the cube.
    static constexpr int64_t c0 = ubscope_twin::DATA_BLOCK / static_cast<int64_t>(sizeof(SrcAT));
    static constexpr int64_t rows = ubscope_twin::FRACTAL_ROWS;

public:
    Matmul() requires(layout_ok && types_ok) = default;
    __attribute__((error(UBSCOPE_TWIN_MATMUL_LAYOUT_MESSAGE))) Matmul() requires(!layout_ok);
    __attribute__((error(UBSCOPE_TWIN_MATMUL_TYPES_MESSAGE))) Matmul() requires(layout_ok && !types_ok);

    void Init(const TCubeTiling* cubeTiling, TPipe* tpipe = nullptr, const Where& where = Where::current()) {
        if (tpipe != nullptr) {
            own_.pipe = tpipe;
        }
        if (own_.pipe == nullptr) {
            ubscope_twin::fail(where, "matmul::Matmul::Init without a TPipe (REGIST_MATMUL_OBJ or Init's "
                                      "second argument passes it)");
        }
        if (cubeTiling == nullptr) {
            ubscope_twin::fail(where, "matmul::Matmul::Init with a null TCubeTiling");
        }
        check_core(where);
        const TCubeTiling& t = *cubeTiling;
        check_tiling(t, where);
        tiling_ = t;
        has_tiling_ = true;
        org_m_ = t.M;
        org_n_ = t.N;
        org_ka_ = t.Ka;
        org_kb_ = t.Kb;
        org_kc_ = 0;
        single_m_ = t.singleCoreM;
        single_n_ = t.singleCoreN;
        single_k_ = t.singleCoreK;
        on_cube("Init", where, [&] { place(sizes_of(t), where); });
        restart();
    }

    void SetOrgShape(int orgM, int orgN, int orgK) { SetOrgShape(orgM, orgN, orgK, orgK); }
    void SetOrgShape(int orgM, int orgN, int orgKa, int orgKb, int orgKc = 0) {
        org_m_ = orgM;
        org_n_ = orgN;
        org_ka_ = orgKa;
        org_kb_ = orgKb;
        org_kc_ = orgKc;
        restart();
    }
    void SetSingleShape(int singleM, int singleN, int singleK) { SetTail(singleM, singleN, singleK); }
    void SetTail(int tailM = -1, int tailN = -1, int tailK = -1) {
        single_m_ = tailM > 0 ? tailM : single_m_;
        single_n_ = tailN > 0 ? tailN : single_n_;
        single_k_ = tailK > 0 ? tailK : single_k_;
        restart();
    }

    void SetTensorA(const GlobalTensor<SrcAT>& gm, bool isTransposeA = false) {
        a_ = gm;
        has_a_ = true;
        trans_a_ = isTransposeA;
        restart();
    }
    void SetTensorB(const GlobalTensor<SrcBT>& gm, bool isTransposeB = false) {
        b_ = gm;
        has_b_ = true;
        trans_b_ = isTransposeB;
        restart();
    }
    template <typename U>
    __attribute__((error(UBSCOPE_TWIN_MATMUL_LOCAL_MESSAGE))) void SetTensorA(const LocalTensor<U>&,
                                                                               bool = false);
    template <typename U>
    __attribute__((error(UBSCOPE_TWIN_MATMUL_LOCAL_MESSAGE))) void SetTensorB(const LocalTensor<U>&,
                                                                               bool = false);

    void SetBias(const GlobalTensor<BiasT>& gm) {
        static_assert(std::is_same_v<BiasT, L0cT>,
                      "ubscope twin: matmul::Matmul's bias is the accumulator's type (float; int32_t for "
                      "int8_t inputs)");
        bias_ = gm;
        has_bias_ = true;
        restart();
    }
    void DisableBias() {
        has_bias_ = false;
        restart();
    }
    void ClearBias() { DisableBias(); }

    template <bool sync = true>
    bool Iterate(bool enPartialSum = false, const Where& where = Where::current()) {
        if (enPartialSum) {
            ubscope_twin::fail(where, "matmul::Matmul::Iterate with enPartialSum is not implemented by "
                                      "the twin");
        }
        check_ready("Iterate", where);
        bool more = false;
        on_cube("Iterate", where, [&] { more = next_block(where); });
        return more;
    }

    template <bool sync = true>
    void GetTensorC(const GlobalTensor<DstT>& gm, uint8_t enAtomic = 0, bool enSequentialWrite = false,
                    const Where& where = Where::current()) {
        on_cube("GetTensorC", where, [&] { write_block(gm, enAtomic, enSequentialWrite, where); });
    }

    // A VECIN C: the block into the AIV's UB tensor, at its start with rows
    // baseN apart (enSequentialWrite), else at its place in a singleCoreM x
    // singleCoreN C.
    template <bool sync = true>
    void GetTensorC(const LocalTensor<DstT>& co2Local, uint8_t enAtomic = 0, bool enSequentialWrite = false,
                    const Where& where = Where::current()) {
        const GlobalTensor<DstT> staged = stage_block("GetTensorC", enAtomic, where);
        const int64_t pitch = enSequentialWrite ? tiling_.baseN : single_n_;
        const int64_t at = enSequentialWrite ? 0 : m0_ * pitch + n0_;
        const int64_t element = sizeof(DstT);
        ubscope_twin::transfer(staged, co2Local[static_cast<uint32_t>(at)], true, mb_, nb_ * element,
                               tiling_.baseN * element, pitch * element, mb_ * nb_ * element, where);
    }
    // A VECIN C left in GM: the system workspace's copy of the block, rows
    // baseN apart, for the kernel to copy into its UB itself.
    template <bool sync = true>
    GlobalTensor<DstT> GetTensorC(uint8_t enAtomic = 0, bool enSequentialWrite = false,
                                  const Where& where = Where::current()) {
        (void)enSequentialWrite;
        return stage_block("GetTensorC", enAtomic, where);
    }
    template <bool sync = true, typename U>
    __attribute__((error(UBSCOPE_TWIN_MATMUL_BOTH_MESSAGE))) void GetTensorC(const GlobalTensor<DstT>&,
                                                                              const LocalTensor<U>&,
                                                                              uint8_t = 0, bool = false);

    template <bool sync = true>
    void IterateAll(const GlobalTensor<DstT>& gm, uint8_t enAtomic = 0, bool enSequentialWrite = false,
                    bool waitIterateAll = false, bool fakeMsg = false, const Where& where = Where::current()) {
        (void)waitIterateAll;
        (void)fakeMsg;
        check_ready("IterateAll", where);
        on_cube("IterateAll", where, [&] {
            restart();
            while (next_block(where)) {
                write_block(gm, enAtomic, enSequentialWrite, where);
            }
        });
    }
    // A VECIN C: all of the core's singleCoreM x singleCoreN C into the UB tensor.
    template <bool sync = true>
    void IterateAll(const LocalTensor<DstT>& ubCmatrix, uint8_t enAtomic = 0,
                    const Where& where = Where::current()) {
        check_ready("IterateAll", where);
        check_vecin("IterateAll", enAtomic, where);
        restart();
        while (Iterate(false, where)) {
            GetTensorC(ubCmatrix, enAtomic, false, where);
        }
    }

    void End(const Where& where = Where::current()) {
        if (has_tiling_) {
            on_cube("End", where, [&] { release_c(where); });
        }
        restart();
    }

    // REGIST_MATMUL_OBJ's registration (not Ascend C API): the object at
    // ``index`` of the call. On an AIV of a mix launch its calls go to the
    // block's AIC.
    void ubscope_register(TPipe* pipe, const TCubeTiling* tiling, size_t index, const Where& where) {
        own_.pipe = pipe;
        const ubscope_twin::Runtime& rt = ubscope_twin::runtime();
        if (rt.core_kind == ubscope_twin::AIV_CORE && rt.config.launch_mode == ubscope_twin::MIX_LAUNCH) {
            index_ = static_cast<int64_t>(index);
        }
        if (tiling != nullptr) {
            Init(tiling, pipe, where);
        }
    }

private:
    struct Sizes {
        int64_t a1_slots, a1_bytes, b1_slots, b1_bytes, a2_blocks, a2_bytes, b2_blocks, b2_bytes, c1_blocks,
            c1_bytes, bias_bytes;
        bool operator==(const Sizes&) const = default;
    };

    // What the Matmul keeps on the core it runs on (the AIC): its buffers and
    // the C block in L0C between Iterate and GetTensorC.
    struct Buffers {
        TPipe* pipe = nullptr;
        Sizes sizes{};
        bool placed = false;
        TQue<TPosition::A1, 1> a1;
        TQue<TPosition::B1, 1> b1;
        TQue<TPosition::A2, 1> a2;
        TQue<TPosition::B2, 1> b2;
        TQue<TPosition::CO1, 1> c1;
        TQue<TPosition::B1, 1> bias1;
        LocalTensor<L0cT> c;
        bool holding_c = false;
    };

    static int64_t ceil_div(int64_t value, int64_t unit) { return (value + unit - 1) / unit; }

    int64_t c_pitch() const { return org_kc_ > 0 ? org_kc_ : org_n_; }

    // The buffers of the core running this step: the AIC's object's while the
    // AIC runs an AIV's call, this object's own otherwise.
    Buffers& buffers() { return serving_ != nullptr ? *serving_ : own_; }

    // Runs ``step`` on the core the Matmul runs on: here, or for an AIV of a
    // mix launch on its block's AIC (matmul_server.h), with this object's
    // settings and the AIC's object's buffers.
    template <class Step>
    void on_cube(const char* api, const Where& where, Step&& step) {
        if (index_ < 0) {
            step();
            return;
        }
        const ubscope_twin::MatmulServer::Work work = [&](void* aic_object) {
            serving_ = &static_cast<Matmul*>(aic_object)->own_;
            step();
            const bool holds = serving_->holding_c;
            serving_ = nullptr;
            return holds;
        };
        ubscope_twin::matmul_server().call(static_cast<size_t>(index_), ubscope_twin::type_tag<Matmul>(), work,
                                           api, where);
    }

    void check_core(const Where& where) const {
        const ubscope_twin::Runtime& rt = ubscope_twin::runtime();
        if (!rt.config.split_cores) {
            ubscope_twin::fail(where, "matmul::Matmul: the twin models the Atlas A2 path (a split chip's AIC, "
                                      "Fixpipe to GM); run it on an Ascend910B chip");
        }
        if (rt.core_kind == ubscope_twin::AIV_CORE && index_ < 0) {
            ubscope_twin::fail(where, rt.config.launch_mode == ubscope_twin::MIX_LAUNCH
                                          ? "matmul::Matmul on an AIV of a mix kernel without REGIST_MATMUL_OBJ "
                                            "(it is how the AIV's calls reach the AIC)"
                                          : "matmul::Matmul runs on an AIC, and this vector launch has none: "
                                            "declare KERNEL_TYPE_MIX_AIC_1_2 or KERNEL_TYPE_AIC_ONLY (or no "
                                            "kernel type: a Matmul kernel is then a mix one)");
        }
    }

    static void check_tiling(const TCubeTiling& t, const Where& where) {
        auto bad = [&where](const std::string& what) {
            ubscope_twin::fail(where, "matmul::Matmul: TCubeTiling " + what);
        };
        const std::pair<const char*, int32_t> positive[] = {
            {"M", t.M}, {"N", t.N}, {"Ka", t.Ka}, {"Kb", t.Kb}, {"singleCoreM", t.singleCoreM},
            {"singleCoreN", t.singleCoreN}, {"singleCoreK", t.singleCoreK}, {"baseM", t.baseM},
            {"baseN", t.baseN}, {"baseK", t.baseK}, {"depthA1", t.depthA1}, {"depthB1", t.depthB1},
            {"stepKa", t.stepKa}, {"stepKb", t.stepKb}};
        for (const auto& [name, value] : positive) {
            if (value <= 0) {
                bad(std::string(name) + "=" + std::to_string(value) + ": must be greater than 0");
            }
        }
        if (t.baseM % rows || t.baseN % rows || t.baseK % c0) {
            bad("baseM=" + std::to_string(t.baseM) + ", baseN=" + std::to_string(t.baseN) +
                ", baseK=" + std::to_string(t.baseK) + ": baseM and baseN must be multiples of 16 and baseK of " +
                std::to_string(c0) + " (whole fractals)");
        }
        if (t.depthA1 < t.stepKa || t.depthB1 < t.stepKb) {
            bad("depthA1=" + std::to_string(t.depthA1) + ", stepKa=" + std::to_string(t.stepKa) +
                ", depthB1=" + std::to_string(t.depthB1) + ", stepKb=" + std::to_string(t.stepKb) +
                ": A1 and B1 must hold at least stepKa and stepKb blocks");
        }
        const std::pair<const char*, int32_t> buffering[] = {
            {"dbL0A", t.dbL0A}, {"dbL0B", t.dbL0B}, {"dbL0C", t.dbL0C}};
        for (const auto& [name, value] : buffering) {
            if (value != 1 && value != 2) {
                bad(std::string(name) + "=" + std::to_string(value) + ": must be 1 or 2");
            }
        }
        if (t.iterateOrder != 0 && t.iterateOrder != 1) {
            bad("iterateOrder=" + std::to_string(t.iterateOrder) + ": must be 0 (M first) or 1 (N first)");
        }
    }

    static Sizes sizes_of(const TCubeTiling& t) {
        const int64_t in = sizeof(SrcAT);
        return Sizes{t.depthA1 / t.stepKa, int64_t{t.stepKa} * t.baseM * t.baseK * in,
                     t.depthB1 / t.stepKb, int64_t{t.stepKb} * t.baseK * t.baseN * in,
                     t.dbL0A, int64_t{t.baseM} * t.baseK * in,
                     t.dbL0B, int64_t{t.baseK} * t.baseN * in,
                     t.dbL0C, int64_t{t.baseM} * t.baseN * static_cast<int64_t>(sizeof(L0cT)),
                     t.isBias ? int64_t{t.baseN} * static_cast<int64_t>(sizeof(L0cT)) : 0};
    }

    // The buffers, placed once on the running core's pipe; a later Init may
    // only ask for the same.
    void place(const Sizes& s, const Where& where) {
        Buffers& buf = buffers();
        if (buf.placed) {
            if (!(s == buf.sizes)) {
                ubscope_twin::fail(where, "matmul::Matmul::Init with a tiling whose buffers differ from the "
                                          "first Init's: the twin places a Matmul's buffers once");
            }
            return;
        }
        auto len = [](int64_t bytes) { return static_cast<uint32_t>(bytes); };
        buf.pipe->InitBuffer(buf.a1, static_cast<uint8_t>(s.a1_slots), len(s.a1_bytes), where);
        buf.pipe->InitBuffer(buf.b1, static_cast<uint8_t>(s.b1_slots), len(s.b1_bytes), where);
        buf.pipe->InitBuffer(buf.a2, static_cast<uint8_t>(s.a2_blocks), len(s.a2_bytes), where);
        buf.pipe->InitBuffer(buf.b2, static_cast<uint8_t>(s.b2_blocks), len(s.b2_bytes), where);
        buf.pipe->InitBuffer(buf.c1, static_cast<uint8_t>(s.c1_blocks), len(s.c1_bytes), where);
        if (s.bias_bytes) {
            buf.pipe->InitBuffer(buf.bias1, 1, len(s.bias_bytes), where);
        }
        buf.sizes = s;
        buf.placed = true;
    }

    void check_ready(const char* api, const Where& where) const {
        const std::string name = std::string("matmul::Matmul::") + api;
        if (!has_tiling_) {
            ubscope_twin::fail(where, name + " before Init (or REGIST_MATMUL_OBJ with a tiling)");
        }
        if (!has_a_) {
            ubscope_twin::fail(where, name + " before SetTensorA");
        }
        if (!has_b_) {
            ubscope_twin::fail(where, name + " before SetTensorB");
        }
        if (has_bias_ && !tiling_.isBias) {
            ubscope_twin::fail(where, name + " with SetBias, but the tiling's isBias is 0 (no bias buffer)");
        }
        // Nd2Nz's source row pitch is 16 bits: the pages' 65535 limit on Ka (M
        // transposed) and N (Kb transposed); their intrinsicsCheck is not modelled.
        const int64_t a_pitch = trans_a_ ? org_m_ : org_ka_, b_pitch = trans_b_ ? org_kb_ : org_n_;
        if (a_pitch > 65535 || b_pitch > 65535) {
            ubscope_twin::fail(where, name + ": a GM row of " + std::to_string(std::max(a_pitch, b_pitch)) +
                                          " elements, past the 65535 an ND operand's row may have");
        }
        if (std::is_same_v<SrcAT, int8_t> && (trans_a_ || !trans_b_)) {
            ubscope_twin::fail(where, name + ": int8_t operands need A untransposed and B transposed "
                                             "(isTransposeB): the twin's LoadData transposes 2-byte elements only");
        }
    }

    void restart() { next_block_ = 0; }

    void release_c(const Where& where) {
        Buffers& buf = buffers();
        if (buf.holding_c) {
            buf.c1.FreeTensor(buf.c, where);
            buf.holding_c = false;
        }
    }

    // Iterate's step: the next block of C into L0C, or false after the last.
    bool next_block(const Where& where) {
        release_c(where);
        const int64_t m_blocks = ceil_div(single_m_, tiling_.baseM);
        const int64_t n_blocks = ceil_div(single_n_, tiling_.baseN);
        if (next_block_ >= m_blocks * n_blocks) {
            next_block_ = 0;
            return false;
        }
        const bool m_first = tiling_.iterateOrder == 0;
        const int64_t m_index = m_first ? next_block_ % m_blocks : next_block_ / n_blocks;
        const int64_t n_index = m_first ? next_block_ / m_blocks : next_block_ % n_blocks;
        ++next_block_;
        m0_ = m_index * tiling_.baseM;
        n0_ = n_index * tiling_.baseN;
        mb_ = std::min<int64_t>(tiling_.baseM, single_m_ - m0_);
        nb_ = std::min<int64_t>(tiling_.baseN, single_n_ - n0_);
        compute_block(where);
        return true;
    }

    // GetTensorC's step into GM: the block to its place in C (or, sequential,
    // to the tensor's start with rows baseN apart).
    void write_block(const GlobalTensor<DstT>& gm, uint8_t enAtomic, bool enSequentialWrite, const Where& where) {
        if (!buffers().holding_c) {
            ubscope_twin::fail(where, "matmul::Matmul::GetTensorC without a block computed by Iterate");
        }
        const int64_t pitch = enSequentialWrite ? tiling_.baseN : c_pitch();
        write_c(enSequentialWrite ? gm : gm[m0_ * pitch + n0_], pitch, enAtomic, where);
    }

    // A VECIN C is taken by a mix kernel's AIVs, without atomics.
    void check_vecin(const char* api, uint8_t enAtomic, const Where& where) const {
        const std::string name = std::string("matmul::Matmul::") + api;
        if (index_ < 0) {
            ubscope_twin::fail(where, name + " into a VECIN C: on Atlas A2 a C block reaches a UB through GM "
                                             "from the AIC to an AIV, so it is called from the AIVs of a mix "
                                             "kernel");
        }
        if (enAtomic) {
            ubscope_twin::fail(where, name + " into a VECIN C with enAtomic=" + std::to_string(enAtomic) +
                                          ": atomic writes are for a C in GM");
        }
    }

    // A VECIN C's block on its way to an AIV: written by the AIC into this
    // AIV's slot of the system workspace, rows baseN apart.
    GlobalTensor<DstT> stage_block(const char* api, uint8_t enAtomic, const Where& where) {
        check_vecin(api, enAtomic, where);
        const ubscope_twin::Runtime& rt = ubscope_twin::runtime();
        const ubscope_twin::GmBuffer& buffer = rt.gm[static_cast<size_t>(ubscope_twin::sys_workspace_buffer())];
        const int64_t slot_bytes = buffer.size / ubscope_twin::AIVS_PER_AIC;
        GlobalTensor<DstT> slot;
        slot.SetGlobalBuffer(reinterpret_cast<__gm__ DstT*>(buffer.host + rt.sub_block_idx * slot_bytes),
                             static_cast<uint64_t>(slot_bytes / static_cast<int64_t>(sizeof(DstT))));
        on_cube(api, where, [&] { write_block(slot, 0, true, where); });
        return slot;
    }

    // One block of C: its K slices into L1 (stepKa / stepKb at a time), each
    // baseK slice into L0A / L0B and accumulated into the L0C block.
    void compute_block(const Where& where) {
        Buffers& buf = buffers();
        buf.c = buf.c1.template AllocTensor<L0cT>(where);
        buf.holding_c = true;
        if (has_bias_) {
            seed_bias(where);
        }
        const int64_t k_steps = ceil_div(single_k_, tiling_.baseK);
        LocalTensor<SrcAT> a1, b1;
        int64_t a_k0 = 0, a_kc = 0, b_k0 = 0, b_kc = 0;
        for (int64_t step = 0; step < k_steps; ++step) {
            const int64_t k0 = step * tiling_.baseK;
            const int64_t kb = std::min<int64_t>(tiling_.baseK, single_k_ - k0);
            if (step % tiling_.stepKa == 0) {
                if (step) {
                    buf.a1.FreeTensor(a1, where);
                }
                a1 = buf.a1.template AllocTensor<SrcAT>(where);
                a_k0 = k0;
                a_kc = std::min<int64_t>(int64_t{tiling_.stepKa} * tiling_.baseK, single_k_ - k0);
                copy_a(a1, a_k0, a_kc, where);
            }
            if (step % tiling_.stepKb == 0) {
                if (step) {
                    buf.b1.FreeTensor(b1, where);
                }
                b1 = buf.b1.template AllocTensor<SrcBT>(where);
                b_k0 = k0;
                b_kc = std::min<int64_t>(int64_t{tiling_.stepKb} * tiling_.baseK, single_k_ - k0);
                copy_b(b1, b_k0, b_kc, where);
            }
            LocalTensor<SrcAT> a2 = buf.a2.template AllocTensor<SrcAT>(where);
            load_a(a2, a1, k0 - a_k0, a_kc, kb, where);
            LocalTensor<SrcBT> b2 = buf.b2.template AllocTensor<SrcBT>(where);
            load_b(b2, b1, k0 - b_k0, b_kc, kb, where);
            MmadParams params;
            params.m = static_cast<uint16_t>(mb_);
            params.n = static_cast<uint16_t>(nb_);
            params.k = static_cast<uint16_t>(kb);
            params.cmatrixInitVal = step == 0 && !has_bias_;
            Mmad(buf.c, a2, b2, params, where);
            buf.a2.FreeTensor(a2, where);
            buf.b2.FreeTensor(b2, where);
        }
        buf.a1.FreeTensor(a1, where);
        buf.b1.FreeTensor(b1, where);
    }

    // GM (ND) -> L1 (NZ): A's rows m0_.. by K columns k0.. (A^T's K rows by M
    // columns when transposed), rows padded to 16.
    void copy_a(const LocalTensor<SrcAT>& a1, int64_t k0, int64_t kc, const Where& where) {
        using ubscope_twin::round_up;
        if (!trans_a_) {
            DataCopy(a1, a_[m0_ * org_ka_ + k0], nd2nz(mb_, kc, org_ka_, round_up(mb_, rows)), where);
        } else {
            DataCopy(a1, a_[k0 * org_m_ + m0_], nd2nz(kc, mb_, org_m_, round_up(kc, rows)), where);
        }
    }

    void copy_b(const LocalTensor<SrcBT>& b1, int64_t k0, int64_t kc, const Where& where) {
        using ubscope_twin::round_up;
        if (!trans_b_) {
            DataCopy(b1, b_[k0 * org_n_ + n0_], nd2nz(kc, nb_, org_n_, round_up(kc, rows)), where);
        } else {
            DataCopy(b1, b_[n0_ * org_kb_ + k0], nd2nz(nb_, kc, org_kb_, round_up(nb_, rows)), where);
        }
    }

    static Nd2NzParams nd2nz(int64_t n_value, int64_t d_value, int64_t src_d, int64_t c0_stride) {
        return Nd2NzParams(1, static_cast<uint16_t>(n_value), static_cast<uint16_t>(d_value), 0,
                           static_cast<uint16_t>(src_d), static_cast<uint16_t>(c0_stride), 1, 0);
    }

    // L1 (NZ) -> L0A (ZZ): the K slice at ``k_at`` of the L1 chunk ``chunk_k``
    // wide, one LoadData per 16-row block of A (transposing the fractals of a
    // transposed A).
    void load_a(const LocalTensor<SrcAT>& a2, const LocalTensor<SrcAT>& a1, int64_t k_at, int64_t chunk_k,
                int64_t kb, const Where& where) {
        const int64_t m_frac = ceil_div(mb_, rows), k_frac = ceil_div(kb, c0), fractal = rows * c0;
        for (int64_t i = 0; i < m_frac; ++i) {
            LoadData2dParams params;
            params.repeatTimes = static_cast<uint8_t>(k_frac);
            int64_t from = 0;
            if (!trans_a_) {
                params.srcStride = static_cast<uint16_t>(m_frac);
                from = (k_at / c0) * m_frac * fractal + i * fractal;
            } else {
                params.srcStride = 1;
                params.ifTranspose = true;
                from = i * ubscope_twin::round_up(chunk_k, rows) * rows + (k_at / rows) * fractal;
            }
            LoadData(a2[static_cast<uint32_t>(i * k_frac * fractal)], a1[static_cast<uint32_t>(from)], params,
                     where);
        }
    }

    // L1 (NZ) -> L0B (ZN): one LoadData per K fractal row of B (transposing
    // the fractals of an untransposed B).
    void load_b(const LocalTensor<SrcBT>& b2, const LocalTensor<SrcBT>& b1, int64_t k_at, int64_t chunk_k,
                int64_t kb, const Where& where) {
        const int64_t n_frac = ceil_div(nb_, rows), k_frac = ceil_div(kb, c0), fractal = rows * c0;
        for (int64_t j = 0; j < k_frac; ++j) {
            LoadData2dParams params;
            params.repeatTimes = static_cast<uint8_t>(n_frac);
            int64_t from = 0;
            if (!trans_b_) {
                params.srcStride = static_cast<uint16_t>(ubscope_twin::round_up(chunk_k, rows) / rows);
                params.ifTranspose = true;
                from = (k_at / rows + j) * fractal;
            } else {
                params.srcStride = 1;
                from = (k_at / c0 + j) * n_frac * fractal;
            }
            LoadData(b2[static_cast<uint32_t>(j * n_frac * fractal)], b1[static_cast<uint32_t>(from)], params,
                     where);
        }
    }

    // The bias row GM -> L1, then broadcast into every row of the L0C block
    // (NZ), which the block's Mmads accumulate onto.
    void seed_bias(const Where& where) {
        using namespace ubscope_twin;
        Buffers& buf = buffers();
        const LocalTensor<L0cT>& c = buf.c;
        LocalTensor<L0cT> l1 = buf.bias1.template AllocTensor<L0cT>(where);
        DataCopy(l1, bias_[n0_], nd2nz(1, nb_, nb_, 1), where);
        const int64_t m_pad = round_up(mb_, rows), n_pad = round_up(nb_, rows);
        const L0cT* row = l1.data(nb_, where);
        L0cT* tile = c.data(m_pad * n_pad, where);
        for (int64_t r = 0; r < m_pad; ++r) {
            for (int64_t col = 0; col < n_pad; ++col) {
                tile[(col / rows) * m_pad * rows + r * rows + col % rows] = col < nb_ ? row[col] : L0cT{};
            }
        }
        Runtime& rt = runtime();
        const int64_t tag = site(where);
        const int64_t written = m_pad * n_pad * static_cast<int64_t>(sizeof(L0cT));
        const int64_t flags = check_placement(L0C, c.addr(), written, tag, rt.timeline.scalar_now);
        const int64_t moved = nb_ * static_cast<int64_t>(sizeof(L0cT));
        const int64_t duration = onchip_copy_ps("l1_to_bt", moved);
        const std::array<uint64_t, 1> reads{l1.key()}, writes{c.key()};
        const int64_t start = issue(MTE1, duration, reads, writes);
        record(COPY, L0C, c.addr(), moved, written, L1, l1.addr(), moved, 1, c.name(), 0, tag, start, duration,
               0, 0, flags);
        buf.bias1.FreeTensor(l1, where);
    }

    // L0C -> GM by Fixpipe (NZ to ND, converted to C's type), under the
    // atomic mode enAtomic asks for.
    void write_c(const GlobalTensor<DstT>& at, int64_t pitch, uint8_t enAtomic, const Where& where) {
        FixpipeParamsV220 params;
        params.nSize = static_cast<uint16_t>(nb_);
        params.mSize = static_cast<uint16_t>(mb_);
        params.srcStride = static_cast<uint16_t>(ubscope_twin::round_up(mb_, rows));
        params.dstStride = static_cast<uint32_t>(pitch);
        params.quantPre = std::is_same_v<DstT, half>         ? F322F16
                          : std::is_same_v<DstT, bfloat16_t> ? F322BF16
                                                             : NoQuant;
        switch (enAtomic) {
            case 0: break;
            case 1: SetAtomicAdd<DstT>(where); break;
            case 2: SetAtomicMax<DstT>(where); break;
            case 3: SetAtomicMin<DstT>(where); break;
            default:
                ubscope_twin::fail(where, "matmul::Matmul: enAtomic=" + std::to_string(enAtomic) +
                                              ": must be 0 (none), 1 (add), 2 (max) or 3 (min)");
        }
        Fixpipe(at, buffers().c, params, where);
        if (enAtomic) {
            SetAtomicNone();
        }
        release_c(where);
    }

    TCubeTiling tiling_{};
    bool has_tiling_ = false;
    int64_t org_m_ = 0, org_n_ = 0, org_ka_ = 0, org_kb_ = 0, org_kc_ = 0;
    int64_t single_m_ = 0, single_n_ = 0, single_k_ = 0;
    GlobalTensor<SrcAT> a_;
    GlobalTensor<SrcBT> b_;
    GlobalTensor<BiasT> bias_;
    bool has_a_ = false, has_b_ = false, has_bias_ = false, trans_a_ = false, trans_b_ = false;
    // The iteration: the next block's index and the block's place.
    int64_t next_block_ = 0;
    int64_t m0_ = 0, n0_ = 0, mb_ = 0, nb_ = 0;
    Buffers own_;
    Buffers* serving_ = nullptr;  // the AIC's object's, while the AIC runs this AIV's call
    int64_t index_ = -1;          // its REGIST_MATMUL_OBJ position, on an AIV of a mix launch
};

// REGIST_MATMUL_OBJ: each object registers with the pipe (and Inits when its
// tiling follows it); on the AIC of a mix launch the AIC then serves its AIVs'
// calls to these objects until they end (matmul_server.h).
template <typename... Args>
void ubscope_regist_matmul(const ubscope_twin::Where& where, TPipe* pipe, GM_ADDR workspace, Args&&... args) {
    using namespace ubscope_twin;
    (void)workspace;
    auto objects = std::forward_as_tuple(args...);
    std::vector<MatmulServer::Registered> registered;
    regist_from<0>(where, pipe, objects, registered);
    if (registered.size() > MAX_MATMUL_OBJECTS) {
        fail(where, "REGIST_MATMUL_OBJ with " + std::to_string(registered.size()) +
                        " Matmul objects, past the " + std::to_string(MAX_MATMUL_OBJECTS) + " a kernel may define");
    }
    const Runtime& rt = runtime();
    if (rt.config.split_cores && rt.config.launch_mode == MIX_LAUNCH) {
        if (rt.core_kind == AIC_CORE) {
            matmul_server().serve(std::move(registered), where);
        }
        matmul_server().add_client();
    }
}

}  // namespace AscendC

#undef UBSCOPE_TWIN_MATMUL_LAYOUT_MESSAGE
#undef UBSCOPE_TWIN_MATMUL_TYPES_MESSAGE
#undef UBSCOPE_TWIN_MATMUL_LOCAL_MESSAGE
#undef UBSCOPE_TWIN_MATMUL_BOTH_MESSAGE

namespace matmul {
using AscendC::CFG_MDL;
using AscendC::CFG_NORM;
using AscendC::GetMDLConfig;
using AscendC::GetNormalConfig;
using AscendC::Matmul;
using AscendC::MatmulConfig;
using AscendC::MatmulType;
using AscendC::ubscope_regist_matmul;
}  // namespace matmul

using AscendC::ubscope_regist_matmul;

// REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm1, &tiling1, mm2, ...): each
// object registers with the pipe and, when its tiling follows it, Inits
// (a kernel may also write matmul::REGIST_MATMUL_OBJ).
#define REGIST_MATMUL_OBJ(tpipe, workspace, ...) \
    ubscope_regist_matmul(::ubscope_twin::Where::current(), tpipe, workspace, __VA_ARGS__)
