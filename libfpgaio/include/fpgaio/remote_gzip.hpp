// gzip jobs over fpga-remote (docs/PROTOCOL.md): the client side.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fpgaio/gzip.hpp"
#include "fpgaio/remote.hpp"

namespace fpgaio::remote {

struct RemoteGzipOptions {
  int level = kDefaultLevel;
  std::size_t block_size = 1 << 20;
  std::optional<std::string> name;  // FNAME of the first member
  std::uint32_t mtime = 0;
  std::optional<std::string> comment;  // FCOMMENT of the first member (-C)
  std::optional<PartOf> part;          // FP of the first member (the input is a chunk of a split)
  Strategy strategy = Strategy::normal;  // -H, -U
  bool rsyncable = false;             // blocks cut where the content says (the chunks too)
  std::size_t chunk_bytes = 2 << 20;  // bytes a request (whole blocks or members)
  unsigned in_flight = 4;             // requests at once
  std::size_t max_body = (std::size_t{64} << 20);  // what the servers accept (see ServerConfig)
  std::string shown;                  // the input's name in messages
  // Decompression, as fpga-gzip's DecompressOptions: data in no format read
  // passed through (-cdf, -tf), a zlib header recognised at the start.
  bool pass_through = false;
  bool detect_zlib = true;
  // On damaged data, write what decodes before the damage, then fail (a
  // local -dc does; the servers send it with the error).
  bool salvage = false;
  bool list_only = false;  // -l (tests): sizes from the headers where they are, as locally
  gzip::Progress progress;
};

// The same bytes as gzip::compress with the same level, block size, name and
// time. Errors name "HOST: shown".
gzip::Stats compress(HostPool& hosts, Input& in, Sink& out, const RemoteGzipOptions& opt);

// The client's check of a compress answer to `chunk` (`last`: the request
// had end=1): our members, in order, each inflated and equal to its part of
// the chunk, its trailer's CRC-32 and size those of that part, ending
// exactly at the chunk's end, the end marker only when `last`. Throws
// TransportError("answer from HOST is not what was asked for (WHY)").
void check_compress_answer(const Bytes& answer, const Bytes& chunk, bool last, const std::string& host);

struct RemoteDecompressResult {
  gzip::Stats stats;
  std::optional<gzip::Header> first;  // the first member's header (-N)
  bool trailing_garbage = false;
  bool zip_more_entries = false;       // a zip file of several entries (the first was read)
  std::vector<std::string> warnings;   // the decoder's warnings about the data (exit status 2)
  std::uint32_t crc = 0;               // of all the data (-l -v)
  gzip::Format format = gzip::Format::gzip;  // of the first member
};

// Decompresses (out) or tests (out == nullptr) a stream on the hosts, as
// gzip::Decoder would here. Streams of our members are cut at member
// boundaries; the rest from the first foreign member (GNU gzip's, .Z, pack,
// zip, zlib, data passed through) goes whole in one request, up to max_body.
RemoteDecompressResult decompress(HostPool& hosts, Input& in, Sink* out, const RemoteGzipOptions& opt);

}  // namespace fpgaio::remote
