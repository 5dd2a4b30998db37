// FINN dataflow accelerators (CNV-W1A1 and networks like it built by FINN for
// Alveo): the host driver of their two DMA kernels, the input DMA `idma0` and
// the output DMA `odma0`, each called as (buffer, numReps); the csim
// stand-in that takes the same buffers and computes with the CPU engine; and
// the pairing of a model with the .xclbin files that implement it.
//
// A FINN accelerator gives one class index a picture and no scores. The
// BNN-PYNQ overlay of a Pynq-Z1 (pynq:0, fpgaio/pynq_driver.hpp) is driven
// through the same driver with ports that give scores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/device_lock.hpp"
#include "fpgaio/bnn.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio::bnn {

// One buffer set on a card's idma0/odma0 pair (or the stand-in's): the part
// that differs between a card and the C simulation. Several ports of one
// card are several batches in flight on it; a port runs one batch at a time.
class FinnPort {
 public:
  virtual ~FinnPort() = default;
  virtual const std::string& name() const = 0;  // "xrt:0/b1", "csim:0/b2"
  // The most images one run takes (the buffers' capacity).
  virtual std::size_t max_images() const = 0;
  // One batch: in[0, n * image bytes) holds n images, NHWC uint8, and
  // out[0, n) is filled before the run with kFinnNoClass, which no class
  // has; the port copies the input to the card, starts idma0 (in, n), then
  // odma0 (out, n), waits for odma0 and copies the n class bytes back.
  // Throws (Error or std::exception) with a one-line reason.
  virtual void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out) = 0;
  // Scores the port gives an image (BNN-PYNQ: 64, the padded last layer's
  // rows), or 0: it gives one class byte an image (run()).
  virtual std::size_t scores_per_image() const { return 0; }
  // The largest score an image can have (the last layer's fan-in).
  virtual std::uint32_t max_score() const { return 0; }
  // A port with scores: one batch as run(), but `out` holds n x
  // scores_per_image() 16-bit scores, filled with kFinnNoScore before the
  // run. Throws (Error or std::exception) with a one-line reason.
  // (Inline: the XRT plugin, which does not link libfpgaio, derives ports.)
  virtual void run_scores(const std::uint8_t*, std::uint32_t, std::uint16_t*) {
    throw Error(ErrorKind::device, name() + ": gives classes only");
  }
};

// The byte the output buffer holds before a run: a card that leaves it there
// did not write that image's class.
constexpr std::uint8_t kFinnNoClass = 0xFF;
// So models with more classes than 255 cannot run on a FINN device.
constexpr std::size_t kFinnMaxClasses = 255;
// The score the output buffer holds before a run, on ports with scores:
// above any fan-in they have, so an entry left so was not written.
constexpr std::uint16_t kFinnNoScore = 0xFFFF;

