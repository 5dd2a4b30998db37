// The server side of fpga-infer over fpga-remote: the model directory, the
// models answer, and inference on a batch of images with a named model.
#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "fpgaio/error.hpp"
#include "fpgaio/finn.hpp"
#include "fpgaio/json.hpp"
#include "fpgaio/pynq_driver.hpp"
#include "fpgaio/remote_infer.hpp"

namespace fpgaio::remote {

bool valid_model_name(const std::string& n) {
  if (n.empty() || n.size() > 128 || n[0] == '.' || n[0] == '-' || n.find("..") != std::string::npos) return false;
  for (unsigned char c : n)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '+' || c == '-')) return false;
  return true;
}

namespace {

const char kSuffix[] = ".fbnn";

std::string stem_of(const std::string& path) {
  std::string b = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (b.size() > 5 && b.compare(b.size() - 5, 5, kSuffix) == 0) b.resize(b.size() - 5);
  return valid_model_name(b) ? b : "default";
}

struct Signature {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const Signature& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
  }
};

std::optional<Signature> signature(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return Signature{st.st_dev, st.st_ino, st.st_size,
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                   static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}


Response json_answer(int status, const std::string& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body.assign(body.begin(), body.end());
  return r;
}

// 400 for a name that could name a file elsewhere, 404 for one not here.
Response model_error(const Error& e, const std::string& name) {
  if (e.kind() == ErrorKind::io && e.error_number() == ENOENT)
    return host_scope(error_response(404, "not-found", e.what()));  // another host may have it
  if (e.kind() == ErrorKind::usage) return error_response(400, "usage", e.what());
  // A damaged model file on the server: the loader's error, naming the
  // model (never the server's path).
  Response r = error_response(e);
  std::string j(r.body.begin(), r.body.end());
  j.insert(j.rfind('}'), ",\"path\":" + json::quote(name.empty() ? "the default model" : "model " + name));
  r.body.assign(j.begin(), j.end());
  return r;
}

std::string describe_json(const ModelStore::Loaded& m) {
  std::string j = "{\"name\":" + json::quote(m.name) + ",\"crc32\":\"" + hex8(m.crc) + "\",\"default\":" +
                  (m.is_default ? "true" : "false") + ",\"input\":{\"height\":" +
                  std::to_string(m.model.input.height) + ",\"width\":" + std::to_string(m.model.input.width) +
                  ",\"channels\":" + std::to_string(m.model.input.channels) + "},\"mode\":\"" +
                  (m.model.mode == bnn::InputMode::fixed8 ? "fixed8" : "binary") + "\",\"description\":" +
                  json::quote(m.model.describe()) + ",\"classes\":[";
  for (std::size_t i = 0; i < m.model.classes.size(); ++i) j += (i ? "," : "") + json::quote(m.model.classes[i]);
  return j + "]}";
}

}  // namespace

const bnn::Engine& ModelStore::Loaded::engine() const {
  std::call_once(once_, [this] { engine_ = std::make_unique<bnn::Engine>(model, bnn::best_isa()); });
  return *engine_;
}

struct ModelStore::Impl {
  std::string dir, default_name;
  std::mutex mu;
  struct Cached {
    Signature sig;
    std::shared_ptr<ModelStore::Loaded> loaded;
  };
  std::map<std::string, Cached> cache;  // by path

  // The default model's name and file.
  std::pair<std::string, std::string> default_model() {
    if (!default_name.empty()) return {default_name, dir + "/" + default_name + kSuffix};
    std::string path;
    try {
      path = infer::default_model_path();
    } catch (const Error&) {
      throw Error(ErrorKind::io, "no default model on this host; name one with --model NAME", ENOENT);
    }
    std::string name = stem_of(path);
    // A file of that name in the directory takes its place.
    if (!dir.empty() && signature(dir + "/" + name + kSuffix)) return {name, dir + "/" + name + kSuffix};
    if (!signature(path))
      throw Error(ErrorKind::io, "no default model on this host; name one with --model NAME", ENOENT);
    return {name, path};
  }

  std::shared_ptr<const ModelStore::Loaded> load(const std::string& name, const std::string& path, bool is_default) {
    auto sig = signature(path);
    if (!sig) throw Error(ErrorKind::io, "no model '" + name + "' on this host" + known(), ENOENT);
    {
      std::lock_guard<std::mutex> lk(mu);
      auto it = cache.find(path);
      if (it != cache.end() && it->second.sig == *sig && it->second.loaded->name == name &&
          it->second.loaded->is_default == is_default)
        return it->second.loaded;
    }
    auto m = std::make_shared<ModelStore::Loaded>();
    m->name = name;
    m->path = path;
    m->is_default = is_default;
    m->model = bnn::Model::load(path);
    m->crc = bnn::model_crc(m->model);
    std::lock_guard<std::mutex> lk(mu);
    cache[path] = Cached{*sig, m};
    return m;
  }

