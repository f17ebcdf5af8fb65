#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_util.h"
#include "core/quant.h"

namespace izwi {

namespace fs = std::filesystem;
using nlohmann::json;

// RAII read-only memory mapping of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      fail(errno == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo, "cannot open '", path,
           "': ", std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      ::close(fd_);
      fail(ErrorKind::kIo, "cannot stat '", path, "': ", std::strerror(errno));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (p == MAP_FAILED) {
        ::close(fd_);
        fail(ErrorKind::kIo, "cannot map '", path, "': ", std::strerror(errno));
      }
      data_ = static_cast<const uint8_t*>(p);
    }
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Drops the whole pages inside [p, p + n) from this process's memory; they
  // are read from the file again if touched (the mapping is read-only).
  bool release(const void* p, size_t n) const {
    const auto* b = static_cast<const uint8_t*>(p);
    if (!data_ || b < data_ || b + n > data_ + size_) return false;
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t lo = (reinterpret_cast<uintptr_t>(b) + page - 1) / page * page;
    const uintptr_t hi = (reinterpret_cast<uintptr_t>(b) + n) / page * page;
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    return true;
  }

 private:
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

namespace {

DType parse_dtype(const std::string& s, const std::string& tensor, const std::string& path) {
  if (s == "F32") return DType::kF32;
  if (s == "F16") return DType::kF16;
  if (s == "BF16") return DType::kBF16;
  if (s == "I32") return DType::kI32;
  if (s == "I64") return DType::kI64;
  // izwi's own block formats (core/quant.h), in its quantized-weight cache files.
  if (s == "Q8") return DType::kQ8;
  if (s == "Q4") return DType::kQ4;
  fail(ErrorKind::kInvalidFormat, "tensor '", tensor, "' in '", path, "' has dtype ", s,
       "; izwi reads F32, F16, BF16, I32 and I64");
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  file_ = std::make_shared<MappedFile>(path);
  const size_t size = file_->size();
  if (size < 8) {
    fail(ErrorKind::kInvalidFormat, "'", path, "' is not a safetensors file: it has ", size,
         " bytes, fewer than the 8-byte header length");
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, file_->data(), 8);
  if (header_len > size - 8 || header_len > (100u << 20)) {
    fail(ErrorKind::kInvalidFormat, "'", path, "' is not a valid safetensors file: header length ",
         header_len, " does not fit in a file of ", size, " bytes (truncated download?)");
  }
  const char* hbegin = reinterpret_cast<const char*>(file_->data() + 8);
  json header;
  try {
    header = json::parse(hbegin, hbegin + header_len);
  } catch (const json::exception& e) {
    fail(ErrorKind::kInvalidFormat, "'", path, "' has a malformed safetensors header: ", e.what());
  }
  if (!header.is_object())
    fail(ErrorKind::kInvalidFormat, "'", path, "': header is not a JSON object");
  data_ = file_->data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (info.is_object())
        for (auto& [k, v] : info.items())
          if (v.is_string()) metadata_[k] = v.get<std::string>();
      continue;
    }
    try {
      Entry e;
      e.dtype = parse_dtype(info.at("dtype").get<std::string>(), name, path);
      e.shape = json_get<std::vector<int64_t>>(info.at("shape"));
      auto offsets = json_get<std::vector<uint64_t>>(info.at("data_offsets"));
      if (offsets.size() != 2) fail(ErrorKind::kInvalidFormat, "bad data_offsets");
      e.begin = offsets[0];
      e.end = offsets[1];
      int64_t numel = 1;
      for (int64_t d : e.shape) {
        if (d < 0) fail(ErrorKind::kInvalidFormat, "negative dimension");
        if (d > 0 && numel > std::numeric_limits<int64_t>::max() / d)
          fail(ErrorKind::kInvalidFormat, "a shape of more than 2^63 values");
        numel *= d;
      }
      if (is_block_format(e.dtype) && (e.shape.size() != 2 || !quantizable(e.dtype, e.shape[1])))
        fail(ErrorKind::kInvalidFormat, "a ", dtype_name(e.dtype),
             " tensor must be 2-D with rows of a multiple of 32 values, got ", shape_str(e.shape));
      const uint64_t want = is_block_format(e.dtype)
                                ? static_cast<uint64_t>(e.shape[0]) * row_bytes(e.dtype, e.shape[1])
                                : static_cast<uint64_t>(numel) * dtype_size(e.dtype);
      if (e.end < e.begin || e.end - e.begin != want) {
        fail(ErrorKind::kInvalidFormat, "tensor '", name, "' in '", path, "' has ", e.end - e.begin,
             " bytes but shape ", shape_str(e.shape), " of ", dtype_name(e.dtype), " needs ", want);
      }
      if (e.end > data_size) {
        fail(ErrorKind::kInvalidFormat, "tensor '", name, "' in '", path, "' ends at byte ", e.end,
             " of a data section of ", data_size, " bytes: the file is truncated (re-download it)");
      }
      tensors_.emplace(name, std::move(e));
    } catch (const json::exception& ex) {
      fail(ErrorKind::kInvalidFormat, "tensor '", name, "' in '", path,
           "' has a malformed header entry: ", ex.what());
    }
  }
}

