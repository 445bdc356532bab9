// ubscope CPU twin: tiling data, the tiling key and scalar kernel parameters.
// BEGIN_TILING_DATA_DEF / TILING_DATA_FIELD_DEF(_ARR, _STRUCT) define a plain
// struct whose fields register their name, type, element count and offset
// when it is constructed (a nested struct's fields as "outer.inner"), so
// GET_TILING_DATA fills it field by field from the launch's `tiling NAME VALUE`
// lines (`ubscope run --tiling`; an array's VALUE is `[v0,v1,...]`) and no
// layout is guessed. The struct type is
// the one REGISTER_TILING_DATA_CLASS names in namespace optiling, as the
// documented tiling headers do, or the plain C++ struct REGISTER_TILING_DEFAULT
// names in the kernel (GET_TILING_DATA_WITH_STRUCT names one directly). A plain
// struct cannot register its fields itself: ubscope reads their names from its
// declaration (probe/ascendc/tiling.py) and appends UBSCOPE_PLAIN_TILING_FIELD
// registrations to the translation unit, so the compiler gives each field's
// offset (offsetof, "outer.inner" for a nested struct's) and type (decltype)
// and checks that the names it was given are all of the struct's fields.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ubscope_twin/runtime.h"

namespace ubscope_twin {

struct TilingField {
    std::string name;  // "sub.field" for a field of a nested struct
    const char* type;  // of one element
    size_t offset;     // while collecting: the field's address
    size_t count;      // elements of an array field; 0 for a scalar
    size_t element_bytes;
    bool (*store)(void* at, const std::string& text);
};

struct TilingState {
    std::map<std::string, std::string> values;  // --tiling NAME=VALUE
    std::map<int64_t, std::string> scalars;     // --scalar, by parameter position
    int64_t key = 0;                            // --tiling-key
    std::vector<TilingField>* collecting = nullptr;
    std::string prefix;  // "sub." while a nested struct's fields register
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

inline std::string expected_text(const char* type) {
    const std::string name = type;
    if (name == "float" || name == "double") {
        return "a number";
    }
    return name == "bool" ? "0, 1, true or false" : "an integer in " + name + "'s range";
}

// Called from each field's default member initializer while the struct is
// built by GET_TILING_DATA (``count`` elements from ``field``; 0 for a scalar);
// the field starts at zero like the host's buffer.
template <typename T>
T tiling_field(const T* field, size_t count, const char* name, const char* type) {
    TilingState& state = tiling_state();
    if (state.collecting != nullptr) {
        state.collecting->push_back(TilingField{state.prefix + name, type,
                                                reinterpret_cast<size_t>(field), count, sizeof(T),
                                                &store_field<T>});
    }
    return T{};
}

// The base of a CANN high-level API's tiling struct that the user's host fills
// (TopKTilingFunc for TopkTiling, ...) and the twin's API never reads: it
// computes from the call's other arguments. Such a struct nests in a
// BEGIN_TILING_DATA_DEF struct through TILING_DATA_FIELD_DEF_STRUCT and
// registers no field, so `--tiling` leaves it at zero and names none of it:
//   struct TopkTiling : ubscope_twin::HostFilledTiling<TopkTiling> {};
template <typename Self>
struct HostFilledTiling {
    using ubscope_self = Self;
};

// A TILING_DATA_FIELD_DEF_STRUCT member (at ``member``), its own fields
// registering under "name.". While collecting it is built in storage whose
// address is known, its fields moved from there to the member: the returned
// value may be copied on the way (a small trivially copyable struct is
// returned in registers).
template <typename Nested>
Nested tiling_struct_field(const Nested* member, const char* name) {
    static_assert(requires { typename Nested::ubscope_self; },
                  "ubscope twin: TILING_DATA_FIELD_DEF_STRUCT takes a struct declared with "
                  "BEGIN_TILING_DATA_DEF");
    TilingState& state = tiling_state();
    if (state.collecting == nullptr) {
        return Nested();
    }
    const size_t first = state.collecting->size();
    const std::string outer = state.prefix;
    state.prefix += std::string(name) + ".";
    alignas(Nested) unsigned char storage[sizeof(Nested)];
    const Nested* built = new (storage) Nested();
    state.prefix = outer;
    for (size_t i = first; i < state.collecting->size(); ++i) {
        TilingField& field = (*state.collecting)[i];
        field.offset += reinterpret_cast<size_t>(member) - reinterpret_cast<size_t>(storage);
    }
    return *built;
}

// The value of an array field: `[v0,v1,...]` with one value per element.
inline bool store_array(const TilingField& field, void* at, const std::string& text,
                        std::string& problem) {
    if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
        problem = "expected [" + std::to_string(field.count) + " values]";
        return false;
    }
    std::vector<std::string> items;
    std::stringstream list(text.substr(1, text.size() - 2));
    for (std::string item; std::getline(list, item, ',');) {
        items.push_back(item);
    }
    if (items.size() != field.count) {
        problem = "expected " + std::to_string(field.count) + " values, got " +
                  std::to_string(items.size());
        return false;
    }
    for (size_t i = 0; i < items.size(); ++i) {
        if (!field.store(static_cast<char*>(at) + i * field.element_bytes, items[i])) {
            problem = "element " + std::to_string(i) + " (" + items[i] + "): expected " +
                      expected_text(field.type);
            return false;
        }
    }
    return true;
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
    using Element = std::remove_all_extents_t<Field>;
    const size_t count = std::is_array_v<Field> ? sizeof(Field) / sizeof(Element) : 0;
    if constexpr (tiling_type_name<Element>() != nullptr) {
        return TilingField{name, tiling_type_name<Element>(), offset, count, sizeof(Element),
                           &store_field<Element>};
    } else {
        return TilingField{name, "", offset, count, 0, nullptr};
    }
}

// The aggregate initializers a member of type T takes: one, or one per
// element of an array (brace elision reaches its elements).
template <typename T>
constexpr size_t initializer_slots() {
    return std::is_array_v<T> ? sizeof(T) / sizeof(std::remove_all_extents_t<T>) : 1;
}

// Converts to any field type: counts an aggregate's fields (T{AnyField, ...}).
struct AnyField {
    template <typename U>
    operator U() const;
};

template <typename T, size_t... I>
constexpr bool brace_initializable(std::index_sequence<I...>) {
    return requires { T{(static_cast<void>(I), AnyField{})...}; };
}

// Whether T's aggregate initialization takes exactly ``slots`` initializers.
template <typename T, size_t slots>
constexpr bool takes_initializers() {
    return brace_initializable<T>(std::make_index_sequence<slots>{}) &&
           !brace_initializable<T>(std::make_index_sequence<slots + 1>{});
}

// The struct GET_TILING_DATA fills: REGISTER_TILING_DEFAULT's, else the class
// REGISTER_TILING_DATA_CLASS declares against optiling's tag (found by
// argument-dependent lookup when the kernel is instantiated, so a kernel with a
// plain struct needs none).
struct NoTilingData {};
NoTilingData* ubscope_registered_tiling(...);

// Registration ranks: a pointer to the highest rank converts best to the
// latest registration's (each rank derives from the one before it).
constexpr size_t MAX_REGISTRATIONS = 256;
template <size_t Rank>
struct RegistrationRank : RegistrationRank<Rank - 1> {};
template <>
struct RegistrationRank<0> {};
constexpr size_t rank_of(size_t counter) {
    return counter < MAX_REGISTRATIONS ? counter : MAX_REGISTRATIONS;
}

template <typename Default, typename Tag>
auto default_tiling() {
    if constexpr (std::is_same_v<Default, NoTilingData>) {
        return ubscope_registered_tiling(Tag{}, static_cast<RegistrationRank<MAX_REGISTRATIONS>*>(nullptr));
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
    for (TilingField& field : fields) {
        field.offset -= reinterpret_cast<size_t>(&data);
    }
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
        names += field.count ? "[" + std::to_string(field.count) + "]" : "";
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
        char* at = reinterpret_cast<char*>(&data) + field.offset;
        std::string problem;
        const bool stored = field.count ? store_array(field, at, given->second, problem)
                                        : field.store(at, given->second);
        if (!stored) {
            const std::string what = field.count ? problem : "expected " + expected_text(field.type);
            const std::string shape = field.count ? "[" + std::to_string(field.count) + "]" : "";
            fail(where, "--tiling " + field.name + "=" + given->second + ": " + what + " (" +
                            field.type + shape + ")");
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
    data_type field_name = ::ubscope_twin::tiling_field<data_type>(&this->field_name, 0,      \
                                                                  #field_name, #data_type);   \
    void set_##field_name(data_type value) { field_name = value; }                            \
    data_type get_##field_name() const { return field_name; }

// The first element's initializer registers the array; the others are zero.
#define TILING_DATA_FIELD_DEF_ARR(arr_type, arr_size, field_name)                              \
    arr_type field_name[arr_size] = {::ubscope_twin::tiling_field<arr_type>(                   \
        &this->field_name[0], arr_size, #field_name, #arr_type)};                              \
    void set_##field_name(const arr_type* values) {                                            \
        std::memcpy(field_name, values, sizeof field_name);                                    \
    }                                                                                          \
    arr_type* get_##field_name() { return field_name; }

#define TILING_DATA_FIELD_DEF_STRUCT(struct_type, field_name) \
    struct_type field_name =                                  \
        ::ubscope_twin::tiling_struct_field<struct_type>(&this->field_name, #field_name);

#define END_TILING_DATA_DEF \
    uint32_t GetDataSize() const { return sizeof(ubscope_self); } \
    }

// Each registration ranks after the ones before it; GET_TILING_DATA takes the
// last, the op's own class (the documented order registers the structs it
// nests first, e.g. REGISTER_TILING_DATA_CLASS(MatmulOp, Matmul)).
#define REGISTER_TILING_DATA_CLASS(op_type, class_name)                           \
    class_name* ubscope_registered_tiling(::optiling::UbscopeTilingTag,           \
                                          ::ubscope_twin::RegistrationRank<        \
                                              ::ubscope_twin::rank_of(__COUNTER__)>*);

#define REGISTER_TILING_DEFAULT(tiling_struct) using ubscope_default_tiling_data = tiling_struct

#define GET_TILING_DATA(tiling_var, tiling_arg)                                                 \
    auto tiling_var = ::ubscope_twin::read_tiling<std::remove_pointer_t<decltype(               \
        ::ubscope_twin::default_tiling<ubscope_default_tiling_data, ::optiling::UbscopeTilingTag>())>>(); \
    (void)(tiling_arg)

#define GET_TILING_DATA_WITH_STRUCT(tiling_struct, tiling_var, tiling_arg) \
    auto tiling_var = ::ubscope_twin::read_tiling<tiling_struct>();        \
    (void)(tiling_arg)

// The type of a plain tiling struct's field (``field`` may be "sub.inner").
#define UBSCOPE_PLAIN_TILING_TYPE(tiling_struct, field) \
    std::remove_cv_t<decltype(std::declval<tiling_struct&>().field)>

// One field of a plain tiling struct, appended by ubscope after the kernel.
#define UBSCOPE_PLAIN_TILING_FIELD(tiling_struct, field)                                          \
    ::ubscope_twin::plain_tiling_field<UBSCOPE_PLAIN_TILING_TYPE(tiling_struct, field)>(#field,   \
                                                                       offsetof(tiling_struct, field))

#define TILING_KEY_IS(tiling_key) (::ubscope_twin::tiling_state().key == static_cast<int64_t>(tiling_key))

// The runner reads the kernel type from the source to decide the launch.
#define KERNEL_TASK_TYPE_DEFAULT(...) ((void)0)
