// What a DeviceBackend has when its backend does not say otherwise: no
// device by name only, nothing to say when it lists none, no deflate units.
#include "fpgaio/deflate_units.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio {

std::optional<Device> DeviceBackend::find_unlisted(const std::string&) const { return std::nullopt; }

std::vector<Device> DeviceBackend::unlisted() const { return {}; }

std::string DeviceBackend::why_none() const { return ""; }

std::vector<std::unique_ptr<DeflateUnit>> DeviceBackend::open_deflate_units(const Device& device, unsigned) const {
  throw Error(ErrorKind::device, device.name + ": no deflate kernel");
}

}  // namespace fpgaio
