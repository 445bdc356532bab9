// ubscope CPU twin: tiling data, the tiling key and scalar kernel parameters.
// BEGIN_TILING_DATA_DEF / TILING_DATA_FIELD_DEF define a plain struct whose
// fields register their name, type and offset when it is constructed, so
// GET_TILING_DATA fills it field by field from the launch's `tiling NAME VALUE`
// lines (`ubscope run --tiling`) and no layout is guessed. The struct type is
// the one REGISTER_TILING_DATA_CLASS names in namespace optiling, as the
// documented tiling headers do, or the plain C++ struct REGISTER_TILING_DEFAULT
// names in the kernel (GET_TILING_DATA_WITH_STRUCT names one directly). A plain
// struct cannot register its fields itself: ubscope reads their names from its
// declaration (probe/ascendc/tiling.py) and appends UBSCOPE_PLAIN_TILING_FIELD
// registrations to the translation unit, so the compiler gives each field's
// offset (offsetof) and type (decltype) and checks that the names it was given
// are all of the struct's fields.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "ubscope_twin/runtime.h"

namespace ubscope_twin {

struct TilingField {
    std::string name;
    const char* type;
    size_t offset;
    bool (*store)(void* at, const std::string& text);
};

struct TilingState {
    std::map<std::string, std::string> values;  // --tiling NAME=VALUE
    std::map<int64_t, std::string> scalars;     // --scalar, by parameter position
    int64_t key = 0;                            // --tiling-key
    std::vector<TilingField>* collecting = nullptr;
};

inline TilingState& tiling_state() {
    static TilingState state;
    return state;
}

template <typename T>
bool parse_number(const std::string& text, T& value) {
    if constexpr (std::is_same_v<T, bool>) {
        if (text != "0" && text != "1" && text != "true" && text != "false") {
            return false;
        }
        value = text == "1" || text == "true";
        return true;
    } else {
        const char* end = text.data() + text.size();
        auto [stop, error] = std::from_chars(text.data(), end, value);
        return error == std::errc() && stop == end;
    }
}

template <typename T>
bool store_field(void* at, const std::string& text) {
    T value{};
    if (!parse_number(text, value)) {
        return false;
    }
    std::memcpy(at, &value, sizeof value);
    return true;
}

// Called from each field's default member initializer while the struct is
// built by GET_TILING_DATA; the field starts at zero like the host's buffer.
template <typename T, typename Owner>
T tiling_field(const Owner* owner, const T* field, const char* name, const char* type) {
    std::vector<TilingField>* out = tiling_state().collecting;
    if (out != nullptr) {
        const auto offset = static_cast<size_t>(reinterpret_cast<const char*>(field) -
                                                reinterpret_cast<const char*>(owner));
        out->push_back(TilingField{name, type, offset, &store_field<T>});
    }
    return T{};
}

inline std::string expected_text(const char* type) {
    const std::string name = type;
    if (name == "float" || name == "double") {
        return "a number";
    }
    return name == "bool" ? "0, 1, true or false" : "an integer in " + name + "'s range";
}

// Each scalar type a tiling field may have, by its <cstdint> name.
template <typename T>
constexpr const char* tiling_type_name() {
    if constexpr (std::is_same_v<T, bool>) {
        return "bool";
    } else if constexpr (std::is_same_v<T, float>) {
        return "float";
    } else if constexpr (std::is_same_v<T, double>) {
        return "double";
    } else if constexpr (std::is_integral_v<T> && sizeof(T) <= 8) {
        constexpr const char* names[2][4] = {{"uint8_t", "uint16_t", "uint32_t", "uint64_t"},
                                             {"int8_t", "int16_t", "int32_t", "int64_t"}};
        return names[std::is_signed_v<T>][sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3];
    } else {
        return nullptr;
    }
}

// The fields of plain tiling structs, keyed by the address of type_key<T>.
template <typename T>
inline constexpr char type_key = 0;

inline std::map<const void*, std::vector<TilingField>>& plain_tilings() {
    static std::map<const void*, std::vector<TilingField>> registered;
    return registered;
}

template <typename Tiling>
bool register_plain_tiling(std::vector<TilingField> fields) {
    plain_tilings()[&type_key<Tiling>] = std::move(fields);
    return true;
}

// (A field of another type fails the build at its static_assert, which ubscope
// writes beside the registration; no store function is instantiated for it.)
template <typename Field>
TilingField plain_tiling_field(const char* name, size_t offset) {
    if constexpr (tiling_type_name<Field>() != nullptr) {
        return TilingField{name, tiling_type_name<Field>(), offset, &store_field<Field>};
    } else {
        return TilingField{name, "", offset, nullptr};
    }
}

// Converts to any field type: counts an aggregate's fields (T{AnyField, ...}).
struct AnyField {
    template <typename U>
    operator U() const;
};

template <typename T, typename... Fields>
constexpr size_t aggregate_fields() {
    if constexpr (requires { T{Fields{}..., AnyField{}}; }) {
        return aggregate_fields<T, Fields..., AnyField>();
    } else {
        return sizeof...(Fields);
    }
}

// The struct GET_TILING_DATA fills: REGISTER_TILING_DEFAULT's, else the class
// REGISTER_TILING_DATA_CLASS declares against optiling's tag (found by
// argument-dependent lookup when the kernel is instantiated, so a kernel with a
// plain struct needs none).
struct NoTilingData {};
NoTilingData* ubscope_registered_tiling(...);

template <typename Default, typename Tag>
auto default_tiling() {
    if constexpr (std::is_same_v<Default, NoTilingData>) {
        return ubscope_registered_tiling(Tag{});
    } else {
        return static_cast<Default*>(nullptr);
    }
}

template <typename Tiling>
Tiling read_tiling(const Where& where = Where::current()) {
    static_assert(!std::is_same_v<Tiling, NoTilingData>,
                  "ubscope twin: GET_TILING_DATA without a tiling struct: declare it with "
                  "BEGIN_TILING_DATA_DEF and REGISTER_TILING_DATA_CLASS, or name a plain struct "
                  "with REGISTER_TILING_DEFAULT");
    std::vector<TilingField> fields;
    TilingState& state = tiling_state();
    state.collecting = &fields;
    Tiling data;
    state.collecting = nullptr;
    if (fields.empty()) {
        auto plain = plain_tilings().find(&type_key<Tiling>);
        if (plain != plain_tilings().end()) {
            fields = plain->second;
        }
    }
    std::memset(static_cast<void*>(&data), 0, sizeof data);  // padding as the host's zeroed buffer
    std::string names;
    for (const TilingField& field : fields) {
        names += (names.empty() ? "" : ", ") + field.name;
    }
    for (const auto& [name, text] : state.values) {
        bool known = false;
        for (const TilingField& field : fields) {
            known = known || field.name == name;
        }
        if (!known) {
            fail(where, "--tiling " + name + ": the tiling data has no such field (fields: " +
                            names + ")");
        }
    }
    for (const TilingField& field : fields) {
        auto given = state.values.find(field.name);
        if (given == state.values.end()) {
            fail(where, "tiling field " + field.name + " not given (--tiling " + field.name +
                            "=VALUE; fields: " + names + ")");
        }
        if (!field.store(reinterpret_cast<char*>(&data) + field.offset, given->second)) {
            fail(where, "--tiling " + field.name + "=" + given->second + ": expected " +
                            expected_text(field.type) + " (" + field.type + ")");
        }
    }
    return data;
}

template <typename T>
T scalar_arg(int64_t position, const char* name, const char* type) {
    TilingState& state = tiling_state();
    auto given = state.scalars.find(position);
    T value{};
    if (given == state.scalars.end() || !parse_number(given->second, value)) {
        runtime().log.fail(std::string("--scalar ") + name + "=" +
                           (given == state.scalars.end() ? "" : given->second) + ": expected " +
                           expected_text(type) + " (" + type + ")");
    }
    return value;
}

// Reads the launch-file keys of this header; false for any other key.
inline bool read_tiling_config(const std::string& key, std::istringstream& fields) {
    TilingState& state = tiling_state();
    if (key == "tiling") {
        std::string name, value;
        fields >> name >> value;
        state.values[name] = value;
    } else if (key == "tiling_key") {
        fields >> state.key;
    } else if (key == "scalar") {
        int64_t position = 0;
        std::string value;
        fields >> position >> value;
        state.scalars[position] = value;
    } else {
        return false;
    }
    return true;
}

}  // namespace ubscope_twin

