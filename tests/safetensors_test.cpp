#include "nhits/safetensors.h"

#include "nhits/model.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace nhits {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "st_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static void WriteRaw(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  static std::string ReadRaw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  // 8-byte little-endian length + header + data, as the format spec describes.
  static std::string Build(const std::string& header, const std::string& data) {
    std::string out;
    for (int i = 0; i < 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return out + header + data;
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTrip) {
  SafetensorsFile f;
  f.tensors["w"] = Tensor{{2, 3}, {1, -2, 3.5f, 0, 1e-7f, -1e30f}};
  f.tensors["b"] = Tensor{{3}, {0.25f, 0.5f, 0.75f}};
  f.tensors["scalar"] = Tensor{{}, {42}};
  f.tensors["empty"] = Tensor{{0, 4}, {}};
  f.metadata["format"] = "pt";
  f.metadata["note"] = "quote \" backslash \\ newline \n unicode \u00e9";
  const std::string path = Path("model.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, f).ok());

  auto r = ReadSafetensors(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->metadata, f.metadata);
  ASSERT_EQ(r->tensors.size(), f.tensors.size());
  for (const auto& [name, t] : f.tensors) {
    ASSERT_TRUE(r->tensors.count(name)) << name;
    EXPECT_EQ(r->tensors.at(name).shape, t.shape) << name;
    EXPECT_EQ(r->tensors.at(name).data, t.data) << name;
  }
  // The header is padded so that the data section starts 8-byte aligned.
  const std::string raw = ReadRaw(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(raw[i]);
  EXPECT_EQ(n % 8, 0u);
}

TEST_F(SafetensorsTest, ExactBytesOfKnownFile) {
  // Compact JSON, tensors in name order, space padding: what Python's safetensors writes.
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}})";
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  ASSERT_EQ(padded.size() % 8, 0u);
  const std::string data = "\x00\x00\x80\x3f\x00\x00\x00\xc0\x00\x00\x00\x3f"s;  // 1, -2 | 0.5
  SafetensorsFile f;
  f.tensors["b"] = Tensor{{}, {0.5f}};
  f.tensors["a"] = Tensor{{2}, {1.0f, -2.0f}};
  const std::string path = Path("known.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, f).ok());
  EXPECT_EQ(ReadRaw(path), Build(padded, data));
}

TEST_F(SafetensorsTest, ExactBytesWithMetadata) {
  // "__metadata__" comes first, as in Python's writer.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  SafetensorsFile f;
  f.metadata["format"] = "pt";
  f.tensors["x"] = Tensor{{1}, {1.0f}};
  const std::string path = Path("meta.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, f).ok());
  EXPECT_EQ(ReadRaw(path), Build(padded, "\x00\x00\x80\x3f"s));
}

TEST_F(SafetensorsTest, ReadsHandBuiltFile) {
  const std::string path = Path("hand.safetensors");
  WriteRaw(
      path,
      Build(R"({"t":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}})",
            "\x00\x00\x80\x3f\x00\x00\x00\xc0"s));
  auto r = ReadSafetensors(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tensors.at("t").shape, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(r->tensors.at("t").data, (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(r->metadata.at("k"), "v");
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  auto r = ReadSafetensors(Path("nope.safetensors"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find("nope.safetensors"), std::string::npos);
}

TEST_F(SafetensorsTest, TruncatedHeader) {
  const std::string path = Path("trunc.safetensors");
  const std::string full =
      Build(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "\0\0\0\0"s);
  WriteRaw(path, full.substr(0, 20));
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(r.status().message(), path + ": truncated: header says 54 bytes, file has 12");

  WriteRaw(path, "\x05\x00"s);
  r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos);
}

TEST_F(SafetensorsTest, AnotherKindOfFileIsNamedAsSuch) {
  const std::string path = Path("data.csv");
  WriteRaw(path, "unique_id,ds,y\nairline,1949-01-31,112.0\n");
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find(path + ": not a safetensors file"), std::string::npos) << r.status().message();
}

TEST_F(SafetensorsTest, TruncatedData) {
  const std::string path = Path("short.safetensors");
  WriteRaw(path, Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "\0\0\0\0"s));
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("'a'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("[0, 8]"), std::string::npos) << r.status().message();
}

TEST_F(SafetensorsTest, CorruptHeader) {
  const std::string path = Path("bad.safetensors");
  WriteRaw(path, Build(R"({"a":{"dtype":"F32",)", ""));
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("not valid JSON"), std::string::npos) << r.status().message();

  WriteRaw(path, Build("[1,2]", ""));
  r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);

  WriteRaw(path, Build(R"({"__metadata__":{"k":3}})", ""));
  r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'k'"), std::string::npos) << r.status().message();

  WriteRaw(path, Build(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "\0\0\0\0"s));
  r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
}

TEST_F(SafetensorsTest, OffsetsOutOfRangeOrOverlapping) {
  const std::string path = Path("off.safetensors");
  WriteRaw(path, Build(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                       std::string(8, '\0')));
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("'a'"), std::string::npos);
  EXPECT_NE(r.status().message().find("8 bytes"), std::string::npos) << r.status().message();

  WriteRaw(path, Build(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})",
                       std::string(8, '\0')));
  EXPECT_FALSE(ReadSafetensors(path).ok());

  WriteRaw(path, Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                       std::string(12, '\0')));
  r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("overlapping"), std::string::npos) << r.status().message();
}

