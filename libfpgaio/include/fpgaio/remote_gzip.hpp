// gzip jobs over fpga-remote (docs/PROTOCOL.md): the client side, and the
// server's job runner (gzip_service.cpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fpgaio/gzip.hpp"
#include "fpgaio/remote.hpp"

namespace fpgaio::remote {

// The client's settings: the jobs' own (remote_protocol.hpp; the name,
// time, comment and part go with the first chunk, end_marker and test are
// set a request), and how the stream travels.
struct RemoteGzipOptions : GzipCompressJob, GzipDecodeJob {
  std::size_t chunk_bytes = 2 << 20;  // bytes a request (whole blocks or members)
  unsigned in_flight = 4;             // requests at once
  std::size_t max_body = (std::size_t{64} << 20);  // what the servers accept (see ServerConfig)
  std::string shown;                  // the input's name in messages
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

// Decompresses (out) or tests (out == nullptr) a stream on the hosts, as
// gzip::Decoder would here. Streams of our members are cut at member
// boundaries; the rest from the first foreign member (GNU gzip's, .Z, pack,
// zip, zlib, data passed through) goes whole in one request, up to max_body.
// The result is the local decoder's type (the fields a server tells: sizes,
// CRC-32, format, warnings; `first` read here).
gzip::DecompressResult decompress(HostPool& hosts, Input& in, Sink* out, const RemoteGzipOptions& opt);

// ---- Server -----------------------------------------------------------------

// POST /v1/gzip/compress, decompress, test on a leased slot: the members,
// or the data (at most max_answer bytes, else 413) with what the decoder
// read and would warn about in the content type (docs/PROTOCOL.md).
Response gzip_response(const Request& req, DevicePool::Lease& lease, std::size_t max_answer);

}  // namespace fpgaio::remote
