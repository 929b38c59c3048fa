#include "proto/embedded_descriptors.h"

extern "C" const char fgw_api_descriptor_set_begin[];
extern "C" const char fgw_api_descriptor_set_end[];

namespace fgw {

absl::string_view EmbeddedApiDescriptorSet() {
  return absl::string_view(
      fgw_api_descriptor_set_begin,
      fgw_api_descriptor_set_end - fgw_api_descriptor_set_begin);
}

}  // namespace fgw
