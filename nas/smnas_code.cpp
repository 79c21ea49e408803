#include "nas/smnas_code.h"

#include <cctype>

#include "tensor/error.h"

namespace detforge::nas {

namespace {
[[noreturn]] void code_fail(const std::string& code, size_t pos, const std::string& expected,
                            const std::string& got) {
  throw ConfigError(str_cat("[nas.smnas] position ", pos, " in '", code, "': expected ", expected,
                            ", got ", got));
}
std::string quote_char(const std::string& code, size_t pos) {
  return pos < code.size() ? str_cat("'", code[pos], "'") : std::string("end of string");
}
bool is_sep(char c) {
  return c == '_' || c == ' ';
}
}  // namespace

ArchConfig parse_smnas_code(const std::string& code) {
  ArchConfig cfg;
  size_t pos = 0;
  // block type
  size_t end = pos;
  while (end < code.size() && !is_sep(code[end])) ++end;
  std::string block = code.substr(pos, end - pos);
  for (auto& c : block) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (block == "basicblock") {
    cfg.block_type = "basic";
  } else if (block == "bottleneck") {
    cfg.block_type = "bottleneck";
  } else if (block == "xbottleneck") {
    cfg.block_type = "xbottleneck";
  } else {
    code_fail(code, 0, "block type 'basicblock', 'bottleneck' or 'Xbottleneck'",
              str_cat("'", block, "'"));
  }
  pos = end;
  if (pos >= code.size()) code_fail(code, pos, "'_' after the block type", "end of string");
  ++pos;
  // base channels
  size_t base_start = pos;
  int64_t base = 0;
  while (pos < code.size() && std::isdigit(static_cast<unsigned char>(code[pos]))) {
    base = base * 10 + (code[pos] - '0');
    if (base > (int64_t{1} << 20)) code_fail(code, pos, "base channels <= 1048576", "more");
    ++pos;
  }
  if (pos == base_start)
    code_fail(code, pos, "base channels (a positive integer)", quote_char(code, pos));
  if (base < 1) code_fail(code, base_start, "base channels >= 1", std::to_string(base));
  cfg.base_channels = base;
  if (pos >= code.size() || !is_sep(code[pos]))
    code_fail(code, pos, "'_' after the base channels", quote_char(code, pos));
  ++pos;
  // stages
  int64_t planes = base;
  const int64_t expansion = cfg.block_type == "basic" ? 1 : 4;
  StageConfig st;
  st.depth = 0;
  auto close_stage = [&](size_t at) {
    if (st.doubling.empty())
      code_fail(code, at, "'1' or '2' (a stage needs >= 1 block)", quote_char(code, at));
    st.depth = static_cast<int64_t>(st.doubling.size());
    st.channels = planes * expansion;
    cfg.stages.push_back(st);
    st = StageConfig{};
  };
  for (; pos < code.size(); ++pos) {
    char c = code[pos];
    if (c == '1' || c == '2') {
      if (c == '2') planes *= 2;
      if (planes > (int64_t{1} << 24)) code_fail(code, pos, "fewer channel doublings", "'2'");
      st.doubling.push_back(c == '2');
    } else if (c == '-') {
      close_stage(pos);
      if (cfg.stages.size() == 4) code_fail(code, pos, "4 stages (C2..C5), end of string", "'-'");
    } else {
      code_fail(code, pos, "'1', '2' or '-'", str_cat("'", c, "'"));
    }
  }
  close_stage(pos);
  if (cfg.stages.size() != 4)
    code_fail(code, pos, "4 stages separated by '-' (C2..C5)",
              str_cat(cfg.stages.size(), " stage(s)"));
  return cfg;
}

std::string to_smnas_code(const ArchConfig& cfg) {
  cfg.validate();
  DF_CHECK(cfg.block_type == "basic" || cfg.block_type == "bottleneck" ||
               cfg.block_type == "xbottleneck",
           ConfigError, "[nas.smnas] block_type must be basic, bottleneck or xbottleneck, got ",
           cfg.block_type);
  DF_CHECK(cfg.base_channels > 0, ConfigError, "[nas.smnas] base_channels must be > 0, got ",
           cfg.base_channels);
  DF_CHECK(cfg.stages.size() == 4, ConfigError, "[nas.smnas] needs 4 stages, got ",
           cfg.stages.size());
  const char* block = cfg.block_type == "basic"        ? "basicblock_"
                      : cfg.block_type == "bottleneck" ? "bottleneck_"
                                                       : "Xbottleneck_";
  std::string out = block + std::to_string(cfg.base_channels) + "_";
  for (size_t s = 0; s < cfg.stages.size(); ++s) {
    const auto& st = cfg.stages[s];
    DF_CHECK(static_cast<int64_t>(st.doubling.size()) == st.depth, ConfigError,
             "[nas.smnas] stages[", s, "].doubling needs ", st.depth, " entries, got ",
             st.doubling.size());
    if (s) out += '-';
    for (bool d : st.doubling) out += d ? '2' : '1';
  }
  return out;
}

}  // namespace detforge::nas
