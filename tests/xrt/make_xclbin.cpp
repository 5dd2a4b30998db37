// make_xclbin: writes a metadata-only .xclbin for tests of the XRT backend
// under XRT's noop driver (no card, no Vitis): memory banks (MEM_TOPOLOGY),
// compute units (IP_LAYOUT), argument-to-bank connections (CONNECTIVITY) and
// the kernel's interface (EMBEDDED_METADATA XML), built from the structs of
// <xclbin.h>. No bitstream: nothing in it can run on a real card.
//
//   make_xclbin OUT [--platform VBNV] [--kernel NAME] [--cus N] [--banks N]
//   make_xclbin OUT --finn [--platform VBNV] [--banks N] [--no-odma] [--streams] [--tag TEXT]
//
// The kernel has xilGzipCompBlock's interface whatever its name (four
// buffers, input_size, checksumType). Compute unit k (from 1) is
// NAME:NAME_k; its arguments sit on bank (k-1) mod banks, except that with
// --split-args the two small buffers (size, checksum) sit on the next bank.
//
// --finn: a FINN dataflow accelerator as FINN's Alveo build links it: the
// DMA kernels StreamingDataflowPartition_0 (instance idma0) and
// StreamingDataflowPartition_2 (instance odma0), each (buffer at 0x10,
// numReps at 0x1C); idma0 on bank 0, odma0 on the last bank. --no-odma
// leaves odma0 out; --tag changes the UUID (another "network"); --streams
// declares each DMA's AXI stream argument as FINN's HLS source has it, so
// numReps is argument 2 (the stream sits between).
#include <xclbin.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Arg {
  const char* name;
  bool global;
  unsigned offset, size;
  const char* type;
  bool stream = false;  // an AXI stream (addressQualifier 4): not the host's to set
};
// xilGzipCompBlock(in, out, compressd_size, checksumData, input_size, checksumType).
const std::vector<Arg> kGzipArgs = {{"in", true, 0x10, 8, "ap_uint<64>*"},     {"out", true, 0x1c, 8, "ap_uint<64>*"},
                     {"compressd_size", true, 0x28, 8, "unsigned int*"}, {"checksumData", true, 0x34, 8, "unsigned int*"},
                     {"input_size", false, 0x40, 4, "unsigned int"},     {"checksumType", false, 0x48, 4, "bool"}};
const std::vector<Arg> kIdmaArgs = {{"in0_V", true, 0x10, 8, "ap_uint<8>*"}, {"numReps", false, 0x1c, 4, "unsigned int"}};
const std::vector<Arg> kOdmaArgs = {{"out_V", true, 0x10, 8, "ap_uint<8>*"}, {"numReps", false, 0x1c, 4, "unsigned int"}};
// As FINN's HLS DMAs declare them: the stream between the buffer and numReps.
const std::vector<Arg> kIdmaStreamArgs = {{"in0_V", true, 0x10, 8, "ap_uint<8>*"},
                                          {"out_V", false, 0x0, 4, "stream<ap_axiu<8,0,0,0>>&", true},
                                          {"numReps", false, 0x1c, 4, "unsigned int"}};
const std::vector<Arg> kOdmaStreamArgs = {{"in0_V", false, 0x0, 4, "stream<ap_axiu<8,0,0,0>>&", true},
                                          {"out_V", true, 0x10, 8, "ap_uint<8>*"},
                                          {"numReps", false, 0x1c, 4, "unsigned int"}};

// A kernel and its compute units: instance name and the bank of each buffer argument.
struct Kernel {
  std::string name;
  std::vector<Arg> args;
  std::vector<std::pair<std::string, std::vector<int>>> cus;
};

template <class T>
void put(std::vector<char>& v, const T& x) {
  const char* p = reinterpret_cast<const char*>(&x);
  v.insert(v.end(), p, p + sizeof x);
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: make_xclbin OUT [--platform VBNV] [--kernel NAME] [--cus N] [--banks N] [--split-args]\n"
                       "       make_xclbin OUT --finn [--platform VBNV] [--banks N] [--no-odma] [--streams] [--tag TEXT]\n");
  std::exit(2);
}

}  // namespace

// fpga-infer reads an xclbin's platform name and UUID at these offsets
// without XRT (bnn::read_xclbin_id); they are XRT's.
static_assert(offsetof(axlf, m_header) + offsetof(axlf_header, m_platformVBNV) == 352, "platform offset");
static_assert(offsetof(axlf, m_header) + offsetof(axlf_header, uuid) == 416, "uuid offset");

