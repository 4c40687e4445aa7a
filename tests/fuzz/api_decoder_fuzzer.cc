// Every JSON decoder of the wire contract (api/wire_types.h). Input: a first line naming the
// type ("CreateVmRequest", "ListPage<Vm>"; any other line picks one by its bytes' sum), then
// the body. Beyond "never crashes, never leaks", it checks the codecs'
// promises (api/codec.h):
//   - what the strict request parser accepts, the lenient decoder accepts too;
//   - a decoded value encodes as a record that decodes again (what the store writes, it can
//     read back after a restart);
//   - a parsed request body re-encodes to a body the parser accepts (clients that echo what
//     they read back are not refused).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/codec.h"
#include "api/fields.h"
#include "api/wire_types.h"

namespace govpool::api {
namespace {

[[noreturn]] void Broken(const char* type, const char* promise, const std::string& detail) {
  std::fprintf(stderr, "codec promise broken for %s: %s: %s\n", type, promise, detail.c_str());
  std::abort();
}

template <schema::Declared T>
void Exercise(const char* type, std::string_view body) {
  const Result<T> parsed = Parse<T>(body);
  (void)ParseOrDefault<T>(body);
  const Result<T> decoded = Decode<T>(body);
  if (parsed.ok() && !decoded.ok()) {
    Broken(type, "Parse accepted what Decode refused", decoded.status().ToString());
  }
  if (decoded.ok()) {
    (void)Encode(*decoded);
    const std::string record = EncodeRecord(*decoded);
    if (const Result<T> again = Decode<T>(record); !again.ok()) {
      Broken(type, "a decoded record does not decode again", again.status().ToString() + " in " + record);
    }
  }
  if constexpr (schema::Request<T>) {
    if (parsed.ok()) {
      const std::string echoed = Encode(*parsed);
      if (const Result<T> again = Parse<T>(echoed); !again.ok()) {
        Broken(type, "a parsed request re-encodes to a refused body", again.status().ToString() + " in " + echoed);
      }
    }
  }
}

using Exerciser = void (*)(const char*, std::string_view);
struct Entry {
  const char* name;
  Exerciser run;
};
#define GOVPOOL_FUZZ_ENTRY(T) Entry{#T, &Exercise<T>},
constexpr Entry kTypes[] = {GOVPOOL_API_WIRE_TYPES(GOVPOOL_FUZZ_ENTRY)};
#undef GOVPOOL_FUZZ_ENTRY

}  // namespace
}  // namespace govpool::api

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using govpool::api::kTypes;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t end = input.find('\n');
  if (end == std::string_view::npos) return 0;
  const std::string_view type = input.substr(0, end);
  const std::string_view body = input.substr(end + 1);
  std::size_t sum = 0;
  for (char c : type) sum += static_cast<unsigned char>(c);
  const govpool::api::Entry* entry = &kTypes[sum % std::size(kTypes)];
  for (const auto& e : kTypes) {
    if (type == e.name) entry = &e;
  }
  entry->run(entry->name, body);
  return 0;
}
