// ubscope CPU twin: the kernel debugging APIs, AscendC::printf / PRINTF,
// DumpTensor and ascendc_assert / assert (written from the public API pages).
//
// None of them is memory traffic: they record no event, intern no string and
// take no time on the core's timeline, so a kernel traces the same with or
// without them. Their text goes to the child's standard output, flushed at
// every call (a run that stops right after still shows it), which the runner
// passes to ubscope's standard error.
//
// printf / PRINTF (fmt, args...): the conversions the page lists, %d %i %u %f
// %x %s %p, and also %c %o %X %e %E %g %G %F %a %A and %%, with C's flags,
// width and precision; length modifiers (h, l, ll, j, z, t, L) are read and the
// argument's own type decides its width, except for %x / %X, which print 32
// bits unless a 64-bit modifier (l, ll, j, z, t) is given: the page's CPU-domain
// rule ("%x ... 32-bit on the CPU domain"). half and bfloat16_t print as their
// float value. The twin's choices where the pages are silent:
//   - Which core printed: the pages name a core by its type and its index among
//     cores of that type ("AIV-0", in the DumpHead that heads each core's
//     output on the device); the twin prefixes each line with "[AIV-0] "
//     ("[AIC-0] ", "[AICore-0] " on a chip whose cores hold both units) when the
//     launch has more than one core, and prints lines bare, as the page's
//     example ("fmt string 291"), when it has one. No DumpHead and no
//     "CANN Version" line (NPU only) is printed. Lines appear in the order the
//     cores print them; a line one core left open is ended before another
//     core prints.
//   - %p of a pointer into a GM tensor prints its device address (as the
//     trace's), any other pointer its host address.
//   - A conversion the twin does not know, or one with no argument left or an
//     argument it cannot print (a number for %s), is printed as written; extra
//     arguments are ignored (the page asks as many arguments as conversions). A
//     floating-point argument to an integer conversion prints its integer part,
//     an integer to a floating-point conversion its value.
//   - printf called unqualified with only a format string resolves to the C
//     library's printf (a non-template function wins over this template), which
//     prints the same text without the core label.
//   - ASCENDC_DUMP=0 silences PRINTF and DumpTensor, not printf, as the page
//     says of the CPU domain.
//
// DumpTensor(tensor, desc, dumpSize) of a LocalTensor (UB, L1, L0C) or a
// GlobalTensor prints its first dumpSize elements in two lines, as the page's
// example:
//   DumpTensor: desc=5, addr=0x0, data_type=float16, position=UB, dump_size=32
//   [19.000000, 4.000000, ...]
// floating-point values with %f, integers in decimal (bool as 0 / 1). The
// twin's choices: addr in hexadecimal (the on-chip byte address, or the device
// address of GM), data_type named float16, bfloat16, float32, int8 .. uint64,
// bool; all elements on one line. It reads the arena's or the GM tensor's bytes
// without recording. A tensor in L0A / L0B (the page: UB, L1, L0C and GM only),
// one no queue or buffer gave, and elements past the arena's red zone or past
// the end of the GM tensor stop the run with one line. The ShapeInfo forms, the
// 1 MB a core's dump output may hold on the device, and DumpAccChkPoint are not
// covered.
//
// ascendc_assert(expr[, fmt, args...]) and assert(expr[, fmt, args...]): a
// false expr stops the run with one line at the call,
//   kernel.cpp:44: Assertion `flag != 10' failed: the flag is 10.
// the message formatted as printf's, its trailing newlines dropped and any other
// newline made a space. `assert` replaces a <cassert> included before this
// header; one included after it replaces the twin's (the page: a kernel should
// not include the system's assert.h), and its failure is then the C library's
// abort.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include "ubscope_twin/half.h"
#include "ubscope_twin/runtime.h"
#include "ubscope_twin/tensor.h"

