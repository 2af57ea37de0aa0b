#pragma once
// Image classification data for the executor: Fashion-MNIST from Debian's
// dataset-fashion-mnist package (IDX files, gzip-compressed).
#include <cstdint>
#include <string>
#include <vector>

namespace hwnas::exec {

struct Dataset {
  std::string name;
  std::int64_t channels = 1, height = 0, width = 0;
  int classes = 0;
  // images as [N, channels, height, width] floats (normalised), labels 0..classes-1
  std::vector<float> train_images, test_images;
  std::vector<std::uint8_t> train_labels, test_labels;
  std::int64_t train_count() const { return static_cast<std::int64_t>(train_labels.size()); }
  std::int64_t test_count() const { return static_cast<std::int64_t>(test_labels.size()); }
};

inline const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from `dir`; keeps the first
// `train_limit` / `test_limit` images (0: all). Pixels become (p/255 - 0.2860) / 0.3530.
// Throws naming the file and the Debian package when a file is missing, and naming the file
// when it is not a valid IDX file.
Dataset load_fashion_mnist(const std::string& dir = kFashionMnistDir, std::int64_t train_limit = 0,
                           std::int64_t test_limit = 0);

// The dataset resampled (bilinear, align_corners=false) to channels x height x width; one
// channel is replicated to `channels`. Returns `d` unchanged when it already fits.
Dataset adapt(const Dataset& d, std::int64_t channels, std::int64_t height, std::int64_t width);

}  // namespace hwnas::exec
