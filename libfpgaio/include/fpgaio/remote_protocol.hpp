// The fpga-remote protocol (docs/PROTOCOL.md) as both ends write and read
// it: one request and answer shape for both transports, one type a job
// (gzip compress, decompress and test; infer) with one encoder and one
// decoder each, the query and content-type parameters, error bodies and the
// body's CRC-32. The client and the server call the same functions, so the
// two ends cannot read one message two ways.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/formats.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/json.hpp"

namespace fpgaio::remote {

constexpr int kProtocolVersion = 1;

// One request and its answer, the same over HTTP and over an SSH pipe.
struct Request {
  std::string method = "POST";
  std::string path;                           // "/v1/gzip/compress"
  std::map<std::string, std::string> query;   // decoded parameters
  std::string repeated;                       // a parameter given twice (400), as read
  Bytes body;
  // The largest answer this request can have (0: 2 GiB): a server sending
  // more is a failure of that host, and the client's memory stays bounded.
  std::size_t max_answer = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/octet-stream";
  Bytes body;
  unsigned retry_after = 0;  // seconds, with 503
  std::string allow;         // with 405: the method the path takes (HTTP's Allow)
  // The device that computed, for the log, when it is not the slot's: a
  // model that does not fit pynq:0's overlay runs on the CPU in its slot.
  std::string ran_on;
};

// ---- Queries ----------------------------------------------------------------

// Percent-decoding as both transports read a query: "%XY" is the byte XY,
// except "%00", kept as it is (a NUL would cut a C string short unseen);
// malformed escapes are kept. In place over s[0, n); returns the new length.
// libmicrohttpd calls it on names and values after turning '+' into spaces.
std::size_t percent_decode(char* s, std::size_t n);
// "a=1&b=x%20y" <-> map; values percent-encoded (RFC 3986 unreserved kept).
// Names and values percent-decoded, '+' a space, "%00" kept as it is; the
// first of a repeated name is kept, and the name put in *repeated (when
// given and still empty), so that both transports read a query alike.
std::string encode_query(const std::map<std::string, std::string>& q);
std::map<std::string, std::string> decode_query(const std::string& s, std::string* repeated = nullptr);

// A decimal query parameter within [lo, hi], or dflt when absent;
// Error(usage) naming the parameter otherwise.
std::uint64_t query_number(const std::map<std::string, std::string>& q, const std::string& key, std::uint64_t lo,
                           std::uint64_t hi, std::uint64_t dflt);

// ---- Answers ----------------------------------------------------------------

// An error answer: {"error":"corrupt","message":"...","member":3,"offset":N}.
Response error_response(int status, const std::string& kind, const std::string& message,
                        std::optional<std::uint64_t> member = {}, std::optional<std::uint64_t> offset = {});
Response error_response(const Error& e);
// "This host cannot do this job; another may" (protocol: Errors, scope): an
// error answer marked with "scope":"host" (no model of that name here, no
// device here that runs the job). The client passes such a host over for
// the job as it does a host that is down (host_cannot gives the reason,
// knowing the unmarked answers of older servers too); any other error
// answer is the job's own and ends it.
Response host_scope(Response r);
std::optional<std::string> host_cannot(const Response& r);
// Reads an error answer back into an Error (kind, message, member, offset).
Error error_from_response(const Response& r);
// Text from a server (an error's message, a warning) as the client prints
// it: control characters (terminal escapes, newlines) become '?', so a
// server cannot write to the user's terminal or forge a line of output.
std::string server_text(std::string s);
// The integrity check of an answer on the wire (both transports): the
// content type with "; body-crc=N" (the CRC-32 of the body, decimal)
// appended, as the server sends every answer but /metrics; and the
// client's check of it, TransportError when the body is not the one the
// server sent (damaged on the way, or cut at the wrong place), so that
// the work goes to the next host. Answers without it are not checked.
std::string with_body_crc(const Response& r);
void check_body_crc(const Response& r);

// A JSON answer as the client reads it: json::parse's lenient reading (the
// first value; escapes as the client has always read a server's strings).
// nullopt when the body is not JSON.
std::optional<json::Value> read_json(const std::string& body);
// A member of an object as text: a string as it is, a number in decimal,
// true/false; nullopt for anything else.
std::optional<std::string> json_text(const json::Value& object, const std::string& key);
// The two together: a value of a JSON answer's top-level object, or nullopt.
std::optional<std::string> json_value(const std::string& json, const std::string& key);

// The parameters of a content type ("a/b; key=v; key=w"): every value of
// `key`, percent-decoded.
std::vector<std::string> type_params(const std::string& type, const std::string& key);

// ---- gzip jobs --------------------------------------------------------------

// POST /v1/gzip/compress: what a chunk is compressed with, the library's
// own settings (a local run compresses with the same type). The name,
// time, comment and part go with the first chunk only; end_marker with the
// last. The server compresses with a CompressOptions of these.
using GzipCompressJob = gzip::MemberSettings;
// The request without its body. Only what differs from the server's
// defaults is sent (as every release has sent it).
Request encode(const GzipCompressJob& job);
// Error(usage) naming the first bad parameter.
GzipCompressJob decode_gzip_compress(const Request& req);

// POST /v1/gzip/decompress and /v1/gzip/test: how a chunk of members (or
// the rest of a stream) is read.
struct GzipDecodeJob {
  bool test = false;           // /v1/gzip/test: sizes, no data
  bool pass_through = false;   // -cdf, -tf: data in no format read copied through
  bool detect_zlib = true;     // a zlib header recognised at the start
  bool salvage = false;        // decompress: what decodes before damage, with the error
  bool list_only = false;      // test (-l): sizes from the headers where they are
};
Request encode(const GzipDecodeJob& job);
GzipDecodeJob decode_gzip_decode(const Request& req);

// What a decompress or test answer's content type says beside the data
// ("; in=N; crc=C; format=F; ..."). The reader keeps what is missing or
// malformed as nullopt (a lying server is checked by the client).
struct GzipDecodeAnswer {
  std::optional<std::uint64_t> in;    // bytes the decoder read
  std::optional<std::uint32_t> crc;   // of the data
  std::optional<gzip::Format> format; // of the first member
  bool trailing_garbage = false;
  bool zip_more_entries = false;
  std::vector<std::string> warnings;  // as sent (the client makes them server_text)
};
std::string encode_type(const std::string& type, const GzipDecodeAnswer& a);
GzipDecodeAnswer decode_gzip_answer(const std::string& content_type);
// Salvage: an error answer's "; salvage=N" (N bytes of data after its JSON).
std::optional<std::size_t> salvage_size(const std::string& content_type);
// A test answer's body, {"bytes":N}, and its reading (nullopt: no size).
std::string test_answer_body(std::uint64_t bytes);
std::optional<std::uint64_t> read_test_answer(const Bytes& body);

// ---- infer ------------------------------------------------------------------

// POST /v1/infer: a batch of images for a model.
struct InferJob {
  std::optional<std::string> model;  // absent: the server's default
  std::optional<std::uint32_t> crc;  // the model's CRC-32 the client expects (409 otherwise)
  bool scores = false;               // with every class's score (a CPU slot)
};
Request encode(const InferJob& job);
// The model's name as given (an empty one is Error(usage)), the crc's form
// and scores checked: Error(usage) naming the parameter.
InferJob decode_infer(const Request& req);

// 8 lowercase hex digits, as a model's CRC-32 travels.
std::string hex8(std::uint32_t v);

}  // namespace fpgaio::remote
