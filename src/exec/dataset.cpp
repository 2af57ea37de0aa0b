#include "hwnas/exec/dataset.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "hwnas/error.hpp"

namespace hwnas::exec {
namespace {

std::string gunzip(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw Error(path + ": missing; install the Debian package 'dataset-fashion-mnist' (apt-get install dataset-fashion-mnist)");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open file");
  std::string out;
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(got));
  const bool bad = got < 0;
  gzclose(f);
  if (bad) throw Error(path + ": not a valid gzip file");
  return out;
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

// An IDX file of unsigned bytes with `rank` dimensions; returns the dims, data in `out`.
std::vector<std::int64_t> read_idx(const std::string& path, int rank, std::string& data) {
  data = gunzip(path);
  const std::size_t head = 4 + 4 * static_cast<std::size_t>(rank);
  if (data.size() < head || be32(data, 0) != 0x800u + static_cast<std::uint32_t>(rank))
    throw Error(path + ": not an IDX file of " + std::to_string(rank) + "-d unsigned bytes (bad magic number)");
  std::vector<std::int64_t> dims;
  std::int64_t total = 1;
  for (int d = 0; d < rank; ++d) {
    dims.push_back(be32(data, 4 + 4 * static_cast<std::size_t>(d)));
    total *= dims.back();
  }
  if (data.size() != head + static_cast<std::size_t>(total))
    throw Error(path + ": size " + std::to_string(data.size()) + " does not match its dimensions (truncated?)");
  data.erase(0, head);
  return dims;
}

void load_split(const std::string& dir, const std::string& prefix, std::int64_t limit, Dataset& d,
                std::vector<float>& images, std::vector<std::uint8_t>& labels) {
  std::string img, lab;
  const auto idims = read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz", 3, img);
  const auto ldims = read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz", 1, lab);
  if (idims[0] != ldims[0])
    throw Error(dir + "/" + prefix + ": " + std::to_string(idims[0]) + " images but " + std::to_string(ldims[0]) + " labels");
  const std::int64_t n = limit > 0 ? std::min(limit, idims[0]) : idims[0];
  d.height = idims[1], d.width = idims[2];
  const std::int64_t px = d.height * d.width;
  images.resize(static_cast<std::size_t>(n * px));
  for (std::int64_t i = 0; i < n * px; ++i)
    images[i] = (static_cast<float>(static_cast<std::uint8_t>(img[i])) / 255.0f - 0.2860f) / 0.3530f;
  labels.assign(lab.begin(), lab.begin() + n);
  for (auto l : labels)
    if (l >= 10) throw Error(dir + "/" + prefix + "-labels-idx1-ubyte.gz: label " + std::to_string(l) + " out of range 0..9");
}

// Bilinear resampling of one plane, PyTorch's align_corners=false convention.
void resize_plane(const float* src, std::int64_t h, std::int64_t w, float* dst, std::int64_t oh, std::int64_t ow) {
  const double sy = static_cast<double>(h) / oh, sx = static_cast<double>(w) / ow;
  for (std::int64_t y = 0; y < oh; ++y) {
    const double fy = std::max(0.0, (y + 0.5) * sy - 0.5);
    const std::int64_t y0 = std::min<std::int64_t>(static_cast<std::int64_t>(fy), h - 1), y1 = std::min(y0 + 1, h - 1);
    const float ay = static_cast<float>(fy - y0);
    for (std::int64_t x = 0; x < ow; ++x) {
      const double fx = std::max(0.0, (x + 0.5) * sx - 0.5);
      const std::int64_t x0 = std::min<std::int64_t>(static_cast<std::int64_t>(fx), w - 1), x1 = std::min(x0 + 1, w - 1);
      const float ax = static_cast<float>(fx - x0);
      const float top = src[y0 * w + x0] * (1 - ax) + src[y0 * w + x1] * ax;
      const float bot = src[y1 * w + x0] * (1 - ax) + src[y1 * w + x1] * ax;
      dst[y * ow + x] = top * (1 - ay) + bot * ay;
    }
  }
}

std::vector<float> adapt_images(const std::vector<float>& in, std::int64_t n, const Dataset& d, std::int64_t c,
                                std::int64_t h, std::int64_t w) {
  std::vector<float> out(static_cast<std::size_t>(n * c * h * w));
  std::vector<float> plane(static_cast<std::size_t>(h * w));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const float* src = in.data() + (i * d.channels + std::min(ch, d.channels - 1)) * d.height * d.width;
      float* dst = out.data() + (i * c + ch) * h * w;
      if (h == d.height && w == d.width) std::copy_n(src, h * w, dst);
      else resize_plane(src, d.height, d.width, dst, h, w);
    }
  return out;
}

}  // namespace

Dataset load_fashion_mnist(const std::string& dir, std::int64_t train_limit, std::int64_t test_limit) {
  Dataset d;
  d.name = "fashion-mnist";
  d.channels = 1;
  d.classes = 10;
  load_split(dir, "train", train_limit, d, d.train_images, d.train_labels);
  load_split(dir, "t10k", test_limit, d, d.test_images, d.test_labels);
  return d;
}

Dataset adapt(const Dataset& d, std::int64_t channels, std::int64_t height, std::int64_t width) {
  if (channels == d.channels && height == d.height && width == d.width) return d;
  if (channels < 1 || height < 1 || width < 1 || (d.channels != 1 && channels != d.channels))
    throw Error("dataset '" + d.name + "': cannot adapt " + std::to_string(d.channels) + " channels to " + std::to_string(channels));
  Dataset out;
  out.name = d.name;
  out.channels = channels, out.height = height, out.width = width, out.classes = d.classes;
  out.train_images = adapt_images(d.train_images, d.train_count(), d, channels, height, width);
  out.test_images = adapt_images(d.test_images, d.test_count(), d, channels, height, width);
  out.train_labels = d.train_labels;
  out.test_labels = d.test_labels;
  return out;
}

}  // namespace hwnas::exec
