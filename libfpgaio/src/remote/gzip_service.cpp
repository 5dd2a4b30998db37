// The server's gzip jobs (POST /v1/gzip/compress, decompress, test): a
// request decoded into its job (remote_protocol.hpp), run with the same
// library calls as a local fpga-gzip, answered with the members or the data.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "fpgaio/gzip.hpp"
#include "fpgaio/remote_gzip.hpp"

namespace fpgaio::remote {

namespace {

struct VecSink : Sink {
  Bytes v;
  void write(const std::uint8_t* d, std::size_t k) override { v.insert(v.end(), d, d + k); }
};

// An answer over ServerConfig::max_answer (a decompression bomb).
struct AnswerTooLarge {};

// A VecSink that holds at most `limit` bytes, and grows to no more than
// that (a vector's doubling would reach twice the limit).
struct BoundedSink : Sink {
  Bytes v;
  std::size_t limit;
  explicit BoundedSink(std::size_t l) : limit(l) {}
  void write(const std::uint8_t* d, std::size_t k) override {
    if (k > limit - v.size()) throw AnswerTooLarge{};
    if (v.size() + k > v.capacity()) v.reserve(std::min(limit, std::max(v.size() + k, 2 * v.capacity())));
    v.insert(v.end(), d, d + k);
  }
};

// A request body as an Input (the library's readers take an Input): a memfd
// holding a copy, never a name the client chose.
class BodyInput {
 public:
  explicit BodyInput(const Bytes& body) {
    fd_ = ::memfd_create("fpga-remote-body", MFD_CLOEXEC);
    if (fd_ < 0) throw_errno("memfd_create", errno);
    full_write(fd_, body.data(), body.size(), "request body");
    ::lseek(fd_, 0, SEEK_SET);
    in_ = std::make_unique<Input>("/proc/self/fd/" + std::to_string(fd_));
  }
  ~BodyInput() {
    in_.reset();
    ::close(fd_);
  }
  Input& input() { return *in_; }

 private:
  int fd_ = -1;
  std::unique_ptr<Input> in_;
};

Response compress_response(const Request& req, DevicePool::Lease& lease) {
  gzip::CompressOptions co;
  static_cast<gzip::MemberSettings&>(co) = decode_gzip_compress(req);
  co.threads = 1;  // one job a slot
  // A chunk's answer need not be the whole stream: always the end marker
  // (clients before FT version 2 check for it; ours fold a whole stream
  // of one member themselves, gzip::fold_end_marker).
  co.one_member = false;
  // A card's job runs on all the card's units (one job at a time per
  // card), a core's on its one thread. Named devices never fall back
  // inside a job: a unit's device error ends it (run_leased decides).
  if (!lease.is_cpu()) co.units = &card_deflate_units(lease);
  // From the body where it lies, in this thread (one job a slot).
  VecSink out;
  out.v.reserve(req.body.size() / 2 + 4096);
  gzip::compress(req.body.data(), req.body.size(), out, co);
  Response r;
  r.content_type = "application/gzip";
  r.body = std::move(out.v);
  return r;
}

// decompress, test: whole members; the client splits a stream at member
// boundaries and sends the end-of-stream check with the last chunk. The
// other formats fpga-gzip reads (.Z, pack, zip, zlib) and data passed
// through (-cdf) come whole, in one request.
Response decode_response(const Request& req, std::size_t max_answer) {
  GzipDecodeJob job = decode_gzip_decode(req);
  BodyInput in(req.body);
  gzip::DecompressOptions dopt;
  dopt.threads = 1;
  dopt.pass_through = job.pass_through;
  dopt.detect_zlib = job.detect_zlib;
  dopt.list_only = job.list_only;  // -l: sizes from the headers where they are
  gzip::Decoder dec(in.input(), dopt);
  // fpga-gzip's words, without a member or an offset.
  if (!dec.format() && !dopt.pass_through) {
    bool cut = dec.shorter_than_magic();
    Error e(ErrorKind::corrupt, cut ? "unexpected end of file" : "not in gzip format");
    e.damage = cut ? Damage::truncated : Damage::not_gzip;
    throw e;
  }
  Response r;
  gzip::DecompressResult res;
  BoundedSink out(max_answer);
  try {
    if (job.test) {
      NullSink sink;
      res = dec.run(sink);
    } else {
      res = dec.run(out);
    }
  } catch (const AnswerTooLarge&) {
    // A bomb, or a stream the client could not cut (foreign members, other
    // formats): refused whole, salvage or not (protocol: "Limits").
    return error_response(413, "too-large", "the data would be over the server's limit of " +
                                                std::to_string(max_answer) +
                                                " bytes an answer (--max-answer); decompress it locally");
  } catch (const Error& e) {
    if (!job.salvage) throw;
    // What was decoded before the damage, after the error's JSON, as a
    // local -dc writes it (protocol: "salvage").
    r = error_response(e);
    r.content_type += "; salvage=" + std::to_string(out.v.size());
    r.body.insert(r.body.end(), out.v.begin(), out.v.end());
    return r;
  }
  if (job.test) {
    r.content_type = "application/json";
    std::string j = test_answer_body(res.stats.out_bytes);
    r.body.assign(j.begin(), j.end());
  } else {
    r.body = std::move(out.v);
  }
  // What -l and -v show: bytes read, the content's CRC-32, the format, and
  // what the local decoder would warn about.
  GzipDecodeAnswer a;
  a.in = res.stats.in_bytes;
  a.crc = res.crc;
  a.format = res.format;
  a.trailing_garbage = res.trailing_garbage;
  a.zip_more_entries = res.zip_more_entries;
  a.warnings = res.warnings;
  r.content_type = encode_type(r.content_type, a);
  return r;
}

}  // namespace

Response gzip_response(const Request& req, DevicePool::Lease& lease, std::size_t max_answer) {
  if (req.path == "/v1/gzip/compress") return compress_response(req, lease);
  return decode_response(req, max_answer);
}

}  // namespace fpgaio::remote
