#include "libs/auth/reloading_file.h"

#include <filesystem>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/test_keys.h"

namespace longrun::auth {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// A file holding one integer; "bad" (or anything else) does not parse.
class ReloadingFileTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<ReloadingFile<int>>> Create(absl::string_view name = "n") {
    return ReloadingFile<int>::Create(
        {.path = dir_.File(name), .name = "number file"},
        [this](absl::string_view content) -> absl::StatusOr<int> {
          ++parses_;
          int n = 0;
          if (!absl::SimpleAtoi(content, &n)) return absl::InvalidArgumentError("not a number");
          return n;
        },
        clock_);
  }

  TempDir dir_;
  FakeClock clock_;
  int parses_ = 0;
};

TEST_F(ReloadingFileTest, CreateNeedsAReadableValidFile) {
  absl::StatusOr<std::unique_ptr<ReloadingFile<int>>> missing = Create();
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr(absl::StrCat("number file ", dir_.File("n"), ": cannot open")));
  dir_.Write("n", "bad");
  absl::StatusOr<std::unique_ptr<ReloadingFile<int>>> bad = Create();
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr(": not a number"));
  std::filesystem::create_directory(dir_.File("d"));
  EXPECT_EQ(Create("d").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReloadingFileTest, ReloadsChangedContent) {
  dir_.Write("n", "1");
  auto file = Create();
  ASSERT_TRUE(file.ok()) << file.status();
  ReloadingFile<int>& f = **file;
  EXPECT_EQ(*f.Get(), 1);
  EXPECT_EQ(f.loaded_at(), clock_.Now());

  ReloadRunResult r = f.RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.changed);
  EXPECT_FALSE(r.logged);

  const std::shared_ptr<const int> old = f.Get();
  clock_.Advance(absl::Seconds(5));
  dir_.Write("n", "2");
  r = f.RunOnce();
  EXPECT_TRUE(r.ok && r.changed && r.reloaded && r.logged);
  EXPECT_EQ(*f.Get(), 2);
  EXPECT_EQ(*old, 1);  // a value in use stays valid
  EXPECT_EQ(f.loaded_at(), clock_.Now());

  // Rewriting the same content (a touch) is not a change.
  dir_.Write("n", "2");
  r = f.RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(parses_, 2);
}

TEST_F(ReloadingFileTest, RotationByRenameAndBySymlinkSwap) {
  dir_.Write("n", "1");
  auto file = Create();
  ASSERT_TRUE(file.ok());
  dir_.Replace("n", "2");
  EXPECT_TRUE((*file)->RunOnce().reloaded);
  EXPECT_EQ(*(*file)->Get(), 2);

  // A Kubernetes secret volume: key -> ..data/key, ..data -> ..<timestamp>; an update writes a
  // new timestamped directory and swaps the ..data link.
  std::filesystem::create_directory(dir_.File("..v1"));
  dir_.Write("..v1/k", "10");
  std::filesystem::create_directory_symlink("..v1", dir_.File("..data"));
  std::filesystem::create_symlink("..data/k", dir_.File("k"));
  auto secret = Create("k");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*(*secret)->Get(), 10);
  std::filesystem::create_directory(dir_.File("..v2"));
  dir_.Write("..v2/k", "20");
  std::filesystem::create_directory_symlink("..v2", dir_.File("..data_tmp"));
  std::filesystem::rename(dir_.File("..data_tmp"), dir_.File("..data"));
  std::filesystem::remove_all(dir_.File("..v1"));
  EXPECT_TRUE((*secret)->RunOnce().reloaded);
  EXPECT_EQ(*(*secret)->Get(), 20);
}

