// The forwarding wire of a service check (docs/forwarder.md#schema). The decoding walks the wire
// format with protobuf's CodedInputStream and stops at the first limit passed, so a body of a
// million empty tags is refused before it becomes a million strings.
#include "forward/service_check_message.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <string>

#include "core/utf8.h"

namespace cstatsd::forward {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

ServiceCheckStatus StatusFromWire(uint64_t v) {
  // Unknown values (a newer sender) read as unknown.
  return v <= 3 ? static_cast<ServiceCheckStatus>(v) : ServiceCheckStatus::kUnknown;
}

}  // namespace

pb::ServiceCheckV2 ToServiceCheckV2(const ServiceCheck& c) {
  pb::ServiceCheckV2 m;
  m.set_name(ToValidUtf8(c.name));
  m.set_status(static_cast<pb::ServiceCheckV2::CheckStatus>(c.status));
  m.set_timestamp(c.timestamp);
  m.set_hostname(ToValidUtf8(c.source));
  m.set_message(ToValidUtf8(c.message));
  for (const auto& t : c.tags) m.add_tags(ToValidUtf8(t));
  m.set_containerid(ToValidUtf8(c.container_id));
  return m;
}

DecodeStatus DecodeServiceCheck(std::string_view wire, const DecodeLimits& limits,
                                ServiceCheck& check) {
  check = ServiceCheck{};
  DecodeStatus st;
  auto fail = [&](DecodeError e, std::string message) {
    st.error = e;
    st.message = std::move(message);
    return st;
  };
  auto too_long = [&](const char* what, size_t n, size_t max) {
    return fail(
        what == std::string_view("tag") ? DecodeError::kTagLength : DecodeError::kNameLength,
        std::string("service check ") + what + " of " + std::to_string(n) + " bytes, more than " +
            std::to_string(max));
  };
  CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()), static_cast<int>(wire.size()));
  if (wire.size() > static_cast<size_t>(INT32_MAX)) {
    return fail(DecodeError::kMalformed, "ServiceCheckV2 larger than 2 GiB");
  }
  std::string s;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;  // the end (or a malformed tag, told apart below)
    const uint32_t field = WireFormatLite::GetTagFieldNumber(tag);
    const auto type = WireFormatLite::GetTagWireType(tag);
    if (type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED && field >= 1 && field <= 7 &&
        field != 2 && field != 3) {
      uint32_t len = 0;
      if (!in.ReadVarint32(&len) || len > wire.size()) {
        return fail(DecodeError::kMalformed, "malformed ServiceCheckV2: truncated string");
      }
      // Limits before the copy: a tag count or a length beyond them stops here.
      if (field == 6 && check.tags.size() >= limits.max_tags) {
        return fail(DecodeError::kTags,
                    "a service check with more than " + std::to_string(limits.max_tags) + " tags");
      }
      if (field == 6 && len > limits.max_tag_length) {
        return too_long("tag", len, limits.max_tag_length);
      }
      if ((field == 1 || field == 4) && len > limits.max_name_length) {
        return too_long(field == 1 ? "name" : "hostname", len, limits.max_name_length);
      }
      if (!in.ReadString(&s, static_cast<int>(len))) {
        return fail(DecodeError::kMalformed, "malformed ServiceCheckV2: truncated string");
      }
      if (!IsValidUtf8(s))
        return fail(DecodeError::kMalformed, "ServiceCheckV2 string is not UTF-8");
      switch (field) {
        case 1:
          check.name = s;
          break;
        case 4:
          check.source = s;
          break;
        case 5:
          check.message = s;
          break;
        case 6:
          check.tags.push_back(s);
          break;
        default:  // 7
          check.container_id = s;
          break;
      }
    } else if (type == WireFormatLite::WIRETYPE_VARINT && (field == 2 || field == 3)) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) {
        return fail(DecodeError::kMalformed, "malformed ServiceCheckV2: truncated");
      }
      if (field == 2) {
        check.status = StatusFromWire(v);
      } else {
        check.timestamp = static_cast<int64_t>(v);
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return fail(DecodeError::kMalformed, "malformed ServiceCheckV2: truncated field");
    }
  }
  if (!in.ConsumedEntireMessage() || in.CurrentPosition() != static_cast<int>(wire.size())) {
    return fail(DecodeError::kMalformed, "malformed ServiceCheckV2: bad tag");
  }
  if (check.name.empty()) return fail(DecodeError::kMalformed, "ServiceCheckV2 without a Name");
  return st;
}

}  // namespace cstatsd::forward
