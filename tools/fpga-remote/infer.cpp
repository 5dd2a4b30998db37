// fpga-remote HOST fpga-infer [OPTION]... [INPUT]...: fpga-infer's options
// (its own table), inputs read and numbered here and output written here by
// the same library code as fpga-infer; only batches of images go to the
// hosts, which compute classes and scores with the model they name.
#include "infer.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "fpgaio/error.hpp"
#include "fpgaio/infer.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/remote_infer.hpp"
#include "infer-cli/options.hpp"  // fpga-infer's option table
#include "progress.hpp"
#include "tool_args.hpp"

namespace fpgaremote {

namespace rm = fpgaio::remote;
using fpgaio::Error;
using fpgaio::ErrorKind;

namespace {

// Errors as fpga-infer words them, after the host: "HOST: FILE: message".
// A host's own answer already names it; "no host could do the work" names
// every host tried, after the input whose images were not classified (in a
// pipeline of many jobs, the one whose results are missing), as fpga-gzip's
// path names its file.
void report_with_host(Error e, const std::string& host, const std::string& input) {
  std::string what = e.what();
  if (e.kind() == ErrorKind::device && what.rfind("no host could do the work", 0) == 0) {
    fpgacli::report(e.path.empty() ? (input == "-" ? "stdin" : input) : e.path, e.describe());
    return;
  }
  if (e.path.empty()) e.path = host;
  else if (e.path.rfind(host, 0) != 0) e.path = host + ": " + e.path;
  fpgacli::report(e);
}

}  // namespace

int infer_main(rm::HostPool& pool, const std::vector<std::string>& tool_args, const std::string& tool_name,
               std::size_t chunk, unsigned jobs) {
  if (!tool_args.empty() && (tool_args[0] == "import-bnn-pynq" || tool_args[0] == "pair"))
    fpgacli::usage_error(tool_args[0] + " works on files here: run it here (fpga-infer " + tool_args[0] + ")");
  fpgainfer::Options o = parse_as_tool(tool_name, tool_args, fpgainfer::parse);
  if (o.list_devices) fpgacli::usage_error("--list-devices: ask the server (GET /v1/devices)");
  if (o.info) fpgacli::usage_error("--info: ask the server (GET /v1/models)");
  if (!o.device.empty() || !o.xclbin.empty())
    fpgacli::usage_error("--device and --xclbin are the server's choice: it picks its devices itself");
  if (o.model == "-")
    fpgacli::usage_error("--model names one of the server's models (its --models directory), not a file here");

  auto t0 = std::chrono::steady_clock::now();
  std::string host = pool.first_host();
  std::unique_ptr<fpgaio::infer::Run> run;
  rm::RemoteModel model;
  // The input being classified (the first while the model is fetched).
  std::string input = o.inputs.empty() ? "-" : o.inputs.front();
  try {
    model = rm::fetch_model(pool, o.model);
    host = model.host;
    run = std::make_unique<fpgaio::infer::Run>(fpgainfer::run_settings(o), model.input, model.classes);
    const std::size_t batch = o.batch ? o.batch : rm::images_per_request(model, chunk, o.scores);
    const bool scores = o.scores;
    auto fn = [&pool, &model, scores](const fpgaio::images::Batch& b) {
      return rm::infer_batch(pool, model, b, scores);
    };
    std::unique_ptr<fpgacli::ProgressLine> bar;
    auto hooks = fpgacli::infer_progress(o.progress, bar);
    if (o.inputs.empty()) o.inputs.push_back("-");
    if (o.save) {
      for (const auto& op : o.inputs) {
        auto r = fpgaio::parse_range(op);
        if (op == "-") throw Error(ErrorKind::usage, "--save needs files, not standard input");
        std::string out_path = (r ? r->stem() : op) + fpgaio::infer::save_suffix(o.format);
        fpgaio::OutputFile out(out_path, o.force, fpgaio::OutputName::chosen);
        // The results of a chunk are that chunk's part: fpga-cat checks their count.
        if (auto part = fpgaio::infer::part_of(op)) fpgaio::set_part(out.fd(), *part);
        fpgaio::FdSink sink(out.fd(), out_path);
        input = op;
        run->classify(op, sink, fn, batch, jobs, hooks);
        out.commit(nullptr);
      }
    } else if (!o.output.empty()) {
      fpgaio::OutputFile out(o.output, o.force, fpgaio::OutputName::given);
      fpgaio::FdSink sink(out.fd(), o.output);
      for (const auto& op : o.inputs) {
        input = op;
        run->classify(op, sink, fn, batch, jobs, hooks);
      }
      out.commit(nullptr);
    } else {
      fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
      for (const auto& op : o.inputs) {
        input = op;
        run->classify(op, sink, fn, batch, jobs, hooks);
      }
    }
  } catch (const Error& e) {
    if (fpgacli::is_broken_pipe(e)) return fpgacli::broken_pipe(e.path);
    report_with_host(e, host, input);
    return fpgacli::kError;
  }
  int code = fpgacli::close_stdout() ? fpgacli::kOk : fpgacli::kError;
  if (!o.quiet) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::uint64_t images = run->images();
    std::string s = std::to_string(images) + (images == 1 ? " image in " : " images in ") +
                    std::to_string(seconds).substr(0, 5) + " s (" +
                    std::to_string(static_cast<long long>(static_cast<double>(images) / std::max(seconds, 1e-6))) +
                    " images/s, model " + model.name + " on " + host +
                    (pool.size() > 1 ? " and the other hosts of --hosts)" : ")");
    fpgacli::report("", s + run->accuracy_text());
    if (std::string w = run->labels_warning(o.labels); !w.empty()) fpgacli::report("", w);
    if (o.confusion) {
      if (std::string w = run->confusion_warning(); !w.empty()) fpgacli::report("", w);
      else std::fputs(run->confusion_text().c_str(), stderr);
    }
  }
  return code;
}

}  // namespace fpgaremote