TEST_F(SafetensorsTest, ShapeBytesMismatch) {
  const std::string path = Path("mismatch.safetensors");
  WriteRaw(path, Build(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                       std::string(8, '\0')));
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("12 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("8 bytes"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, UnsupportedDtype) {
  const std::string path = Path("i32.safetensors");
  WriteRaw(path, Build(R"({"idx":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                       std::string(4, '\0')));
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(r.status().message().find("'idx'"), std::string::npos);
  EXPECT_NE(r.status().message().find("I32"), std::string::npos);
}

TEST_F(SafetensorsTest, DecodesF16BF16F64) {
  const std::string path = Path("half.safetensors");
  // F16: 1, -2, 65504, 0.5, smallest subnormal 2^-24, +inf. BF16: 1, -2, 3.140625.
  // F64: 0.1 (rounded to float).
  const std::string f16 = "\x00\x3c\x00\xc0\xff\x7b\x00\x38\x01\x00\x00\x7c"s;
  const std::string bf16 = "\x80\x3f\x00\xc0\x49\x40"s;
  const std::string f64 = "\x9a\x99\x99\x99\x99\x99\xb9\x3f"s;
  WriteRaw(path, Build(R"({"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},)"
                       R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},)"
                       R"("d":{"dtype":"F64","shape":[1],"data_offsets":[18,26]}})",
                       f16 + bf16 + f64));
  auto r = ReadSafetensors(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& h = r->tensors.at("h").data;
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(h[2], 65504.0f);
  EXPECT_EQ(h[3], 0.5f);
  EXPECT_EQ(h[4], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(h[5]) && h[5] > 0);
  EXPECT_EQ(r->tensors.at("b").data, (std::vector<float>{1.0f, -2.0f, 3.140625f}));
  EXPECT_EQ(r->tensors.at("d").data, (std::vector<float>{0.1f}));
}