// The driver: splits batches to the ports' capacity, hands each batch to a
// free port (so as many batches are in flight as there are ports), and
// trusts nothing a port returns: a class byte that is not one of the model's
// classes (kFinnNoClass included: nothing was written) is an Error(device)
// naming the port, the batch and the global image number. On ports with
// scores, every score of every image is checked (kFinnNoScore: not written;
// above max_score(): impossible) and the class is the first highest score
// of the model's classes. Thread-safe.
class FinnDriver {
 public:
  FinnDriver(std::vector<std::unique_ptr<FinnPort>> ports, const Shape& input, std::size_t classes);
  ~FinnDriver();
  FinnDriver(const FinnDriver&) = delete;
  FinnDriver& operator=(const FinnDriver&) = delete;
  std::size_t ports() const;
  // True when the ports give scores (then classify() fills `scores`).
  bool gives_scores() const;
  // pixels: n images of `input`, NHWC (what images::Reader gives: a CIFAR-10
  // record's planar RGB is already interleaved). first: the global number of
  // the first image, for messages. classes: n class indices. scores: null,
  // or (gives_scores() only) n x classes scores.
  void classify(const std::uint8_t* pixels, std::size_t n, std::uint64_t first, std::uint16_t* classes,
                std::int32_t* scores = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The csim stand-in for a FINN accelerator: takes the same buffers (images
// in, one class byte an image out) and computes with the CPU engine, one
// image at a time. `engine` must outlive the port.
std::unique_ptr<FinnPort> make_csim_finn_port(const Engine& engine, const Shape& input, std::string name,
                                              std::size_t max_images);

// ---- model and bitstream pairing ----

// The .xclbin files (by UUID) that implement a model, from the sidecar file
// MODEL.finn: text lines
//   fpga-tools-finn 1
//   model-crc32 XXXXXXXX       the model file's CRC-32 (its last four bytes)
//   xclbin UUID [FILE]         one a build (platform); FILE relative to the sidecar
// '#' starts a comment. fpga-infer refuses a card whose xclbin is not one of
// these, and a sidecar written for other model bytes.
struct FinnPairing {
  std::string path;   // the sidecar
  std::uint32_t model_crc = 0;
  struct Build {
    std::string uuid;  // 32 lowercase hex digits, as XRT prints it without dashes
    std::string file;  // "" or the path of the xclbin (resolved against the sidecar's folder)
  };
  std::vector<Build> builds;
  bool has_uuid(const std::string& uuid) const;
};

// The sidecar's name for a model file.
std::string pairing_path(const std::string& model_path);
// Reads MODEL.finn; nullopt when there is none. Throws Error(corrupt) naming
// the sidecar for a bad line, and Error(usage) when its model-crc32 is not
// model_crc(model).
std::optional<FinnPairing> read_pairing(const std::string& model_path, const Model& model);
std::string format_pairing(const FinnPairing& p);
// The CRC-32 of the model's bytes: the one its file ends with.
std::uint32_t model_crc(const Model& model);

// An xclbin file's UUID (axlf header, xclbin2 format), 32 lowercase hex
// digits, and its platform name. Throws Error(corrupt) naming the file when
// it is not an xclbin.
struct XclbinId {
  std::string uuid, platform;
};
XclbinId read_xclbin_id(const std::string& path);
// "0123...": dashes removed, lowercase.
std::string normalize_uuid(const std::string& uuid);

// ---- opening a FINN device ----

struct FinnDevice {
  Device device;
  std::unique_ptr<FinnDriver> driver;
  std::unique_ptr<DeviceLock> lock;  // a card's, held while it runs
  std::string xclbin_uuid;           // what runs on the card ("" for csim)
  // pynq: the parameter words this process wrote into the overlay when it
  // opened it, and how long that took (0 words: they were there already,
  // written by this process for the same model).
  std::uint64_t parameter_words = 0;
  double parameter_seconds = 0;
};

// Opens `device` (csim, an XRT card or the Pynq-Z1 overlay) for `model`,
// with buffers of `batch` images: csim gets `threads` ports (0: the online
// cores) that compute with `engine`; a card needs a pairing (else
// Error(device) saying how to make one), loads the xclbin (set_xclbin,
// FPGA_XCLBIN) which must be one of the pairing's builds, and gets
// kFinnCardPorts ports; pynq checks that the model fits the overlay (else
// Error(usage), before anything is written), loads its parameters and gets
// two ports (double buffering, pynq_driver.hpp). `wait`: wait for a busy
// card, else return no driver when it is busy. `lock`: take the device's
// lock (false where the caller holds it: fpga-remote serve's DevicePool).
constexpr unsigned kFinnCardPorts = 3;
FinnDevice open_finn_device(const Device& device, const Model& model, const Engine& engine,
                            const std::optional<FinnPairing>& pairing, std::size_t batch, unsigned threads,
                            bool wait, bool lock = true);

// The ports of XRT card `device` (xrt_backend.cpp, through the plugin):
// loads the xclbin of set_xclbin/FPGA_XCLBIN, which must be one of the
// pairing's builds; `uuid` gets the UUID loaded.
std::vector<std::unique_ptr<FinnPort>> open_xrt_finn_ports(const Device& device, const FinnPairing& pairing,
                                                           std::size_t image_bytes, std::size_t max_images,
                                                           unsigned ports, std::string& uuid);

}  // namespace fpgaio::bnn
