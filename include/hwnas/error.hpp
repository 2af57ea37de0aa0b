#pragma once
// The one exception type of the library. Its message names where the problem is
// (file, JSON path or node) and the offending value:
//   "resnet.json: layers[3].stride: must be >= 1, got 0"
#include <stdexcept>
#include <string>

namespace hwnas {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hwnas
