// Safetensors checkpoints, memory-mapped.
//
// The file is mapped read-only and tensors are views into the mapping, so a
// 4 GB checkpoint costs no copy and pages are read on first use. A directory
// with `model.safetensors.index.json` is read as the union of its shards.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace izwi {

class MappedFile;

class SafetensorsFile {
 public:
  // Opens and validates one .safetensors file (header, dtypes, offsets).
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return path_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  Tensor get(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Drops a tensor's pages from memory if it is a view into this file (see
  // Checkpoint::release); false if it is not.
  bool release(const Tensor& t) const;

 private:
  struct Entry {
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;  // byte offsets into the data section
  };
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::map<std::string, Entry> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint: one file or a set of shards, addressed by tensor name.
class Checkpoint {
 public:
  // `path` is a .safetensors file, or a directory holding `<stem>.safetensors`
  // or `<stem>.safetensors.index.json`.
  static Checkpoint open(const std::string& path, const std::string& stem = "model");

  bool contains(const std::string& name) const;
  // Looks up a tensor and checks its shape; the error names the tensor, the
  // file and both shapes.
  Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  Tensor get(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::string& description() const { return description_; }
  std::vector<std::string> paths() const;  // the files read (one, or the shards)
  // For a tensor that has been converted and will not be read again (weights
  // quantized at load): its whole pages leave this process's resident memory.
  // A later read would fetch them from the file again. No-op for other memory.
  void release(const Tensor& t) const;

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> index_;  // tensor name -> file
  std::string description_;
};

}  // namespace izwi
