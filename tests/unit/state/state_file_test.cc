#include "state/state_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace cstatsd::state {
namespace {

namespace fs = std::filesystem;

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cstatsd_state_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/cstatsd.state";
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void Put(const std::string& bytes) { std::ofstream(path_, std::ios::binary) << bytes; }

  static State OneGauge() {
    State st;
    st.written_ns = 5;
    st.gauges.push_back(
        {SeriesKeyRef::Adopt(SeriesKey::Create(MetricType::kGauge, "g", "", "",
                                               SeriesKey::Hash(MetricType::kGauge, "g", "", ""))),
         3.5, 1000});
    return st;
  }

  std::string dir_, path_;
};

TEST_F(StateFileTest, WriteThenTakeRemovesTheFile) {
  StateFile f(path_);
  EXPECT_FALSE(f.Present());
  ASSERT_TRUE(f.Write(Encode(OneGauge())).ok());
  EXPECT_TRUE(f.Present());
  // Nothing but the file is left in the directory (the temporary was renamed).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  StateFile::Taken t = f.Take();
  ASSERT_TRUE(t.state.has_value()) << t.error;
  EXPECT_TRUE(t.error.empty());
  ASSERT_EQ(t.state->gauges.size(), 1u);
  EXPECT_EQ(t.state->gauges[0].value, 3.5);
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_FALSE(f.Present());
}

TEST_F(StateFileTest, WriteReplacesAnOlderFile) {
  StateFile f(path_);
  ASSERT_TRUE(f.Write("old").ok());
  ASSERT_TRUE(f.Write(Encode(OneGauge())).ok());
  EXPECT_EQ(Slurp(path_), Encode(OneGauge()));
}

TEST_F(StateFileTest, CorruptFileIsRenamedAside) {
  std::string bytes = Encode(OneGauge());
  bytes[bytes.size() - 1] ^= 1;
  Put(bytes);
  StateFile f(path_);
  ASSERT_TRUE(f.Present());
  StateFile::Taken t = f.Take();
  EXPECT_FALSE(t.state.has_value());
  EXPECT_EQ(t.error, "checksum mismatch");
  EXPECT_TRUE(t.renamed);
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_EQ(Slurp(f.bad_path()), bytes);
  EXPECT_FALSE(f.Present());
}

TEST_F(StateFileTest, TruncatedFileIsRenamedAside) {
  Put(Encode(OneGauge()).substr(0, 40));
  StateFile f(path_);
  StateFile::Taken t = f.Take();
  EXPECT_FALSE(t.state.has_value());
  EXPECT_NE(t.error.find("truncated"), std::string::npos) << t.error;
  EXPECT_TRUE(t.renamed);
}

TEST_F(StateFileTest, DirectoryAtThePathIsRefused) {
  fs::create_directory(path_);
  StateFile f(path_);
  StateFile::Taken t = f.Take();
  EXPECT_FALSE(t.state.has_value());
  EXPECT_EQ(t.error, "is a directory");
  EXPECT_FALSE(t.renamed);
  EXPECT_FALSE(f.Present());  // not taken again at every flush
  EXPECT_FALSE(StateFile::CheckWritable(path_).ok());
}

TEST_F(StateFileTest, CheckWritable) {
  EXPECT_TRUE(StateFile::CheckWritable(path_).ok());
  const Status missing = StateFile::CheckWritable(dir_ + "/nope/cstatsd.state");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("No such file or directory"), std::string::npos);
  EXPECT_FALSE(StateFile::CheckWritable(dir_ + "/").ok());
  std::ofstream(dir_ + "/plain") << "x";
  EXPECT_NE(StateFile::CheckWritable(dir_ + "/plain/s").message().find("is not a directory"),
            std::string::npos);
  if (geteuid() != 0) {  // root may write anywhere
    fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
    const Status ro = StateFile::CheckWritable(path_);
    fs::permissions(dir_, fs::perms::owner_all);
    ASSERT_FALSE(ro.ok());
    EXPECT_NE(ro.message().find("is not writable"), std::string::npos);
  }
}

TEST_F(StateFileTest, WriteIntoAMissingDirectoryFails) {
  StateFile f(dir_ + "/gone/cstatsd.state");
  const Status s = f.Write("x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot create"), std::string::npos);
}

}  // namespace
}  // namespace cstatsd::state
