// The live status page, GET /status (docs/status-page.md): one self-contained HTML document —
// inline CSS and JavaScript, no external asset — that fetches /status.json every 2 seconds and
// draws the numbers, tables and charts itself, writing data only through textContent and
// attributes. Immutable; any thread.
#pragma once

#include <string_view>

namespace cstatsd::http {

std::string_view StatusPageHtml();

}  // namespace cstatsd::http
