// The cgroup inodes of known containers (docs/cloud-providers.md#origin-detection), over a cgroup
// tree made in a temporary directory.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "cloud/k8s/cgroup_inodes.h"

namespace cstatsd::cloud::k8s {
namespace {

namespace fs = std::filesystem;

class CgroupInodesTest : public ::testing::Test {
 protected:
  CgroupInodesTest() {
    root_ = fs::temp_directory_path() /
            ("cstatsd-cgroup-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~CgroupInodesTest() override { fs::remove_all(root_); }

  // Makes the directory (and its parents); returns its inode.
  std::string Dir(const std::string& path) {
    fs::create_directories(root_ / path);
    struct stat st {};
    EXPECT_EQ(::stat((root_ / path).c_str(), &st), 0);
    return std::to_string(st.st_ino);
  }
  static std::shared_ptr<const Instance> Pod(std::string id) {
    return std::make_shared<const Instance>(Instance{std::move(id), {}});
  }

  fs::path root_;
};

TEST_F(CgroupInodesTest, MapsTheCgroupDirectoryOfEachKnownContainer) {
  const std::string a(64, 'a');
  const std::string b = std::string(63, 'b') + "0";
  const std::string c(64, 'c');
  const std::string unknown(64, 'd');
  ContainerIndex containers{{a, Pod("ns/web")}, {b, Pod("ns/db")}, {c, Pod("ns/old")}};
  const std::string pod = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/";
  const std::string in_a = Dir(pod + "cri-containerd-" + a + ".scope");
  const std::string in_b = Dir("kubepods/besteffort/pod2/" + b);  // cgroupfs driver
  Dir(pod + "cri-containerd-" + unknown + ".scope");
  Dir(pod + "cri-containerd-" + a.substr(1) + ".scope");                     // 63 digits: not an id
  const std::string in_docker = Dir("system.slice/docker-" + a + ".scope");  // a second cgroup of a
  // A container's own sub-cgroups are not looked into.
  Dir(pod + "cri-containerd-" + a + ".scope/" + c);

  EXPECT_EQ(AddCgroupInodes(root_.string(), containers), 3u);
  ASSERT_TRUE(containers.contains("in-" + in_a));
  EXPECT_EQ(containers.at("in-" + in_a)->id, "ns/web");
  ASSERT_TRUE(containers.contains("in-" + in_b));
  EXPECT_EQ(containers.at("in-" + in_b)->id, "ns/db");
  ASSERT_TRUE(containers.contains("in-" + in_docker));
  EXPECT_EQ(containers.at("in-" + in_docker)->id, "ns/web");
  EXPECT_EQ(containers.size(), 6u);  // 3 ids, 3 inodes: not c's, below a's directory
}

TEST_F(CgroupInodesTest, NothingWithoutARootOrContainers) {
  const std::string a(64, 'a');
  Dir("x/" + a);
  ContainerIndex none;
  EXPECT_EQ(AddCgroupInodes(root_.string(), none), 0u);
  EXPECT_TRUE(none.empty());
  ContainerIndex containers{{a, Pod("ns/web")}};
  EXPECT_EQ(AddCgroupInodes("", containers), 0u);
  EXPECT_EQ(AddCgroupInodes((root_ / "missing").string(), containers), 0u);
  EXPECT_EQ(containers.size(), 1u);
}

TEST_F(CgroupInodesTest, StopsAtTheDepthLimit) {
  const std::string a(64, 'a');
  std::string deep;
  for (int i = 0; i < kMaxCgroupDepth; ++i) deep += "d" + std::to_string(i) + "/";
  Dir(deep + a);  // at depth kMaxCgroupDepth + 1
  ContainerIndex containers{{a, Pod("ns/web")}};
  EXPECT_EQ(AddCgroupInodes(root_.string(), containers), 0u);
}

}  // namespace
}  // namespace cstatsd::cloud::k8s
