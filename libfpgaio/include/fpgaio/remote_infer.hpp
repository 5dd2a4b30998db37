// fpga-infer over fpga-remote (docs/PROTOCOL.md): the server's model
// directory and its two requests (GET /v1/models, POST /v1/infer), and the
// client side that sends batches of whole images and checks the answers.
// The client reads, numbers and writes exactly as fpga-infer does
// (fpgaio/infer.hpp); the server only computes classes and scores.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fpgaio/bnn.hpp"
#include "fpgaio/images.hpp"
#include "fpgaio/infer.hpp"
#include "fpgaio/remote.hpp"
#include "fpgaio/remote_devices.hpp"

namespace fpgaio::remote {

// A model name a client may give: 1 to 128 of [A-Za-z0-9._+-], not starting
// with '.' or '-', without "..": never a path, never a hidden file.
bool valid_model_name(const std::string& name);

// ---- Server -----------------------------------------------------------------

// The models a server offers: NAME.fbnn in its --models directory, and its
// default model (--default-model NAME, else the model fpga-infer uses on
// that host, under its file's name without .fbnn; a file of that name in the
// directory takes its place). Files are read when first asked for and read
// again when they change (size, time or inode), so a model replaced on disk
// is served with its new CRC-32. Thread-safe.
class ModelStore {
 public:
  // `dir` may be empty (the default model only). Throws Error(usage) when
  // the directory cannot be read or the default name is not in it.
  ModelStore(std::string dir, std::string default_name);
  ~ModelStore();

  struct Loaded {
    std::string name, path;
    bool is_default = false;
    bnn::Model model;
    std::uint32_t crc = 0;  // the model file's own CRC-32 (its last four bytes)
    const bnn::Engine& engine() const;  // made on first use

   private:
    friend class ModelStore;
    mutable std::once_flag once_;
    mutable std::unique_ptr<bnn::Engine> engine_;
  };

  // "" is the default model. Throws Error(usage) for a name that is not
  // valid (400), Error(io, ENOENT) for one that is not here (404), and the
  // loader's error for a damaged file.
  std::shared_ptr<const Loaded> find(const std::string& name);
  // Every model's name, the default's first.
  std::vector<std::string> names();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GET /v1/models[?name=NAME | ?default=1]: JSON (see docs/PROTOCOL.md).
Response models_response(ModelStore& store, const Request& req);
// POST /v1/infer?model=NAME&crc=XXXXXXXX&scores=0|1 with images of the
// model's input shape (HWC uint8, fitted as fpga-infer fits them): u16
// classes, then i32 scores when asked for, little-endian. On the CPU (or
// without a lease) the CPU engine computes; on a FINN device (csim:0, a card
// whose xclbin runs bnn) its driver gives the classes, and scores are
// refused (the service leases a CPU slot for them).
Response infer_response(ModelStore& store, const Request& req, DevicePool::Lease* lease = nullptr);

// ---- Client -----------------------------------------------------------------

// A model as a server describes it, and the host that did.
struct RemoteModel {
  std::string name;
  std::uint32_t crc = 0;
  bnn::Shape input;
  std::vector<std::string> classes;
  std::string host;
};

// Asks the hosts (with failover) for the model `name` ("": the server's
// default). Errors (unknown or invalid name, damaged model) name the host.
RemoteModel fetch_model(HostPool& hosts, const std::string& name);

// The largest answer (classes and scores) a request may ask for.
constexpr std::size_t kMaxInferAnswer = std::size_t{64} << 20;

// Images a request, so that its body stays under `chunk_bytes` and its
// answer under kMaxInferAnswer (at least 1).
std::size_t images_per_request(const RemoteModel& m, std::size_t chunk_bytes, bool scores);

// Computes one batch on the hosts. Checks the answer (sizes, classes in
// range, each class the first best score). A host whose model has another
// CRC-32 than the one `m` came from is an error naming both hosts.
infer::Answer infer_batch(HostPool& hosts, const RemoteModel& m, const images::Batch& b, bool scores);

}  // namespace fpgaio::remote
