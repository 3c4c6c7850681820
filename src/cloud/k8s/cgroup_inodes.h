// The cgroup inodes of the containers the k8s provider knows
// (docs/cloud-providers.md#origin-detection): a DogStatsD client that cannot read its container id
// (cgroup v2 with a private cgroup namespace) sends `c:in-<inode>`, the inode of its container's
// cgroup directory. Reading the node's cgroup tree maps those inodes back to container ids. File
// I/O: the provider's thread only.
#pragma once

#include <cstddef>
#include <string>

#include "cloud/provider.h"

namespace cstatsd::cloud::k8s {

// How deep under the root a container's cgroup directory may be (kubepods.slice /
// kubepods-<qos>.slice / kubepods-<qos>-pod<uid>.slice / cri-containerd-<id>.scope is 4).
inline constexpr int kMaxCgroupDepth = 8;

// Walks the directories under `root` (at most kMaxCgroupDepth levels, symbolic links not
// followed) and, for each one whose name holds a container id of `containers` (a run of 64 hex
// digits: `cri-containerd-<id>.scope`, `docker-<id>.scope`, `crio-<id>.scope`, or cgroupfs'
// `<id>`), adds "in-<its inode>" → that container's instance to `containers`. An unreadable
// directory is skipped. Returns the number of entries added.
size_t AddCgroupInodes(const std::string& root, ContainerIndex& containers);

}  // namespace cstatsd::cloud::k8s