namespace ubscope_twin {

#if defined(ASCENDC_DUMP) && (ASCENDC_DUMP + 0) == 0
inline constexpr bool DUMP_ENABLED = false;
#else
inline constexpr bool DUMP_ENABLED = true;
#endif

// One printf argument as the formatter reads it.
struct PrintArg {
    enum Kind { INTEGER, FLOATING, STRING, POINTER } kind = INTEGER;
    int64_t integer = 0;  // INTEGER: the promoted value (a uint64_t's bits)
    bool is_signed = true;
    int bits = 32;        // INTEGER: the promoted width, 32 or 64
    double real = 0.0;
    const void* pointer = nullptr;  // STRING (its characters) and POINTER
};

template <class>
inline constexpr bool unprintable = false;

template <class T>
PrintArg print_arg(const T& value) {
    using U = std::remove_cv_t<T>;
    PrintArg arg;
    if constexpr (std::is_same_v<U, half> || std::is_same_v<U, bfloat16_t>) {
        arg.kind = PrintArg::FLOATING;
        arg.real = static_cast<float>(value);
    } else if constexpr (std::is_floating_point_v<U>) {
        arg.kind = PrintArg::FLOATING;
        arg.real = static_cast<double>(value);
    } else if constexpr (std::is_enum_v<U>) {
        return print_arg(static_cast<std::underlying_type_t<U>>(value));
    } else if constexpr (std::is_integral_v<U>) {
        const auto promoted = +value;  // C's integer promotion (bool, char, short: int)
        using P = decltype(promoted);
        arg.integer = static_cast<int64_t>(promoted);
        arg.is_signed = std::is_signed_v<P>;
        arg.bits = sizeof(P) > 4 ? 64 : 32;
    } else if constexpr (std::is_array_v<U> &&
                         std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>, char>) {
        arg.kind = PrintArg::STRING;
        arg.pointer = value;
    } else if constexpr (std::is_pointer_v<U>) {
        const bool text = std::is_same_v<std::remove_cv_t<std::remove_pointer_t<U>>, char>;
        arg.kind = text ? PrintArg::STRING : PrintArg::POINTER;
        arg.pointer = reinterpret_cast<const void*>(value);
    } else if constexpr (std::is_null_pointer_v<U>) {
        arg.kind = PrintArg::POINTER;
    } else {
        static_assert(unprintable<U>,
                      "ubscope twin: printf prints integers, floating-point numbers (half and "
                      "bfloat16_t too), strings and pointers");
    }
    return arg;
}

// snprintf of one value into text.
template <class V>
void append_formatted(std::string& text, const std::string& spec, V value) {
    char buffer[512];
    const int length = std::snprintf(buffer, sizeof buffer, spec.c_str(), value);
    if (length < 0) {
        return;
    }
    if (static_cast<size_t>(length) < sizeof buffer) {
        text.append(buffer, static_cast<size_t>(length));
        return;
    }
    std::string wide(static_cast<size_t>(length) + 1, '\0');
    std::snprintf(wide.data(), wide.size(), spec.c_str(), value);
    text.append(wide.data(), static_cast<size_t>(length));
}

// The address %p prints: a GM tensor's device address, else the host's.
inline std::string pointer_text(const void* pointer) {
    const int64_t buffer = pointer ? gm_buffer_of(pointer) : -1;
    if (buffer >= 0) {
        const GmBuffer& gm = runtime().gm[static_cast<size_t>(buffer)];
        return hex(gm.addr + (static_cast<const uint8_t*>(pointer) - gm.host));
    }
    char host[32];
    std::snprintf(host, sizeof host, "%p", pointer);
    return host;
}

// Format one conversion (``flags`` holds the flags, width and precision as
// written; ``wide`` says a 64-bit length modifier was given) of ``arg``; false
// when the argument is not one the conversion can print.
inline bool format_one(std::string& text, const std::string& flags, bool wide, char conversion,
                       const PrintArg& arg) {
    const std::string spec = "%" + flags;
    switch (conversion) {
        case 'd':
        case 'i':
        case 'c': {
            long long value = 0;
            if (arg.kind == PrintArg::INTEGER) {
                value = arg.bits == 32 ? static_cast<int32_t>(arg.integer) : arg.integer;
            } else if (arg.kind == PrintArg::FLOATING && std::isfinite(arg.real)) {
                value = static_cast<long long>(arg.real);
            } else {
                return false;
            }
            if (conversion == 'c') {
                append_formatted(text, spec + "c", static_cast<int>(value));
            } else {
                append_formatted(text, spec + "lld", value);
            }
            return true;
        }
        case 'u':
        case 'o':
        case 'x':
        case 'X': {
            unsigned long long value = 0;
            if (arg.kind == PrintArg::INTEGER) {
                value = arg.bits == 32 ? static_cast<uint32_t>(arg.integer)
                                       : static_cast<uint64_t>(arg.integer);
            } else if (arg.kind == PrintArg::FLOATING && std::isfinite(arg.real)) {
                value = static_cast<unsigned long long>(static_cast<long long>(arg.real));
            } else {
                return false;
            }
            if ((conversion == 'x' || conversion == 'X') && !wide) {
                value = static_cast<uint32_t>(value);  // the page: %x prints 32 bits on the CPU
            }
            append_formatted(text, spec + "ll" + conversion, value);
            return true;
        }
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
        case 'a':
        case 'A': {
            double value = 0.0;
            if (arg.kind == PrintArg::FLOATING) {
                value = arg.real;
            } else if (arg.kind == PrintArg::INTEGER) {
                value = arg.is_signed ? static_cast<double>(arg.integer)
                                      : static_cast<double>(static_cast<uint64_t>(arg.integer));
            } else {
                return false;
            }
            append_formatted(text, spec + conversion, value);
            return true;
        }
        case 's':
            if (arg.kind != PrintArg::STRING) {
                return false;
            }
            append_formatted(text, spec + "s",
                             arg.pointer ? static_cast<const char*>(arg.pointer) : "(null)");
            return true;
        case 'p': {
            std::string address;
            if (arg.kind == PrintArg::POINTER || arg.kind == PrintArg::STRING) {
                address = pointer_text(arg.pointer);
            } else if (arg.kind == PrintArg::INTEGER) {
                address = hex(arg.integer);
            } else {
                return false;
            }
            append_formatted(text, spec + "s", address.c_str());
            return true;
        }
        default:
            return false;
    }
}

// ``fmt`` with its conversions replaced by ``args``, as C's printf.
inline std::string format_text(const char* fmt, const PrintArg* args, size_t count) {
    std::string text;
    size_t next = 0;
    for (const char* at = fmt ? fmt : "(null)"; *at;) {
        if (*at != '%') {
            text += *at++;
            continue;
        }
        if (at[1] == '%') {
            text += '%';
            at += 2;
            continue;
        }
        const char* start = at++;
        std::string flags;
        while (*at && std::strchr("-+ #0", *at)) {
            flags += *at++;
        }
        while (*at >= '0' && *at <= '9') {
            flags += *at++;
        }
        if (*at == '.') {
            flags += *at++;
            while (*at >= '0' && *at <= '9') {
                flags += *at++;
            }
        }
        bool wide = false;
        while (*at && std::strchr("hlLjztq", *at)) {
            wide = wide || std::strchr("ljztq", *at);
            ++at;
        }
        const char conversion = *at;
        if (conversion) {
            ++at;
        }
        if (next >= count || !format_one(text, flags, wide, conversion, args[next])) {
            text.append(start, at);  // printed as written
            if (next < count && conversion && std::strchr("diucoxXfFeEgGaAsp", conversion)) {
                ++next;  // a known conversion with the wrong kind of argument still takes it
            }
            continue;
        }
        ++next;
    }
    return text;
}

template <class... Args>
std::string format_args(const char* fmt, const Args&... args) {
    const PrintArg list[] = {print_arg(args)..., PrintArg{}};
    return format_text(fmt, list, sizeof...(Args));
}

// More than one core in the launch: its output lines carry the core's label.
inline bool several_cores() {
    const Config& c = runtime().config;
    return c.block_dim > 1 || (c.split_cores && c.launch_mode == MIX_LAUNCH);
}

// "[AIV-0] ": the running core's type and index among cores of that type.
inline std::string core_label() {
    const Runtime& rt = runtime();
    const char* type = rt.core_kind == AIV_CORE ? "AIV" : rt.core_kind == AIC_CORE ? "AIC" : "AICore";
    return "[" + std::string(type) + "-" + std::to_string(rt.core_index) + "] ";
}

// Write ``text`` to standard output, each line labelled with its core when
// the launch has several, and flush it.
inline void emit(const std::string& text) {
    static bool line_open = false;
    static int64_t open_kind = -1, open_index = -1;
    const Runtime& rt = runtime();
    const bool label = several_cores();
    std::string out;
    if (line_open && (open_kind != rt.core_kind || open_index != rt.core_index)) {
        out += '\n';  // another core's unfinished line
        line_open = false;
    }
    for (char c : text) {
        if (!line_open && label) {
            out += core_label();
        }
        line_open = c != '\n';
        out += c;
    }
    open_kind = rt.core_kind;
    open_index = rt.core_index;
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
}

template <class T>
constexpr const char* dump_type_name() {
    if constexpr (std::is_same_v<T, half>) return "float16";
    else if constexpr (std::is_same_v<T, bfloat16_t>) return "bfloat16";
    else if constexpr (std::is_same_v<T, float>) return "float32";
    else if constexpr (std::is_same_v<T, bool>) return "bool";
    else if constexpr (std::is_same_v<T, int8_t>) return "int8";
    else if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
    else if constexpr (std::is_same_v<T, int16_t>) return "int16";
    else if constexpr (std::is_same_v<T, uint16_t>) return "uint16";
    else if constexpr (std::is_same_v<T, int32_t>) return "int32";
    else if constexpr (std::is_same_v<T, uint32_t>) return "uint32";
    else if constexpr (std::is_same_v<T, int64_t>) return "int64";
    else if constexpr (std::is_same_v<T, uint64_t>) return "uint64";
    else return nullptr;
}

// The page's two lines for ``count`` elements of T at ``bytes``.
template <class T>
void dump_elements(uint32_t desc, int64_t addr, int64_t space, const uint8_t* bytes, uint32_t count) {
    std::string text = "DumpTensor: desc=" + std::to_string(desc) + ", addr=" + hex(addr) +
                       ", data_type=" + dump_type_name<T>() + ", position=" + space_name(space) +
                       ", dump_size=" + std::to_string(count) + "\n[";
    for (uint32_t i = 0; i < count; ++i) {
        T value;
        std::memcpy(&value, bytes + static_cast<size_t>(i) * sizeof(T), sizeof(T));
        if (i) {
            text += ", ";
        }
        if constexpr (std::is_integral_v<T>) {
            text += std::to_string(+value);
        } else {
            append_formatted(text, "%f", static_cast<double>(static_cast<float>(value)));
        }
    }
    emit(text + "]\n");
}

template <class T>
constexpr void check_dump_type() {
    static_assert(dump_type_name<T>() != nullptr,
                  "ubscope twin: DumpTensor takes half, bfloat16_t, float, bool and 8- to 64-bit "
                  "integer tensors");
}

[[noreturn]] inline void assert_failed(const Where& where, const char* expr) {
    fail(where, std::string("Assertion `") + expr + "' failed");
}

template <class... Args>
[[noreturn]] void assert_failed(const Where& where, const char* expr, const char* fmt,
                                const Args&... args) {
    std::string message = format_args(fmt, args...);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
    }
    for (char& c : message) {
        c = c == '\n' ? ' ' : c;
    }
    fail(where, std::string("Assertion `") + expr + "' failed" + (message.empty() ? "" : ": " + message));
}

}  // namespace ubscope_twin