namespace optiling {
struct UbscopeTilingTag {};
}

using ubscope_default_tiling_data = ::ubscope_twin::NoTilingData;

#define BEGIN_TILING_DATA_DEF(class_name) \
    struct class_name {                   \
        using ubscope_self = class_name;

#define TILING_DATA_FIELD_DEF(data_type, field_name)                                          \
    data_type field_name = ::ubscope_twin::tiling_field<data_type>(this, &this->field_name,   \
                                                                  #field_name, #data_type);   \
    void set_##field_name(data_type value) { field_name = value; }                            \
    data_type get_##field_name() const { return field_name; }

#define END_TILING_DATA_DEF \
    uint32_t GetDataSize() const { return sizeof(ubscope_self); } \
    }

#define REGISTER_TILING_DATA_CLASS(op_type, class_name) \
    class_name* ubscope_registered_tiling(::optiling::UbscopeTilingTag);

#define REGISTER_TILING_DEFAULT(tiling_struct) using ubscope_default_tiling_data = tiling_struct

#define GET_TILING_DATA(tiling_var, tiling_arg)                                                 \
    auto tiling_var = ::ubscope_twin::read_tiling<std::remove_pointer_t<decltype(               \
        ::ubscope_twin::default_tiling<ubscope_default_tiling_data, ::optiling::UbscopeTilingTag>())>>(); \
    (void)(tiling_arg)

#define GET_TILING_DATA_WITH_STRUCT(tiling_struct, tiling_var, tiling_arg) \
    auto tiling_var = ::ubscope_twin::read_tiling<tiling_struct>();        \
    (void)(tiling_arg)

// One field of a plain tiling struct, appended by ubscope after the kernel.
#define UBSCOPE_PLAIN_TILING_FIELD(tiling_struct, field)                                         \
    ::ubscope_twin::plain_tiling_field<std::remove_cv_t<decltype(tiling_struct::field)>>(#field, \
                                                                       offsetof(tiling_struct, field))

#define TILING_KEY_IS(tiling_key) (::ubscope_twin::tiling_state().key == static_cast<int64_t>(tiling_key))

// The runner reads the kernel type from the source to decide the launch.
#define KERNEL_TASK_TYPE_DEFAULT(...) ((void)0)
