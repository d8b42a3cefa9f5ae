#pragma once
// AlignedBuffer: a growable byte buffer whose storage starts on a
// kDirectIoAlignment boundary, so full buffers can be written with O_DIRECT.

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>

#include "appliance/os/file_system.h"

namespace annex::os {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;

  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_.get(), size_}; }
  void clear() { size_ = 0; }
  // For writing in place: the caller reserves, writes through mutable_data(),
  // then sets the size it wrote.
  char* mutable_data() { return data_.get(); }
  void resize(size_t n) { size_ = n; }

  // Capacity is rounded up to the alignment; existing bytes are kept.
  void reserve(size_t n) {
    if (n <= capacity_) return;
    n = (n + kDirectIoAlignment - 1) / kDirectIoAlignment * kDirectIoAlignment;
    Storage bigger(static_cast<char*>(std::aligned_alloc(kDirectIoAlignment, n)));
    if (!bigger) throw std::bad_alloc();
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = n;
  }

  // Appends; the caller reserves first (this never grows the buffer).
  void append(std::string_view bytes) {
    std::memcpy(data_.get() + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  using Storage = std::unique_ptr<char, Free>;

  Storage data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace annex::os
