#include "common/ids.h"

#include <exception>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace govpool {

std::string NewUuid() {
  // random_generator draws every UUID from the OS CSPRNG (getrandom) and sets the version (4)
  // and RFC 4122 variant bits. One per thread: an instance is not safe for concurrent use.
  thread_local boost::uuids::random_generator generate;
  return boost::uuids::to_string(generate());  // lower-case 8-4-4-4-12
}

bool IsUuid(std::string_view text) {
  // string_generator also takes "{...}" and the 32-digit form without dashes; govpool ids are
  // only ever the canonical 36-character form (either case), so check its shape first.
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return false;
  }
  try {
    (void)boost::uuids::string_generator()(text.begin(), text.end());
    return true;
  } catch (const std::exception&) {  // a non-hex digit
    return false;
  }
}

}  // namespace govpool
