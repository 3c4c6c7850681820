#include "core/metric.h"

namespace cstatsd {

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kTimer:
      return "timer";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kSet:
      return "set";
  }
  return "unknown";
}

std::string_view EventPriorityName(EventPriority p) {
  return p == EventPriority::kLow ? "low" : "normal";
}

std::string_view EventAlertTypeName(EventAlertType t) {
  switch (t) {
    case EventAlertType::kWarning:
      return "warning";
    case EventAlertType::kError:
      return "error";
    case EventAlertType::kSuccess:
      return "success";
    case EventAlertType::kInfo:
      break;
  }
  return "info";
}

std::string_view ServiceCheckStatusName(ServiceCheckStatus s) {
  switch (s) {
    case ServiceCheckStatus::kOk:
      return "ok";
    case ServiceCheckStatus::kWarning:
      return "warning";
    case ServiceCheckStatus::kCritical:
      return "critical";
    case ServiceCheckStatus::kUnknown:
      break;
  }
  return "unknown";
}

}  // namespace cstatsd
