// ubscope CPU twin: Ascend C APIs the twin does not implement yet. Using one
// stops the build with one line at the user's call, naming it:
//   kernel.cpp:55:12: error: call to 'AscendC::LayerNormGrad<...>' declared with attribute
//   error: ubscope twin: AscendC::LayerNormGrad is not implemented yet (...)
// Each is declared, never defined, with GCC's (and clang's) error attribute,
// which the compiler reports at a call that survives to code generation, so a
// call the kernel never makes costs nothing. The overloads take any arguments
// and any leading template arguments (types, then values: Scatter<half>,
// LayerNormGrad<half, false>). docs/ascendc-twin.md lists what is covered.
#pragma once

#define UBSCOPE_TWIN_MISSING_MESSAGE(NAME)                                                    \
    "ubscope twin: AscendC::" #NAME " is not implemented yet "                                \
    "(see docs/ascendc-twin.md; report it at the ubscope issue tracker)"

#define UBSCOPE_TWIN_MISSING_FUNCTION(NAME)                                                   \
    template <typename... A>                                                                  \
    __attribute__((error(UBSCOPE_TWIN_MISSING_MESSAGE(NAME)))) void NAME(A&&...);             \
    template <auto V0, auto... V, typename... A>                                              \
    __attribute__((error(UBSCOPE_TWIN_MISSING_MESSAGE(NAME)))) void NAME(A&&...);             \
    template <typename T0, auto... V, typename... A>                                          \
    __attribute__((error(UBSCOPE_TWIN_MISSING_MESSAGE(NAME)))) void NAME(A&&...);             \
    template <typename T0, typename T1, auto... V, typename... A>                             \
    __attribute__((error(UBSCOPE_TWIN_MISSING_MESSAGE(NAME)))) void NAME(A&&...);             \
    template <typename T0, typename T1, typename T2, auto... V, typename... A>                \
    __attribute__((error(UBSCOPE_TWIN_MISSING_MESSAGE(NAME)))) void NAME(A&&...);

namespace AscendC {
// High-level APIs.
UBSCOPE_TWIN_MISSING_FUNCTION(LayerNormGrad)
UBSCOPE_TWIN_MISSING_FUNCTION(ConfusionTranspose)
// Basic vector instructions.
UBSCOPE_TWIN_MISSING_FUNCTION(Scatter)
}  // namespace AscendC
