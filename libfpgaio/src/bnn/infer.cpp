// fpga-infer's run over its inputs (infer.hpp): opening and numbering,
// batches in flight, lines in order, accuracy; shared with fpga-remote.
#include "fpgaio/infer.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "fpgaio/error.hpp"
#include "fpgaio/pipeline.hpp"

namespace fpgaio::infer {

std::optional<OutFormat> parse_out_format(const std::string& v) {
  if (v == "tsv") return OutFormat::tsv;
  if (v == "csv") return OutFormat::csv;
  if (v == "jsonl" || v == "json") return OutFormat::jsonl;
  return std::nullopt;
}

const char* save_suffix(OutFormat f) {
  return f == OutFormat::tsv ? ".tsv" : f == OutFormat::csv ? ".csv" : ".jsonl";
}

std::optional<bnn::Shape> parse_shape(const std::string& s) {
  unsigned h = 0, w = 0, c = 1;
  char x1 = 0, x2 = 0;
  int n = std::sscanf(s.c_str(), "%u%c%u%c%u", &h, &x1, &w, &x2, &c);
  if ((n != 3 && n != 5) || x1 != 'x' || (n == 5 && x2 != 'x') || !h || !w || !c || h > 4096 || w > 4096 || c > 64)
    return std::nullopt;
  return bnn::Shape{h, w, c};
}

std::string default_model_path() {
  if (const char* e = std::getenv("FPGA_MODEL"); e && *e) return e;
  // Beside the program (BIN/../share/fpga-tools, for an install moved or made
  // with another prefix), where it was installed, or in the source tree.
  std::vector<std::string> places;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<std::size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    places.push_back(dir + "/../share/fpga-tools/fashion-cnv.fbnn");
  }
  places.push_back(FPGAIO_DATADIR "/fpga-tools/fashion-cnv.fbnn");
  places.push_back(FPGAIO_MODEL_SOURCE);
  struct stat st;
  for (const auto& p : places)
    if (::stat(p.c_str(), &st) == 0) return p;
  throw Error(ErrorKind::usage, "no model installed; give one with --model FILE");
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += static_cast<char>(c);
    else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += static_cast<char>(c);
  }
  return o + "\"";
}

struct BatchResult {
  std::string text;
  std::vector<std::uint16_t> predicted;
  std::vector<int> labels;
  std::uint64_t first = 0;
};

}  // namespace

std::string format_line(const std::vector<std::string>& names, OutFormat f, bool with_scores, std::uint64_t index,
                        const std::int32_t* s, std::size_t cls) {
  std::size_t n = names.size();
  std::string out;
  if (f == OutFormat::jsonl) {
    out = "{\"index\":" + std::to_string(index) + ",\"class\":" + std::to_string(cls) + ",\"name\":" + json_string(names[cls]);
    if (with_scores) {
      out += ",\"scores\":[";
      for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + std::to_string(s[i]);
      out += "]";
    }
    return out + "}\n";
  }
  const char sep = f == OutFormat::csv ? ',' : '\t';
  out = std::to_string(index) + sep + std::to_string(cls) + sep + (f == OutFormat::csv ? csv_field(names[cls]) : names[cls]);
  if (with_scores)
    for (std::size_t i = 0; i < n; ++i) out += sep + std::to_string(s[i]);
  return out + "\n";
}

std::optional<PartOf> part_of(const std::string& operand) {
  auto range = parse_range(operand);
  std::unique_ptr<Input> in = range ? std::make_unique<Input>(*range) : std::make_unique<Input>(operand);
  if (auto p = in->part()) return p;
  if (range || in->is_stdin() || !in->is_regular()) return std::nullopt;
  images::Content content(*in);
  return content.part();
}

Run::Run(Settings settings, bnn::Shape model_input, std::vector<std::string> class_names)
    : s_(std::move(settings)), input_(model_input), names_(std::move(class_names)),
      confusion_(names_.size() * names_.size(), 0) {}