namespace AscendC {

template <class... Args>
void printf(__gm__ const char* fmt, Args&&... args) {
    ubscope_twin::emit(ubscope_twin::format_args(fmt, args...));
}

template <class... Args>
void PRINTF(__gm__ const char* fmt, Args&&... args) {
    if constexpr (ubscope_twin::DUMP_ENABLED) {
        ubscope_twin::emit(ubscope_twin::format_args(fmt, args...));
    }
}

template <typename T>
void DumpTensor(const LocalTensor<T>& tensor, uint32_t desc, uint32_t dumpSize,
                const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    check_dump_type<T>();
    if constexpr (DUMP_ENABLED) {
        const int64_t space = tensor.space();
        if (space == NONE) {
            fail(where, "DumpTensor of a LocalTensor no queue or buffer gave");
        }
        if (space != UB && space != L1 && space != L0C) {
            fail(where, std::string("DumpTensor of a tensor in ") + space_name(space) +
                            ": the page covers UB, L1, L0C and GM only");
        }
        const auto* bytes = reinterpret_cast<const uint8_t*>(tensor.data(dumpSize, where));
        dump_elements<T>(desc, tensor.addr(), space, bytes, dumpSize);
    }
}

template <typename T>
void DumpTensor(const GlobalTensor<T>& tensor, uint32_t desc, uint32_t dumpSize,
                const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    check_dump_type<T>();
    if constexpr (DUMP_ENABLED) {
        const auto span = tensor.span();
        if (span.buffer < 0) {
            fail(where, "DumpTensor of a GlobalTensor in none of the launch's GM tensors");
        }
        const GmBuffer& gm = runtime().gm[static_cast<size_t>(span.buffer)];
        const int64_t nbytes = static_cast<int64_t>(dumpSize) * static_cast<int64_t>(sizeof(T));
        if (nbytes > span.valid_bytes) {
            fail(where, "DumpTensor of " + std::to_string(dumpSize) + " elements (" + std::to_string(nbytes) +
                            " B) from byte " + std::to_string(span.offset) + " of GM tensor '" + gm.name +
                            "' reaches past its end (" + std::to_string(gm.size) + " B)");
        }
        dump_elements<T>(desc, gm.addr + span.offset, GM, tensor.bytes(), dumpSize);
    }
}

}  // namespace AscendC

// The stringized expr is taken by each macro itself, so it reads as written.
#define UBSCOPE_TWIN_ASSERT(expr, ...)                                                        \
    ((expr) ? static_cast<void>(0)                                                            \
            : ::ubscope_twin::assert_failed(::ubscope_twin::Where::current(), __VA_ARGS__))
#define ascendc_assert(expr, ...) UBSCOPE_TWIN_ASSERT(expr, #expr __VA_OPT__(, ) __VA_ARGS__)

#ifdef assert
#undef assert
#endif
#define assert(expr, ...) UBSCOPE_TWIN_ASSERT(expr, #expr __VA_OPT__(, ) __VA_ARGS__)