// Hostile files end in errors naming the file, never in a crash: a 100 000-digit layer index
// overflowed std::regex's recursion, a deeply nested shape overflowed the error message's dump,
// and out-of-range sizes in the configuration allocated without bound or wrapped.
TEST_F(SafetensorsTest, HostileCheckpointsFailCleanly) {
  const std::string path = Path("hostile.safetensors");
  auto with_config = [&](const std::string& config, const std::string& tensors, const std::string& data) {
    std::string escaped;
    for (char c : config) escaped += c == '"' ? std::string("\\\"") : std::string(1, c);
    WriteRaw(path, Build(R"({"__metadata__":{"nhits_config":")" + escaped + R"("})" + tensors + "}", data));
    return LoadCheckpoint(path);
  };
  const std::string small = R"({"h":2,"input_size":4,"mlp_units":[[4,4]]})";
  const std::string long_name = "blocks.0.layers." + std::string(100000, '7') + ".weight";
  Result<Model> r = with_config(small, R"(,")" + long_name + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})",
                                "\0\0\0\0"s);
  EXPECT_FALSE(r.ok());
  r = with_config(R"({"h":1e12,"input_size":4})", "", "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'h'"), std::string::npos) << r.status().message();
  r = with_config(R"({"h":1.5,"input_size":4})", "", "");
  EXPECT_FALSE(r.ok()) << "1.5 is not a horizon";
  r = with_config(R"({"h":2,"input_size":4,"n_blocks":[1000000000,1,1]})", "", "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too large"), std::string::npos) << r.status().message();
  const std::string nested = std::string(200000, '[') + std::string(200000, ']');
  WriteRaw(path, Build(R"({"a":{"dtype":"F32","shape":[)" + nested + R"(],"data_offsets":[0,4]}})", "\0\0\0\0"s));
  const Result<SafetensorsFile> deep = ReadSafetensors(path);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("shape entry 0"), std::string::npos) << deep.status().message();
}

TEST_F(SafetensorsTest, WriterRejectsShapeDataMismatch) {
  SafetensorsFile f;
  f.tensors["w"] = Tensor{{2, 2}, {1, 2, 3}};
  const Status st = WriteSafetensors(Path("x.safetensors"), f);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(Path("x.safetensors")));
}

TEST_F(SafetensorsTest, AtomicWriteIntoMissingDirectoryFails) {
  const std::string missing = Path("no_such_dir");
  const std::string path = missing + "/out.bin";
  const Status st = WriteFileAtomic(path, "hello");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_NE(st.message().find(missing), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(SafetensorsTest, AtomicWriteOverwritesAndLeavesNoTemp) {
  const std::string path = Path("out.bin");
  ASSERT_TRUE(WriteFileAtomic(path, "first version, longer").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second").ok());
  EXPECT_EQ(ReadRaw(path), "second");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "out.bin");
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(SafetensorsTest, AtomicWriteOntoDirectoryFailsCleanly) {
  const std::string target = Path("sub");
  fs::create_directory(target);
  const Status st = WriteFileAtomic(target, "x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_NE(st.message().find(target), std::string::npos);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);  // only "sub": the temp file was removed
}

// A symbolic link is written through: its target gets the bytes, the link stays a link. The
// replaced file keeps its permissions. A FIFO is written into, not replaced by a regular file.
TEST_F(SafetensorsTest, AtomicWriteThroughLinksKeepsModesAndFifos) {
  const std::string real = Path("real.csv"), link = Path("link.csv");
  WriteRaw(real, "old");
  fs::permissions(real, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink("real.csv", link);
  ASSERT_TRUE(WriteFileAtomic(link, "new").ok());
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(ReadRaw(real), "new");
  EXPECT_EQ(fs::status(real).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  const std::string dangling = Path("dangling.csv");  // a link to a file not written yet
  fs::create_symlink("later.csv", dangling);
  ASSERT_TRUE(WriteFileAtomic(dangling, "created").ok());
  EXPECT_TRUE(fs::is_symlink(dangling));
  EXPECT_EQ(ReadRaw(Path("later.csv")), "created");
  const std::string fifo = Path("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = ReadRaw(fifo); });
  const Status st = WriteFileAtomic(fifo, "through the pipe");
  if (!st.ok()) ::close(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK));  // release the reader, then fail
  reader.join();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(got, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fifo));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 5) << "real.csv, link.csv, dangling.csv, later.csv and pipe: no temp file left";
}

}  // namespace
}  // namespace nhits