// The number of the first image of a chunk whose data began at byte `offset`
// of the input that fpga-split cut (an IDX chunk has a header of its own, as
// long as the input's).
std::uint64_t Run::start_from_offset(const std::string& operand, images::Format f, std::uint64_t offset) {
  if (f == images::Format::idx) {
    Input in(operand);
    images::Reader r(in, images::Format::idx, input_, std::nullopt, std::nullopt);
    const std::uint64_t header = r.header_bytes();
    return offset >= header ? (offset - header) / r.record_bytes() : 0;
  }
  std::uint64_t item = f == images::Format::cifar ? 3073 : s_.shape ? s_.shape->values() : input_.values();
  return offset / item;
}

std::optional<std::uint64_t> Run::start_for(const std::string& operand) {
  // --start numbers the run's first image; the inputs after it go on from
  // where the one before ended.
  if (s_.start) return inputs_ ? next_ : *s_.start;
  if (!s_.manifest || parse_range(operand)) return std::nullopt;  // a range knows its numbers
  for (const auto& c : s_.manifest->chunks) {
    if (c.name != operand) continue;
    // The chunk's data starts at c.offset of the input. An IDX chunk has a
    // header of its own, as long as the input's (c.bytes - c.length), before
    // its items; the input's items start after that header.
    std::uint64_t header = c.bytes - c.length;
    if (header) {
      Input in(operand);
      images::Reader r(in, images::Format::idx, input_, std::nullopt, std::nullopt);
      return (c.offset - header) / r.record_bytes();
    }
    auto f = s_.input_format ? *s_.input_format : images::format_from_name(operand).value_or(images::Format::cifar);
    std::uint64_t item = f == images::Format::cifar ? 3073 : s_.shape ? s_.shape->values() : input_.values();
    return c.offset / item;
  }
  throw Error(ErrorKind::usage, "not a chunk in the manifest " + s_.manifest_path).with_path(operand);
}

