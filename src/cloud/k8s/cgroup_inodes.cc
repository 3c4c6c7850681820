#include "cloud/k8s/cgroup_inodes.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string_view>
#include <utility>
#include <vector>

namespace cstatsd::cloud::k8s {
namespace {

constexpr size_t kContainerIdLength = 64;

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// The first known container id in a directory name, or null.
const std::shared_ptr<const Instance>* FindId(std::string_view name,
                                              const ContainerIndex& containers) {
  size_t i = 0;
  while (i < name.size()) {
    if (!IsHex(name[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < name.size() && IsHex(name[j])) ++j;
    if (j - i == kContainerIdLength) {
      auto it = containers.find(name.substr(i, j - i));
      if (it != containers.end()) return &it->second;
    }
    i = j;
  }
  return nullptr;
}

struct Walk {
  const ContainerIndex& known;  // the ids (not the entries being added)
  std::vector<std::pair<std::string, std::shared_ptr<const Instance>>> found;

  // `fd` is an open directory, owned (closed) here.
  void Dir(int fd, int depth) {
    DIR* dir = fdopendir(fd);
    if (dir == nullptr) {
      close(fd);
      return;
    }
    while (const dirent* e = readdir(dir)) {
      const std::string_view name = e->d_name;
      if (name == "." || name == ".." || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)) {
        continue;
      }
      struct stat st {};
      if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
        continue;
      }
      if (const auto* instance = FindId(name, known)) {
        found.emplace_back("in-" + std::to_string(st.st_ino), *instance);
        continue;  // a container's own sub-cgroups are not containers
      }
      if (depth + 1 >= kMaxCgroupDepth) continue;
      const int child =
          openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) Dir(child, depth + 1);
    }
    closedir(dir);
  }
};

}  // namespace

size_t AddCgroupInodes(const std::string& root, ContainerIndex& containers) {
  if (root.empty() || containers.empty()) return 0;
  const int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  Walk walk{containers, {}};
  walk.Dir(fd, 0);
  size_t added = 0;
  for (auto& [key, instance] : walk.found) {
    added += containers.emplace(std::move(key), std::move(instance)).second ? 1 : 0;
  }
  return added;
}

}  // namespace cstatsd::cloud::k8s