  std::vector<std::string> dir_names() {
    std::vector<std::string> out;
    if (dir.empty()) return out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() <= 5 || n.compare(n.size() - 5, 5, kSuffix) != 0) continue;
      n.resize(n.size() - 5);
      if (valid_model_name(n) && signature(dir + "/" + n + kSuffix)) out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string known() {
    std::vector<std::string> n = dir_names();
    try {
      auto d = default_model();
      if (std::find(n.begin(), n.end(), d.first) == n.end()) n.insert(n.begin(), d.first);
    } catch (const Error&) {
    }
    if (n.empty()) return " (it has none)";
    std::string s = " (models: ";
    for (std::size_t i = 0; i < n.size(); ++i) s += (i ? ", " : "") + n[i];
    return s + ")";
  }
};

ModelStore::ModelStore(std::string dir, std::string default_name) : impl_(std::make_unique<Impl>()) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  impl_->dir = std::move(dir);
  impl_->default_name = std::move(default_name);
  if (!impl_->dir.empty()) {
    struct stat st;
    if (::stat(impl_->dir.c_str(), &st) != 0) throw_errno("cannot read the models directory", errno, impl_->dir);
    if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::usage, "not a directory (--models)").with_path(impl_->dir);
  }
  if (!impl_->default_name.empty()) {
    if (impl_->dir.empty()) throw Error(ErrorKind::usage, "--default-model names a model of --models DIR");
    if (!valid_model_name(impl_->default_name))
      throw Error(ErrorKind::usage, "--default-model: '" + impl_->default_name + "' is not a model name");
    if (!signature(impl_->dir + "/" + impl_->default_name + kSuffix))
      throw Error(ErrorKind::usage, "--default-model: no " + impl_->default_name + kSuffix + " in " + impl_->dir);
  }
}

ModelStore::~ModelStore() = default;

std::shared_ptr<const ModelStore::Loaded> ModelStore::find(const std::string& name) {
  auto def = [&]() -> std::optional<std::pair<std::string, std::string>> {
    try {
      return impl_->default_model();
    } catch (const Error&) {
      return std::nullopt;
    }
  }();
  if (name.empty()) {
    if (!def) impl_->default_model();  // throws its error
    return impl_->load(def->first, def->second, true);
  }
  if (!valid_model_name(name))
    throw Error(ErrorKind::usage, "'" + name + "' is not a model name: models are named, never given as paths "
                                  "(letters, digits, '.', '_', '+', '-'; no leading '.')");
  bool is_default = def && def->first == name;
  if (is_default) return impl_->load(name, def->second, true);
  if (impl_->dir.empty()) throw Error(ErrorKind::io, "no model '" + name + "' on this host" + impl_->known(), ENOENT);
  return impl_->load(name, impl_->dir + "/" + name + kSuffix, false);
}

std::vector<std::string> ModelStore::names() {
  std::vector<std::string> n = impl_->dir_names();
  try {
    auto d = impl_->default_model();
    n.erase(std::remove(n.begin(), n.end(), d.first), n.end());
    n.insert(n.begin(), d.first);
  } catch (const Error&) {
  }
  return n;
}

Response models_response(ModelStore& store, const Request& req) {
  const auto& q = req.query;
  auto name = q.find("name");
  bool only_default = query_number(q, "default", 0, 1, 0) == 1;
  if (name != q.end() || only_default) {
    std::string n = name != q.end() ? name->second : "";
    try {
      if (name != q.end() && n.empty()) throw Error(ErrorKind::usage, "an empty model name");
      return json_answer(200, "{\"models\":[" + describe_json(*store.find(n)) + "]}\n");
    } catch (const Error& e) {
      return model_error(e, n);
    }
  }
  std::string j = "{\"models\":[";
  bool first = true;
  for (const auto& n : store.names()) {
    std::string one;
    try {
      one = describe_json(*store.find(n));
    } catch (const Error& e) {
      one = "{\"name\":" + json::quote(n) + ",\"error\":" + json::quote(e.describe()) + "}";
    }
    j += (first ? "" : ",") + one;
    first = false;
  }
  return json_answer(200, j + "]}\n");
}

namespace {

// A model's FINN driver on a leased device, kept with the slot; it holds
// the loaded model, whose engine csim's ports compute with.
struct FinnState {
  std::shared_ptr<const ModelStore::Loaded> model;
  bnn::FinnDevice device;
};

}  // namespace