int main(int argc, char** argv) {
  if (argc < 2) usage();
  std::string out = argv[1], platform = "xilinx_u50_gen3x16_xdma_201920_3", kernel = "xilGzipCompBlock", tag;
  int cus = 1, banks = 1;
  bool split_args = false, finn = false, no_odma = false, streams = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--split-args") { split_args = true; continue; }
    if (a == "--finn") { finn = true; continue; }
    if (a == "--no-odma") { no_odma = true; continue; }
    if (a == "--streams") { streams = true; continue; }
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--platform") platform = v;
    else if (a == "--kernel") kernel = v;
    else if (a == "--cus") cus = std::atoi(v.c_str());
    else if (a == "--banks") banks = std::atoi(v.c_str());
    else if (a == "--tag") tag = v;
    else usage();
  }
  if (cus < 1 || cus > 16 || banks < 1 || banks > 16 || kernel.size() > 24) usage();

  std::vector<Kernel> kernels;
  if (finn) {
    if (streams) {
      kernels.push_back({"StreamingDataflowPartition_0", kIdmaStreamArgs, {{"idma0", {0, -1, -1}}}});
      if (!no_odma)
        kernels.push_back({"StreamingDataflowPartition_2", kOdmaStreamArgs, {{"odma0", {-1, banks - 1, -1}}}});
    } else {
      kernels.push_back({"StreamingDataflowPartition_0", kIdmaArgs, {{"idma0", {0, -1}}}});
      if (!no_odma) kernels.push_back({"StreamingDataflowPartition_2", kOdmaArgs, {{"odma0", {banks - 1, -1}}}});
    }
  } else {
    Kernel k{kernel, kGzipArgs, {}};
    for (int c = 0; c < cus; ++c) {
      std::vector<int> b;
      for (int a = 0; a < 6; ++a) {
        int bank = c % banks;
        if (split_args && a >= 2) bank = (bank + 1) % banks;
        b.push_back(a < 4 ? bank : -1);
      }
      k.cus.push_back({kernel + "_" + std::to_string(c + 1), b});
    }
    kernels.push_back(k);
  }

  // MEM_TOPOLOGY: `banks` DDR4 banks of 4 GiB.
  std::vector<char> mem;
  put(mem, std::int32_t(banks));
  put(mem, std::int32_t(0));  // mem_data is 8-byte aligned (offsetof m_mem_data is 8)
  for (int b = 0; b < banks; ++b) {
    mem_data m{};
    m.m_type = MEM_DDR4;
    m.m_used = 1;
    m.m_size = 4ull << 20;  // KiB
    m.m_base_address = 0x4000000000ull + (std::uint64_t(b) << 32);
    std::snprintf(reinterpret_cast<char*>(m.m_tag), sizeof m.m_tag, "bank%d", b);
    put(mem, m);
  }
  // IP_LAYOUT: one IP_KERNEL a compute unit, ap_ctrl_chain, sorted by base
  // address; CONNECTIVITY: each buffer argument of each unit to its bank.
  std::vector<char> ip, conn;
  std::vector<ip_data> ips;
  std::vector<connection> cs;
  std::vector<std::uint64_t> bases;
  for (const auto& k : kernels)
    for (const auto& cu : k.cus) {
      ip_data d{};
      d.m_type = IP_KERNEL;
      d.properties = AP_CTRL_CHAIN << IP_CONTROL_SHIFT;
      d.m_base_address = 0x1800000ull + std::uint64_t(ips.size()) * 0x10000;
      bases.push_back(d.m_base_address);
      std::snprintf(reinterpret_cast<char*>(d.m_name), sizeof d.m_name, "%s:%s", k.name.c_str(), cu.first.c_str());
      for (std::size_t a = 0; a < cu.second.size(); ++a)
        if (cu.second[a] >= 0) cs.push_back(connection{int(a), int(ips.size()), cu.second[a]});
      ips.push_back(d);
    }
  put(ip, std::int32_t(ips.size()));
  put(ip, std::int32_t(0));  // ip_data is 8-byte aligned (offsetof m_ip_data is 8)
  for (const auto& d : ips) put(ip, d);
  put(conn, std::int32_t(cs.size()));
  for (const auto& c : cs) put(conn, c);
  // EMBEDDED_METADATA: each kernel's ports and arguments, as XRT's xclbin parser reads them.
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project name=\"fpga-tools-test" + tag + "\">\n"
                    "<platform vendor=\"xilinx\" boardid=\"u50\" name=\"" + platform + "\" featureRomTime=\"0\">\n"
                    "<version major=\"1\" minor=\"0\"/>\n<device name=\"fpga0\" fpgaDevice=\"virtexuplus\">\n"
                    "<core name=\"OCL_REGION_0\" target=\"hw\" type=\"clc_region\" clockFreq=\"300MHz\" numComputeUnits=\"" +
                    std::to_string(ips.size()) + "\">\n";
  std::size_t unit = 0;
  for (const auto& k : kernels) {
    xml += "<kernel name=\"" + k.name + "\" language=\"c\" vlnv=\"xilinx.com:hls:" + k.name +
           ":1.0\" preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" interrupt=\"true\" hwControlProtocol=\"ap_ctrl_chain\">\n"
           "<port name=\"M_AXI_GMEM\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" dataWidth=\"64\" portType=\"addressable\" base=\"0x0\"/>\n"
           "<port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"0x1000\" dataWidth=\"32\" portType=\"addressable\" base=\"0x0\"/>\n";
    for (const auto& g : k.args)
      if (g.stream)
        xml += std::string("<port name=\"") + g.name + "\" mode=\"" + (k.name.back() == '0' ? "write_only" : "read_only") +
               "\" range=\"\" dataWidth=\"8\" portType=\"stream\" base=\"0x0\"/>\n";
    for (std::size_t a = 0; a < k.args.size(); ++a) {
      const Arg& g = k.args[a];
      if (g.stream) {
        xml += std::string("<arg name=\"") + g.name + "\" addressQualifier=\"4\" id=\"" + std::to_string(a) +
               "\" port=\"" + g.name + "\" size=\"0x4\" offset=\"0x0\" hostOffset=\"0x0\" hostSize=\"0x4\" type=\"" +
               "stream&lt;ap_axiu&lt;8,0,0,0&gt;&gt;&amp;\"/>\n";
        continue;
      }
      char line[512];
      std::snprintf(line, sizeof line,
                    "<arg name=\"%s\" addressQualifier=\"%d\" id=\"%d\" port=\"%s\" size=\"0x%x\" offset=\"0x%x\" "
                    "hostOffset=\"0x0\" hostSize=\"0x%x\" type=\"%s\"/>\n",
                    g.name, g.global ? 1 : 0, int(a), g.global ? "M_AXI_GMEM" : "S_AXI_CONTROL", g.size, g.offset, g.size,
                    g.type);
      xml += line;
    }
    for (const auto& cu : k.cus) {
      char b[32];
      std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(bases[unit++]));
      xml += "<instance name=\"" + cu.first + "\">\n<addrRemap base=\"0x" + b +
             "\" range=\"0x10000\" port=\"S_AXI_CONTROL\"/>\n</instance>\n";
    }
    xml += "</kernel>\n";
  }
  xml += "</core>\n</device>\n</platform>\n</project>\n";
  std::vector<char> meta(xml.begin(), xml.end());

  struct Section {
    axlf_section_kind kind;
    const char* name;
    std::vector<char>* data;
  } sections[] = {{MEM_TOPOLOGY, "mem_topology", &mem},
                  {IP_LAYOUT, "ip_layout", &ip},
                  {CONNECTIVITY, "connectivity", &conn},
                  {EMBEDDED_METADATA, "metadata", &meta}};
  const unsigned n = sizeof sections / sizeof sections[0];
  std::size_t head = sizeof(axlf) + (n - 1) * sizeof(axlf_section_header);
  std::vector<char> file(head, 0);
  std::vector<axlf_section_header> hdrs;
  for (auto& s : sections) {
    while (file.size() % 8) file.push_back(0);
    axlf_section_header h{};
    h.m_sectionKind = s.kind;
    std::snprintf(h.m_sectionName, sizeof h.m_sectionName, "%s", s.name);
    h.m_sectionOffset = file.size();
    h.m_sectionSize = s.data->size();
    file.insert(file.end(), s.data->begin(), s.data->end());
    hdrs.push_back(h);
  }
  axlf top;
  std::memset(&top, 0, sizeof top);
  std::memcpy(top.m_magic, "xclbin2", 8);
  top.m_signature_length = -1;
  std::memset(top.reserved, 0xFF, sizeof top.reserved);
  std::memset(top.m_keyBlock, 0xFF, sizeof top.m_keyBlock);
  top.m_header.m_length = file.size();
  top.m_header.m_versionMajor = 2;
  top.m_header.m_versionMinor = 13;
  top.m_header.m_mode = XCLBIN_FLAT;
  std::snprintf(reinterpret_cast<char*>(top.m_header.m_platformVBNV), sizeof top.m_header.m_platformVBNV, "%s",
                platform.c_str());
  // A uuid that depends on the contents, so different test files differ.
  std::uint64_t h = 1469598103934665603ull;
  for (char c : xml) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::memcpy(top.m_header.uuid, &h, 8);
  h = h * 6364136223846793005ull + 1442695040888963407ull;
  std::memcpy(top.m_header.uuid + 8, &h, 8);
  top.m_uniqueId = h;
  top.m_header.m_numSections = n;
  std::memcpy(file.data(), &top, sizeof top - sizeof(axlf_section_header));
  std::memcpy(file.data() + offsetof(axlf, m_sections), hdrs.data(), n * sizeof(axlf_section_header));
  FILE* f = std::fopen(out.c_str(), "wb");
  if (!f || std::fwrite(file.data(), 1, file.size(), f) != file.size() || std::fclose(f) != 0) {
    std::perror(out.c_str());
    return 1;
  }
  return 0;
}