Tensor SafetensorsFile::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    fail(ErrorKind::kNotFound, "tensor '", name, "' not found in '", path_, "'");
  Tensor t;
  t.dtype = it->second.dtype;
  t.shape = it->second.shape;
  t.data = data_ + it->second.begin;
  t.owner = file_;
  return t;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

Checkpoint Checkpoint::open(const std::string& path, const std::string& stem) {
  Checkpoint ck;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path single = fs::path(path) / (stem + ".safetensors");
    const fs::path index = fs::path(path) / (stem + ".safetensors.index.json");
    if (fs::exists(single)) {
      ck.files_.push_back(std::make_shared<SafetensorsFile>(single.string()));
      ck.description_ = single.string();
    } else if (fs::exists(index)) {
      std::ifstream in(index);
      json j;
      try {
        in >> j;
      } catch (const json::exception& e) {
        fail(ErrorKind::kInvalidFormat, "'", index.string(), "' is not valid JSON: ", e.what());
      }
      if (!j.contains("weight_map") || !j["weight_map"].is_object())
        fail(ErrorKind::kInvalidFormat, "'", index.string(), "' has no \"weight_map\" object");
      std::map<std::string, size_t> shard_ids;
      for (auto& [tensor, shard] : j["weight_map"].items()) {
        const std::string shard_name = shard.get<std::string>();
        if (shard_name.find('/') != std::string::npos || shard_name.find("..") != std::string::npos)
          fail(ErrorKind::kInvalidFormat, "'", index.string(), "' names shard '", shard_name,
               "' outside the checkpoint directory");
        auto [it, inserted] = shard_ids.emplace(shard_name, ck.files_.size());
        if (inserted)
          ck.files_.push_back(
              std::make_shared<SafetensorsFile>((fs::path(path) / shard_name).string()));
        ck.index_[tensor] = it->second;
      }
      ck.description_ = index.string();
      return ck;
    } else {
      fail(ErrorKind::kNotFound, "no '", single.filename().string(), "' or '",
           index.filename().string(), "' in '", path, "'");
    }
  } else {
    ck.files_.push_back(std::make_shared<SafetensorsFile>(path));
    ck.description_ = path;
  }
  for (const auto& name : ck.files_[0]->names()) ck.index_[name] = 0;
  return ck;
}

bool SafetensorsFile::release(const Tensor& t) const {
  return file_->release(t.data, t.nbytes());
}

void Checkpoint::release(const Tensor& t) const {
  for (const auto& f : files_)
    if (f->release(t)) return;
}

std::vector<std::string> Checkpoint::paths() const {
  std::vector<std::string> out;
  for (const auto& f : files_) out.push_back(f->path());
  return out;
}

bool Checkpoint::contains(const std::string& name) const {
  auto it = index_.find(name);
  return it != index_.end() && files_[it->second]->contains(name);
}

Tensor Checkpoint::get(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end() || !files_[it->second]->contains(name)) {
    fail(ErrorKind::kNotFound, "tensor '", name, "' not found in checkpoint '", description_, "' (",
         index_.size(), " tensors): is this the right model directory?");
  }
  return files_[it->second]->get(name);
}

Tensor Checkpoint::get(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  Tensor t = get(name);
  if (t.shape != expected_shape) {
    fail(ErrorKind::kInvalidFormat, "tensor '", name, "' in '", description_, "': expected shape ",
         shape_str(expected_shape), ", got ", shape_str(t.shape),
         " (config.json and the weights disagree)");
  }
  return t;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (auto& kv : index_) out.push_back(kv.first);
  return out;
}

}  // namespace izwi
