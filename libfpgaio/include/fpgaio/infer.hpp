// What fpga-infer does with a model's answers, as one piece that fpga-infer
// and fpga-remote share: inputs opened and numbered (formats, ranges, chunk
// files, --start, --manifest), batches classified by whoever computes them
// (the CPU, a FINN device, a remote host), lines written in TSV, CSV or JSON
// lines, accuracy and the confusion matrix. The same code on both sides is
// what makes a remote run's output byte-identical to a local one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/bnn.hpp"
#include "fpgaio/images.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/split.hpp"

namespace fpgaio::infer {

enum class OutFormat { tsv, csv, jsonl };
std::optional<OutFormat> parse_out_format(const std::string& s);  // tsv, csv, jsonl (or json)
const char* save_suffix(OutFormat f);                              // ".tsv", ".csv", ".jsonl"

// "HxW" or "HxWxC" (at most 4096 x 4096 x 64), or nullopt.
std::optional<bnn::Shape> parse_shape(const std::string& s);

// The model fpga-infer uses without --model: FPGA_MODEL, else the installed
// fashion-cnv.fbnn (beside the program, then under the install prefix, then
// the source tree's). Throws Error(usage) when there is none.
std::string default_model_path();

// One line of output for one image. `scores` may be null when `with_scores`
// is false (a FINN device gives classes only).
std::string format_line(const std::vector<std::string>& class_names, OutFormat f, bool with_scores,
                        std::uint64_t index, const std::int32_t* scores, std::size_t cls);

// The chunk of a split that `operand` is, for --save to carry on to
// fpga-cat: its range's, its file's (fpga-split's xattr) or, for a gzip
// file, its first member's FP (fpga-gzip of a chunk); nullopt otherwise.
std::optional<PartOf> part_of(const std::string& operand);

// The options that decide how inputs are read and numbered and what is
// written (fpga-infer's; fpga-remote passes them on unchanged).
struct Settings {
  std::optional<images::Format> input_format;
  std::optional<bnn::Shape> shape;        // raw images
  std::optional<std::uint64_t> start;     // --start
  std::optional<split::Manifest> manifest;
  std::string manifest_path;              // for messages
  std::shared_ptr<images::Labels> labels; // --labels (read as far as the image numbers need)
  OutFormat format = OutFormat::tsv;
  bool scores = false;
};

// What a batch gave: one class an image and, when known, every class's score
// (count x classes, empty otherwise).
struct Answer {
  std::vector<std::uint16_t> classes;
  std::vector<std::int32_t> scores;
};
// Computes a batch; called from `threads` worker threads at once.
using BatchFn = std::function<Answer(const images::Batch&)>;

// Progress of one input: started (name, images when known), images done.
struct ProgressHooks {
  std::function<void(const std::string&, std::uint64_t)> start;
  std::function<void(std::uint64_t)> update;
  std::function<void()> finish;
};

// One run over any number of inputs, counting images, accuracy and the
// confusion matrix across them.
class Run {
 public:
  Run(Settings settings, bnn::Shape model_input, std::vector<std::string> class_names);

  // Classifies every image of `operand` ("-", a file, a byte range) in
  // batches of `batch` images, `threads` batches at once, and writes the
  // lines to `out` in image order. Errors name the operand as fpga-infer does.
  // A gzip file or stream is read decompressed (images::Content). CIFAR-10
  // records with Settings::labels are Error(usage): they carry their own.
  // Images are numbered across the calls: a range, a chunk file and a
  // manifest's chunk keep the numbers they had in the whole input; any other
  // input starts after the last image of the one before (the first at 0, or
  // at --start, which numbers the first input and those after it go on).
  void classify(const std::string& operand, Sink& out, const BatchFn& fn, std::size_t batch, unsigned threads,
                const ProgressHooks& progress = {});

  std::uint64_t images() const { return images_; }
  std::uint64_t labelled() const { return labelled_; }
  std::uint64_t correct() const { return correct_; }
  // "; top-1 accuracy 91.23% (9123 of 10000)", or "" without labels.
  std::string accuracy_text() const;
  // The confusion matrix as fpga-infer prints it on stderr ("" without labels).
  std::string confusion_text() const;
  // "" when some image had a label, else the warning both tools print for
  // --confusion (a matrix of nothing).
  std::string confusion_warning() const;
  // "" unless --labels was given and images numbered past its end were
  // classified: then the warning both tools print (`labels_path` names it).
  std::string labels_warning(const std::string& labels_path) const;
  const std::vector<std::string>& class_names() const { return names_; }

 private:
  std::optional<std::uint64_t> start_for(const std::string& operand);
  std::uint64_t start_from_offset(const std::string& operand, images::Format f, std::uint64_t offset);
  Settings s_;
  bnn::Shape input_;
  std::vector<std::string> names_;
  std::uint64_t images_ = 0, labelled_ = 0, correct_ = 0;
  // The number after the last image classified, where an input that does
  // not know its numbers (not a range, chunk file or manifest chunk) starts;
  // and the inputs begun so far.
  std::uint64_t next_ = 0, inputs_ = 0;
  std::uint64_t past_labels_ = 0;  // images numbered past the end of --labels
  std::vector<std::uint64_t> confusion_;
};

}  // namespace fpgaio::infer