TEST_F(ReloadingFileTest, BadContentKeepsThePreviousValueAndLogsOnce) {
  dir_.Write("n", "1");
  auto file = Create();
  ASSERT_TRUE(file.ok());
  ReloadingFile<int>& f = **file;

  dir_.Write("n", "bad");
  ReloadRunResult r = f.RunOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.changed);
  EXPECT_FALSE(r.reloaded);
  EXPECT_TRUE(r.logged);
  EXPECT_EQ(*f.Get(), 1);
  EXPECT_EQ(parses_, 2);

  // The same bad content: still failing, not parsed again, not logged again...
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(5));
    r = f.RunOnce();
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.changed);
    EXPECT_FALSE(r.logged);
  }
  EXPECT_EQ(parses_, 2);
  // ...until the reminder interval has passed.
  clock_.Advance(absl::Minutes(10));
  EXPECT_TRUE(f.RunOnce().logged);
  EXPECT_FALSE(f.RunOnce().logged);

  // Different bad content is a new failure: logged at once.
  dir_.Write("n", "worse");
  r = f.RunOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.logged);
  EXPECT_EQ(*f.Get(), 1);

  // Fixed.
  clock_.Advance(absl::Seconds(5));
  dir_.Write("n", "3");
  r = f.RunOnce();
  EXPECT_TRUE(r.ok && r.reloaded);
  EXPECT_EQ(*f.Get(), 3);
  EXPECT_EQ(f.loaded_at(), clock_.Now());
}

TEST_F(ReloadingFileTest, MissingFileKeepsThePreviousValue) {
  dir_.Write("n", "1");
  auto file = Create();
  ASSERT_TRUE(file.ok());
  ReloadingFile<int>& f = **file;
  std::filesystem::remove(dir_.File("n"));
  ReloadRunResult r = f.RunOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.logged);
  EXPECT_EQ(*f.Get(), 1);
  EXPECT_FALSE(f.RunOnce().logged);
  // Back with the same content: fine again, nothing to reload.
  dir_.Write("n", "1");
  r = f.RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(parses_, 1);
  // A later failure is logged again.
  std::filesystem::remove(dir_.File("n"));
  EXPECT_TRUE(f.RunOnce().logged);
}

TEST_F(ReloadingFileTest, BadContentBackAfterAReadErrorStaysFailing) {
  dir_.Write("n", "1");
  auto file = Create();
  ASSERT_TRUE(file.ok());
  dir_.Write("n", "bad");
  EXPECT_FALSE((*file)->RunOnce().ok);
  std::filesystem::remove(dir_.File("n"));
  EXPECT_FALSE((*file)->RunOnce().ok);
  dir_.Write("n", "bad");
  ReloadRunResult r = (*file)->RunOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.logged);  // the failure changed back from "cannot open" to "not a number"
  EXPECT_EQ(*(*file)->Get(), 1);
}

TEST_F(ReloadingFileTest, TooLargeIsAFailure) {
  dir_.Write("n", "1");
  auto file = ReloadingFile<int>::Create(
      {.path = dir_.File("n"), .name = "n", .max_bytes = 4},
      [](absl::string_view c) -> absl::StatusOr<int> { return static_cast<int>(c.size()); },
      clock_);
  ASSERT_TRUE(file.ok());
  dir_.Write("n", "12345");
  EXPECT_FALSE((*file)->RunOnce().ok);
  EXPECT_EQ(*(*file)->Get(), 1);
}

TEST_F(ReloadingFileTest, ReadersSeeWholeValuesWhileItReloads) {
  dir_.Write("n", "0");
  auto file = Create();
  ASSERT_TRUE(file.ok());
  ReloadingFile<int>& f = **file;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      int last = 0;
      while (!stop.load()) {
        const std::shared_ptr<const int> v = f.Get();
        if (v == nullptr || *v < last) bad.fetch_add(1);  // never null, never back in time
        last = v == nullptr ? last : *v;
        std::this_thread::yield();
      }
    });
  }
  for (int i = 1; i <= 50; ++i) {
    dir_.Write("n", absl::StrCat(i));
    ASSERT_TRUE(f.RunOnce().reloaded) << i;
  }
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(*f.Get(), 50);
}

}  // namespace
}  // namespace longrun::auth