Response infer_response(ModelStore& store, const Request& req, DevicePool::Lease* lease) {
  InferJob job;
  try {
    job = decode_infer(req);
  } catch (const Error& e) {
    return error_response(e);
  }
  std::string name = job.model.value_or("");
  std::shared_ptr<const ModelStore::Loaded> m;
  try {
    m = store.find(name);
  } catch (const Error& e) {
    return model_error(e, name);
  }
  if (job.crc && *job.crc != m->crc) {
    // Another file of the same name: refused, never mixed answers.
    Response r = error_response(409, "conflict", "model '" + m->name + "' here has CRC-32 " + hex8(m->crc) +
                                                     ", not " + hex8(*job.crc));
    std::string j(r.body.begin(), r.body.end());
    j.insert(j.rfind('}'), ",\"crc32\":\"" + hex8(m->crc) + "\"");
    r.body.assign(j.begin(), j.end());
    return r;
  }
  const bool scores = job.scores;
  const std::size_t per = m->model.input.values(), classes = m->model.classes.size();
  if (req.body.empty() || req.body.size() % per)
    return error_response(400, "usage", "the body must hold whole images of " + std::to_string(per) + " bytes (" +
                                            std::to_string(m->model.input.height) + "x" +
                                            std::to_string(m->model.input.width) + "x" +
                                            std::to_string(m->model.input.channels) + ")");
  const std::size_t count = req.body.size() / per;
  if (count * (2 + (scores ? 4 * classes : 0)) > kMaxInferAnswer)
    return error_response(413, "too-large", "the answer would be over " + std::to_string(kMaxInferAnswer) +
                                                " bytes; send fewer images a request");
  const bnn::Engine& engine = m->engine();
  Response r;
  r.body.resize(count * 2 + (scores ? count * classes * 4 : 0));
  std::vector<std::int32_t> s(scores ? count * classes : classes);
  std::vector<std::uint16_t> c(count);
  // The Pynq-Z1 overlay runs only models of its topology: the others run
  // on the CPU in this slot.
  const bool fits = !(lease && lease->device().kind == DeviceKind::pynq) ||
                    pynq::why_not_fit(m->model, pynq::loaded_overlay(lease->device())).empty();
  if (lease && !lease->is_cpu() && fits) {
    // A FINN device: classes (and on pynq:0 scores) from its driver, which
    // checks each one. The driver stays with the slot: a model's
    // parameters are written to the overlay once, not a request.
    const Device& dev = lease->device();
    if (scores && dev.kind != DeviceKind::pynq)
      return error_response(400, "usage", "scores: " + dev.name +
                                              " gives classes only (a FINN accelerator has no scores)");
    auto& st = lease->state<FinnState>("bnn " + m->name + " " + hex8(m->crc), [&] {
      auto fs = std::make_unique<FinnState>();
      fs->model = m;
      // The DevicePool holds the device's lock.
      fs->device = bnn::open_finn_device(dev, m->model, engine, std::nullopt, 256, 1, true, false);
      if (!fs->device.driver) throw Error(ErrorKind::device, dev.name + ": cannot run the model");
      return fs;
    });
    st.device.driver->classify(req.body.data(), count, 0, c.data(), scores ? s.data() : nullptr);
  } else {
    if (lease && !lease->is_cpu()) r.ran_on = "cpu (in " + lease->device().name + "'s slot: the model does not fit its overlay)";
    for (std::size_t i = 0; i < count; ++i) {
      std::int32_t* si = s.data() + (scores ? i * classes : 0);
      engine.classify(req.body.data() + i * per, si);
      c[i] = static_cast<std::uint16_t>(bnn::argmax(si, classes));
    }
  }
  std::uint8_t* cls = r.body.data();
  std::uint8_t* sc = r.body.data() + count * 2;
  for (std::size_t i = 0; i < count; ++i) {
    cls[2 * i] = static_cast<std::uint8_t>(c[i]);
    cls[2 * i + 1] = static_cast<std::uint8_t>(c[i] >> 8);
    if (scores)
      for (std::size_t k = 0; k < classes; ++k) {
        auto v = static_cast<std::uint32_t>(s[i * classes + k]);
        std::uint8_t* p = sc + (i * classes + k) * 4;
        p[0] = static_cast<std::uint8_t>(v);
        p[1] = static_cast<std::uint8_t>(v >> 8);
        p[2] = static_cast<std::uint8_t>(v >> 16);
        p[3] = static_cast<std::uint8_t>(v >> 24);
      }
  }
  r.content_type = "application/octet-stream";
  return r;
}

}  // namespace fpgaio::remote
