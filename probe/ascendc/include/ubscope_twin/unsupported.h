// ubscope CPU twin: Ascend C APIs the twin does not implement yet. Using one
// stops the build with one line naming it (a static_assert in a stub), rather
// than pages of template errors. docs/ascendc-twin.md lists what is covered.
#pragma once

namespace ubscope_twin {
template <typename... T>
inline constexpr bool not_implemented = false;
}  // namespace ubscope_twin

#define UBSCOPE_TWIN_MISSING_CLASS(NAME)                                                      \
    template <typename... Args>                                                               \
    class NAME {                                                                              \
        static_assert(::ubscope_twin::not_implemented<Args...>,                               \
                      "ubscope twin: AscendC::" #NAME " is not implemented yet "              \
                      "(see docs/ascendc-twin.md; report it at the ubscope issue tracker)");   \
    };

#define UBSCOPE_TWIN_MISSING_FUNCTION(NAME)                                                   \
    template <typename... Args>                                                               \
    void NAME(Args&&...) {                                                                    \
        static_assert(::ubscope_twin::not_implemented<Args...>,                               \
                      "ubscope twin: AscendC::" #NAME " is not implemented yet "              \
                      "(see docs/ascendc-twin.md; report it at the ubscope issue tracker)");   \
    }

namespace AscendC {
UBSCOPE_TWIN_MISSING_CLASS(Matmul)
UBSCOPE_TWIN_MISSING_FUNCTION(SoftMax)
UBSCOPE_TWIN_MISSING_FUNCTION(RmsNorm)
UBSCOPE_TWIN_MISSING_FUNCTION(LayerNorm)
}  // namespace AscendC

namespace matmul {
UBSCOPE_TWIN_MISSING_CLASS(Matmul)
}  // namespace matmul
