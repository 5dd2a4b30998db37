// gzip jobs over fpga-remote (docs/PROTOCOL.md): the client side.
#pragma once

#include <optional>
#include <string>

#include "fpgaio/gzip.hpp"
#include "fpgaio/remote.hpp"

namespace fpgaio::remote {

struct RemoteGzipOptions {
  int level = kDefaultLevel;
  std::size_t block_size = 1 << 20;
  std::optional<std::string> name;  // FNAME of the first member
  std::uint32_t mtime = 0;
  std::optional<std::string> comment;  // FCOMMENT of the first member (-C)
  Strategy strategy = Strategy::normal;  // -H, -U
  bool rsyncable = false;             // blocks cut where the content says (the chunks too)
  std::size_t chunk_bytes = 2 << 20;  // bytes a request (whole blocks or members)
  unsigned in_flight = 4;             // requests at once
  std::size_t max_body = (std::size_t{64} << 20);  // what the servers accept (see ServerConfig)
  std::string shown;                  // the input's name in messages
  gzip::Progress progress;
};

// The same bytes as gzip::compress with the same level, block size, name and
// time. Errors name "HOST: shown".
gzip::Stats compress(HostPool& hosts, Input& in, Sink& out, const RemoteGzipOptions& opt);

struct RemoteDecompressResult {
  gzip::Stats stats;
  std::optional<gzip::Header> first;  // the first member's header (-N)
  bool trailing_garbage = false;
};

// Decompresses (out) or tests (out == nullptr) a gzip stream on the hosts.
// Streams of our members are cut at member boundaries; a foreign stream
// goes whole in one request, up to max_body.
RemoteDecompressResult decompress(HostPool& hosts, Input& in, Sink* out, const RemoteGzipOptions& opt);

}  // namespace fpgaio::remote
