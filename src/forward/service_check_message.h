// A DogStatsD service check on the forwarding wire (docs/forwarder.md#schema): cstatsd's
// pb::ServiceCheckV2, posted alone to /v2/check, and its decoding on the aggregator's side. Checks
// are rare and small, so the decoding builds the message (within the request body's limit).
// Pure functions; any thread.
#pragma once

#include <string_view>

#include "core/metric.h"
#include "forward/raw_message.h"
#include "gostatsd.pb.h"

namespace cstatsd::forward {

// The path a forwarder posts a check to, and the aggregator serves.
inline constexpr std::string_view kServiceCheckPath = "/v2/check";

// Every string through ToValidUtf8 (an aggregator refuses a message with an invalid one).
pb::ServiceCheckV2 ToServiceCheckV2(const ServiceCheck& check);

// A ServiceCheckV2 into `check` (source = Hostname). kMalformed when it does not parse; kTags /
// kTagLength / kNameLength beyond `limits`' max-ingest-tags, -tag-length, -name-length.
DecodeStatus DecodeServiceCheck(std::string_view wire, const DecodeLimits& limits,
                                ServiceCheck& check);

}  // namespace cstatsd::forward
