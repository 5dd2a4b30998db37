// The client side of fpga-infer over fpga-remote: the model's description
// from a host, and batches of images sent and their answers checked.
#include <cerrno>
#include <cstdio>

#include "fpgaio/error.hpp"
#include "fpgaio/json.hpp"
#include "fpgaio/remote_infer.hpp"

namespace fpgaio::remote {

namespace {

// An error answer as the local tool's error, naming the host.
Error answer_error(const Response& r, const std::string& host) {
  Error e = error_from_response(r);
  if (r.status == 404) e = Error(ErrorKind::usage, e.what());
  e.path = host;
  // A damaged model on the server is named by its model name.
  if (auto p = json_value(std::string(r.body.begin(), r.body.end()), "path"); p && !p->empty())
    e.path += ": " + server_text(*p);
  return e;
}

Error bad_answer(const std::string& host, const std::string& why) {
  return Error(ErrorKind::device, "answer is not what was asked for (" + why + ")").with_path(host);
}

}  // namespace

RemoteModel fetch_model(HostPool& hosts, const std::string& name) {
  Request req;
  req.method = "GET";
  req.path = "/v1/models";
  if (name.empty()) req.query["default"] = "1";
  else req.query["name"] = name;
  auto [r, host] = hosts.call(req);
  if (r.status != 200) throw answer_error(r, host);
  RemoteModel m;
  m.host = host;
  try {
    json::Value v = json::parse(std::string(r.body.begin(), r.body.end()));
    const json::Value* list = v.get("models");
    if (!list || list->type != json::Value::Type::array || list->a.size() != 1) throw std::runtime_error("no model");
    const json::Value& o = list->a[0];
    auto str = [&](const char* k) {
      const json::Value* x = o.get(k);
      if (!x || x->type != json::Value::Type::string) throw std::runtime_error(std::string("no ") + k);
      return x->s;
    };
    auto num = [&](const json::Value* obj, const char* k) {
      const json::Value* x = obj ? obj->get(k) : nullptr;
      if (!x || x->type != json::Value::Type::number || x->n < 1 || x->n > 65536)
        throw std::runtime_error(std::string("no ") + k);
      return static_cast<std::uint32_t>(x->n);
    };
    m.name = str("name");
    std::string crc = str("crc32");
    if (crc.size() != 8 || crc.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw std::runtime_error("bad crc32");
    m.crc = static_cast<std::uint32_t>(std::stoul(crc, nullptr, 16));
    const json::Value* in = o.get("input");
    m.input = bnn::Shape{num(in, "height"), num(in, "width"), num(in, "channels")};
    const json::Value* cl = o.get("classes");
    if (!cl || cl->type != json::Value::Type::array || cl->a.empty() || cl->a.size() > 65535)
      throw std::runtime_error("no classes");
    for (const auto& c : cl->a) {
      if (c.type != json::Value::Type::string) throw std::runtime_error("a class name is not a string");
      m.classes.push_back(c.s);
    }
  } catch (const std::exception& e) {
    throw bad_answer(host, std::string("models: ") + e.what());
  }
  if (!name.empty() && m.name != name) throw bad_answer(host, "models: another model's description");
  return m;
}

std::size_t images_per_request(const RemoteModel& m, std::size_t chunk_bytes, bool scores) {
  const std::size_t per = m.input.values();
  const std::size_t answer = 2 + (scores ? 4 * m.classes.size() : 0);
  std::size_t n = std::max<std::size_t>(1, chunk_bytes / per);
  return std::max<std::size_t>(1, std::min(n, kMaxInferAnswer / answer));
}

infer::Answer infer_batch(HostPool& hosts, const RemoteModel& m, const images::Batch& b, bool scores) {
  const std::size_t per = m.input.values(), classes = m.classes.size();
  InferJob job;
  job.model = m.name;
  job.crc = m.crc;
  job.scores = scores;
  Request req = encode(job);
  req.body.assign(b.pixels.begin(), b.pixels.begin() + static_cast<std::ptrdiff_t>(b.count * per));
  // Classes (and scores) for these images, or an error's JSON; no more.
  req.max_answer = b.count * 2 + (scores ? b.count * classes * 4 : 0) + (std::size_t{1} << 20);
  auto [r, host] = hosts.call(req);
  if (r.status == 409) {
    // Another file under the same name: never mixed answers.
    std::string j(r.body.begin(), r.body.end());
    std::string theirs = json_value(j, "crc32").value_or("?");
    if (host == m.host)
      throw Error(ErrorKind::usage, "model '" + m.name + "' changed on " + host + " during the run (CRC-32 " +
                                        hex8(m.crc) + ", now " + theirs + ")");
    throw Error(ErrorKind::usage, "model '" + m.name + "' differs between hosts: " + m.host + " has CRC-32 " +
                                      hex8(m.crc) + ", " + host + " has " + theirs +
                                      "; install the same model file on every host");
  }
  if (r.status != 200) throw answer_error(r, host);
  const std::size_t want = b.count * 2 + (scores ? b.count * classes * 4 : 0);
  if (r.body.size() != want)
    throw bad_answer(host, std::to_string(r.body.size()) + " bytes for " + std::to_string(b.count) + " images");
  infer::Answer a;
  a.classes.resize(b.count);
  const std::uint8_t* p = r.body.data();
  for (std::size_t i = 0; i < b.count; ++i) {
    a.classes[i] = static_cast<std::uint16_t>(p[2 * i] | p[2 * i + 1] << 8);
    if (a.classes[i] >= classes) throw bad_answer(host, "class " + std::to_string(a.classes[i]) + " out of range");
  }
  if (scores) {
    a.scores.resize(b.count * classes);
    const std::uint8_t* s = p + b.count * 2;
    for (std::size_t k = 0; k < a.scores.size(); ++k)
      a.scores[k] = static_cast<std::int32_t>(static_cast<std::uint32_t>(s[4 * k]) | static_cast<std::uint32_t>(s[4 * k + 1]) << 8 |
                                              static_cast<std::uint32_t>(s[4 * k + 2]) << 16 |
                                              static_cast<std::uint32_t>(s[4 * k + 3]) << 24);
    for (std::size_t i = 0; i < b.count; ++i)
      if (bnn::argmax(a.scores.data() + i * classes, classes) != a.classes[i])
        throw bad_answer(host, "a class that is not the best score");
  }
  return a;
}

}  // namespace fpgaio::remote