void Run::classify(const std::string& operand, Sink& out, const BatchFn& fn, std::size_t batch, unsigned threads,
                   const ProgressHooks& progress) {
  auto range = parse_range(operand);
  std::unique_ptr<Input> in = range ? std::make_unique<Input>(*range) : std::make_unique<Input>(operand);
  // A file whose stat lies about its size (/proc, /sys) is read to learn it,
  // as fpga-split does; the reader counts images from the size.
  if (!range) in->learn_size();
  // Its bytes, or a gzip file's decompressed bytes.
  images::Content content(*in);
  std::optional<images::Format> fmt = s_.input_format;
  if (!fmt) fmt = images::format_from_name(range ? range->path : operand);
  if (!fmt && !range) {
    // Look at the first bytes (read again by the reader).
    const auto& head = content.peek(4);
    fmt = images::format_from_magic(head.data(), head.size());
  }
  if (!fmt && s_.shape) fmt = images::Format::raw;
  if (!fmt && input_.height == 32 && input_.width == 32 && input_.channels == 3) fmt = images::Format::cifar;
  if (!fmt) throw Error(ErrorKind::usage, "cannot tell the image format; give --input-format cifar|idx|pnm|raw").with_path(in->name());
  // CIFAR-10 records carry their labels: a labels file would not be read.
  if (*fmt == images::Format::cifar && s_.labels)
    throw Error(ErrorKind::usage, "CIFAR-10 records carry their own labels: --labels " + s_.labels->path() +
                                      " would not be used (leave it out)")
        .with_path(in->name());

  std::optional<std::uint64_t> start = start_for(operand);
  if (!start && !s_.start && !s_.manifest && !range) {
    // A chunk file of fpga-split knows where its data began in the input
    // (and so does its gzip file, fpga-gzip's FP): its images keep their
    // numbers there.
    std::optional<PartOf> part = in->part();
    if (!part) part = content.part();
    if (part && !in->is_stdin()) start = start_from_offset(operand, *fmt, part->offset);
    // Any other input goes on from where the one before ended: images are
    // numbered across all inputs (and --labels follows the numbers).
    else start = next_;
  }
  ++inputs_;
  images::Reader reader(content, *fmt, input_, s_.shape, start);
  if (progress.start) progress.start(in->name(), reader.total().value_or(0));
  const std::size_t classes = names_.size();
  std::uint64_t done = 0;
  if (threads == 0) threads = 1;
  OrderedPool<BatchResult> pool(threads, 2 * threads + 2, [&](BatchResult& r) {
    out.write(reinterpret_cast<const std::uint8_t*>(r.text.data()), r.text.size());
    for (std::size_t i = 0; i < r.predicted.size(); ++i) {
      int label = r.labels[i];
      if (label < 0 && s_.labels) {
        if (r.first + i < s_.labels->count()) label = s_.labels->at(r.first + i);
        else ++past_labels_;
      }
      if (label < 0) continue;
      ++labelled_;
      if (static_cast<std::size_t>(label) < classes) {
        correct_ += r.predicted[i] == label;
        confusion_[static_cast<std::size_t>(label) * classes + r.predicted[i]]++;
      }
    }
    images_ += r.predicted.size();
    next_ = r.first + r.predicted.size();
    if (progress.update) progress.update(done += r.predicted.size());
  });
  for (;;) {
    auto b = std::make_shared<images::Batch>();
    if (reader.next(batch, *b) == 0) break;
    pool.submit([this, b, classes, &fn]() {
      BatchResult r;
      r.first = b->first;
      r.labels = b->labels;
      r.labels.resize(b->count);
      Answer a = fn(*b);
      if (a.classes.size() != b->count || (!a.scores.empty() && a.scores.size() != b->count * classes))
        throw Error(ErrorKind::device, "a batch came back with " + std::to_string(a.classes.size()) +
                                           " classes for " + std::to_string(b->count) + " images");
      const bool with = s_.scores && !a.scores.empty();
      for (std::size_t i = 0; i < b->count; ++i)
        r.text += format_line(names_, s_.format, with, b->first + i, with ? a.scores.data() + i * classes : nullptr,
                              a.classes[i]);
      r.predicted = std::move(a.classes);
      return r;
    });
  }
  pool.drain();
  out.flush();
  if (progress.finish) progress.finish();
}

std::string Run::accuracy_text() const {
  if (!labelled_) return "";
  char acc[64];
  std::snprintf(acc, sizeof acc, "; top-1 accuracy %.2f%% (%llu of %llu)",
                100.0 * static_cast<double>(correct_) / static_cast<double>(labelled_),
                static_cast<unsigned long long>(correct_), static_cast<unsigned long long>(labelled_));
  return acc;
}

std::string Run::labels_warning(const std::string& labels_path) const {
  if (!past_labels_) return "";
  const std::uint64_t n = s_.labels ? s_.labels->count() : 0;
  return "warning: " + labels_path + ": " + std::to_string(n) + (n == 1 ? " label" : " labels") + ", but " + std::to_string(past_labels_) +
         (past_labels_ == 1 ? " image is" : " images are") + " numbered past them; left out of the accuracy";
}

std::string Run::confusion_warning() const {
  if (labelled_) return "";
  return "warning: --confusion: no image had a label (IDX, PNM and raw images take theirs from --labels FILE); "
         "no confusion matrix";
}

std::string Run::confusion_text() const {
  if (!labelled_) return "";
  std::size_t n = names_.size();
  std::string s = "confusion matrix (rows: label, columns: predicted class)\n      ";
  char b[32];
  for (std::size_t j = 0; j < n; ++j) {
    std::snprintf(b, sizeof b, " %6zu", j);
    s += b;
  }
  s += '\n';
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%6zu", i);
    s += b;
    for (std::size_t j = 0; j < n; ++j) {
      std::snprintf(b, sizeof b, " %6llu", static_cast<unsigned long long>(confusion_[i * n + j]));
      s += b;
    }
    s += "  " + names_[i] + "\n";
  }
  return s;
}

}  // namespace fpgaio::infer
